/* test_form.c: unit tests for http/form (urlencoded decoding, per-pair status, limits, look-ups). */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include <stdbool.h>
#include <stdio.h>
#include <string.h>

#include "core/alloc.h"
#include "http/form.h"

/* A string literal as (bytes, length), so that embedded NULs are kept. */
#define BYTES(literal) (literal), (sizeof(literal) - 1)

/* Parse `length` bytes and check the list's own bookkeeping before any test looks at it. */
static void parse(struct arena *arena, const char *text, size_t length, struct form *form)
{
	memset(form, 0xA5, sizeof *form); /* form_parse must set every field */
	form_parse(arena, text, length, form);
	size_t walked = 0;
	const struct form_pair *last = NULL;
	for (const struct form_pair *pair = form->first; pair != NULL; pair = pair->next) {
		assert_non_null(pair->name);
		assert_non_null(pair->value);
		assert_int_equal(pair->value[pair->value_length], '\0');
		if (pair->status != FORM_VALUE_OK) {
			assert_string_equal(pair->value, "");
			assert_int_equal(pair->value_length, 0);
		}
		last = pair;
		walked++;
	}
	assert_int_equal(walked, form->count);
	assert_ptr_equal(form->last, last);
	assert_true(form->count <= FORM_MAX_PAIRS);
}

/* The `index`-th pair (from 0); fails the test when there are fewer. */
static const struct form_pair *nth(const struct form *form, size_t index)
{
	const struct form_pair *pair = form->first;
	for (size_t i = 0; i < index && pair != NULL; i++)
		pair = pair->next;
	assert_non_null(pair);
	return pair;
}

static void assert_pair(const struct form_pair *pair, const char *name, const char *value,
    enum form_value_status status)
{
	assert_string_equal(pair->name, name);
	assert_string_equal(pair->value, value);
	assert_int_equal(pair->value_length, strlen(value));
	assert_int_equal(pair->status, status);
}

static void test_form_empty_input(void **state)
{
	(void)state;
	struct arena *arena = arena_new();
	struct form form;
	parse(arena, NULL, 0, &form);
	assert_int_equal(form.count, 0);
	assert_null(form.first);
	assert_false(form.truncated);
	parse(arena, "a=1", 0, &form); /* length rules, not the NUL */
	assert_int_equal(form.count, 0);
	parse(arena, BYTES("&"), &form);
	assert_int_equal(form.count, 0);
	parse(arena, BYTES("&&&&"), &form);
	assert_int_equal(form.count, 0);
	assert_false(form.truncated);
	assert_null(form_find(&form, ""));
	assert_null(form_get(&form, "a"));
	arena_free(arena);
}

static void test_form_simple_pairs(void **state)
{
	(void)state;
	struct arena *arena = arena_new();
	struct form form;
	parse(arena, BYTES("name=prod&enabled=1&role=3"), &form);
	assert_int_equal(form.count, 3);
	assert_false(form.truncated);
	assert_pair(nth(&form, 0), "name", "prod", FORM_VALUE_OK);
	assert_pair(nth(&form, 1), "enabled", "1", FORM_VALUE_OK);
	assert_pair(nth(&form, 2), "role", "3", FORM_VALUE_OK);
	assert_null(form.last->next);
	arena_free(arena);
}

static void test_form_repeated_names_keep_order(void **state)
{
	(void)state;
	struct arena *arena = arena_new();
	struct form form;
	parse(arena, BYTES("cidr=10.0.0.0%2F8&name=k&cidr=192.168.1.0%2F24&cidr=&cidr=%3A%3A1"), &form);
	assert_int_equal(form.count, 5);
	const char *expected[] = { "10.0.0.0/8", "192.168.1.0/24", "", "::1" };
	size_t seen = 0;
	for (const struct form_pair *pair = form.first; pair != NULL; pair = pair->next) {
		if (strcmp(pair->name, "cidr") != 0)
			continue;
		assert_true(seen < 4);
		assert_pair(pair, "cidr", expected[seen], FORM_VALUE_OK);
		seen++;
	}
	assert_int_equal(seen, 4);
	assert_string_equal(nth(&form, 1)->name, "name");
	assert_ptr_equal(form_find(&form, "cidr"), form.first);
	assert_string_equal(form_get(&form, "cidr"), "10.0.0.0/8");
	arena_free(arena);
}

static void test_form_plus_and_percent(void **state)
{
	(void)state;
	struct arena *arena = arena_new();
	struct form form;
	parse(arena, BYTES("q=a+b++c&plus=%2B&plus2=%2b&pct=%25&pct2=%2525&mix=1%2B1+%3D+2&hex=%41%4a%4A%6a%7e"),
	    &form);
	assert_int_equal(form.count, 7);
	assert_pair(nth(&form, 0), "q", "a b  c", FORM_VALUE_OK);
	assert_pair(nth(&form, 1), "plus", "+", FORM_VALUE_OK);
	assert_pair(nth(&form, 2), "plus2", "+", FORM_VALUE_OK);
	assert_pair(nth(&form, 3), "pct", "%", FORM_VALUE_OK);
	assert_pair(nth(&form, 4), "pct2", "%25", FORM_VALUE_OK); /* decoded once only */
	assert_pair(nth(&form, 5), "mix", "1+1 = 2", FORM_VALUE_OK);
	assert_pair(nth(&form, 6), "hex", "AJJj~", FORM_VALUE_OK);
	/* Names decode the same way. */
	parse(arena, BYTES("first+name=Ada&a%26b=%26&%3D=eq&x%2By=1"), &form);
	assert_int_equal(form.count, 4);
	assert_pair(nth(&form, 0), "first name", "Ada", FORM_VALUE_OK);
	assert_pair(nth(&form, 1), "a&b", "&", FORM_VALUE_OK);
	assert_pair(nth(&form, 2), "=", "eq", FORM_VALUE_OK);
	assert_pair(nth(&form, 3), "x+y", "1", FORM_VALUE_OK);
	arena_free(arena);
}

/* Every byte %00..%FF, both hex cases, as a whole value. */
static void test_form_every_escaped_byte(void **state)
{
	(void)state;
	struct arena *arena = arena_new();
	for (unsigned byte = 0; byte <= 0xFF; byte++) {
		for (int lower = 0; lower < 2; lower++) {
			char text[16];
			int length = lower ? snprintf(text, sizeof text, "v=%%%02x", byte)
			                   : snprintf(text, sizeof text, "v=%%%02X", byte);
			struct form form;
			parse(arena, text, (size_t)length, &form);
			assert_int_equal(form.count, 1);
			const struct form_pair *pair = form.first;
			assert_string_equal(pair->name, "v");
			if (byte == 0) {
				assert_int_equal(pair->status, FORM_VALUE_NUL_BYTE);
			} else if (byte >= 0x80) {
				assert_int_equal(pair->status, FORM_VALUE_BAD_UTF8);
			} else {
				assert_int_equal(pair->status, FORM_VALUE_OK);
				assert_int_equal(pair->value_length, 1);
				assert_int_equal((unsigned char)pair->value[0], byte);
			}
		}
	}
	arena_free(arena);
}

/* Every byte in either digit position of "%_4" and "%4_": only 0-9, a-f, A-F are hex digits. */
static void test_form_hex_digits(void **state)
{
	(void)state;
	struct arena *arena = arena_new();
	for (unsigned byte = 0; byte <= 0xFF; byte++) {
		bool hex = (byte >= '0' && byte <= '9') || (byte >= 'a' && byte <= 'f') ||
		    (byte >= 'A' && byte <= 'F');
		char first[5] = { 'v', '=', '%', (char)byte, '4' };
		char second[5] = { 'v', '=', '%', '4', (char)byte };
		const char *texts[] = { first, second };
		for (size_t t = 0; t < 2; t++) {
			struct form form;
			parse(arena, texts[t], 5, &form);
			if (byte == '&') { /* "v=%&4" is two pairs, "v=%4&" one */
				assert_int_equal(form.count, 2 - t);
				assert_int_equal(form.first->status, FORM_VALUE_BAD_ENCODING);
				continue;
			}
			assert_int_equal(form.count, 1);
			if (hex != (form.first->status != FORM_VALUE_BAD_ENCODING))
				fail_msg("byte %02X in digit %zu: status %d", byte, t + 1, (int)form.first->status);
		}
	}
	arena_free(arena);
}

static void test_form_malformed_escapes(void **state)
{
	(void)state;
	struct arena *arena = arena_new();
	static const struct {
		const char *text;
		const char *name; /* kept when the name itself decodes cleanly */
	} cases[] = {
		{ "a=%", "a" },
		{ "a=%4", "a" },
		{ "a=%zz", "a" },
		{ "a=%4g", "a" },
		{ "a=%g4", "a" },
		{ "a=% 4", "a" },
		{ "a=%-1", "a" },
		{ "a=%+1", "a" },
		{ "a=1%", "a" },
		{ "a=1%2", "a" },
		{ "a=ok%41%", "a" },
		{ "a=%%41", "a" },
		{ "a=%C3%A9%", "a" },
		{ "a=%zz%C3%28", "a" },  /* bad encoding wins over bad UTF-8 */
		{ "a=%%00", "a" },       /* and over NUL */
		{ "%=1", "" },
		{ "a%=1", "" },
		{ "a%2=1", "" },
		{ "%zz=1", "" },
		{ "%", "" },
		{ "%4", "" },
		{ "%=%", "" },
		{ "a%C3%28%=1", "" },
	};
	for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
		struct form form;
		parse(arena, cases[i].text, strlen(cases[i].text), &form);
		assert_int_equal(form.count, 1);
		if (form.first->status != FORM_VALUE_BAD_ENCODING || strcmp(form.first->name, cases[i].name) != 0)
			fail_msg("\"%s\": status %d, name \"%s\"", cases[i].text, (int)form.first->status,
			    form.first->name);
		assert_pair(form.first, cases[i].name, "", FORM_VALUE_BAD_ENCODING);
	}
	/* One bad pair does not spoil its neighbours. */
	struct form form;
	parse(arena, BYTES("before=1&bad=%zz&after=%41"), &form);
	assert_int_equal(form.count, 3);
	assert_pair(nth(&form, 0), "before", "1", FORM_VALUE_OK);
	assert_pair(nth(&form, 1), "bad", "", FORM_VALUE_BAD_ENCODING);
	assert_pair(nth(&form, 2), "after", "A", FORM_VALUE_OK);
	/* A trailing '%' just before the '&' does not swallow the separator or the next pair. */
	parse(arena, BYTES("a=%&b=2"), &form);
	assert_int_equal(form.count, 2);
	assert_pair(nth(&form, 0), "a", "", FORM_VALUE_BAD_ENCODING);
	assert_pair(nth(&form, 1), "b", "2", FORM_VALUE_OK);
	parse(arena, BYTES("a=%2&b=2"), &form);
	assert_int_equal(form.count, 2);
	assert_pair(nth(&form, 1), "b", "2", FORM_VALUE_OK);
	/* An escape cut off by the length, though the bytes after it would complete it. */
	parse(arena, "a=%41", 4, &form);
	assert_pair(form.first, "a", "", FORM_VALUE_BAD_ENCODING);
	arena_free(arena);
}

static void test_form_bad_utf8(void **state)
{
	(void)state;
	struct arena *arena = arena_new();
	static const char *const values[] = {
		"v=%C3%28",            /* 2-byte lead, then ASCII */
		"v=%C3",               /* cut short */
		"v=%80",               /* stray continuation */
		"v=%C0%AF",            /* overlong '/' */
		"v=%C0%80",            /* overlong NUL */
		"v=%E0%80%AF",         /* overlong '/' in 3 bytes */
		"v=%ED%A0%80",         /* surrogate U+D800 */
		"v=%ED%BF%BF",         /* surrogate U+DFFF */
		"v=%F4%90%80%80",      /* U+110000 */
		"v=%FE",               /* impossible byte */
		"v=ok%FF",
		"v=\xff",              /* raw, not escaped */
		"v=\xc3(",
		"v=\xed\xa0\x80",
	};
	for (size_t i = 0; i < sizeof values / sizeof values[0]; i++) {
		struct form form;
		parse(arena, values[i], strlen(values[i]), &form);
		assert_int_equal(form.count, 1);
		if (form.first->status != FORM_VALUE_BAD_UTF8)
			fail_msg("\"%s\": status %d", values[i], (int)form.first->status);
		assert_pair(form.first, "v", "", FORM_VALUE_BAD_UTF8);
		assert_null(form_get(&form, "v"));
		assert_ptr_equal(form_find(&form, "v"), form.first);
	}
	/* A name that is not UTF-8 is not kept; the status says so. */
	struct form form;
	parse(arena, BYTES("%C3%28=x&\xff=y"), &form);
	assert_int_equal(form.count, 2);
	assert_pair(nth(&form, 0), "", "", FORM_VALUE_BAD_UTF8);
	assert_pair(nth(&form, 1), "", "", FORM_VALUE_BAD_UTF8);
	/* Valid UTF-8, escaped or raw, is fine. */
	parse(arena, BYTES("v=%E2%82%AC&w=\xe2\x82\xac&n%C3%A4me=%F0%9F%98%80&x=caf%c3%a9"), &form);
	assert_int_equal(form.count, 4);
	assert_pair(nth(&form, 0), "v", "\xe2\x82\xac", FORM_VALUE_OK);
	assert_pair(nth(&form, 1), "w", "\xe2\x82\xac", FORM_VALUE_OK);
	assert_pair(nth(&form, 2), "n\xc3\xa4me", "\xf0\x9f\x98\x80", FORM_VALUE_OK);
	assert_pair(nth(&form, 3), "x", "caf\xc3\xa9", FORM_VALUE_OK);
	/* A sequence split across name and value is judged per part. */
	parse(arena, BYTES("%C3=%A9"), &form);
	assert_pair(form.first, "", "", FORM_VALUE_BAD_UTF8);
	arena_free(arena);
}

static void test_form_nul_bytes(void **state)
{
	(void)state;
	struct arena *arena = arena_new();
	struct form form;
	parse(arena, BYTES("key=%00"), &form);
	assert_pair(form.first, "key", "", FORM_VALUE_NUL_BYTE);
	parse(arena, BYTES("key=abc%00def&next=1"), &form);
	assert_int_equal(form.count, 2);
	assert_pair(nth(&form, 0), "key", "", FORM_VALUE_NUL_BYTE);
	assert_pair(nth(&form, 1), "next", "1", FORM_VALUE_OK);
	assert_null(form_get(&form, "key"));
	/* A raw NUL in the input is a byte like any other. */
	parse(arena, BYTES("key=a\0b&next=2"), &form);
	assert_int_equal(form.count, 2);
	assert_pair(nth(&form, 0), "key", "", FORM_VALUE_NUL_BYTE);
	assert_pair(nth(&form, 1), "next", "2", FORM_VALUE_OK);
	parse(arena, BYTES("\0"), &form);
	assert_int_equal(form.count, 1);
	assert_pair(form.first, "", "", FORM_VALUE_NUL_BYTE);
	/* A NUL in the name would cut it ("admin\0x" must not answer to "admin"): the name goes. */
	parse(arena, BYTES("admin%00x=1&adm\0in=2"), &form);
	assert_int_equal(form.count, 2);
	assert_pair(nth(&form, 0), "", "", FORM_VALUE_NUL_BYTE);
	assert_pair(nth(&form, 1), "", "", FORM_VALUE_NUL_BYTE);
	assert_null(form_find(&form, "admin"));
	assert_null(form_find(&form, "adm"));
	arena_free(arena);
}

static void test_form_pair_shapes(void **state)
{
	(void)state;
	struct arena *arena = arena_new();
	struct form form;
	parse(arena, BYTES("flag&x=1&=v&=&a==b&c=d=e&empty="), &form);
	assert_int_equal(form.count, 7);
	assert_pair(nth(&form, 0), "flag", "", FORM_VALUE_OK);
	assert_pair(nth(&form, 1), "x", "1", FORM_VALUE_OK);
	assert_pair(nth(&form, 2), "", "v", FORM_VALUE_OK);
	assert_pair(nth(&form, 3), "", "", FORM_VALUE_OK);
	assert_pair(nth(&form, 4), "a", "=b", FORM_VALUE_OK);
	assert_pair(nth(&form, 5), "c", "d=e", FORM_VALUE_OK);
	assert_pair(nth(&form, 6), "empty", "", FORM_VALUE_OK);
	assert_string_equal(form_get(&form, "flag"), "");
	/* Empty pairs anywhere are skipped. */
	parse(arena, BYTES("&&a=1&&&b=2&&"), &form);
	assert_int_equal(form.count, 2);
	assert_pair(nth(&form, 0), "a", "1", FORM_VALUE_OK);
	assert_pair(nth(&form, 1), "b", "2", FORM_VALUE_OK);
	/* ';' is not a separator; an escaped '&' is not one either. */
	parse(arena, BYTES("a=1;b=2&c=x%26d=y"), &form);
	assert_int_equal(form.count, 2);
	assert_pair(nth(&form, 0), "a", "1;b=2", FORM_VALUE_OK);
	assert_pair(nth(&form, 1), "c", "x&d=y", FORM_VALUE_OK);
	/* Only `length` bytes are read: the text need not be NUL-terminated. */
	char unterminated[6] = { 'a', '=', '1', '&', 'b', '=' };
	parse(arena, unterminated, 3, &form);
	assert_int_equal(form.count, 1);
	assert_pair(form.first, "a", "1", FORM_VALUE_OK);
	parse(arena, unterminated, sizeof unterminated, &form);
	assert_int_equal(form.count, 2);
	assert_pair(nth(&form, 1), "b", "", FORM_VALUE_OK);
	/* Other bytes pass through undecoded. */
	parse(arena, BYTES("x=<script>\"'`\t\n ok"), &form);
	assert_pair(form.first, "x", "<script>\"'`\t\n ok", FORM_VALUE_OK);
	arena_free(arena);
}

/* "k0=0&k1=1&..." with `count` pairs and `gap` extra '&' between each. */
static char *numbered_pairs(struct arena *arena, size_t count, size_t gap, size_t *length)
{
	char *text = arena_alloc(arena, count * (32 + gap) + 1);
	size_t at = 0;
	for (size_t i = 0; i < count; i++) {
		for (size_t g = 0; g < (i == 0 ? 0 : gap + 1); g++)
			text[at++] = '&';
		at += (size_t)sprintf(text + at, "k%zu=%zu", i, i);
	}
	*length = at;
	return text;
}

static void test_form_pair_limit(void **state)
{
	(void)state;
	struct arena *arena = arena_new();
	struct form form;
	size_t length;
	char *text = numbered_pairs(arena, FORM_MAX_PAIRS, 0, &length);
	parse(arena, text, length, &form);
	assert_int_equal(form.count, FORM_MAX_PAIRS);
	assert_false(form.truncated);
	assert_string_equal(form.last->name, "k999");
	assert_string_equal(form_get(&form, "k500"), "500");

	/* 1000 pairs and trailing separators: still not truncated. */
	char *with_tail = arena_alloc(arena, length + 4);
	memcpy(with_tail, text, length);
	memcpy(with_tail + length, "&&&", 3);
	parse(arena, with_tail, length + 3, &form);
	assert_int_equal(form.count, FORM_MAX_PAIRS);
	assert_false(form.truncated);

	text = numbered_pairs(arena, FORM_MAX_PAIRS + 1, 0, &length);
	parse(arena, text, length, &form);
	assert_int_equal(form.count, FORM_MAX_PAIRS);
	assert_true(form.truncated);
	assert_string_equal(form.last->name, "k999");
	assert_null(form_find(&form, "k1000"));

	/* Empty pairs do not count towards the limit. */
	text = numbered_pairs(arena, FORM_MAX_PAIRS, 3, &length);
	parse(arena, text, length, &form);
	assert_int_equal(form.count, FORM_MAX_PAIRS);
	assert_false(form.truncated);

	text = numbered_pairs(arena, 5000, 1, &length);
	parse(arena, text, length, &form);
	assert_int_equal(form.count, FORM_MAX_PAIRS);
	assert_true(form.truncated);
	arena_free(arena);
}

static void test_form_huge_value(void **state)
{
	(void)state;
	struct arena *arena = arena_new();
	size_t plain = (size_t)4 << 20;
	char *text = arena_alloc(arena, plain + 16);
	memcpy(text, "big=", 4);
	memset(text + 4, 'x', plain);
	memcpy(text + 4 + plain, "&small=1", 8);
	struct form form;
	parse(arena, text, 4 + plain + 8, &form);
	assert_int_equal(form.count, 2);
	assert_int_equal(form.first->status, FORM_VALUE_OK);
	assert_int_equal(form.first->value_length, plain);
	assert_int_equal(strlen(form.first->value), plain);
	assert_int_equal(form.first->value[plain - 1], 'x');
	assert_string_equal(form_get(&form, "small"), "1");

	/* 1 Mi escaped bytes: "%C3%A9" repeated decodes to "é" repeated. */
	size_t letters = (size_t)1 << 20;
	char *escaped = arena_alloc(arena, 2 + letters * 6);
	memcpy(escaped, "e=", 2);
	for (size_t i = 0; i < letters; i++)
		memcpy(escaped + 2 + i * 6, "%C3%A9", 6);
	parse(arena, escaped, 2 + letters * 6, &form);
	assert_int_equal(form.first->status, FORM_VALUE_OK);
	assert_int_equal(form.first->value_length, letters * 2);
	assert_memory_equal(form.first->value + letters * 2 - 2, "\xc3\xa9", 2);

	/* The same with one bad escape at the very end. */
	escaped[2 + letters * 6 - 1] = 'z';
	parse(arena, escaped, 2 + letters * 6, &form);
	assert_pair(form.first, "e", "", FORM_VALUE_BAD_ENCODING);
	arena_free(arena);
}

static void test_form_find_and_get(void **state)
{
	(void)state;
	struct arena *arena = arena_new();
	struct form form;
	parse(arena, BYTES("a=1&b=%zz&a=2&B=3&b=4&c"), &form);
	assert_ptr_equal(form_find(&form, "a"), nth(&form, 0));
	assert_string_equal(form_get(&form, "a"), "1");
	/* The first "b" is bad: form_get says NULL though a later "b" is fine. */
	assert_ptr_equal(form_find(&form, "b"), nth(&form, 1));
	assert_null(form_get(&form, "b"));
	/* Names are case-sensitive and whole. */
	assert_string_equal(form_get(&form, "B"), "3");
	assert_null(form_find(&form, "A"));
	assert_null(form_find(&form, "a "));
	assert_null(form_find(&form, ""));
	assert_null(form_find(&form, "missing"));
	assert_string_equal(form_get(&form, "c"), "");
	arena_free(arena);
}

static void test_form_status_messages(void **state)
{
	(void)state;
	assert_string_equal(form_value_status_message(FORM_VALUE_OK), "");
	const enum form_value_status bad[] = { FORM_VALUE_BAD_ENCODING, FORM_VALUE_BAD_UTF8, FORM_VALUE_NUL_BYTE };
	for (size_t i = 0; i < 3; i++) {
		const char *message = form_value_status_message(bad[i]);
		assert_non_null(message);
		assert_true(strlen(message) > 10);
		for (size_t k = 0; k < i; k++)
			assert_string_not_equal(message, form_value_status_message(bad[k]));
	}
	assert_string_equal(form_value_status_message(FORM_VALUE_BAD_ENCODING),
	    "This field has malformed percent-encoding");
	const char *unknown = form_value_status_message((enum form_value_status)42);
	assert_non_null(unknown);
	assert_true(strlen(unknown) > 0);
}

static void test_form_typed_getters(void **state)
{
	(void)state;
	struct arena *arena = arena_new();
	struct form form;
	const char *text = "page=3&big=100001&zero=0&neg=-2&lead=007&junk=3x&empty=&bad=%ZZ&status=revoked&other=Revoked";
	parse(arena, text, strlen(text), &form);
	int64_t value = 1;
	assert_int_equal(form_get_integer(&form, "page", 1, 100000, &value), FORM_VALID);
	assert_int_equal(value, 3);
	value = 1;
	const char *invalid[] = { "big", "zero", "neg", "lead", "junk", "bad" };
	for (size_t i = 0; i < sizeof invalid / sizeof invalid[0]; i++) {
		if (form_get_integer(&form, invalid[i], 1, 100000, &value) != FORM_INVALID)
			fail_msg("%s was not refused", invalid[i]);
		assert_int_equal(value, 1); /* the default stays */
	}
	assert_int_equal(form_get_integer(&form, "empty", 1, 10, &value), FORM_ABSENT);
	assert_int_equal(form_get_integer(&form, "missing", 1, 10, &value), FORM_ABSENT);
	assert_int_equal(value, 1);

	static const char *const statuses[] = { "", "enabled", "disabled", "revoked" };
	size_t index = 0;
	assert_int_equal(form_get_choice(&form, "status", statuses, 4, &index), FORM_VALID);
	assert_int_equal(index, 3);
	index = 0;
	assert_int_equal(form_get_choice(&form, "other", statuses, 4, &index), FORM_INVALID); /* case counts */
	assert_int_equal(form_get_choice(&form, "bad", statuses, 4, &index), FORM_INVALID);
	assert_int_equal(form_get_choice(&form, "missing", statuses, 4, &index), FORM_ABSENT);
	assert_int_equal(index, 0);
	arena_free(arena);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_form_empty_input),
		cmocka_unit_test(test_form_simple_pairs),
		cmocka_unit_test(test_form_repeated_names_keep_order),
		cmocka_unit_test(test_form_plus_and_percent),
		cmocka_unit_test(test_form_every_escaped_byte),
		cmocka_unit_test(test_form_hex_digits),
		cmocka_unit_test(test_form_malformed_escapes),
		cmocka_unit_test(test_form_bad_utf8),
		cmocka_unit_test(test_form_nul_bytes),
		cmocka_unit_test(test_form_pair_shapes),
		cmocka_unit_test(test_form_pair_limit),
		cmocka_unit_test(test_form_huge_value),
		cmocka_unit_test(test_form_find_and_get),
		cmocka_unit_test(test_form_status_messages),
		cmocka_unit_test(test_form_typed_getters),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
