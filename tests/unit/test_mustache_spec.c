/*
 * test_mustache_spec.c: runs the official Mustache spec (github.com/mustache/spec: the JSON files
 * of its specs folder) against the mustache engine. They are looked for in MUSTACHE_SPEC_DIR, else
 * in SHARED_DIR/mustache-spec, else in ../shared/mustache-spec. Where that folder does not exist (a
 * fresh clone has no ../shared), every case is reported skipped with the path looked in, and the run
 * passes, unless MUSTACHE_SPEC_REQUIRED=1 (CI) makes it a failure. A folder that exists but lacks a
 * required file, or holds one that does not load, fails.
 */
#include <jansson.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "core/alloc.h"
#include "mustache/mustache.h"

struct spec_file {
	const char *name;
	bool required;
	bool skip;          /* lambdas need code in the data, which a C value tree cannot hold */
	size_t known_cases; /* its cases in spec v1.4.2-3-g9cb20c3: what a missing suite reports skipped */
};

static const struct spec_file spec_files[] = {
	{ "comments.json", true, false, 12 },      { "delimiters.json", true, false, 14 },
	{ "interpolation.json", true, false, 42 }, { "inverted.json", true, false, 22 },
	{ "partials.json", true, false, 12 },      { "sections.json", true, false, 34 },
	{ "~inheritance.json", false, false, 27 }, { "~dynamic-names.json", false, false, 21 },
	{ "~lambdas.json", false, true, 10 },
};

struct spec_totals {
	size_t passed;
	size_t failed;
	size_t skipped;
	bool broken; /* a required file is missing or unreadable, or a non-lambda test failed */
};

/* A growable byte buffer used as the render sink. */
struct spec_buffer {
	char *bytes;
	size_t length;
	size_t capacity;
};

static void spec_buffer_write(void *context, const char *bytes, size_t length)
{
	struct spec_buffer *buffer = context;
	if (buffer->length + length + 1 > buffer->capacity) {
		size_t capacity = buffer->capacity ? buffer->capacity : 256;
		while (capacity < buffer->length + length + 1)
			capacity *= 2;
		buffer->bytes = xrealloc(buffer->bytes, capacity);
		buffer->capacity = capacity;
	}
	memcpy(buffer->bytes + buffer->length, bytes, length);
	buffer->length += length;
	buffer->bytes[buffer->length] = '\0';
}

/* Partials of one test, looked up by name. */
struct spec_partial {
	char *name;
	struct mustache_template *template_;
};

struct spec_partials {
	struct spec_partial *items;
	size_t count;
};

static const struct mustache_template *spec_find_partial(void *context, const char *name, size_t length)
{
	const struct spec_partials *partials = context;
	for (size_t i = 0; i < partials->count; i++) {
		if (strlen(partials->items[i].name) == length && memcmp(partials->items[i].name, name, length) == 0)
			return partials->items[i].template_;
	}
	return NULL;
}

static void spec_partials_free(struct spec_partials *partials)
{
	for (size_t i = 0; i < partials->count; i++) {
		free(partials->items[i].name);
		mustache_free(partials->items[i].template_);
	}
	free(partials->items);
}

/* Formats a JSON number the way the spec prints it: integers plainly, reals in their shortest exact form. */
static char *spec_format_number(const json_t *number)
{
	char text[64];
	if (json_is_integer(number)) {
		snprintf(text, sizeof text, "%" JSON_INTEGER_FORMAT, json_integer_value(number));
	} else {
		double value = json_real_value(number);
		for (int precision = 1; precision <= 17; precision++) {
			snprintf(text, sizeof text, "%.*g", precision, value);
			if (strtod(text, NULL) == value)
				break;
		}
	}
	return xstrdup(text);
}

static void spec_value_set_string(struct mustache_value *value, const char *bytes, size_t length)
{
	char *copy = xmalloc(length + 1);
	memcpy(copy, bytes, length);
	copy[length] = '\0';
	value->kind = MUSTACHE_STRING;
	value->string = copy;
	value->string_length = length;
}

static void spec_value_append(struct mustache_value *parent, struct mustache_value *child)
{
	if (parent->last_child != NULL)
		parent->last_child->next_sibling = child;
	else
		parent->first_child = child;
	parent->last_child = child;
}

/* Converts JSON data to a freshly allocated value tree (free with spec_value_free). */
static struct mustache_value *spec_value_from_json(const json_t *json, const char *name)
{
	struct mustache_value *value = xcalloc(1, sizeof *value);
	value->name = name ? xstrdup(name) : NULL;
	const char *key;
	json_t *member;
	size_t index;
	switch (json_typeof(json)) {
	case JSON_OBJECT:
		value->kind = MUSTACHE_MAP;
		json_object_foreach ((json_t *)json, key, member)
			spec_value_append(value, spec_value_from_json(member, key));
		break;
	case JSON_ARRAY:
		value->kind = MUSTACHE_LIST;
		json_array_foreach (json, index, member)
			spec_value_append(value, spec_value_from_json(member, NULL));
		break;
	case JSON_STRING:
		spec_value_set_string(value, json_string_value(json), json_string_length(json));
		break;
	case JSON_INTEGER:
	case JSON_REAL: {
		char *text = spec_format_number(json);
		spec_value_set_string(value, text, strlen(text));
		free(text);
		break;
	}
	case JSON_TRUE:
		value->kind = MUSTACHE_TRUE;
		break;
	case JSON_FALSE:
		value->kind = MUSTACHE_FALSE;
		break;
	case JSON_NULL:
		value->kind = MUSTACHE_NULL;
		break;
	}
	return value;
}

static void spec_value_free(struct mustache_value *value)
{
	while (value != NULL) {
		struct mustache_value *next = value->next_sibling;
		spec_value_free(value->first_child);
		free((char *)value->name);
		free((char *)value->string);
		free(value);
		value = next;
	}
}

/* Prints bytes as a C-like quoted string so that whitespace differences show. */
static void spec_print_quoted(const char *bytes, size_t length)
{
	putchar('"');
	for (size_t i = 0; i < length; i++) {
		unsigned char c = (unsigned char)bytes[i];
		if (c == '\n')
			fputs("\\n", stdout);
		else if (c == '\r')
			fputs("\\r", stdout);
		else if (c == '\t')
			fputs("\\t", stdout);
		else if (c == '"' || c == '\\')
			printf("\\%c", c);
		else if (c < 0x20 || c == 0x7f)
			printf("\\x%02x", c);
		else
			putchar(c);
	}
	putchar('"');
}

/* Runs one test object; returns whether it passed, printing the details when it did not. */
static bool spec_run_test(const char *file, const json_t *test)
{
	const char *name = json_string_value(json_object_get(test, "name"));
	const json_t *template_json = json_object_get(test, "template");
	const json_t *expected_json = json_object_get(test, "expected");
	const json_t *partials_json = json_object_get(test, "partials");
	if (name == NULL)
		name = "(unnamed)";
	if (!json_is_string(template_json) || !json_is_string(expected_json)) {
		printf("  FAIL %s: %s: test has no template or expected text\n", file, name);
		return false;
	}

	bool passed = false;
	struct mustache_error error;
	struct spec_partials partials = { 0 };
	struct mustache_value *data = NULL;
	struct spec_buffer output = { 0 };
	struct mustache_template *template_ =
		mustache_compile(json_string_value(template_json), json_string_length(template_json), &error);
	if (template_ == NULL) {
		printf("  FAIL %s: %s: compile error on line %zu: %s\n", file, name, error.line, error.message);
		goto done;
	}
	if (json_is_object(partials_json)) {
		partials.items = xcalloc(json_object_size(partials_json) + 1, sizeof *partials.items);
		const char *key;
		json_t *member;
		json_object_foreach ((json_t *)partials_json, key, member) {
			struct mustache_template *partial =
				mustache_compile(json_string_value(member), json_string_length(member), &error);
			if (partial == NULL) {
				printf("  FAIL %s: %s: partial '%s' compile error on line %zu: %s\n", file, name, key,
				       error.line, error.message);
				goto done;
			}
			partials.items[partials.count].name = xstrdup(key);
			partials.items[partials.count].template_ = partial;
			partials.count++;
		}
	}
	const json_t *data_json = json_object_get(test, "data");
	if (data_json != NULL)
		data = spec_value_from_json(data_json, NULL);

	struct mustache_partials lookup = { spec_find_partial, &partials };
	struct mustache_sink sink = { spec_buffer_write, &output };
	bool rendered = mustache_render(template_, data, &lookup, &sink);
	const char *expected = json_string_value(expected_json);
	size_t expected_length = json_string_length(expected_json);
	passed = rendered && output.length == expected_length &&
		 (expected_length == 0 || memcmp(output.bytes, expected, expected_length) == 0);
	if (!passed) {
		printf("  FAIL %s: %s%s\n    expected: ", file, name, rendered ? "" : " (render returned false)");
		spec_print_quoted(expected, expected_length);
		printf("\n    got:      ");
		spec_print_quoted(output.bytes ? output.bytes : "", output.length);
		printf("\n");
	}

done:
	free(output.bytes);
	spec_value_free(data);
	spec_partials_free(&partials);
	mustache_free(template_);
	return passed;
}

static void spec_run_file(const char *directory, const struct spec_file *file, struct spec_totals *totals)
{
	size_t path_length = strlen(directory) + strlen(file->name) + 2;
	char *path = xmalloc(path_length);
	snprintf(path, path_length, "%s/%s", directory, file->name);
	json_error_t json_error;
	json_t *root = json_load_file(path, 0, &json_error);
	free(path);
	if (root == NULL) {
		printf("mustache-spec %s: cannot load: %s\n", file->name, json_error.text);
		if (file->required) {
			totals->failed++;
			totals->broken = true;
		}
		return;
	}
	const json_t *tests = json_object_get(root, "tests");
	if (!json_is_array(tests)) {
		printf("mustache-spec %s: no \"tests\" array\n", file->name);
		totals->failed++;
		totals->broken = true;
		json_decref(root);
		return;
	}
	size_t count = json_array_size(tests);
	if (count == 0) {
		printf("mustache-spec %s: no tests in it\n", file->name);
		totals->failed++;
		totals->broken = true;
		json_decref(root);
		return;
	}
	if (file->skip) {
		printf("mustache-spec %s: %zu skipped (lambdas need code in the data; not applicable to a C value tree)\n",
		       file->name, count);
		totals->skipped += count;
		json_decref(root);
		return;
	}
	size_t passed = 0;
	for (size_t i = 0; i < count; i++) {
		if (spec_run_test(file->name, json_array_get(tests, i)))
			passed++;
	}
	printf("mustache-spec %s: %zu/%zu passed\n", file->name, passed, count);
	totals->passed += passed;
	totals->failed += count - passed;
	if (passed != count)
		totals->broken = true;
	json_decref(root);
}

/* Where the spec files are (see the top of this file); the caller frees it. */
static char *spec_directory(void)
{
	const char *from_env = getenv("MUSTACHE_SPEC_DIR");
	const char *shared = getenv("SHARED_DIR");
	if (from_env != NULL && from_env[0] != '\0')
		return xstrdup(from_env);
	if (shared != NULL && shared[0] != '\0') {
		size_t length = strlen(shared) + sizeof "/mustache-spec";
		char *directory = xmalloc(length);
		snprintf(directory, length, "%s/mustache-spec", shared);
		return directory;
	}
	return xstrdup("../shared/mustache-spec");
}

int main(void)
{
	char *directory = spec_directory();
	struct spec_totals totals = { 0 };
	struct stat status;
	if (stat(directory, &status) != 0 || !S_ISDIR(status.st_mode)) {
		const char *required = getenv("MUSTACHE_SPEC_REQUIRED");
		bool must_run = required != NULL && strcmp(required, "1") == 0;
		for (size_t i = 0; i < sizeof spec_files / sizeof spec_files[0]; i++)
			totals.skipped += spec_files[i].known_cases;
		printf("mustache-spec: no spec folder at %s: its %zu cases %s\n"
		       "  (the public suite, github.com/mustache/spec: point MUSTACHE_SPEC_DIR at its specs/ folder)\n",
		       directory, totals.skipped, must_run ? "were required (MUSTACHE_SPEC_REQUIRED=1)" : "skipped");
		if (must_run) {
			totals.failed = totals.skipped;
			totals.skipped = 0;
			totals.broken = true;
		}
	} else {
		printf("mustache-spec: from %s\n", directory);
		for (size_t i = 0; i < sizeof spec_files / sizeof spec_files[0]; i++)
			spec_run_file(directory, &spec_files[i], &totals);
	}
	printf("mustache-spec: %zu passed, %zu failed, %zu skipped\n", totals.passed, totals.failed, totals.skipped);
	free(directory);
	return totals.broken ? 1 : 0;
}
