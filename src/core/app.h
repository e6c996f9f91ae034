/*
 * app.h: what a handler may reach: settings, its thread's store and key cache, the compiled
 * templates, the usage recorder. It outlives requests: what belongs to one request lives in the
 * request (struct http_request, and the console's struct visit).
 */
#ifndef KEYWARD_CORE_APP_H
#define KEYWARD_CORE_APP_H

struct config;
struct key_cache;
struct store;
struct usage;
struct view;

struct app {
	const struct config *config;
	struct store *store;     /* this thread's connection */
	struct key_cache *key_cache; /* this thread's copies of verified keys, NULL: none */
	const struct view *view; /* shared, read-only */
	struct usage *usage;     /* shared usage recorder of this process, NULL when not recording */
};

#endif
