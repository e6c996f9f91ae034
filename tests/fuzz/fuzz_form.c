/* fuzz_form.c: libFuzzer target for form_parse and the core/text helpers it feeds. */
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/alloc.h"
#include "core/text.h"
#include "http/form.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

#define FUZZ_CHECK(condition)                                                                    \
	do {                                                                                     \
		if (!(condition)) {                                                              \
			fprintf(stderr, "%s:%d: check failed: %s\n", __FILE__, __LINE__, #condition); \
			abort();                                                                 \
		}                                                                                \
	} while (0)

/*
 * A second, independent opinion on UTF-8: decode each sequence arithmetically, then reject what
 * the scalar value rules out (overlong for its length, surrogate, above U+10FFFF).
 */
static bool fuzz_reference_utf8_valid(const uint8_t *bytes, size_t length)
{
	size_t at = 0;
	while (at < length) {
		uint8_t lead = bytes[at];
		size_t count;
		uint32_t code_point, minimum;
		if (lead < 0x80) {
			at++;
			continue;
		} else if ((lead & 0xE0) == 0xC0) {
			count = 2, code_point = lead & 0x1Fu, minimum = 0x80;
		} else if ((lead & 0xF0) == 0xE0) {
			count = 3, code_point = lead & 0x0Fu, minimum = 0x800;
		} else if ((lead & 0xF8) == 0xF0) {
			count = 4, code_point = lead & 0x07u, minimum = 0x10000;
		} else {
			return false;
		}
		if (length - at < count)
			return false;
		for (size_t k = 1; k < count; k++) {
			if ((bytes[at + k] & 0xC0) != 0x80)
				return false;
			code_point = code_point << 6 | (bytes[at + k] & 0x3Fu);
		}
		if (code_point < minimum || code_point > 0x10FFFF ||
		    (code_point >= 0xD800 && code_point <= 0xDFFF))
			return false;
		at += count;
	}
	return true;
}

static struct arena *fuzz_arena;

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	if (fuzz_arena == NULL)
		fuzz_arena = arena_new();
	const char *text = (const char *)data;

	FUZZ_CHECK(utf8_valid(text, size) == fuzz_reference_utf8_valid(data, size));

	struct form form;
	form_parse(fuzz_arena, text, size, &form);
	FUZZ_CHECK(form.count <= FORM_MAX_PAIRS);
	FUZZ_CHECK(!form.truncated || form.count == FORM_MAX_PAIRS);
	FUZZ_CHECK((form.first == NULL) == (form.count == 0));

	size_t walked = 0;
	const struct form_pair *last = NULL;
	for (const struct form_pair *pair = form.first; pair != NULL; pair = pair->next) {
		FUZZ_CHECK(pair->name != NULL && pair->value != NULL);
		FUZZ_CHECK(utf8_valid(pair->name, strlen(pair->name)));
		FUZZ_CHECK(pair->value[pair->value_length] == '\0');
		FUZZ_CHECK(pair->value_length <= size);
		if (pair->status == FORM_VALUE_OK) {
			FUZZ_CHECK(utf8_valid(pair->value, pair->value_length));
			FUZZ_CHECK(memchr(pair->value, '\0', pair->value_length) == NULL);
			FUZZ_CHECK(utf8_length(pair->value, pair->value_length) <= pair->value_length);
			char *folded = text_fold(fuzz_arena, pair->value);
			FUZZ_CHECK(utf8_valid(folded, strlen(folded)));
			FUZZ_CHECK(utf8_length(folded, strlen(folded)) == utf8_length(pair->value, pair->value_length));
			char *trimmed = text_trim(fuzz_arena, pair->value);
			FUZZ_CHECK(strlen(trimmed) <= pair->value_length);
			FUZZ_CHECK(strstr(pair->value, trimmed) != NULL);
			(void)text_has_control(pair->value, "\t\n");
		} else {
			FUZZ_CHECK(pair->status == FORM_VALUE_BAD_ENCODING ||
			    pair->status == FORM_VALUE_BAD_UTF8 || pair->status == FORM_VALUE_NUL_BYTE);
			FUZZ_CHECK(pair->value_length == 0 && pair->value[0] == '\0');
			FUZZ_CHECK(form_value_status_message(pair->status)[0] != '\0');
		}
		FUZZ_CHECK(form_find(&form, pair->name) != NULL);
		last = pair;
		walked++;
	}
	FUZZ_CHECK(walked == form.count);
	FUZZ_CHECK(form.last == last);

	/* Folding takes any bytes as text: invalid ones pass through, nothing overflows. */
	char *raw = arena_strndup(fuzz_arena, text, size);
	char *folded_raw = text_fold(fuzz_arena, raw);
	FUZZ_CHECK(utf8_length(folded_raw, strlen(folded_raw)) == utf8_length(raw, strlen(raw)));

	arena_reset(fuzz_arena);
	return 0;
}
