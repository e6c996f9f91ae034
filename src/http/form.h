/*
 * form.h: application/x-www-form-urlencoded text (query strings and POST bodies) into name/value pairs.
 *
 * Decoding never fails as a whole: a pair whose percent-encoding is malformed, whose decoded
 * bytes are not valid UTF-8, or that holds a NUL byte is kept with a status saying so, so that
 * the form can show a message next to that field. '+' means space. Order is kept, and a name
 * may repeat (allowed CIDR rows send "cidr" once per row).
 */
#ifndef KEYWARD_HTTP_FORM_H
#define KEYWARD_HTTP_FORM_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

struct arena;

#define FORM_MAX_PAIRS 1000

enum form_value_status {
	FORM_VALUE_OK,
	FORM_VALUE_BAD_ENCODING, /* "%" not followed by two hex digits, in the name or the value */
	FORM_VALUE_BAD_UTF8,     /* decoded bytes are not valid UTF-8 (overlongs and surrogates included) */
	FORM_VALUE_NUL_BYTE,     /* decoded value (or name: it is then "") holds a NUL byte */
};

struct form_pair {
	const char *name;   /* decoded, NUL-terminated; "" when malformed beyond use */
	const char *value;  /* decoded, NUL-terminated; "" unless status is FORM_VALUE_OK */
	size_t value_length;
	enum form_value_status status;
	struct form_pair *next;
};

struct form {
	struct form_pair *first;
	struct form_pair *last;
	size_t count;
	bool truncated; /* more than FORM_MAX_PAIRS pairs: the rest were dropped */
};

/*
 * Parse `length` bytes of `text` (any bytes; NULL when `length` is 0) into *form, which is
 * overwritten, allocating from `arena`. Pairs split on '&' only; empty pairs are skipped.
 */
void form_parse(struct arena *arena, const char *text, size_t length, struct form *form);

/* The first pair named `name`, or NULL. */
const struct form_pair *form_find(const struct form *form, const char *name);

/* Value of the first pair named `name` when its status is OK, else NULL. */
const char *form_get(const struct form *form, const char *name);

/*
 * Typed values with range checks: the one way handlers read numbers and choices from a query or
 * a form. FORM_ABSENT when no pair has the name (or its value is ""); FORM_INVALID when it is
 * present but undecodable, not a whole number in [min, max] (text_to_integer's canonical form),
 * or not one of `choices`; then *value / *index stay as they were (so a default set before
 * the call survives).
 */
enum form_typed { FORM_ABSENT, FORM_VALID, FORM_INVALID };
enum form_typed form_get_integer(const struct form *form, const char *name, int64_t min, int64_t max, int64_t *value);
enum form_typed form_get_choice(const struct form *form, const char *name, const char *const choices[], size_t count,
				size_t *index);

/* A short human sentence for a status, e.g. "This field has malformed percent-encoding"; "" for OK. */
const char *form_value_status_message(enum form_value_status status);

#endif
