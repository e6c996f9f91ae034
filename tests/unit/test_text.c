/* test_text.c: unit tests for core/text (UTF-8 validation and counting, trim, control checks, folding). */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include <locale.h>
#include <pthread.h>
#include <stdbool.h>
#include <stdio.h>
#include <string.h>

#include "core/alloc.h"
#include "core/text.h"

/* A string literal as (bytes, length), so that embedded NULs and trailing bytes are kept. */
#define BYTES(literal) (literal), (sizeof(literal) - 1)

struct utf8_case {
	const char *label;
	const char *bytes;
	size_t length;
	bool valid;
};

#define VALID(label, literal) { label, BYTES(literal), true }
#define INVALID(label, literal) { label, BYTES(literal), false }

/*
 * Cases laid out after the sections of Markus Kuhn's "UTF-8 decoder capability and stress test"
 * (https://www.cl.cam.ac.uk/~mgk25/ucs/examples/UTF-8-test.txt), written here from its table of
 * contents, with the verdicts of a strict decoder: Unicode table 3-7, nothing above U+10FFFF,
 * no surrogates, no overlongs, no 5- or 6-byte forms.
 */
static const struct utf8_case kuhn_cases[] = {
	/* 1 Some correct UTF-8 text */
	VALID("1 kosme", "\xce\xba\xe1\xbd\xb9\xcf\x83\xce\xbc\xce\xb5"),

	/* 2.1 First possible sequence of a certain length */
	VALID("2.1.1 U+0000", "\x00"),
	VALID("2.1.2 U+0080", "\xc2\x80"),
	VALID("2.1.3 U+0800", "\xe0\xa0\x80"),
	VALID("2.1.4 U+10000", "\xf0\x90\x80\x80"),
	INVALID("2.1.5 U+200000 (5 bytes)", "\xf8\x88\x80\x80\x80"),
	INVALID("2.1.6 U+4000000 (6 bytes)", "\xfc\x84\x80\x80\x80\x80"),

	/* 2.2 Last possible sequence of a certain length */
	VALID("2.2.1 U+007F", "\x7f"),
	VALID("2.2.2 U+07FF", "\xdf\xbf"),
	VALID("2.2.3 U+FFFF", "\xef\xbf\xbf"),
	INVALID("2.2.4 U+1FFFFF", "\xf7\xbf\xbf\xbf"),
	INVALID("2.2.5 U+3FFFFFF (5 bytes)", "\xfb\xbf\xbf\xbf\xbf"),
	INVALID("2.2.6 U+7FFFFFFF (6 bytes)", "\xfd\xbf\xbf\xbf\xbf\xbf"),

	/* 2.3 Other boundary conditions */
	VALID("2.3.1 U+D7FF", "\xed\x9f\xbf"),
	VALID("2.3.2 U+E000", "\xee\x80\x80"),
	VALID("2.3.3 U+FFFD", "\xef\xbf\xbd"),
	VALID("2.3.4 U+10FFFF", "\xf4\x8f\xbf\xbf"),
	INVALID("2.3.5 U+110000", "\xf4\x90\x80\x80"),

	/* 3.1 Unexpected continuation bytes (3.1.9, every single one, is a loop in its own test) */
	INVALID("3.1.1 first continuation byte", "\x80"),
	INVALID("3.1.2 last continuation byte", "\xbf"),
	INVALID("3.1.3 2 continuation bytes", "\x80\xbf"),
	INVALID("3.1.4 3 continuation bytes", "\x80\xbf\x80"),
	INVALID("3.1.5 4 continuation bytes", "\x80\xbf\x80\xbf"),
	INVALID("3.1.6 5 continuation bytes", "\x80\xbf\x80\xbf\x80"),
	INVALID("3.1.7 6 continuation bytes", "\x80\xbf\x80\xbf\x80\xbf"),
	INVALID("3.1.8 7 continuation bytes", "\x80\xbf\x80\xbf\x80\xbf\x80"),
	INVALID("3.1 after valid text", "abc\x80"),
	INVALID("3.1 after a complete 2-byte sequence", "\xc3\xa9\xa9"),

	/* 3.2 Lonely start characters (each followed by a space; all of them are a loop below) */
	INVALID("3.2.1 C0 space", "\xc0 "),
	INVALID("3.2.1 DF space", "\xdf "),
	INVALID("3.2.2 E0 space", "\xe0 "),
	INVALID("3.2.2 EF space", "\xef "),
	INVALID("3.2.3 F0 space", "\xf0 "),
	INVALID("3.2.3 F7 space", "\xf7 "),
	INVALID("3.2.4 F8 space", "\xf8 "),
	INVALID("3.2.5 FC space", "\xfc "),

	/* 3.3 Sequences with last continuation byte missing */
	INVALID("3.3.1 2-byte U+0000", "\xc0"),
	INVALID("3.3.2 3-byte U+0000", "\xe0\x80"),
	INVALID("3.3.3 4-byte U+0000", "\xf0\x80\x80"),
	INVALID("3.3.4 5-byte U+0000", "\xf8\x80\x80\x80"),
	INVALID("3.3.5 6-byte U+0000", "\xfc\x80\x80\x80\x80"),
	INVALID("3.3.6 2-byte U+07FF", "\xdf"),
	INVALID("3.3.7 3-byte U+FFFF", "\xef\xbf"),
	INVALID("3.3.8 4-byte U+1FFFFF", "\xf7\xbf\xbf"),
	INVALID("3.3.9 5-byte U+3FFFFFF", "\xfb\xbf\xbf\xbf"),
	INVALID("3.3.10 6-byte U+7FFFFFFF", "\xfd\xbf\xbf\xbf\xbf"),
	INVALID("3.3 (strict prefix of valid U+00E9)", "\xc3"),
	INVALID("3.3 (strict prefix of valid U+20AC)", "\xe2\x82"),
	INVALID("3.3 (strict prefix of valid U+1F600)", "\xf0\x9f\x98"),
	INVALID("3.3 (cut prefix then ASCII)", "\xe2\x82" "A"),

	/* 3.4 Concatenation of incomplete sequences (all ten of 3.3) */
	INVALID("3.4 concatenation", "\xc0\xe0\x80\xf0\x80\x80\xf8\x80\x80\x80\xfc\x80\x80\x80\x80"
	                             "\xdf\xef\xbf\xf7\xbf\xbf\xfb\xbf\xbf\xbf\xfd\xbf\xbf\xbf\xbf"),

	/* 3.5 Impossible bytes */
	INVALID("3.5.1 FE", "\xfe"),
	INVALID("3.5.2 FF", "\xff"),
	INVALID("3.5.3 FE FE FF FF", "\xfe\xfe\xff\xff"),

	/* 4.1 Examples of an overlong ASCII character ('/') */
	INVALID("4.1.1 2-byte /", "\xc0\xaf"),
	INVALID("4.1.2 3-byte /", "\xe0\x80\xaf"),
	INVALID("4.1.3 4-byte /", "\xf0\x80\x80\xaf"),
	INVALID("4.1.4 5-byte /", "\xf8\x80\x80\x80\xaf"),
	INVALID("4.1.5 6-byte /", "\xfc\x80\x80\x80\x80\xaf"),

	/* 4.2 Maximum overlong sequences */
	INVALID("4.2.1 U+007F in 2 bytes", "\xc1\xbf"),
	INVALID("4.2.2 U+07FF in 3 bytes", "\xe0\x9f\xbf"),
	INVALID("4.2.3 U+FFFF in 4 bytes", "\xf0\x8f\xbf\xbf"),
	INVALID("4.2.4 U+1FFFFF in 5 bytes", "\xf8\x87\xbf\xbf\xbf"),
	INVALID("4.2.5 U+3FFFFFF in 6 bytes", "\xfc\x83\xbf\xbf\xbf\xbf"),

	/* 4.3 Overlong representation of the NUL character */
	INVALID("4.3.1 2-byte NUL", "\xc0\x80"),
	INVALID("4.3.2 3-byte NUL", "\xe0\x80\x80"),
	INVALID("4.3.3 4-byte NUL", "\xf0\x80\x80\x80"),
	INVALID("4.3.4 5-byte NUL", "\xf8\x80\x80\x80\x80"),
	INVALID("4.3.5 6-byte NUL", "\xfc\x80\x80\x80\x80\x80"),

	/* 5.1 Single UTF-16 surrogates */
	INVALID("5.1.1 U+D800", "\xed\xa0\x80"),
	INVALID("5.1.2 U+DB7F", "\xed\xad\xbf"),
	INVALID("5.1.3 U+DB80", "\xed\xae\x80"),
	INVALID("5.1.4 U+DBFF", "\xed\xaf\xbf"),
	INVALID("5.1.5 U+DC00", "\xed\xb0\x80"),
	INVALID("5.1.6 U+DF80", "\xed\xbe\x80"),
	INVALID("5.1.7 U+DFFF", "\xed\xbf\xbf"),

	/* 5.2 Paired UTF-16 surrogates */
	INVALID("5.2.1 U+D800 U+DC00", "\xed\xa0\x80\xed\xb0\x80"),
	INVALID("5.2.2 U+D800 U+DFFF", "\xed\xa0\x80\xed\xbf\xbf"),
	INVALID("5.2.3 U+DB7F U+DC00", "\xed\xad\xbf\xed\xb0\x80"),
	INVALID("5.2.4 U+DB7F U+DFFF", "\xed\xad\xbf\xed\xbf\xbf"),
	INVALID("5.2.5 U+DB80 U+DC00", "\xed\xae\x80\xed\xb0\x80"),
	INVALID("5.2.6 U+DB80 U+DFFF", "\xed\xae\x80\xed\xbf\xbf"),
	INVALID("5.2.7 U+DBFF U+DC00", "\xed\xaf\xbf\xed\xb0\x80"),
	INVALID("5.2.8 U+DBFF U+DFFF", "\xed\xaf\xbf\xed\xbf\xbf"),

	/* 5.3 Noncharacters: scalar values all the same, so well-formed UTF-8 */
	VALID("5.3.1 U+FFFE", "\xef\xbf\xbe"),
	VALID("5.3.2 U+FFFF", "\xef\xbf\xbf"),
	VALID("5.3.3 U+FDD0", "\xef\xb7\x90"),
	VALID("5.3.3 U+FDEF", "\xef\xb7\xaf"),
	VALID("5.3.4 U+1FFFE", "\xf0\x9f\xbf\xbe"),
	VALID("5.3.4 U+10FFFF", "\xf4\x8f\xbf\xbf"),
};

static void test_utf8_valid_kuhn(void **state)
{
	(void)state;
	int failures = 0;
	for (size_t i = 0; i < sizeof kuhn_cases / sizeof kuhn_cases[0]; i++) {
		const struct utf8_case *c = &kuhn_cases[i];
		if (utf8_valid(c->bytes, c->length) != c->valid) {
			print_error("%s: expected %s\n", c->label, c->valid ? "valid" : "invalid");
			failures++;
		}
	}
	assert_int_equal(failures, 0);
}

/* Kuhn 3.1.9 and 3.2: every continuation byte alone, every start byte followed by a space. */
static void test_utf8_valid_lonely_bytes(void **state)
{
	(void)state;
	for (unsigned byte = 0x80; byte <= 0xBF; byte++) {
		char alone[1] = { (char)byte };
		char after_ascii[2] = { 'a', (char)byte };
		assert_false(utf8_valid(alone, 1));
		assert_false(utf8_valid(after_ascii, 2));
	}
	for (unsigned byte = 0xC0; byte <= 0xFF; byte++) {
		char with_space[2] = { (char)byte, ' ' };
		char alone[1] = { (char)byte };
		assert_false(utf8_valid(with_space, 2));
		assert_false(utf8_valid(alone, 1));
	}
}

static void test_utf8_valid_every_single_byte(void **state)
{
	(void)state;
	for (unsigned byte = 0; byte <= 0xFF; byte++) {
		char one[1] = { (char)byte };
		assert_int_equal(utf8_valid(one, 1), byte < 0x80);
	}
}

/* Encode `code_point` (any value below 2^21) in the 1- to 4-byte pattern, overlong-free; returns the length. */
static size_t encode(uint32_t code_point, unsigned char *out)
{
	if (code_point < 0x80) {
		out[0] = (unsigned char)code_point;
		return 1;
	}
	if (code_point < 0x800) {
		out[0] = (unsigned char)(0xC0 | code_point >> 6);
		out[1] = (unsigned char)(0x80 | (code_point & 0x3F));
		return 2;
	}
	if (code_point < 0x10000) {
		out[0] = (unsigned char)(0xE0 | code_point >> 12);
		out[1] = (unsigned char)(0x80 | (code_point >> 6 & 0x3F));
		out[2] = (unsigned char)(0x80 | (code_point & 0x3F));
		return 3;
	}
	out[0] = (unsigned char)(0xF0 | code_point >> 18);
	out[1] = (unsigned char)(0x80 | (code_point >> 12 & 0x3F));
	out[2] = (unsigned char)(0x80 | (code_point >> 6 & 0x3F));
	out[3] = (unsigned char)(0x80 | (code_point & 0x3F));
	return 4;
}

/* Every code point 0 .. U+1FFFFF in shortest form: valid exactly for scalar values, one code point each. */
static void test_utf8_valid_every_code_point(void **state)
{
	(void)state;
	for (uint32_t code_point = 0; code_point < 0x200000; code_point++) {
		unsigned char bytes[4];
		size_t length = encode(code_point, bytes);
		bool scalar = code_point <= 0x10FFFF && !(code_point >= 0xD800 && code_point <= 0xDFFF);
		if (utf8_valid((const char *)bytes, length) != scalar)
			fail_msg("U+%04X judged %s", (unsigned)code_point, scalar ? "invalid" : "valid");
		if (scalar && utf8_length((const char *)bytes, length) != 1)
			fail_msg("U+%04X not counted as one", (unsigned)code_point);
		/* Every strict prefix of a multibyte sequence is cut short. */
		for (size_t cut = 1; cut < length; cut++)
			if (utf8_valid((const char *)bytes, cut))
				fail_msg("U+%04X cut to %zu bytes judged valid", (unsigned)code_point, cut);
	}
}

/*
 * Kuhn 3.3 generalised: in the first and last scalar values of each length, and a few between,
 * every continuation byte in turn replaced by each byte that is not one (00..7F, C0..FF).
 */
static void test_utf8_valid_bad_continuation(void **state)
{
	(void)state;
	static const uint32_t samples[] = { 0x80, 0x7FF, 0xE9, 0x800, 0x20AC, 0xD7FF, 0xE000, 0xFFFF,
		0x10000, 0x1F600, 0x10FFFF };
	for (size_t s = 0; s < sizeof samples / sizeof samples[0]; s++) {
		unsigned char bytes[4];
		size_t length = encode(samples[s], bytes);
		assert_true(utf8_valid((const char *)bytes, length));
		for (size_t position = 1; position < length; position++) {
			for (unsigned byte = 0; byte <= 0xFF; byte++) {
				if (byte >= 0x80 && byte <= 0xBF)
					continue;
				unsigned char broken[4];
				memcpy(broken, bytes, length);
				broken[position] = (unsigned char)byte;
				if (utf8_valid((const char *)broken, length))
					fail_msg("U+%04X with byte %zu = %02X judged valid", (unsigned)samples[s],
					    position, byte);
			}
		}
	}
}

/* Every overlong 2-, 3- and 4-byte form of every code point it could hold is invalid. */
static void test_utf8_valid_every_overlong(void **state)
{
	(void)state;
	for (uint32_t code_point = 0; code_point < 0x80; code_point++) {
		unsigned char two[2] = { (unsigned char)(0xC0 | code_point >> 6),
			(unsigned char)(0x80 | (code_point & 0x3F)) };
		assert_false(utf8_valid((const char *)two, 2));
	}
	for (uint32_t code_point = 0; code_point < 0x800; code_point++) {
		unsigned char three[3] = { 0xE0, (unsigned char)(0x80 | code_point >> 6),
			(unsigned char)(0x80 | (code_point & 0x3F)) };
		assert_false(utf8_valid((const char *)three, 3));
	}
	for (uint32_t code_point = 0; code_point < 0x10000; code_point++) {
		unsigned char four[4] = { 0xF0, (unsigned char)(0x80 | code_point >> 12),
			(unsigned char)(0x80 | (code_point >> 6 & 0x3F)),
			(unsigned char)(0x80 | (code_point & 0x3F)) };
		assert_false(utf8_valid((const char *)four, 4));
	}
}

static void test_utf8_valid_length_is_respected(void **state)
{
	(void)state;
	assert_true(utf8_valid(NULL, 0));
	assert_true(utf8_valid("", 0));
	assert_true(utf8_valid("\xff", 0));              /* nothing looked at */
	assert_true(utf8_valid("ab\xff", 2));            /* bytes past the length are ignored */
	assert_false(utf8_valid("\xc3\xa9", 1));         /* a length that cuts a sequence */
	assert_true(utf8_valid("\xc3\xa9", 2));
	assert_true(utf8_valid(BYTES("a\0b")));           /* NUL is U+0000, valid UTF-8 */
	assert_false(utf8_valid(BYTES("\xc3\xa9\0\xa9")));
	assert_true(utf8_valid(BYTES("ASCII, caf\xc3\xa9, \xe2\x82\xac, \xf0\x9f\x98\x80.")));
}

static void test_utf8_length(void **state)
{
	(void)state;
	assert_int_equal(utf8_length(NULL, 0), 0);
	assert_int_equal(utf8_length(BYTES("")), 0);
	assert_int_equal(utf8_length(BYTES("abc")), 3);
	assert_int_equal(utf8_length(BYTES("\xce\xba\xe1\xbd\xb9\xcf\x83\xce\xbc\xce\xb5")), 5);
	assert_int_equal(utf8_length(BYTES("\xe2\x82\xac")), 1);
	assert_int_equal(utf8_length(BYTES("\xf0\x9f\x98\x80")), 1);
	assert_int_equal(utf8_length(BYTES("a\xc3\xa9\xe2\x82\xac\xf0\x9f\x98\x80z")), 5);
	assert_int_equal(utf8_length(BYTES("a\0b")), 3);
	assert_int_equal(utf8_length("\xc3\xa9\xc3\xa9", 2), 1);
	/* Outside the contract, but bounded: stray bytes count one each. */
	assert_int_equal(utf8_length(BYTES("\xff\xfe")), 2);
	assert_int_equal(utf8_length(BYTES("\xe2\x82")), 2);
	assert_int_equal(utf8_length(BYTES("\xc0\xafx")), 3);
}

static void test_text_trim(void **state)
{
	(void)state;
	struct arena *arena = arena_new();
	assert_string_equal(text_trim(arena, "  a b  "), "a b");
	assert_string_equal(text_trim(arena, "abc"), "abc");
	assert_string_equal(text_trim(arena, "x"), "x");
	assert_string_equal(text_trim(arena, " x"), "x");
	assert_string_equal(text_trim(arena, "x "), "x");
	assert_string_equal(text_trim(arena, "\t\r\n\f\vkey\v\f\n\r\t"), "key");
	assert_string_equal(text_trim(arena, "a \t b"), "a \t b");
	assert_string_equal(text_trim(arena, ""), "");
	assert_string_equal(text_trim(arena, " "), "");
	assert_string_equal(text_trim(arena, " \t\r\n\f\v \t"), "");
	/* Only ASCII white space: NBSP (U+00A0), U+2003 and other controls stay. */
	assert_string_equal(text_trim(arena, "\xc2\xa0x\xc2\xa0"), "\xc2\xa0x\xc2\xa0");
	assert_string_equal(text_trim(arena, " \xe2\x80\x83x "), "\xe2\x80\x83x");
	assert_string_equal(text_trim(arena, "\x01 x \x1f"), "\x01 x \x1f");
	assert_string_equal(text_trim(arena, " \xc3\xa9t\xc3\xa9 "), "\xc3\xa9t\xc3\xa9");
	/* A copy, never the argument itself. */
	char text[] = "same";
	char *copy = text_trim(arena, text);
	assert_ptr_not_equal(copy, text);
	text[0] = 'X';
	assert_string_equal(copy, "same");
	arena_free(arena);
}

static void test_text_has_control(void **state)
{
	(void)state;
	assert_false(text_has_control("", NULL));
	assert_false(text_has_control("plain text, caf\xc3\xa9 \xe2\x82\xac", NULL));
	assert_true(text_has_control("a\tb", NULL));
	assert_true(text_has_control("a\tb", ""));
	assert_false(text_has_control("a\tb", "\t"));
	assert_true(text_has_control("a\tb\nc", "\t"));
	assert_false(text_has_control("a\tb\nc", "\t\n"));
	assert_true(text_has_control("\x01", NULL));
	assert_true(text_has_control("\x1f", NULL));
	assert_false(text_has_control(" ", NULL));
	assert_false(text_has_control("~", NULL));
	assert_true(text_has_control("x\x7f", NULL));
	assert_false(text_has_control("x\x7f", "\x7f"));
	/* C1 controls U+0080..U+009F are C2 80..C2 9F. */
	assert_true(text_has_control("\xc2\x80", NULL));
	assert_true(text_has_control("line\xc2\x85next", NULL));
	assert_true(text_has_control("\xc2\x9f", NULL));
	assert_false(text_has_control("line\xc2\x85next", "\xc2\x85"));
	assert_true(text_has_control("\xc2\x80\xc2\x85", "\xc2\x85"));
	/* The neighbours of C1 are not controls, nor are continuation bytes 80..9F inside other letters. */
	assert_false(text_has_control("\xc2\xa0", NULL));      /* U+00A0 */
	assert_false(text_has_control("\xc3\x85", NULL));      /* U+00C5, byte 85 is not NEL */
	assert_false(text_has_control("\xc4\x80", NULL));      /* U+0100 */
	assert_false(text_has_control("\xe2\x80\x8b", NULL));  /* U+200B is a format character, not a control */
	assert_false(text_has_control("\xf0\x9f\x98\x80", NULL));
	/* Allowing a C1 control does not allow the other controls whose bytes it shares. */
	assert_true(text_has_control("\x02", "\xc2\x82"));
	/* Every C0 and C1 code point, one by one. */
	for (uint32_t code_point = 1; code_point < 0x100; code_point++) {
		unsigned char bytes[5] = { 0 };
		encode(code_point, bytes);
		bool control = code_point < 0x20 || (code_point >= 0x7F && code_point <= 0x9F);
		if (text_has_control((const char *)bytes, NULL) != control)
			fail_msg("U+%04X judged %s", (unsigned)code_point, control ? "not control" : "control");
	}
}

static void test_text_fold(void **state)
{
	(void)state;
	struct arena *arena = arena_new();
	assert_string_equal(text_fold(arena, ""), "");
	assert_string_equal(text_fold(arena, "ABC xyz 123 @[`{"), "abc xyz 123 @[`{");
	assert_string_equal(text_fold(arena, "\xc3\x84\xc3\x96\xc3\x9c"), "\xc3\xa4\xc3\xb6\xc3\xbc"); /* ÄÖÜ */
	assert_string_equal(text_fold(arena, "\xc3\xa4\xc3\xb6\xc3\xbc"), "\xc3\xa4\xc3\xb6\xc3\xbc"); /* already low */
	assert_string_equal(text_fold(arena, "\xce\xa3\xce\x91\xce\xa3"), "\xcf\x83\xce\xb1\xcf\x83");  /* ΣΑΣ -> σασ */
	assert_string_equal(text_fold(arena, "\xd0\x9a\xd0\x9b\xd0\xae\xd0\xa7"),                     /* КЛЮЧ */
	    "\xd0\xba\xd0\xbb\xd1\x8e\xd1\x87");
	assert_string_equal(text_fold(arena, "Prod-Key \xc3\x89T\xc3\x89"), "prod-key \xc3\xa9t\xc3\xa9");
	assert_string_equal(text_fold(arena, "\xf0\x90\x90\x80"), "\xf0\x90\x90\xa8");               /* U+10400 */
	assert_string_equal(text_fold(arena, "\xe2\x82\xac \xf0\x9f\x98\x80 \xe4\xb8\xad"),           /* no case */
	    "\xe2\x82\xac \xf0\x9f\x98\x80 \xe4\xb8\xad");
	/* Lowering changes the byte length: U+0130 (2 bytes) -> 'i', U+023A (2) -> U+2C65 (3). */
	assert_string_equal(text_fold(arena, "\xc4\xb0X"), "ix");
	assert_string_equal(text_fold(arena, "\xc8\xba\xc8\xba\xc8\xba"),
	    "\xe2\xb1\xa5\xe2\xb1\xa5\xe2\xb1\xa5");
	/* Invalid bytes pass through unchanged, the valid text around them is still folded. */
	assert_string_equal(text_fold(arena, "A\xff" "B"), "a\xff" "b");
	assert_string_equal(text_fold(arena, "\xc0\xaf" "Z"), "\xc0\xaf" "z");
	assert_string_equal(text_fold(arena, "\xed\xa0\x80\xc3\x84"), "\xed\xa0\x80\xc3\xa4");
	assert_string_equal(text_fold(arena, "\xc3"), "\xc3");
	arena_free(arena);
}

static void test_text_fold_long(void **state)
{
	(void)state;
	struct arena *arena = arena_new();
	size_t count = 100000;
	char *upper = arena_alloc(arena, count * 2 + 1);
	char *lower = arena_alloc(arena, count * 2 + 1);
	for (size_t i = 0; i < count; i++) {
		memcpy(upper + 2 * i, "\xc3\x84", 2);
		memcpy(lower + 2 * i, "\xc3\xa4", 2);
	}
	assert_string_equal(text_fold(arena, upper), lower);
	arena_free(arena);
}

/* The caller's thread locale and the process locale are left as they were. */
static void test_text_fold_restores_locale(void **state)
{
	(void)state;
	struct arena *arena = arena_new();
	locale_t before = uselocale((locale_t)0);
	assert_string_equal(text_fold(arena, "\xc3\x84"), "\xc3\xa4");
	assert_true(uselocale((locale_t)0) == before);
	assert_string_equal(setlocale(LC_CTYPE, NULL), "C");

	locale_t posix = newlocale(LC_ALL_MASK, "POSIX", (locale_t)0);
	assert_non_null(posix);
	locale_t global = uselocale(posix);
	assert_string_equal(text_fold(arena, "\xce\xa3"), "\xcf\x83");
	assert_true(uselocale((locale_t)0) == posix);
	uselocale(global);
	freelocale(posix);
	arena_free(arena);
}

static void *fold_in_thread(void *argument)
{
	(void)argument;
	struct arena *arena = arena_new();
	bool ok = true;
	for (int i = 0; i < 2000 && ok; i++) {
		ok = strcmp(text_fold(arena, "KEY \xc3\x84\xc3\x96\xc3\x9c \xce\xa3"), "key \xc3\xa4\xc3\xb6\xc3\xbc \xcf\x83") == 0;
		arena_reset(arena);
	}
	arena_free(arena);
	return ok ? argument : NULL;
}

static void test_text_fold_threads(void **state)
{
	(void)state;
	pthread_t threads[8];
	int marker = 0;
	for (size_t i = 0; i < 8; i++)
		assert_int_equal(pthread_create(&threads[i], NULL, fold_in_thread, &marker), 0);
	for (size_t i = 0; i < 8; i++) {
		void *result = NULL;
		assert_int_equal(pthread_join(threads[i], &result), 0);
		assert_ptr_equal(result, &marker);
	}
}

static void test_text_utc_times(void **state)
{
	(void)state;
	int64_t value = -1;
	char text[TEXT_TIME_MAX];
	static const struct {
		const char *text;
		int64_t value;
	} good[] = {
		{ "1970-01-01", 0 },
		{ "2027-01-31 18:00", 1801418400 },
		{ "2027-01-31T18:00", 1801418400 },
		{ "2027-01-31T18:00:59", 1801418459 },
		{ "2027-01-31 18:00 UTC", 1801418400 },
		{ "2027-01-31T18:00Z", 1801418400 },
		{ "2028-02-29", 1835395200 },
		{ "2000-02-29 23:59", 951868740 },
	};
	for (size_t i = 0; i < sizeof good / sizeof good[0]; i++) {
		assert_true(text_parse_utc_time(good[i].text, &value));
		assert_int_equal(value, good[i].value);
	}
	static const char *const bad[] = { "", "2027", "2027-1-31", "2027-01-32", "2027-02-29", "1900-02-29", "1969-12-31",
					   "2027-04-31", "2027-01-31 24:00", "2027-01-31 18:60", "2027-01-31 18", "2027-01-31T18:00+01:00",
					   "2027-01-31  18:00", " 2027-01-31", "2027-01-31 18:00 CET", "tomorrow" };
	for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
		value = -1;
		if (text_parse_utc_time(bad[i], &value))
			fail_msg("\"%s\" was read as a time", bad[i]);
		assert_int_equal(value, -1);
	}
	assert_false(text_parse_utc_time(NULL, &value));
	text_utc_time(text, 1801418459);
	assert_string_equal(text, "2027-01-31 18:00 UTC");
	struct arena *arena = arena_new();
	assert_string_equal(text_span(arena, 59), "less than a minute");
	assert_string_equal(text_span(arena, 60), "1 min");
	assert_string_equal(text_span(arena, 5 * 3600 + 59 * 60), "5 h");
	assert_string_equal(text_span(arena, 86400), "1 day");
	assert_string_equal(text_span(arena, 3 * 86400 + 5), "3 days");
	arena_free(arena);
}

static void test_text_to_integer(void **state)
{
	(void)state;
	int64_t value = -7;
	assert_true(text_to_integer("0", 0, 10, &value));
	assert_int_equal(value, 0);
	assert_true(text_to_integer("10", 0, 10, &value));
	assert_int_equal(value, 10);
	assert_true(text_to_integer("9223372036854775807", 1, INT64_MAX, &value));
	assert_true(value == INT64_MAX);
	assert_true(text_to_integer("-9223372036854775808", INT64_MIN, 0, &value));
	assert_true(value == INT64_MIN);
	assert_true(text_to_integer("-5", -10, 10, &value));
	assert_int_equal(value, -5);
	value = 123;
	/* Not canonical, out of range, or not a number: refused, and the value is left alone. */
	const char *refused[] = { NULL, "", "11", "-1", "01", "00", "+1", " 1", "1 ", "1a", "a1", "0x1", "1e3", "-0",
				  "9223372036854775808", "99999999999999999999999", "1.0", "\xc2\xb9", "-" };
	for (size_t i = 0; i < sizeof refused / sizeof refused[0]; i++)
		if (text_to_integer(refused[i], 0, 10, &value))
			fail_msg("accepted \"%s\"", refused[i] ? refused[i] : "(null)");
	assert_int_equal(value, 123);
	assert_false(text_to_integer("-5", 0, 10, &value)); /* no sign where none can be */
	assert_false(text_to_integer("-9223372036854775809", INT64_MIN, 0, &value));
	assert_int_equal(value, 123);
}

/* text_origin(): origins as browsers write them, from a Host header and perhaps SERVER_PORT. */
static void test_text_origin(void **state)
{
	(void)state;
	static const struct {
		bool https;
		const char *authority, *port_if_none, *origin; /* origin NULL: refused */
	} cases[] = {
		{ false, "127.0.0.1:8080", NULL, "http://127.0.0.1:8080" },
		{ false, "127.0.0.1:8080", "9999", "http://127.0.0.1:8080" }, /* the Host's own port wins */
		{ false, "localhost", "18701", "http://localhost:18701" },   /* Debian's nginx: $host, no port */
		{ false, "localhost", "80", "http://localhost" },
		{ true, "example.com", "443", "https://example.com" },
		{ true, "example.com", "80", "https://example.com:80" },
		{ true, "Example.COM:443", NULL, "https://example.com" },
		{ false, "example.com:80", NULL, "http://example.com" },
		{ false, "example.com:443", NULL, "http://example.com:443" },
		{ false, "example.com", NULL, "http://example.com" },
		{ false, "example.com", "", "http://example.com" },
		{ false, "example.com", "x", "http://example.com" },         /* not a port: ignored */
		{ false, "example.com", "70000", "http://example.com" },
		{ false, "my_host.internal", NULL, "http://my_host.internal" },
		{ false, "[2001:DB8::1]:8080", NULL, "http://[2001:db8::1]:8080" },
		{ true, "[::1]", "8443", "https://[::1]:8443" },
		{ false, "", NULL, NULL },
		{ false, ":8080", NULL, NULL },
		{ false, "example.com:", NULL, NULL },
		{ false, "example.com:0", NULL, NULL },
		{ false, "example.com:65536", NULL, NULL },
		{ false, "example.com:123456", NULL, NULL },
		{ false, "example.com:80x", NULL, NULL },
		{ false, "example.com:+80", NULL, NULL },
		{ false, "exa mple.com", NULL, NULL },
		{ false, "example.com/x", NULL, NULL },
		{ false, "user@example.com", NULL, NULL },
		{ false, "evil.example\r\nX: 1", NULL, NULL },
		{ false, "[]", NULL, NULL },
		{ false, "[::1", NULL, NULL },
		{ false, "[::1]x", NULL, NULL },
		{ false, "[::g]", NULL, NULL },
		{ false, "\xc3\xa4.example", NULL, NULL },
	};
	for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
		char origin[TEXT_ORIGIN_MAX];
		bool ok = text_origin(origin, cases[i].https, cases[i].authority, strlen(cases[i].authority),
				      cases[i].port_if_none);
		if (cases[i].origin == NULL) {
			if (ok)
				fail_msg("\"%s\" gave \"%s\"", cases[i].authority, origin);
			assert_string_equal(origin, "");
		} else {
			if (!ok)
				fail_msg("\"%s\" refused", cases[i].authority);
			assert_string_equal(origin, cases[i].origin);
		}
	}
	/* Only `length` bytes count; an authority too long for an origin is refused. */
	char origin[TEXT_ORIGIN_MAX];
	assert_true(text_origin(origin, false, "example.com:8080/ignored", 16, NULL));
	assert_string_equal(origin, "http://example.com:8080");
	char long_host[TEXT_ORIGIN_MAX + 10];
	memset(long_host, 'a', sizeof long_host - 1);
	long_host[sizeof long_host - 1] = '\0';
	assert_false(text_origin(origin, true, long_host, strlen(long_host), "8443"));
	assert_true(text_origin(origin, true, long_host, TEXT_ORIGIN_MAX - 20, "8443"));
	assert_int_equal(strlen(origin), strlen("https://") + TEXT_ORIGIN_MAX - 20 + strlen(":8443"));
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_utf8_valid_kuhn),
		cmocka_unit_test(test_utf8_valid_lonely_bytes),
		cmocka_unit_test(test_utf8_valid_every_single_byte),
		cmocka_unit_test(test_utf8_valid_every_code_point),
		cmocka_unit_test(test_utf8_valid_bad_continuation),
		cmocka_unit_test(test_utf8_valid_every_overlong),
		cmocka_unit_test(test_utf8_valid_length_is_respected),
		cmocka_unit_test(test_utf8_length),
		cmocka_unit_test(test_text_trim),
		cmocka_unit_test(test_text_has_control),
		cmocka_unit_test(test_text_fold),
		cmocka_unit_test(test_text_fold_long),
		cmocka_unit_test(test_text_fold_restores_locale),
		cmocka_unit_test(test_text_fold_threads),
		cmocka_unit_test(test_text_to_integer),
		cmocka_unit_test(test_text_utc_times),
		cmocka_unit_test(test_text_origin),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
