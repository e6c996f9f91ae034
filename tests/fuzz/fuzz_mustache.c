/* fuzz_mustache.c: libFuzzer target that compiles any bytes as a template and renders what compiles. */
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "mustache/mustache.h"

int LLVMFuzzerInitialize(int *argc, char ***argv);
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

/*
 * The fixed data tree. Every list either has one item or items that shadow the list's own name
 * with something falsey, so nested sections over it cannot multiply work exponentially: what the
 * fuzzer should find is crashes and overreads, not templates that are slow by design.
 */
enum { FUZZ_VALUES = 32 };
static struct mustache_value fuzz_values[FUZZ_VALUES];
static size_t fuzz_value_count;
static struct mustache_value *fuzz_root;

static struct mustache_value *fuzz_value(struct mustache_value *parent, const char *name, enum mustache_kind kind,
					 const char *string)
{
	if (fuzz_value_count == FUZZ_VALUES)
		abort();
	struct mustache_value *value = &fuzz_values[fuzz_value_count++];
	value->kind = kind;
	value->name = name;
	if (string != NULL) {
		value->string = string;
		value->string_length = strlen(string);
	}
	if (parent != NULL) {
		if (parent->last_child != NULL)
			parent->last_child->next_sibling = value;
		else
			parent->first_child = value;
		parent->last_child = value;
	}
	return value;
}

static void fuzz_build_data(void)
{
	struct mustache_value *root = fuzz_value(NULL, NULL, MUSTACHE_MAP, NULL);
	fuzz_value(root, "name", MUSTACHE_STRING, "<b>&'\"x\"</b>");
	fuzz_value(root, "empty", MUSTACHE_STRING, "");
	fuzz_value(root, "yes", MUSTACHE_TRUE, NULL);
	fuzz_value(root, "no", MUSTACHE_FALSE, NULL);
	fuzz_value(root, "nothing", MUSTACHE_NULL, NULL);
	fuzz_value(root, "which", MUSTACHE_STRING, "tree");
	fuzz_value(root, "multi", MUSTACHE_STRING, "line one\nline two\n");

	struct mustache_value *items = fuzz_value(root, "items", MUSTACHE_LIST, NULL);
	struct mustache_value *first = fuzz_value(items, NULL, MUSTACHE_MAP, NULL);
	fuzz_value(first, "name", MUSTACHE_STRING, "first");
	fuzz_value(first, "items", MUSTACHE_FALSE, NULL);
	fuzz_value(first, "which", MUSTACHE_STRING, "layout");
	struct mustache_value *second = fuzz_value(items, NULL, MUSTACHE_MAP, NULL);
	fuzz_value(second, "items", MUSTACHE_LIST, NULL);
	struct mustache_value *a = fuzz_value(second, "a", MUSTACHE_MAP, NULL);
	struct mustache_value *b = fuzz_value(a, "b", MUSTACHE_MAP, NULL);
	fuzz_value(b, "c", MUSTACHE_STRING, "a.b.c");

	struct mustache_value *one = fuzz_value(root, "one", MUSTACHE_LIST, NULL);
	fuzz_value(one, NULL, MUSTACHE_STRING, "solo");

	struct mustache_value *children = fuzz_value(root, "children", MUSTACHE_LIST, NULL);
	struct mustache_value *child = fuzz_value(children, NULL, MUSTACHE_MAP, NULL);
	fuzz_value(child, "name", MUSTACHE_STRING, "child");
	struct mustache_value *grandchildren = fuzz_value(child, "children", MUSTACHE_LIST, NULL);
	struct mustache_value *grandchild = fuzz_value(grandchildren, NULL, MUSTACHE_MAP, NULL);
	fuzz_value(grandchild, "name", MUSTACHE_STRING, "grandchild");
	fuzz_value(grandchild, "children", MUSTACHE_LIST, NULL);
	fuzz_root = root;
}

/* Fixed partials: none renders any block site or partial twice, so nothing grows exponentially. */
static const char *const fuzz_partial_sources[][2] = {
	{ "tree", "{{name}}{{#children}}\n  {{>tree}}\n{{/children}}" },
	{ "loop", "{{>loop}}" },
	{ "layout", "<{{$title}}T{{/title}}>\n  {{$body}}\n  B {{name}}\n  {{/body}}\n{{>*which}}" },
	{ "frame", "{{<layout}}\n{{$title}}F{{/title}}\n{{/layout}}" },
	{ "climb", "{{<climb}}{{$x}}{{/x}}{{/climb}}" },
	{ "raw", "a\n{{{multi}}}\n  {{multi}}|{{.}}\n" },
};
enum { FUZZ_PARTIALS = sizeof fuzz_partial_sources / sizeof fuzz_partial_sources[0] };
static struct mustache_template *fuzz_partials[FUZZ_PARTIALS];

static const struct mustache_template *fuzz_find_partial(void *context, const char *name, size_t length)
{
	(void)context;
	for (size_t i = 0; i < FUZZ_PARTIALS; i++) {
		const char *candidate = fuzz_partial_sources[i][0];
		if (strlen(candidate) == length && memcmp(candidate, name, length) == 0)
			return fuzz_partials[i];
	}
	return NULL;
}

/* The sink keeps only a length and a hash, to check that rendering is deterministic. */
struct fuzz_digest {
	size_t length;
	uint64_t hash;
};

static void fuzz_digest_write(void *context, const char *bytes, size_t length)
{
	struct fuzz_digest *digest = context;
	if (length == 0)
		abort(); /* the engine promises not to write empty runs */
	for (size_t i = 0; i < length; i++)
		digest->hash = (digest->hash ^ (unsigned char)bytes[i]) * 1099511628211u;
	digest->length += length;
}

int LLVMFuzzerInitialize(int *argc, char ***argv)
{
	(void)argc;
	(void)argv;
	fuzz_build_data();
	for (size_t i = 0; i < FUZZ_PARTIALS; i++) {
		struct mustache_error error;
		const char *source = fuzz_partial_sources[i][1];
		fuzz_partials[i] = mustache_compile(source, strlen(source), &error);
		if (fuzz_partials[i] == NULL)
			abort();
	}
	return 0;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct mustache_error error;
	struct mustache_template *template_ = mustache_compile((const char *)data, size, &error);
	if (template_ == NULL) {
		/* A failed compile must explain itself with a line inside the template. */
		size_t lines = 1;
		for (size_t i = 0; i < size; i++)
			lines += data[i] == '\n';
		if (error.message[0] == '\0' || memchr(error.message, '\0', sizeof error.message) == NULL ||
		    error.line < 1 || error.line > lines)
			abort();
		return 0;
	}
	struct mustache_partials partials = { fuzz_find_partial, NULL };
	struct fuzz_digest first = { 0, 14695981039346656037u };
	struct fuzz_digest second = first;
	struct mustache_sink first_sink = { fuzz_digest_write, &first };
	struct mustache_sink second_sink = { fuzz_digest_write, &second };
	bool first_ok = mustache_render(template_, fuzz_root, &partials, &first_sink);
	bool second_ok = mustache_render(template_, fuzz_root, &partials, &second_sink);
	if (first_ok != second_ok || first.length != second.length || first.hash != second.hash)
		abort();
	mustache_free(template_);
	return 0;
}
