/* app.h: what a handler may reach: settings, its thread's store, the compiled templates, the usage recorder. */
#ifndef KEYWARD_CORE_APP_H
#define KEYWARD_CORE_APP_H

struct config;
struct store;
struct usage;
struct view;

struct app {
	const struct config *config;
	struct store *store;     /* this thread's connection */
	const struct view *view; /* shared, read-only */
	struct usage *usage;     /* shared usage recorder of this process, NULL when not recording */
};

#endif
