/*
 * view.h: the compiled templates, the value tree handlers fill, and rendering a page.
 *
 * Templates are every templates/NAME.mustache (pages) and templates/partials/NAME.mustache
 * (partials, used as {{> NAME}}), compiled once at start-up and shared read-only by all threads.
 */
#ifndef KEYWARD_VIEW_H
#define KEYWARD_VIEW_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "core/buf.h"
#include "mustache/mustache.h"

struct arena;
struct view;

/* Load and compile every template under `folder`. NULL, with a sentence naming the file and line, on error. */
struct view *view_load(const char *folder, char *error, size_t error_size);
void view_free(struct view *view);

/* Render page template `page` with `data` into `out`. False when no such page exists. */
bool view_render(const struct view *view, const char *page, const struct mustache_value *data, struct buf *out);

/* Value tree builders. Everything is allocated from `arena`; text is copied. */
struct mustache_value *view_map(struct arena *arena);
struct mustache_value *view_list(struct arena *arena);
void view_set_string(struct arena *arena, struct mustache_value *map, const char *name, const char *text);
void view_set_bool(struct arena *arena, struct mustache_value *map, const char *name, bool value);
void view_set_int(struct arena *arena, struct mustache_value *map, const char *name, int64_t value);
/* "2026-11-22 14:05 UTC", or `never` when unix_time is 0. */
void view_set_time(struct arena *arena, struct mustache_value *map, const char *name, int64_t unix_time,
		   const char *never);
/* Attach `child` (a map or list) to `map` under `name`, and return it. */
struct mustache_value *view_set(struct mustache_value *map, const char *name, struct mustache_value *child);
/* Append `child` to `list` and return it. */
struct mustache_value *view_push(struct mustache_value *list, struct mustache_value *child);
/* Append a new map to `list` and return it. */
struct mustache_value *view_push_map(struct arena *arena, struct mustache_value *list);

#endif
