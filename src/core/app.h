/* app.h: what a handler may reach: settings, its thread's store, the compiled templates. */
#ifndef KEYWARD_CORE_APP_H
#define KEYWARD_CORE_APP_H

struct config;
struct store;
struct view;

struct app {
	const struct config *config;
	struct store *store;     /* this thread's connection */
	const struct view *view; /* shared, read-only */
};

#endif
