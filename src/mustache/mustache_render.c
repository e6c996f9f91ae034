/* mustache_render.c: renders a compiled template (mustache_compile.c) against a value tree. */
#include "mustache/mustache.h"

#include <string.h>

#include "mustache/mustache_private.h"

/* ---- rendering -------------------------------------------------------------------------------- */

/* Everything a render shares; lives on the caller's stack, so renders never share state. */
struct mustache_render {
	const struct mustache_sink *sink;
	const struct mustache_partials *partials;
	unsigned depth;     /* partials, parents and block overrides being expanded */
	unsigned nesting;   /* node lists being rendered */
	bool at_line_start; /* the last template text written ended a line */
	bool too_deep;
};

/* The context stack, innermost first. */
struct mustache_context {
	const struct mustache_value *value;
	const struct mustache_context *outer;
};

/* Indentation written before each line of template text, outermost part first. */
struct mustache_indent {
	const char *text;
	size_t length;
	const struct mustache_indent *outer;
};

/* Block arguments of the parents being expanded, innermost first. */
struct mustache_scope {
	const struct mustache_node *arguments;
	size_t count;
	const struct mustache_scope *outer;
};

static void render_nodes(struct mustache_render *render, const struct mustache_node *nodes, size_t count,
			 const struct mustache_context *context, const struct mustache_indent *indent,
			 const struct mustache_scope *scope);

static void render_write(struct mustache_render *render, const char *bytes, size_t length)
{
	if (length > 0)
		render->sink->write(render->sink->context, bytes, length);
}

static void render_indent(struct mustache_render *render, const struct mustache_indent *indent)
{
	if (indent == NULL)
		return;
	render_indent(render, indent->outer);
	render_write(render, indent->text, indent->length);
}

/* Template text: each line that starts here gets the indentation. */
static void render_text(struct mustache_render *render, const struct mustache_indent *indent, const char *text,
			size_t length)
{
	while (length > 0) {
		if (render->at_line_start)
			render_indent(render, indent);
		const char *newline = memchr(text, '\n', length);
		size_t run = newline ? (size_t)(newline - text) + 1 : length;
		render_write(render, text, run);
		render->at_line_start = newline != NULL;
		text += run;
		length -= run;
	}
}

static void render_escaped(struct mustache_render *render, const char *bytes, size_t length)
{
	size_t run_start = 0;
	for (size_t i = 0; i < length; i++) {
		const char *entity;
		switch (bytes[i]) {
		case '&':
			entity = "&amp;";
			break;
		case '<':
			entity = "&lt;";
			break;
		case '>':
			entity = "&gt;";
			break;
		case '"':
			entity = "&quot;";
			break;
		case '\'':
			entity = "&#39;";
			break;
		default:
			continue;
		}
		render_write(render, bytes + run_start, i - run_start);
		render_write(render, entity, strlen(entity));
		run_start = i + 1;
	}
	render_write(render, bytes + run_start, length - run_start);
}

/* Interpolates a value; data bytes are never indented, even when they hold newlines. */
static void render_value(struct mustache_render *render, const struct mustache_indent *indent,
			 const struct mustache_value *value, bool escape)
{
	const char *bytes;
	size_t length;
	if (value == NULL)
		return;
	if (value->kind == MUSTACHE_STRING && value->string != NULL) {
		bytes = value->string;
		length = value->string_length;
	} else if (value->kind == MUSTACHE_TRUE) {
		bytes = "true";
		length = 4;
	} else {
		return;
	}
	if (length == 0)
		return;
	if (render->at_line_start)
		render_indent(render, indent);
	render->at_line_start = false;
	if (escape)
		render_escaped(render, bytes, length);
	else
		render_write(render, bytes, length);
}

/* The member `name` of a map, or NULL. */
static const struct mustache_value *render_member(const struct mustache_value *value, const char *name, size_t length)
{
	if (value == NULL || value->kind != MUSTACHE_MAP)
		return NULL;
	for (const struct mustache_value *child = value->first_child; child != NULL; child = child->next_sibling) {
		if (child->name != NULL && strnlen(child->name, length + 1) == length &&
		    memcmp(child->name, name, length) == 0)
			return child;
	}
	return NULL;
}

/*
 * Resolves a name: "." is the innermost context; otherwise the first dotted part is looked up
 * through the context stack, innermost first, and the other parts inside what it found only.
 */
static const struct mustache_value *render_lookup(const struct mustache_context *context, const char *name,
						  size_t length)
{
	if (length == 1 && name[0] == '.')
		return context ? context->value : NULL;
	const char *dot = memchr(name, '.', length);
	size_t part = dot ? (size_t)(dot - name) : length;
	const struct mustache_value *value = NULL;
	for (; context != NULL && value == NULL; context = context->outer)
		value = render_member(context->value, name, part);
	while (value != NULL && dot != NULL) {
		name = dot + 1;
		length -= part + 1;
		dot = memchr(name, '.', length);
		part = dot ? (size_t)(dot - name) : length;
		value = render_member(value, name, part);
	}
	return value;
}

static bool render_truthy(const struct mustache_value *value)
{
	if (value == NULL)
		return false;
	switch (value->kind) {
	case MUSTACHE_NULL:
	case MUSTACHE_FALSE:
		return false;
	case MUSTACHE_LIST:
		return value->first_child != NULL;
	default:
		return true;
	}
}

static void render_section(struct mustache_render *render, const struct mustache_node *node,
			   const struct mustache_context *context, const struct mustache_indent *indent,
			   const struct mustache_scope *scope)
{
	const struct mustache_value *value = render_lookup(context, node->text, node->length);
	if (!render_truthy(value))
		return;
	struct mustache_context inner = { value, context };
	if (value->kind != MUSTACHE_LIST) {
		render_nodes(render, node->children, node->child_count, &inner, indent, scope);
		return;
	}
	for (const struct mustache_value *item = value->first_child; item != NULL && !render->too_deep;
	     item = item->next_sibling) {
		inner.value = item;
		render_nodes(render, node->children, node->child_count, &inner, indent, scope);
	}
}

/* Counts one more level of expansion; false (and the render stops) past MUSTACHE_MAX_DEPTH. */
static bool render_enter(struct mustache_render *render)
{
	if (render->depth >= MUSTACHE_MAX_DEPTH) {
		render->too_deep = true;
		return false;
	}
	render->depth++;
	return true;
}

/* {{>name}} and {{<name}}...{{/name}}: a parent also opens a scope holding its block arguments. */
static void render_partial(struct mustache_render *render, const struct mustache_node *node,
			   const struct mustache_context *context, const struct mustache_indent *indent,
			   const struct mustache_scope *scope)
{
	const char *name = node->text;
	size_t length = node->length;
	if (node->dynamic) {
		const struct mustache_value *value = render_lookup(context, name, length);
		if (value == NULL || value->kind != MUSTACHE_STRING || value->string == NULL)
			return;
		name = value->string;
		length = value->string_length;
	}
	if (render->partials == NULL || render->partials->find == NULL)
		return;
	const struct mustache_template *partial = render->partials->find(render->partials->context, name, length);
	if (partial == NULL || !render_enter(render))
		return;
	/* A standalone tag indents the partial on top of the current indentation; an inline one does not. */
	struct mustache_indent own = { node->indent, node->indent_length, indent };
	const struct mustache_indent *inner_indent = NULL;
	if (node->standalone) {
		inner_indent = node->indent_length > 0 ? &own : indent;
		render->at_line_start = true;
	}
	struct mustache_scope arguments = { node->children, node->child_count, scope };
	const struct mustache_scope *inner_scope = node->kind == MUSTACHE_NODE_PARENT ? &arguments : scope;
	render_nodes(render, partial->nodes, partial->node_count, context, inner_indent, inner_scope);
	render->depth--;
}

/*
 * {{$name}}: the outermost parent passing an argument of that name wins; its content renders in
 * the scope where that parent was called, indented like the block. Without one, the default.
 */
static void render_block(struct mustache_render *render, const struct mustache_node *node,
			 const struct mustache_context *context, const struct mustache_indent *indent,
			 const struct mustache_scope *scope)
{
	const struct mustache_node *found = NULL;
	const struct mustache_scope *found_scope = NULL;
	for (const struct mustache_scope *at = scope; at != NULL; at = at->outer) {
		for (size_t i = 0; i < at->count; i++) {
			const struct mustache_node *argument = &at->arguments[i];
			if (argument->length == node->length && memcmp(argument->text, node->text, node->length) == 0) {
				found = argument;
				found_scope = at;
				break;
			}
		}
	}
	if (found == NULL) {
		render_nodes(render, node->children, node->child_count, context, indent, scope);
		return;
	}
	if (!render_enter(render))
		return;
	struct mustache_indent own = { node->indent, node->indent_length, indent };
	if (node->standalone)
		render->at_line_start = true;
	render_nodes(render, found->children, found->child_count, context, node->indent_length > 0 ? &own : indent,
		     found_scope->outer);
	render->depth--;
}

static void render_nodes(struct mustache_render *render, const struct mustache_node *nodes, size_t count,
			 const struct mustache_context *context, const struct mustache_indent *indent,
			 const struct mustache_scope *scope)
{
	if (render->nesting >= MUSTACHE_MAX_RENDER_NESTING) {
		render->too_deep = true;
		return;
	}
	render->nesting++;
	for (size_t i = 0; i < count && !render->too_deep; i++) {
		const struct mustache_node *node = &nodes[i];
		switch (node->kind) {
		case MUSTACHE_NODE_TEXT:
			render_text(render, indent, node->text, node->length);
			break;
		case MUSTACHE_NODE_VARIABLE:
		case MUSTACHE_NODE_UNESCAPED:
			render_value(render, indent, render_lookup(context, node->text, node->length),
				     node->kind == MUSTACHE_NODE_VARIABLE);
			break;
		case MUSTACHE_NODE_SECTION:
			render_section(render, node, context, indent, scope);
			break;
		case MUSTACHE_NODE_INVERTED:
			if (!render_truthy(render_lookup(context, node->text, node->length)))
				render_nodes(render, node->children, node->child_count, context, indent, scope);
			break;
		case MUSTACHE_NODE_PARTIAL:
		case MUSTACHE_NODE_PARENT:
			render_partial(render, node, context, indent, scope);
			break;
		case MUSTACHE_NODE_BLOCK:
			render_block(render, node, context, indent, scope);
			break;
		}
	}
	render->nesting--;
}

bool mustache_render(const struct mustache_template *template_, const struct mustache_value *data,
		     const struct mustache_partials *partials, const struct mustache_sink *sink)
{
	struct mustache_render render = { sink, partials, 0, 0, true, false };
	struct mustache_context root = { data, NULL };
	render_nodes(&render, template_->nodes, template_->node_count, data ? &root : NULL, NULL, NULL);
	return !render.too_deep;
}
