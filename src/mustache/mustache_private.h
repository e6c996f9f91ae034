/*
 * mustache_private.h: what the compiler (mustache_compile.c) hands the renderer
 * (mustache_render.c): the read-only node tree of a compiled template.
 */
#ifndef KEYWARD_MUSTACHE_PRIVATE_H
#define KEYWARD_MUSTACHE_PRIVATE_H

#include <stdbool.h>
#include <stddef.h>

#include "mustache/mustache.h"

/* Node lists nest at most this deep while rendering (sections inside partials inside sections...);
 * with about 220 bytes of stack per level a render never needs much more than 256 KiB. */
#define MUSTACHE_MAX_RENDER_NESTING 1024

enum mustache_node_kind {
	MUSTACHE_NODE_TEXT,       /* literal bytes */
	MUSTACHE_NODE_VARIABLE,   /* {{name}}, escaped */
	MUSTACHE_NODE_UNESCAPED,  /* {{{name}}} or {{&name}} */
	MUSTACHE_NODE_SECTION,    /* {{#name}}...{{/name}} */
	MUSTACHE_NODE_INVERTED,   /* {{^name}}...{{/name}} */
	MUSTACHE_NODE_PARTIAL,    /* {{>name}} or {{>*name}} */
	MUSTACHE_NODE_PARENT,     /* {{<name}}...{{/name}}: a partial with block arguments */
	MUSTACHE_NODE_BLOCK,      /* {{$name}}...{{/name}}: a parameter, or an argument inside a parent */
};

/*
 * One compiled element. Names and unmodified text point into the template's copy of its source;
 * `owned` holds text rewritten at compile time (dedented block content).
 */
struct mustache_node {
	enum mustache_node_kind kind;
	bool line_start; /* TEXT: its first byte begins a line of the template */
	bool dynamic;    /* PARTIAL, PARENT: the name is looked up in the context to get the partial's name */
	bool standalone; /* PARTIAL, PARENT: indent every line; BLOCK: an override starts on a fresh line */
	const char *text; /* TEXT: the bytes; every other kind: the name */
	size_t length;
	char *owned;
	const char *indent; /* PARTIAL, PARENT: indentation of the standalone tag; BLOCK: of its overrides */
	size_t indent_length;
	struct mustache_node *children; /* SECTION, INVERTED, BLOCK: content; PARENT: its BLOCK arguments */
	size_t child_count;
};

struct mustache_template {
	char *source; /* copy of the template text, NUL-terminated */
	struct mustache_node *nodes;
	size_t node_count;
};

#endif
