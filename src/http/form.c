/* form.c: decoding application/x-www-form-urlencoded bytes into an ordered list of checked pairs. */
#include "http/form.h"

#include <string.h>

#include "core/alloc.h"
#include "core/text.h"

static const char *const form_status_messages[] = {
	[FORM_VALUE_OK] = "",
	[FORM_VALUE_BAD_ENCODING] = "This field has malformed percent-encoding",
	[FORM_VALUE_BAD_UTF8] = "This field is not valid UTF-8 text",
	[FORM_VALUE_NUL_BYTE] = "This field contains a NUL byte",
};

/* The value of hexadecimal digit `c` (either case) in *value; false when `c` is not one. */
static bool form_hex_digit(char c, unsigned *value)
{
	if (c >= '0' && c <= '9')
		*value = (unsigned)(c - '0');
	else if (c >= 'a' && c <= 'f')
		*value = (unsigned)(c - 'a' + 10);
	else if (c >= 'A' && c <= 'F')
		*value = (unsigned)(c - 'A' + 10);
	else
		return false;
	return true;
}

/*
 * Decode `length` bytes of one name or value ('+' is space, %XX a byte) into an arena string,
 * NUL-terminated after *decoded_length bytes (the decoded bytes may hold NULs themselves).
 * Returns false at the first '%' not followed by two hex digits; *decoded is then unusable.
 */
static bool form_decode(struct arena *arena, const char *bytes, size_t length, char **decoded,
    size_t *decoded_length)
{
	char *out = arena_alloc(arena, length + 1);
	size_t written = 0;
	*decoded = out;
	*decoded_length = 0;
	for (size_t i = 0; i < length; i++) {
		char c = bytes[i];
		if (c == '+') {
			c = ' ';
		} else if (c == '%') {
			unsigned high, low;
			if (length - i < 3 || !form_hex_digit(bytes[i + 1], &high) ||
			    !form_hex_digit(bytes[i + 2], &low))
				return false;
			c = (char)(unsigned char)(high << 4 | low);
			i += 2;
		}
		out[written++] = c;
	}
	out[written] = '\0';
	*decoded_length = written;
	return true;
}

/* Decode one non-empty "name=value" (or "name") segment into a fresh pair appended to `form`. */
static void form_add_pair(struct arena *arena, const char *segment, size_t length, struct form *form)
{
	const char *equals = memchr(segment, '=', length);
	size_t name_raw_length = equals != NULL ? (size_t)(equals - segment) : length;
	const char *value_raw = equals != NULL ? equals + 1 : segment + length;
	size_t value_raw_length = length - (size_t)(value_raw - segment);

	char *name, *value;
	size_t name_length, value_length;
	bool name_encoded = form_decode(arena, segment, name_raw_length, &name, &name_length);
	bool value_encoded = form_decode(arena, value_raw, value_raw_length, &value, &value_length);
	bool name_utf8 = name_encoded && utf8_valid(name, name_length);
	bool value_utf8 = value_encoded && utf8_valid(value, value_length);
	bool name_clean = name_utf8 && memchr(name, '\0', name_length) == NULL;
	bool value_clean = value_utf8 && memchr(value, '\0', value_length) == NULL;

	struct form_pair *pair = arena_alloc(arena, sizeof *pair);
	if (!name_encoded || !value_encoded)
		pair->status = FORM_VALUE_BAD_ENCODING;
	else if (!name_utf8 || !value_utf8)
		pair->status = FORM_VALUE_BAD_UTF8;
	else if (!name_clean || !value_clean)
		pair->status = FORM_VALUE_NUL_BYTE;
	else
		pair->status = FORM_VALUE_OK;
	pair->name = name_clean ? name : "";
	pair->value = pair->status == FORM_VALUE_OK ? value : "";
	pair->value_length = pair->status == FORM_VALUE_OK ? value_length : 0;
	pair->next = NULL;

	if (form->last != NULL)
		form->last->next = pair;
	else
		form->first = pair;
	form->last = pair;
	form->count++;
}

void form_parse(struct arena *arena, const char *text, size_t length, struct form *form)
{
	memset(form, 0, sizeof *form);
	size_t at = 0;
	while (at < length) {
		const char *ampersand = memchr(text + at, '&', length - at);
		size_t end = ampersand != NULL ? (size_t)(ampersand - text) : length;
		if (end > at) {
			if (form->count == FORM_MAX_PAIRS) {
				form->truncated = true;
				return;
			}
			form_add_pair(arena, text + at, end - at, form);
		}
		at = end + 1;
	}
}

const struct form_pair *form_find(const struct form *form, const char *name)
{
	for (const struct form_pair *pair = form->first; pair != NULL; pair = pair->next)
		if (strcmp(pair->name, name) == 0)
			return pair;
	return NULL;
}

const char *form_get(const struct form *form, const char *name)
{
	const struct form_pair *pair = form_find(form, name);
	return pair != NULL && pair->status == FORM_VALUE_OK ? pair->value : NULL;
}

const char *form_value_status_message(enum form_value_status status)
{
	size_t index = (size_t)status;
	if (index >= sizeof form_status_messages / sizeof form_status_messages[0])
		return "This field could not be read";
	return form_status_messages[index];
}

/* The value of `name` for a typed getter: NULL (*typed says why) unless it is present and decoded. */
static const char *typed_value(const struct form *form, const char *name, enum form_typed *typed)
{
	const struct form_pair *pair = form_find(form, name);
	if (pair == NULL || (pair->status == FORM_VALUE_OK && pair->value[0] == '\0')) {
		*typed = FORM_ABSENT;
		return NULL;
	}
	if (pair->status != FORM_VALUE_OK) {
		*typed = FORM_INVALID;
		return NULL;
	}
	*typed = FORM_VALID;
	return pair->value;
}

enum form_typed form_get_integer(const struct form *form, const char *name, int64_t min, int64_t max, int64_t *value)
{
	enum form_typed typed;
	const char *text = typed_value(form, name, &typed);
	if (text == NULL)
		return typed;
	return text_to_integer(text, min, max, value) ? FORM_VALID : FORM_INVALID;
}

enum form_typed form_get_choice(const struct form *form, const char *name, const char *const choices[], size_t count,
				size_t *index)
{
	enum form_typed typed;
	const char *text = typed_value(form, name, &typed);
	if (text == NULL)
		return typed;
	for (size_t i = 0; i < count; i++)
		if (strcmp(text, choices[i]) == 0) {
			*index = i;
			return FORM_VALID;
		}
	return FORM_INVALID;
}
