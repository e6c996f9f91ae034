/* view.c: template registry, value tree builders, page rendering. */
#include "view/view.h"

#include <dirent.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "core/alloc.h"
#include "core/text.h"

#define VIEW_TEMPLATE_MAX_BYTES ((size_t)256 * 1024)

struct view_template {
	char *name;
	bool partial;
	struct mustache_template *compiled;
};

struct view {
	struct view_template *templates;
	size_t count;
};

/* Read a whole template file into a heap string. */
static char *read_file(const char *path, size_t *length, char *error, size_t error_size)
{
	FILE *file = fopen(path, "rb");
	if (file == NULL) {
		snprintf(error, error_size, "cannot open template %s: %s", path, strerror(errno));
		return NULL;
	}
	char *text = xmalloc(VIEW_TEMPLATE_MAX_BYTES + 1);
	*length = fread(text, 1, VIEW_TEMPLATE_MAX_BYTES + 1, file);
	fclose(file);
	if (*length > VIEW_TEMPLATE_MAX_BYTES) {
		snprintf(error, error_size, "template %s is larger than %zu bytes", path, VIEW_TEMPLATE_MAX_BYTES);
		free(text);
		return NULL;
	}
	text[*length] = '\0';
	return text;
}

static bool has_suffix(const char *name, const char *suffix)
{
	size_t name_length = strlen(name), suffix_length = strlen(suffix);
	return name_length > suffix_length && strcmp(name + name_length - suffix_length, suffix) == 0;
}

/* Compile every NAME.mustache of `folder` into the view. Missing folder is fine for partials. */
static bool load_folder(struct view *view, const char *folder, bool partial, char *error, size_t error_size)
{
	DIR *directory = opendir(folder);
	if (directory == NULL) {
		if (partial && errno == ENOENT)
			return true;
		snprintf(error, error_size, "cannot open template folder %s: %s", folder, strerror(errno));
		return false;
	}
	struct dirent *entry;
	bool ok = true;
	while (ok && (entry = readdir(directory)) != NULL) {
		if (entry->d_name[0] == '.' || !has_suffix(entry->d_name, ".mustache"))
			continue;
		char path[2048];
		snprintf(path, sizeof path, "%s/%s", folder, entry->d_name);
		size_t length = 0;
		char *text = read_file(path, &length, error, error_size);
		if (text == NULL) {
			ok = false;
			break;
		}
		struct mustache_error problem = { { 0 }, 0 };
		struct mustache_template *compiled = mustache_compile(text, length, &problem);
		free(text);
		if (compiled == NULL) {
			snprintf(error, error_size, "template %s, line %zu: %s", path, problem.line, problem.message);
			ok = false;
			break;
		}
		view->templates = xrealloc(view->templates, (view->count + 1) * sizeof *view->templates);
		struct view_template *slot = &view->templates[view->count++];
		slot->name = xstrdup(entry->d_name);
		slot->name[strlen(slot->name) - strlen(".mustache")] = '\0';
		slot->partial = partial;
		slot->compiled = compiled;
	}
	closedir(directory);
	return ok;
}

struct view *view_load(const char *folder, char *error, size_t error_size)
{
	struct view *view = xcalloc(1, sizeof *view);
	char partials[1100];
	snprintf(partials, sizeof partials, "%s/partials", folder);
	if (!load_folder(view, folder, false, error, error_size) ||
	    !load_folder(view, partials, true, error, error_size)) {
		view_free(view);
		return NULL;
	}
	return view;
}

void view_free(struct view *view)
{
	if (view == NULL)
		return;
	for (size_t i = 0; i < view->count; i++) {
		free(view->templates[i].name);
		mustache_free(view->templates[i].compiled);
	}
	free(view->templates);
	free(view);
}

static const struct mustache_template *find(const struct view *view, const char *name, size_t length, bool partial)
{
	for (size_t i = 0; i < view->count; i++)
		if (view->templates[i].partial == partial && strlen(view->templates[i].name) == length &&
		    memcmp(view->templates[i].name, name, length) == 0)
			return view->templates[i].compiled;
	return NULL;
}

static const struct mustache_template *find_partial(void *context, const char *name, size_t length)
{
	return find(context, name, length, true);
}

static void write_to_buf(void *context, const char *bytes, size_t length)
{
	buf_append(context, bytes, length);
}

bool view_render(const struct view *view, const char *page, const struct mustache_value *data, struct buf *out)
{
	const struct mustache_template *compiled = find(view, page, strlen(page), false);
	if (compiled == NULL) {
		fprintf(stderr, "keyward: no template named %s\n", page);
		return false;
	}
	struct mustache_partials partials = { find_partial, (void *)view };
	struct mustache_sink sink = { write_to_buf, out };
	return mustache_render(compiled, data, &partials, &sink);
}

static struct mustache_value *value_new(struct arena *arena, enum mustache_kind kind)
{
	struct mustache_value *value = arena_alloc(arena, sizeof *value);
	value->kind = kind;
	return value;
}

struct mustache_value *view_map(struct arena *arena)
{
	return value_new(arena, MUSTACHE_MAP);
}

struct mustache_value *view_list(struct arena *arena)
{
	return value_new(arena, MUSTACHE_LIST);
}

/* Append `child` to a map or list. */
static void append(struct mustache_value *parent, struct mustache_value *child)
{
	if (parent->last_child != NULL)
		parent->last_child->next_sibling = child;
	else
		parent->first_child = child;
	parent->last_child = child;
}

struct mustache_value *view_set(struct mustache_value *map, const char *name, struct mustache_value *child)
{
	child->name = name;
	append(map, child);
	return child;
}

void view_set_string(struct arena *arena, struct mustache_value *map, const char *name, const char *text)
{
	struct mustache_value *value = value_new(arena, MUSTACHE_STRING);
	value->string = arena_strdup(arena, text ? text : "");
	value->string_length = strlen(value->string);
	view_set(map, name, value);
}

void view_set_bool(struct arena *arena, struct mustache_value *map, const char *name, bool truth)
{
	view_set(map, name, value_new(arena, truth ? MUSTACHE_TRUE : MUSTACHE_FALSE));
}

void view_set_int(struct arena *arena, struct mustache_value *map, const char *name, int64_t number)
{
	view_set_string(arena, map, name, arena_printf(arena, "%lld", (long long)number));
}

void view_set_time(struct arena *arena, struct mustache_value *map, const char *name, int64_t unix_time,
		   const char *never)
{
	if (unix_time == 0) {
		view_set_string(arena, map, name, never);
		return;
	}
	char text[TEXT_TIME_MAX];
	text_utc_time(text, unix_time);
	view_set_string(arena, map, name, text);
}

struct mustache_value *view_push(struct mustache_value *list, struct mustache_value *child)
{
	child->name = NULL;
	append(list, child);
	return child;
}

struct mustache_value *view_push_map(struct arena *arena, struct mustache_value *list)
{
	return view_push(list, view_map(arena));
}
