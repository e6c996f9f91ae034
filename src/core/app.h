/* app.h: what a handler may reach: settings, its thread's store and key cache, the compiled templates, the usage recorder. */
#ifndef KEYWARD_CORE_APP_H
#define KEYWARD_CORE_APP_H

struct config;
struct key_cache;
struct store;
struct store_session;
struct usage;
struct view;

struct app {
	const struct config *config;
	struct store *store;     /* this thread's connection */
	struct key_cache *key_cache; /* this thread's copies of verified keys, NULL: none */
	const struct view *view; /* shared, read-only */
	struct usage *usage;     /* shared usage recorder of this process, NULL when not recording */
	/* The console request in hand: who is signed in (NULL: nobody) and their session's cookie. */
	const struct store_session *session;
	const char *session_token;
	/* The workspace the console request is in (the /w/{id} of its path), 0 outside one. */
	long long workspace_id;
	const char *workspace_name;
	const char *console_role; /* the person's role there: owner, admin, developer, viewer */
};

#endif
