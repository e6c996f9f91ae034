/* test_mustache.c: unit checks of the mustache engine beyond the public spec (escaping, hostile input, threads). */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/alloc.h"
#include "mustache/mustache.h"

/* ---- helpers ---------------------------------------------------------------------------------- */

struct output {
	char *bytes;
	size_t length;
	size_t capacity;
};

static void output_write(void *context, const char *bytes, size_t length)
{
	struct output *output = context;
	if (output->length + length + 1 > output->capacity) {
		size_t capacity = output->capacity ? output->capacity : 128;
		while (capacity < output->length + length + 1)
			capacity *= 2;
		output->bytes = xrealloc(output->bytes, capacity);
		output->capacity = capacity;
	}
	memcpy(output->bytes + output->length, bytes, length);
	output->length += length;
	output->bytes[output->length] = '\0';
}

/* A fixed table of named partials. */
struct named_partial {
	const char *name;
	const struct mustache_template *template_;
};

struct partial_table {
	const struct named_partial *items;
	size_t count;
};

static const struct mustache_template *partial_table_find(void *context, const char *name, size_t length)
{
	const struct partial_table *table = context;
	for (size_t i = 0; i < table->count; i++) {
		if (strlen(table->items[i].name) == length && memcmp(table->items[i].name, name, length) == 0)
			return table->items[i].template_;
	}
	return NULL;
}

static struct mustache_value value_string(const char *name, const char *text)
{
	struct mustache_value value = { 0 };
	value.kind = MUSTACHE_STRING;
	value.name = name;
	value.string = text;
	value.string_length = strlen(text);
	return value;
}

static struct mustache_value value_of_kind(const char *name, enum mustache_kind kind)
{
	struct mustache_value value = { 0 };
	value.kind = kind;
	value.name = name;
	return value;
}

static void value_append(struct mustache_value *parent, struct mustache_value *child)
{
	if (parent->last_child != NULL)
		parent->last_child->next_sibling = child;
	else
		parent->first_child = child;
	parent->last_child = child;
}

static struct mustache_template *compile_bytes_or_fail(const char *text, size_t length)
{
	struct mustache_error error;
	struct mustache_template *template_ = mustache_compile(text, length, &error);
	if (template_ == NULL)
		fail_msg("compile failed on line %zu: %s", error.line, error.message);
	return template_;
}

static struct mustache_template *compile_or_fail(const char *text)
{
	return compile_bytes_or_fail(text, strlen(text));
}

/* Renders text against data with optional partials; returns a malloc'd NUL-terminated copy of the output. */
static char *render_to_string(const char *text, const struct mustache_value *data, const struct partial_table *table,
			      bool *ok, size_t *length)
{
	struct mustache_template *template_ = compile_or_fail(text);
	struct output output = { 0 };
	struct mustache_sink sink = { output_write, &output };
	struct mustache_partials partials = { partial_table_find, (void *)table };
	bool rendered = mustache_render(template_, data, table ? &partials : NULL, &sink);
	if (ok != NULL)
		*ok = rendered;
	if (length != NULL)
		*length = output.length;
	mustache_free(template_);
	if (output.bytes == NULL)
		output.bytes = xstrdup("");
	return output.bytes;
}

static void assert_renders(const char *text, const struct mustache_value *data, const char *expected)
{
	char *got = render_to_string(text, data, NULL, NULL, NULL);
	assert_string_equal(got, expected);
	free(got);
}

/* Expects a compile error on `line` whose message contains `fragment`. */
static void assert_compile_error(const char *text, size_t length, size_t line, const char *fragment)
{
	struct mustache_error error;
	memset(&error, 0x55, sizeof error);
	struct mustache_template *template_ = mustache_compile(text, length, &error);
	if (template_ != NULL) {
		mustache_free(template_);
		fail_msg("expected a compile error for a %zu-byte template", length);
	}
	assert_non_null(memchr(error.message, '\0', sizeof error.message));
	assert_true(strlen(error.message) > 0);
	if (strstr(error.message, fragment) == NULL)
		fail_msg("error '%s' does not mention '%s'", error.message, fragment);
	if (error.line != line)
		fail_msg("error '%s' reported on line %zu, expected %zu", error.message, error.line, line);
}

/* ---- escaping and values ---------------------------------------------------------------------- */

static void test_escapes_all_five_characters(void **state)
{
	(void)state;
	struct mustache_value root = value_of_kind(NULL, MUSTACHE_MAP);
	struct mustache_value x = value_string("x", "<a href=\"/?a=1&b='2'\">it's</a>");
	value_append(&root, &x);
	assert_renders("{{x}}", &root, "&lt;a href=&quot;/?a=1&amp;b=&#39;2&#39;&quot;&gt;it&#39;s&lt;/a&gt;");
	assert_renders("{{{x}}}", &root, "<a href=\"/?a=1&b='2'\">it's</a>");
	assert_renders("{{& x }}", &root, "<a href=\"/?a=1&b='2'\">it's</a>");
	assert_renders("{{#x}}{{.}}{{/x}}", &root, "&lt;a href=&quot;/?a=1&amp;b=&#39;2&#39;&quot;&gt;it&#39;s&lt;/a&gt;");
}

static void test_value_kinds(void **state)
{
	(void)state;
	struct mustache_value root = value_of_kind(NULL, MUSTACHE_MAP);
	struct mustache_value yes = value_of_kind("yes", MUSTACHE_TRUE);
	struct mustache_value no = value_of_kind("no", MUSTACHE_FALSE);
	struct mustache_value nothing = value_of_kind("nothing", MUSTACHE_NULL);
	struct mustache_value empty = value_string("empty", "");
	struct mustache_value cut = value_string("cut", "abcdef");
	cut.string_length = 3; /* not NUL-terminated at its length */
	struct mustache_value list = value_of_kind("list", MUSTACHE_LIST);
	struct mustache_value none = value_of_kind("none", MUSTACHE_LIST);
	struct mustache_value one = value_string(NULL, "1");
	struct mustache_value two = value_string(NULL, "2");
	value_append(&list, &one);
	value_append(&list, &two);
	struct mustache_value *members[] = { &yes, &no, &nothing, &empty, &cut, &list, &none };
	for (size_t i = 0; i < sizeof members / sizeof members[0]; i++)
		value_append(&root, members[i]);

	assert_renders("[{{yes}}][{{no}}][{{nothing}}][{{empty}}][{{cut}}][{{missing}}]", &root,
		       "[true][][][][abc][]");
	assert_renders("{{#empty}}empty strings are truthy{{/empty}}", &root, "empty strings are truthy");
	assert_renders("{{#no}}x{{/no}}{{^no}}not no{{/no}}{{^nothing}}, not nothing{{/nothing}}", &root,
		       "not no, not nothing");
	assert_renders("{{#list}}<{{.}}>{{/list}}{{^none}} and none{{/none}}{{#none}}!{{/none}}", &root,
		       "<1><2> and none");
	assert_renders("{{#yes}}{{.}}{{/yes}}", &root, "true");
	/* No data at all is an empty context. */
	assert_renders("a{{x}}b{{#x}}c{{/x}}{{^x}}d{{/x}}", NULL, "abd");
}

static void test_nul_bytes_pass_through(void **state)
{
	(void)state;
	static const char text[] = "a\0b{{x}}c\0";
	struct mustache_value root = value_of_kind(NULL, MUSTACHE_MAP);
	struct mustache_value x = { 0 };
	x.kind = MUSTACHE_STRING;
	x.name = "x";
	x.string = "<\0>";
	x.string_length = 3;
	value_append(&root, &x);
	struct mustache_template *template_ = compile_bytes_or_fail(text, sizeof text - 1);
	struct output output = { 0 };
	struct mustache_sink sink = { output_write, &output };
	assert_true(mustache_render(template_, &root, NULL, &sink));
	static const char expected[] = "a\0b&lt;\0&gt;c\0";
	assert_int_equal(output.length, sizeof expected - 1);
	assert_memory_equal(output.bytes, expected, sizeof expected - 1);
	free(output.bytes);
	mustache_free(template_);

	/* A NUL inside a name is just an unknown name. */
	static const char odd_name[] = "[{{a\0b}}]";
	template_ = compile_bytes_or_fail(odd_name, sizeof odd_name - 1);
	output = (struct output){ 0 };
	assert_true(mustache_render(template_, &root, NULL, &sink));
	assert_int_equal(output.length, 2);
	assert_memory_equal(output.bytes, "[]", 2);
	free(output.bytes);
	mustache_free(template_);
}

/* ---- hostile templates ------------------------------------------------------------------------ */

static void test_hostile_templates_give_errors(void **state)
{
	(void)state;
	assert_compile_error("{{", 2, 1, "unclosed tag");
	assert_compile_error("{{=", 3, 1, "unclosed tag");
	assert_compile_error("{{{", 3, 1, "unclosed tag");
	assert_compile_error("{{{x}}", 6, 1, "unclosed tag");
	assert_compile_error("line\n{{x", 8, 2, "unclosed tag");
	assert_compile_error("{{}}", 4, 1, "empty tag name");
	assert_compile_error("{{ }}", 5, 1, "empty tag name");
	assert_compile_error("{{#}}{{/}}", 10, 1, "empty tag name");
	assert_compile_error("{{a b}}", 7, 1, "white space");
	assert_compile_error("{{>}}", 5, 1, "empty tag name");
	assert_compile_error("{{>*}}", 6, 1, "empty tag name");
	assert_compile_error("a\nb\n{{#items}}\nx\n", 15, 3, "unclosed section 'items'");
	assert_compile_error("{{^x}}", 6, 1, "unclosed inverted section 'x'");
	assert_compile_error("{{#a}}\n{{/b}}", 13, 2, "does not match section 'a'");
	assert_compile_error("\n\n{{/a}}", 8, 3, "has no open section");
	assert_compile_error("{{<p}}{{$b}}{{/p}}{{/b}}", 24, 1, "does not match block 'b'");
	assert_compile_error("{{<p}}", 6, 1, "unclosed parent 'p'");
	assert_compile_error("{{$b}}", 6, 1, "unclosed block 'b'");
	/* Bad delimiter changes. */
	assert_compile_error("{{=}}", 5, 1, "bad delimiter");
	assert_compile_error("{{==}}", 6, 1, "bad delimiter");
	assert_compile_error("{{= =}}", 7, 1, "bad delimiter");
	assert_compile_error("{{=a=}}", 7, 1, "bad delimiter");
	assert_compile_error("{{=a b c=}}", 11, 1, "bad delimiter");
	assert_compile_error("{{=a= b=}}", 10, 1, "bad delimiter");
	assert_compile_error("{{=<% %>}}", 10, 1, "bad delimiter");
	assert_compile_error("{{=<% %>=}}<%x", 14, 1, "unclosed tag");
	/* Names with odd bytes are quoted safely in messages. */
	assert_compile_error("{{#\x01\xff}}", 7, 1, "unclosed section '?" "?'");
	/* A NUL byte does not end the template early. */
	static const char nul_then_open[] = "ok\0{{#x}}";
	assert_compile_error(nul_then_open, sizeof nul_then_open - 1, 1, "unclosed section 'x'");
	static const char open_then_nul[] = "{{\0";
	assert_compile_error(open_then_nul, sizeof open_then_nul - 1, 1, "unclosed tag");
}

/* Builds `levels` nested sections "{{#t}}" ... "{{/t}}" around `middle`. */
static char *nested_sections(size_t levels, const char *middle)
{
	size_t length = levels * 12 + strlen(middle) + 1;
	char *text = xmalloc(length);
	size_t used = 0;
	for (size_t i = 0; i < levels; i++)
		used += (size_t)snprintf(text + used, length - used, "{{#t}}");
	used += (size_t)snprintf(text + used, length - used, "%s", middle);
	for (size_t i = 0; i < levels; i++)
		used += (size_t)snprintf(text + used, length - used, "{{/t}}");
	return text;
}

static void test_nesting_limit(void **state)
{
	(void)state;
	struct mustache_value root = value_of_kind(NULL, MUSTACHE_MAP);
	struct mustache_value t = value_of_kind("t", MUSTACHE_TRUE);
	value_append(&root, &t);

	char *deep_enough = nested_sections(100, "x");
	assert_renders(deep_enough, &root, "x");
	free(deep_enough);

	char *too_deep = nested_sections(101, "x");
	assert_compile_error(too_deep, strlen(too_deep), 1, "nest deeper than 100");
	free(too_deep);

	/* Thousands of unclosed openers stop at the limit, not at the end of memory or stack. */
	size_t count = 100000;
	char *openers = xmalloc(count * 6 + 1);
	for (size_t i = 0; i < count; i++)
		memcpy(openers + i * 6, "{{#t}}", 6);
	assert_compile_error(openers, count * 6, 1, "nest deeper");
	for (size_t i = 0; i < count; i++)
		memcpy(openers + i * 6, "{{<t}}", 6);
	assert_compile_error(openers, count * 6, 1, "nest deeper");
	free(openers);
}

static void test_partial_recursion_guard(void **state)
{
	(void)state;
	struct mustache_value root = value_of_kind(NULL, MUSTACHE_MAP);
	struct mustache_value t = value_of_kind("t", MUSTACHE_TRUE);
	value_append(&root, &t);

	char *text = nested_sections(10, "x{{>self}}");
	struct mustache_template *self = compile_or_fail(text);
	free(text);
	const struct named_partial items[] = { { "self", self } };
	struct partial_table table = { items, 1 };
	struct mustache_partials partials = { partial_table_find, &table };
	struct output output = { 0 };
	struct mustache_sink sink = { output_write, &output };
	assert_false(mustache_render(self, &root, &partials, &sink));
	/* What it had was written: one x per level that rendered. */
	assert_int_equal(output.length, MUSTACHE_MAX_DEPTH + 1);
	free(output.bytes);
	mustache_free(self);

	/* A parent that passes itself its own block must also stop. */
	struct mustache_template *loop = compile_or_fail("{{<loop}}{{$b}}{{<loop}}{{/loop}}{{/b}}{{/loop}}");
	const struct named_partial loop_items[] = { { "loop", loop } };
	struct partial_table loop_table = { loop_items, 1 };
	struct mustache_partials loop_partials = { partial_table_find, &loop_table };
	output = (struct output){ 0 };
	assert_false(mustache_render(loop, &root, &loop_partials, &sink));
	free(output.bytes);
	mustache_free(loop);
}

struct stack_job {
	const struct mustache_template *template_;
	const struct mustache_partials *partials;
	const struct mustache_value *data;
	bool rendered;
	size_t length;
};

static void *stack_job_run(void *argument)
{
	struct stack_job *job = argument;
	struct output output = { 0 };
	struct mustache_sink sink = { output_write, &output };
	job->rendered = mustache_render(job->template_, job->data, job->partials, &sink);
	job->length = output.length;
	free(output.bytes);
	return NULL;
}

static void test_worst_nesting_fits_a_small_stack(void **state)
{
	(void)state;
	struct mustache_value root = value_of_kind(NULL, MUSTACHE_MAP);
	struct mustache_value t = value_of_kind("t", MUSTACHE_TRUE);
	value_append(&root, &t);
	/* Every partial level nests 100 sections: unbounded, this would need 6,400 levels of stack. */
	char *text = nested_sections(100, "x{{>self}}");
	struct mustache_template *self = compile_or_fail(text);
	free(text);
	const struct named_partial items[] = { { "self", self } };
	struct partial_table table = { items, 1 };
	struct mustache_partials partials = { partial_table_find, &table };
	struct stack_job job = { self, &partials, &root, true, 0 };
	pthread_attr_t attributes;
	pthread_t thread;
	assert_int_equal(pthread_attr_init(&attributes), 0);
	assert_int_equal(pthread_attr_setstacksize(&attributes, (size_t)1024 * 1024), 0);
	assert_int_equal(pthread_create(&thread, &attributes, stack_job_run, &job), 0);
	assert_int_equal(pthread_join(thread, NULL), 0);
	pthread_attr_destroy(&attributes);
	assert_false(job.rendered);
	assert_true(job.length > 0 && job.length < MUSTACHE_MAX_DEPTH);
	mustache_free(self);
}

/* ---- partials, inheritance, dynamic names ----------------------------------------------------- */

static void test_nested_partial_indentation(void **state)
{
	(void)state;
	struct mustache_value root = value_of_kind(NULL, MUSTACHE_MAP);
	struct mustache_value text = value_string("text", "a\nb");
	value_append(&root, &text);
	struct mustache_template *inner = compile_or_fail("<{{text}}>\n[\n]\n");
	struct mustache_template *outer = compile_or_fail("outer\n  {{>inner}}\nend {{>inner}}");
	const struct named_partial items[] = { { "inner", inner }, { "outer", outer } };
	struct partial_table table = { items, 2 };
	bool ok;
	char *got = render_to_string("begin\n  {{>outer}}\ndone\n", &root, &table, &ok, NULL);
	assert_true(ok);
	/* Lines of template text are indented; data is not; an inline partial gets no indentation. */
	assert_string_equal(got, "begin\n  outer\n    <a\nb>\n    [\n    ]\n  end <a\nb>\n[\n]\ndone\n");
	free(got);
	mustache_free(inner);
	mustache_free(outer);
}

static void test_inheritance_and_dynamic_names(void **state)
{
	(void)state;
	struct mustache_value root = value_of_kind(NULL, MUSTACHE_MAP);
	struct mustache_value which = value_string("which", "card");
	struct mustache_value title = value_string("title", "Keys & <roles>");
	value_append(&root, &which);
	value_append(&root, &title);
	struct mustache_template *layout = compile_or_fail("<h1>{{$heading}}Default{{/heading}}</h1>\n"
							   "<main>\n"
							   "  {{$body}}\n"
							   "  nothing\n"
							   "  {{/body}}\n"
							   "</main>\n");
	struct mustache_template *card = compile_or_fail("[{{title}}]\n");
	const struct named_partial items[] = { { "layout", layout }, { "card", card } };
	struct partial_table table = { items, 2 };
	bool ok;
	char *got = render_to_string("{{<layout}}\n"
				     "{{$heading}}{{title}}{{/heading}}\n"
				     "{{$body}}\n"
				     "<p>one</p>\n"
				     "{{>*which}}\n"
				     "{{/body}}\n"
				     "{{/layout}}\n",
				     &root, &table, &ok, NULL);
	assert_true(ok);
	assert_string_equal(got, "<h1>Keys &amp; &lt;roles&gt;</h1>\n"
				 "<main>\n"
				 "  <p>one</p>\n"
				 "  [Keys &amp; &lt;roles&gt;]\n"
				 "</main>\n");
	free(got);
	got = render_to_string("{{<layout}}{{/layout}}|{{>*missing}}|{{>*title}}|", &root, &table, &ok, NULL);
	assert_true(ok);
	assert_string_equal(got, "<h1>Default</h1>\n<main>\n  nothing\n</main>\n|||");
	free(got);
	mustache_free(layout);
	mustache_free(card);
}

static void test_set_delimiters_and_comments(void **state)
{
	(void)state;
	struct mustache_value root = value_of_kind(NULL, MUSTACHE_MAP);
	struct mustache_value x = value_string("x", "'");
	value_append(&root, &x);
	assert_renders("{{=<% %>=}}<%x%> {{x}} <%{x}%> <%! note %>\n<%={{ }}=%>{{x}}", &root, "&#39; {{x}} ' \n&#39;");
	assert_renders("{{=| |=}}|x||#x|[|.|]|/x|", &root, "&#39;[&#39;]");
}

/* ---- threads ---------------------------------------------------------------------------------- */

struct thread_job {
	const struct mustache_template *template_;
	const struct mustache_partials *partials;
	const struct mustache_value *data;
	const char *expected;
	int mismatches;
};

static void *thread_render(void *argument)
{
	struct thread_job *job = argument;
	for (int round = 0; round < 300; round++) {
		struct output output = { 0 };
		struct mustache_sink sink = { output_write, &output };
		if (!mustache_render(job->template_, job->data, job->partials, &sink) || output.bytes == NULL ||
		    strcmp(output.bytes, job->expected) != 0)
			job->mismatches++;
		free(output.bytes);
	}
	return NULL;
}

static void test_render_from_several_threads(void **state)
{
	(void)state;
	struct mustache_value root = value_of_kind(NULL, MUSTACHE_MAP);
	struct mustache_value list = value_of_kind("rows", MUSTACHE_LIST);
	struct mustache_value rows[3];
	struct mustache_value names[3];
	static const char *const labels[] = { "alpha", "b<e>ta", "gamma" };
	for (int i = 0; i < 3; i++) {
		rows[i] = value_of_kind(NULL, MUSTACHE_MAP);
		names[i] = value_string("name", labels[i]);
		value_append(&rows[i], &names[i]);
		value_append(&list, &rows[i]);
	}
	value_append(&root, &list);
	struct mustache_template *row = compile_or_fail("<li>{{name}}</li>\n");
	struct mustache_template *page = compile_or_fail("<ul>\n{{#rows}}\n  {{>row}}\n{{/rows}}\n</ul>\n");
	const struct named_partial items[] = { { "row", row } };
	struct partial_table table = { items, 1 };
	struct mustache_partials partials = { partial_table_find, &table };
	const char *expected = "<ul>\n  <li>alpha</li>\n  <li>b&lt;e&gt;ta</li>\n  <li>gamma</li>\n</ul>\n";

	enum { THREADS = 4 };
	pthread_t threads[THREADS];
	struct thread_job jobs[THREADS];
	for (int i = 0; i < THREADS; i++) {
		jobs[i] = (struct thread_job){ page, &partials, &root, expected, 0 };
		assert_int_equal(pthread_create(&threads[i], NULL, thread_render, &jobs[i]), 0);
	}
	struct thread_job main_job = { page, &partials, &root, expected, 0 };
	thread_render(&main_job);
	for (int i = 0; i < THREADS; i++) {
		assert_int_equal(pthread_join(threads[i], NULL), 0);
		assert_int_equal(jobs[i].mismatches, 0);
	}
	assert_int_equal(main_job.mismatches, 0);
	mustache_free(page);
	mustache_free(row);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_escapes_all_five_characters),
		cmocka_unit_test(test_value_kinds),
		cmocka_unit_test(test_nul_bytes_pass_through),
		cmocka_unit_test(test_hostile_templates_give_errors),
		cmocka_unit_test(test_nesting_limit),
		cmocka_unit_test(test_partial_recursion_guard),
		cmocka_unit_test(test_worst_nesting_fits_a_small_stack),
		cmocka_unit_test(test_nested_partial_indentation),
		cmocka_unit_test(test_inheritance_and_dynamic_names),
		cmocka_unit_test(test_set_delimiters_and_comments),
		cmocka_unit_test(test_render_from_several_threads),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
