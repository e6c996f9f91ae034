/* mustache_compile.c: compiles Mustache templates into a read-only node tree (rendering: mustache_render.c). */
#include "mustache/mustache.h"

#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "mustache/mustache_private.h"

/* Sections, inverted sections, blocks and parents nest at most this deep in one template. */
#define MUSTACHE_MAX_NESTING 100

struct mustache_node_list {
	struct mustache_node *items;
	size_t count;
	size_t capacity;
};

/* ---- nodes ------------------------------------------------------------------------------------ */

/*
 * The engine's own allocator, so that it depends on nothing of keyward's: out of memory does not
 * return (a template that cannot be compiled leaves nothing to serve).
 */
static void *engine_alloc(void *pointer, size_t count, size_t size)
{
	void *grown = count != 0 && size > SIZE_MAX / count ? NULL : realloc(pointer, count * size);
	if (grown == NULL && count * size != 0) {
		fputs("mustache: out of memory\n", stderr);
		abort();
	}
	return grown;
}

static void node_list_free(struct mustache_node *items, size_t count);

static void node_release(struct mustache_node *node)
{
	free(node->owned);
	node_list_free(node->children, node->child_count);
}

static void node_list_free(struct mustache_node *items, size_t count)
{
	for (size_t i = 0; i < count; i++)
		node_release(&items[i]);
	free(items);
}

static void node_list_append(struct mustache_node_list *list, const struct mustache_node *node)
{
	if (list->count == list->capacity) {
		list->capacity = list->capacity ? list->capacity * 2 : 8;
		list->items = engine_alloc(list->items, list->capacity, sizeof *list->items);
	}
	list->items[list->count++] = *node;
}

/* Length of the longest common prefix of text and dedent. */
static size_t node_common_prefix(const char *text, size_t length, const char *dedent, size_t dedent_length)
{
	size_t n = 0;
	while (n < length && n < dedent_length && text[n] == dedent[n])
		n++;
	return n;
}

/* Removes the dedent prefix (or as much of it as matches) from every line that starts in the text. */
static void node_dedent_text(struct mustache_node *node, const char *dedent, size_t dedent_length)
{
	char *out = engine_alloc(NULL, node->length + 1, 1);
	size_t in = 0;
	size_t used = 0;
	bool at_start = node->line_start;
	while (in < node->length) {
		if (at_start)
			in += node_common_prefix(node->text + in, node->length - in, dedent, dedent_length);
		const char *newline = memchr(node->text + in, '\n', node->length - in);
		size_t run = newline ? (size_t)(newline - (node->text + in)) + 1 : node->length - in;
		memcpy(out + used, node->text + in, run);
		used += run;
		in += run;
		at_start = newline != NULL;
	}
	free(node->owned);
	node->owned = out;
	node->text = out;
	node->length = used;
}

/*
 * Makes the content of a block argument relative to its own indentation: strips `dedent` from each
 * line that starts inside it, and from the indentation of the partials, parents and parameter
 * blocks it holds. Arguments of nested parents were already made relative to themselves.
 */
static void node_dedent(struct mustache_node *nodes, size_t count, const char *dedent, size_t dedent_length)
{
	for (size_t i = 0; i < count; i++) {
		struct mustache_node *node = &nodes[i];
		size_t strip;
		switch (node->kind) {
		case MUSTACHE_NODE_TEXT:
			node_dedent_text(node, dedent, dedent_length);
			break;
		case MUSTACHE_NODE_BLOCK:
		case MUSTACHE_NODE_PARTIAL:
		case MUSTACHE_NODE_PARENT:
			if (node->indent_length > 0) {
				strip = node_common_prefix(node->indent, node->indent_length, dedent, dedent_length);
				node->indent += strip;
				node->indent_length -= strip;
			}
			if (node->kind == MUSTACHE_NODE_BLOCK)
				node_dedent(node->children, node->child_count, dedent, dedent_length);
			break;
		case MUSTACHE_NODE_SECTION:
		case MUSTACHE_NODE_INVERTED:
			node_dedent(node->children, node->child_count, dedent, dedent_length);
			break;
		case MUSTACHE_NODE_VARIABLE:
		case MUSTACHE_NODE_UNESCAPED:
			break;
		}
	}
}

/* ---- compiling -------------------------------------------------------------------------------- */

/* A section, block or parent whose closing tag has not been seen yet; frames[0] is the top level. */
struct mustache_frame {
	enum mustache_node_kind kind; /* SECTION, INVERTED, BLOCK, PARENT; TEXT marks the top level */
	bool argument;                /* BLOCK directly inside a PARENT */
	bool dynamic;                 /* PARENT: {{<*name}} */
	bool standalone;              /* BLOCK, PARENT: the opening tag stood alone on its line */
	bool blank_before;            /* PARENT: only blanks between the line start and the tag */
	const char *name;
	size_t name_length;
	size_t tag_start;
	/* PARENT: the blanks before the tag; BLOCK parameter: indentation of overrides;
	 * BLOCK argument: indentation removed from its content. */
	const char *indent;
	size_t indent_length;
	struct mustache_node_list nodes;
};

struct mustache_parser {
	const char *source;
	size_t length;
	const char *open; /* current delimiters */
	size_t open_length;
	const char *close;
	size_t close_length;
	size_t text_start; /* literal text not yet turned into a node starts here */
	struct mustache_frame *frames;
	size_t depth; /* index of the innermost open frame */
	struct mustache_error *error;
	size_t line_scanned; /* line_begin is known for positions up to here */
	size_t line_begin;
	size_t indent_line; /* line whose leading blanks end at indent_end, SIZE_MAX if none */
	size_t indent_end;
};

struct mustache_name {
	const char *text;
	size_t length;
	bool dynamic;
};

static bool parser_is_blank(char c)
{
	return c == ' ' || c == '\t';
}

static bool parser_is_space(char c)
{
	return c == ' ' || c == '\t' || c == '\n' || c == '\r' || c == '\v' || c == '\f';
}

/* Copies at most 40 bytes of a name into out[48] for an error message, printable ASCII only. */
static const char *parser_quote(const char *text, size_t length, char out[48])
{
	size_t n = length > 40 ? 40 : length;
	for (size_t i = 0; i < n; i++) {
		unsigned char c = (unsigned char)text[i];
		out[i] = c >= 0x20 && c < 0x7f ? (char)c : '?';
	}
	if (n < length) {
		memcpy(out + n, "...", 3);
		n += 3;
	}
	out[n] = '\0';
	return out;
}

/* Fills the caller's error with a message and the 1-based line of `position`; returns false. */
__attribute__((format(printf, 3, 4))) static bool parser_fail(struct mustache_parser *parser, size_t position,
							      const char *format, ...)
{
	if (parser->error == NULL)
		return false;
	size_t line = 1;
	const char *cursor = parser->source;
	const char *end = parser->source + (position < parser->length ? position : parser->length);
	while ((cursor = memchr(cursor, '\n', (size_t)(end - cursor))) != NULL) {
		line++;
		cursor++;
	}
	va_list arguments;
	va_start(arguments, format);
	vsnprintf(parser->error->message, sizeof parser->error->message, format, arguments);
	va_end(arguments);
	parser->error->line = line;
	return false;
}

/*
 * Whether only blanks lie between the start of the line and `tag_start` (never looking back past
 * text already consumed). *blank_start receives where those blanks begin.
 */
static bool parser_blank_before(const struct mustache_parser *parser, size_t tag_start, size_t *blank_start)
{
	size_t i = tag_start;
	while (i > parser->text_start && parser_is_blank(parser->source[i - 1]))
		i--;
	*blank_start = i;
	return i == 0 || parser->source[i - 1] == '\n';
}

/* Whether only blanks and then "\n", "\r\n" or the end follow `tag_end`; *line_end is past them. */
static bool parser_blank_after(const struct mustache_parser *parser, size_t tag_end, size_t *line_end)
{
	size_t i = tag_end;
	while (i < parser->length && parser_is_blank(parser->source[i]))
		i++;
	if (i == parser->length) {
		*line_end = i;
		return true;
	}
	if (parser->source[i] == '\n') {
		*line_end = i + 1;
		return true;
	}
	if (parser->source[i] == '\r' && i + 1 < parser->length && parser->source[i + 1] == '\n') {
		*line_end = i + 2;
		return true;
	}
	return false;
}

/* Number of blanks starting at `position`. */
static size_t parser_blanks_at(const struct mustache_parser *parser, size_t position)
{
	size_t i = position;
	while (i < parser->length && parser_is_blank(parser->source[i]))
		i++;
	return i - position;
}

/* The leading blanks of the line holding `position`; positions must not decrease between calls. */
static void parser_line_indent(struct mustache_parser *parser, size_t position, const char **indent, size_t *length)
{
	if (position > parser->line_scanned) {
		const char *newline = memrchr(parser->source + parser->line_scanned, '\n', position - parser->line_scanned);
		if (newline != NULL)
			parser->line_begin = (size_t)(newline - parser->source) + 1;
		parser->line_scanned = position;
	}
	if (parser->indent_line != parser->line_begin) {
		parser->indent_line = parser->line_begin;
		parser->indent_end = parser->line_begin + parser_blanks_at(parser, parser->line_begin);
	}
	*indent = parser->source + parser->line_begin;
	*length = parser->indent_end - parser->line_begin;
}

/*
 * Parses the name of a tag from source[start, end): trims white space; with allow_dynamic a leading
 * '*' makes it a dynamic name. Empty names and names with white space inside are errors.
 */
static bool parser_name(struct mustache_parser *parser, size_t start, size_t end, bool allow_dynamic, size_t tag_start,
			struct mustache_name *name)
{
	const char *source = parser->source;
	while (start < end && parser_is_space(source[start]))
		start++;
	while (end > start && parser_is_space(source[end - 1]))
		end--;
	name->dynamic = false;
	if (allow_dynamic && start < end && source[start] == '*') {
		name->dynamic = true;
		start++;
		while (start < end && parser_is_space(source[start]))
			start++;
	}
	if (start == end)
		return parser_fail(parser, tag_start, "empty tag name");
	for (size_t i = start; i < end; i++) {
		if (parser_is_space(source[i])) {
			char quoted[48];
			return parser_fail(parser, tag_start, "tag name '%s' contains white space",
					   parser_quote(source + start, end - start, quoted));
		}
	}
	name->text = source + start;
	name->length = end - start;
	return true;
}

/* Applies {{=open close=}} whose text between the two '=' signs is source[start, end). */
static bool parser_set_delimiters(struct mustache_parser *parser, size_t start, size_t end, size_t tag_start)
{
	const char *source = parser->source;
	if (end == start || source[end - 1] != '=')
		return parser_fail(parser, tag_start, "bad delimiter change: missing '=' before the closing delimiter");
	end--;
	size_t i = start;
	while (i < end && parser_is_space(source[i]))
		i++;
	size_t open_start = i;
	while (i < end && !parser_is_space(source[i]) && source[i] != '=')
		i++;
	size_t open_end = i;
	while (i < end && parser_is_space(source[i]))
		i++;
	size_t close_start = i;
	while (i < end && !parser_is_space(source[i]) && source[i] != '=')
		i++;
	size_t close_end = i;
	while (i < end && parser_is_space(source[i]))
		i++;
	if (open_end == open_start || close_end == close_start || i != end)
		return parser_fail(parser, tag_start,
				   "bad delimiter change: expected two delimiters without white space or '='");
	parser->open = source + open_start;
	parser->open_length = open_end - open_start;
	parser->close = source + close_start;
	parser->close_length = close_end - close_start;
	return true;
}

static struct mustache_frame *parser_top(struct mustache_parser *parser)
{
	return &parser->frames[parser->depth];
}

/* Adds a finished node to the innermost frame; a parent keeps only its block arguments. */
static void parser_append(struct mustache_parser *parser, struct mustache_node *node)
{
	struct mustache_frame *top = parser_top(parser);
	if (top->kind == MUSTACHE_NODE_PARENT && node->kind != MUSTACHE_NODE_BLOCK) {
		node_release(node);
		return;
	}
	node_list_append(&top->nodes, node);
}

/* Turns source[text_start, end) into a text node (nothing if empty or inside a parent). */
static void parser_add_text(struct mustache_parser *parser, size_t end)
{
	if (end <= parser->text_start || parser_top(parser)->kind == MUSTACHE_NODE_PARENT)
		return;
	struct mustache_node node = { 0 };
	node.kind = MUSTACHE_NODE_TEXT;
	node.line_start = parser->text_start == 0 || parser->source[parser->text_start - 1] == '\n';
	node.text = parser->source + parser->text_start;
	node.length = end - parser->text_start;
	parser_append(parser, &node);
}

/* Opens a section, inverted section, block or parent; fails past MUSTACHE_MAX_NESTING. */
static struct mustache_frame *parser_push(struct mustache_parser *parser, enum mustache_node_kind kind,
					  const struct mustache_name *name, size_t tag_start)
{
	if (parser->depth == MUSTACHE_MAX_NESTING) {
		parser_fail(parser, tag_start, "sections, blocks and parents nest deeper than %d levels",
			    MUSTACHE_MAX_NESTING);
		return NULL;
	}
	struct mustache_frame *frame = &parser->frames[++parser->depth];
	memset(frame, 0, sizeof *frame);
	frame->kind = kind;
	frame->dynamic = name->dynamic;
	frame->name = name->text;
	frame->name_length = name->length;
	frame->tag_start = tag_start;
	return frame;
}

static const char *parser_kind_word(enum mustache_node_kind kind)
{
	switch (kind) {
	case MUSTACHE_NODE_INVERTED:
		return "inverted section";
	case MUSTACHE_NODE_BLOCK:
		return "block";
	case MUSTACHE_NODE_PARENT:
		return "parent";
	default:
		return "section";
	}
}

/*
 * Handles {{/name}}: closes the innermost frame into a node. Standalone rules: a section or
 * parameter block closes standalone like any tag; an argument block only needs blanks before its
 * closing tag (what follows belongs to the parent and is ignored); a parent is standalone as a
 * whole when its opening tag starts its line and its closing tag ends a line.
 */
static bool parser_close(struct mustache_parser *parser, size_t tag_start, size_t inner, size_t inner_end,
			 size_t tag_end)
{
	char quoted[48];
	char expected[48];
	if (parser->depth == 0) {
		struct mustache_name stray;
		if (!parser_name(parser, inner, inner_end, true, tag_start, &stray))
			return false;
		return parser_fail(parser, tag_start, "closing tag '%s' has no open section",
				   parser_quote(stray.text, stray.length, quoted));
	}
	struct mustache_frame *frame = parser_top(parser);
	struct mustache_name name;
	if (!parser_name(parser, inner, inner_end, frame->kind == MUSTACHE_NODE_PARENT, tag_start, &name))
		return false;
	if (name.dynamic != frame->dynamic || name.length != frame->name_length ||
	    memcmp(name.text, frame->name, name.length) != 0) {
		size_t open_line = 1;
		for (size_t i = 0; i < frame->tag_start; i++)
			open_line += parser->source[i] == '\n';
		return parser_fail(parser, tag_start, "closing tag '%s%s' does not match %s '%s%s' opened on line %zu",
				   name.dynamic ? "*" : "", parser_quote(name.text, name.length, quoted),
				   parser_kind_word(frame->kind), frame->dynamic ? "*" : "",
				   parser_quote(frame->name, frame->name_length, expected), open_line);
	}

	size_t blank_start;
	size_t line_end;
	bool before = parser_blank_before(parser, tag_start, &blank_start);
	bool after = parser_blank_after(parser, tag_end, &line_end);
	bool standalone = before && after;
	bool consume = standalone;
	bool indented = false;
	if (frame->kind == MUSTACHE_NODE_BLOCK && frame->argument) {
		parser_add_text(parser, before ? blank_start : tag_start);
	} else if (frame->kind == MUSTACHE_NODE_PARENT) {
		indented = frame->blank_before && (frame->standalone || after);
		consume = (indented && after) || standalone;
	} else {
		parser_add_text(parser, standalone ? blank_start : tag_start);
	}

	struct mustache_node node = { 0 };
	node.kind = frame->kind;
	node.dynamic = frame->dynamic;
	node.text = frame->name;
	node.length = frame->name_length;
	node.children = frame->nodes.items;
	node.child_count = frame->nodes.count;
	frame->nodes.items = NULL;
	frame->nodes.count = 0;
	if (frame->kind == MUSTACHE_NODE_BLOCK && frame->argument) {
		if (frame->indent_length > 0)
			node_dedent(node.children, node.child_count, frame->indent, frame->indent_length);
	} else if (frame->kind == MUSTACHE_NODE_BLOCK) {
		node.standalone = frame->standalone;
		node.indent = frame->indent;
		node.indent_length = frame->indent_length;
	} else if (frame->kind == MUSTACHE_NODE_PARENT) {
		node.standalone = indented;
		if (indented) {
			node.indent = frame->indent;
			node.indent_length = frame->indent_length;
		}
	}
	bool give_back_blanks = frame->kind == MUSTACHE_NODE_PARENT && frame->blank_before && !indented &&
				frame->indent_length > 0;
	struct mustache_node blanks = { 0 };
	if (give_back_blanks) {
		blanks.kind = MUSTACHE_NODE_TEXT;
		blanks.line_start = true;
		blanks.text = frame->indent;
		blanks.length = frame->indent_length;
	}
	parser->depth--;
	if (give_back_blanks)
		parser_append(parser, &blanks);
	parser_append(parser, &node);
	parser->text_start = consume ? line_end : tag_end;
	return true;
}

/*
 * Handles the tag whose opening delimiter starts at tag_start; on success parser->text_start is
 * where scanning resumes.
 */
static bool parser_tag(struct mustache_parser *parser, size_t tag_start)
{
	const char *source = parser->source;
	size_t content = tag_start + parser->open_length;
	char sigil = content < parser->length ? source[content] : '\0';
	bool has_sigil = false;
	bool can_stand_alone = false;
	switch (sigil) {
	case '!':
	case '#':
	case '^':
	case '/':
	case '>':
	case '=':
	case '<':
	case '$':
		can_stand_alone = true;
		has_sigil = true;
		break;
	case '{':
	case '&':
		has_sigil = true;
		break;
	default:
		break;
	}
	size_t inner = content + (has_sigil ? 1 : 0);
	size_t close;
	size_t search = inner;
	for (;;) {
		const char *found = NULL;
		if (search < parser->length)
			found = memmem(source + search, parser->length - search, parser->close, parser->close_length);
		if (found == NULL) {
			char open_quoted[48];
			char close_quoted[48];
			return parser_fail(parser, tag_start, "unclosed tag: '%s' without a closing '%s%s'",
					   parser_quote(parser->open, parser->open_length, open_quoted),
					   sigil == '{' ? "}" : "",
					   parser_quote(parser->close, parser->close_length, close_quoted));
		}
		close = (size_t)(found - source);
		if (sigil != '{' || (close > inner && source[close - 1] == '}'))
			break;
		search = close + 1;
	}
	size_t inner_end = sigil == '{' ? close - 1 : close;
	size_t tag_end = close + parser->close_length;

	size_t blank_start = tag_start;
	size_t line_end = tag_end;
	bool before = parser_blank_before(parser, tag_start, &blank_start);
	bool after = parser_blank_after(parser, tag_end, &line_end);
	bool standalone = can_stand_alone && before && after;
	size_t text_end = standalone ? blank_start : tag_start;
	size_t resume = standalone ? line_end : tag_end;

	struct mustache_name name;
	struct mustache_node node = { 0 };
	struct mustache_frame *frame;
	switch (sigil) {
	case '!':
		parser_add_text(parser, text_end);
		break;
	case '=':
		if (!parser_set_delimiters(parser, inner, inner_end, tag_start))
			return false;
		parser_add_text(parser, text_end);
		break;
	case '/':
		return parser_close(parser, tag_start, inner, inner_end, tag_end);
	case '#':
	case '^':
		if (!parser_name(parser, inner, inner_end, false, tag_start, &name))
			return false;
		parser_add_text(parser, text_end);
		if (!parser_push(parser, sigil == '#' ? MUSTACHE_NODE_SECTION : MUSTACHE_NODE_INVERTED, &name,
				 tag_start))
			return false;
		break;
	case '>':
		if (!parser_name(parser, inner, inner_end, true, tag_start, &name))
			return false;
		parser_add_text(parser, text_end);
		node.kind = MUSTACHE_NODE_PARTIAL;
		node.dynamic = name.dynamic;
		node.text = name.text;
		node.length = name.length;
		node.standalone = standalone;
		if (standalone) {
			node.indent = source + blank_start;
			node.indent_length = tag_start - blank_start;
		}
		parser_append(parser, &node);
		break;
	case '<':
		if (!parser_name(parser, inner, inner_end, true, tag_start, &name))
			return false;
		/* The blanks before a parent are held back until its closing tag shows whether they indent it. */
		parser_add_text(parser, before ? blank_start : tag_start);
		frame = parser_push(parser, MUSTACHE_NODE_PARENT, &name, tag_start);
		if (frame == NULL)
			return false;
		frame->standalone = standalone;
		frame->blank_before = before;
		if (before) {
			frame->indent = source + blank_start;
			frame->indent_length = tag_start - blank_start;
		}
		break;
	case '$':
		if (!parser_name(parser, inner, inner_end, false, tag_start, &name))
			return false;
		if (parser_top(parser)->kind == MUSTACHE_NODE_PARENT) {
			/* An argument: what precedes it on the line is ignored parent text. */
			parser_add_text(parser, tag_start);
			frame = parser_push(parser, MUSTACHE_NODE_BLOCK, &name, tag_start);
			if (frame == NULL)
				return false;
			frame->argument = true;
			frame->standalone = after;
			if (after) {
				frame->indent = source + line_end;
				frame->indent_length = parser_blanks_at(parser, line_end);
			} else {
				parser_line_indent(parser, tag_start, &frame->indent, &frame->indent_length);
			}
			resume = after ? line_end : tag_end;
		} else {
			parser_add_text(parser, text_end);
			const char *indent;
			size_t indent_length;
			if (standalone) {
				indent = source + line_end;
				indent_length = parser_blanks_at(parser, line_end);
			} else {
				parser_line_indent(parser, tag_start, &indent, &indent_length);
			}
			frame = parser_push(parser, MUSTACHE_NODE_BLOCK, &name, tag_start);
			if (frame == NULL)
				return false;
			frame->standalone = standalone;
			frame->indent = indent;
			frame->indent_length = indent_length;
		}
		break;
	default:
		if (!parser_name(parser, inner, inner_end, false, tag_start, &name))
			return false;
		parser_add_text(parser, tag_start);
		node.kind = sigil == '{' || sigil == '&' ? MUSTACHE_NODE_UNESCAPED : MUSTACHE_NODE_VARIABLE;
		node.text = name.text;
		node.length = name.length;
		parser_append(parser, &node);
		break;
	}
	parser->text_start = resume;
	return true;
}

/* Scans the whole template; on failure the frames still hold what was built, for the caller to free. */
static bool parser_run(struct mustache_parser *parser)
{
	for (;;) {
		size_t position = parser->text_start;
		const char *found = NULL;
		if (position < parser->length)
			found = memmem(parser->source + position, parser->length - position, parser->open,
				       parser->open_length);
		if (found == NULL)
			break;
		if (!parser_tag(parser, (size_t)(found - parser->source)))
			return false;
	}
	parser_add_text(parser, parser->length);
	if (parser->depth > 0) {
		struct mustache_frame *frame = parser_top(parser);
		char quoted[48];
		return parser_fail(parser, frame->tag_start, "unclosed %s '%s%s'", parser_kind_word(frame->kind),
				   frame->dynamic ? "*" : "", parser_quote(frame->name, frame->name_length, quoted));
	}
	return true;
}

struct mustache_template *mustache_compile(const char *text, size_t length, struct mustache_error *error)
{
	if (error != NULL) {
		error->message[0] = '\0';
		error->line = 0;
	}
	if (length == SIZE_MAX) {
		if (error != NULL) {
			snprintf(error->message, sizeof error->message, "template too large");
			error->line = 1;
		}
		return NULL;
	}
	struct mustache_template *template_ = engine_alloc(NULL, 1, sizeof *template_);
	memset(template_, 0, sizeof *template_);
	template_->source = engine_alloc(NULL, length + 1, 1);
	if (length > 0)
		memcpy(template_->source, text, length);
	template_->source[length] = '\0';

	struct mustache_parser parser = { 0 };
	parser.source = template_->source;
	parser.length = length;
	parser.open = "{{";
	parser.open_length = 2;
	parser.close = "}}";
	parser.close_length = 2;
	parser.error = error;
	parser.indent_line = SIZE_MAX;
	parser.frames = engine_alloc(NULL, MUSTACHE_MAX_NESTING + 1, sizeof *parser.frames);
	memset(parser.frames, 0, (MUSTACHE_MAX_NESTING + 1) * sizeof *parser.frames);
	parser.frames[0].kind = MUSTACHE_NODE_TEXT;

	bool ok = parser_run(&parser);
	if (!ok) {
		for (size_t i = 0; i <= parser.depth; i++)
			node_list_free(parser.frames[i].nodes.items, parser.frames[i].nodes.count);
		free(parser.frames);
		free(template_->source);
		free(template_);
		return NULL;
	}
	template_->nodes = parser.frames[0].nodes.items;
	template_->node_count = parser.frames[0].nodes.count;
	free(parser.frames);
	return template_;
}

void mustache_free(struct mustache_template *template_)
{
	if (template_ == NULL)
		return;
	node_list_free(template_->nodes, template_->node_count);
	free(template_->source);
	free(template_);
}
