/*
 * mustache.h: a Mustache template engine (https://mustache.github.io/mustache.5.html).
 *
 * Knows nothing of the program that uses it. Templates are compiled once and can be rendered
 * many times, from several threads at once (a compiled template is read-only). Data is a small
 * tree of values that the caller builds; the engine never allocates or frees values.
 *
 * {{name}} escapes & < > " ' as &amp; &lt; &gt; &quot; &#39;; {{{name}}} and {{&name}} do not.
 *
 * Besides the required spec modules it implements the optional ~inheritance ({{<parent}},
 * {{$block}}) and ~dynamic-names ({{>*name}}, {{<*name}}) modules; lambdas do not apply to a value
 * tree. Limits: sections, blocks and parents nest at most 100 deep within one template (deeper is
 * a compile error); while rendering, partials, parents and block overrides nest at most
 * MUSTACHE_MAX_DEPTH deep and sections and partials together at most 1024 levels, which bounds the
 * stack a render uses to a few hundred KiB.
 */
#ifndef KEYWARD_MUSTACHE_H
#define KEYWARD_MUSTACHE_H

#include <stdbool.h>
#include <stddef.h>

enum mustache_kind {
	MUSTACHE_NULL,   /* falsey, renders as "" */
	MUSTACHE_FALSE,  /* falsey, renders as "" */
	MUSTACHE_TRUE,   /* truthy, renders as "true" */
	MUSTACHE_STRING, /* truthy (even when empty, as in the spec), renders as its bytes */
	MUSTACHE_LIST,   /* section iterates children; empty list is falsey */
	MUSTACHE_MAP,    /* section pushes it as context; children are members */
};

/*
 * One value. Lists and maps hold their children as a singly linked list (first_child, then
 * next_sibling). A map's children carry their member name in `name`; a list's children have
 * name NULL. Lookups in a map take the first child whose name matches.
 */
struct mustache_value {
	enum mustache_kind kind;
	const char *name;                  /* member name when inside a map, else NULL */
	const char *string;                /* MUSTACHE_STRING: the bytes, need not be NUL-terminated */
	size_t string_length;
	struct mustache_value *first_child;
	struct mustache_value *last_child; /* for O(1) appends by builders; the engine ignores it */
	struct mustache_value *next_sibling;
};

struct mustache_template; /* opaque, compiled */

struct mustache_error {
	char message[160]; /* e.g. "unclosed section 'items'" */
	size_t line;       /* 1-based line of the template where it was found */
};

/*
 * Compile `length` bytes of template text (any bytes; NUL bytes included are copied through).
 * Returns NULL and fills *error on a syntax error (unclosed tag or section, mismatched closing
 * tag, bad delimiter change). The caller frees the result with mustache_free().
 */
struct mustache_template *mustache_compile(const char *text, size_t length, struct mustache_error *error);
void mustache_free(struct mustache_template *template_);

/* Where rendered bytes go. write() is called many times with short runs. */
struct mustache_sink {
	void (*write)(void *context, const char *bytes, size_t length);
	void *context;
};

/*
 * Finds a partial by name, or returns NULL (the spec says a missing partial renders as "").
 * The returned template must stay valid for the duration of the render.
 */
struct mustache_partials {
	const struct mustache_template *(*find)(void *context, const char *name, size_t name_length);
	void *context;
};

/*
 * Render `template_` with `data` as the root context. `partials` may be NULL (no partials).
 * Rendering never fails on data; it returns false only when partials nest deeper than
 * MUSTACHE_MAX_DEPTH (recursion guard), after writing what it had.
 * (Likewise when sections and partials together nest deeper than 1024 levels; see above.)
 */
#define MUSTACHE_MAX_DEPTH 64
bool mustache_render(const struct mustache_template *template_, const struct mustache_value *data,
		     const struct mustache_partials *partials, const struct mustache_sink *sink);

#endif
