/* text.h: small UTF-8 text helpers shared by the layers (no I/O, no allocation but the arena's). */
#ifndef KEYWARD_CORE_TEXT_H
#define KEYWARD_CORE_TEXT_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

struct arena;

/* True when `length` bytes at `bytes` are valid UTF-8 (no overlongs, surrogates, or > U+10FFFF). */
bool utf8_valid(const char *bytes, size_t length);

/* Number of code points in valid UTF-8 text (a byte outside any well-formed sequence counts as one). */
size_t utf8_length(const char *text, size_t length);

/* A copy of `text` without leading and trailing ASCII white space (space, tab, CR, LF, FF, VT). */
char *text_trim(struct arena *arena, const char *text);

/* A copy of valid UTF-8 `text` cut to its first `max` code points, "…" added when it was cut. */
char *text_shorten(struct arena *arena, const char *text, size_t max);

/*
 * True when valid UTF-8 `text` holds a control character (C0 or DEL or C1), other than those in
 * `allowed` (a UTF-8 string of the permitted ones, e.g. "\t\n"; NULL permits none).
 */
bool text_has_control(const char *text, const char *allowed);

/*
 * A case-folded copy of valid UTF-8 `text`, for case-insensitive substring search: each code
 * point is lowered with towlower() under the C.UTF-8 locale (so "ÄBC" folds to "äbc").
 * Bytes that are not valid UTF-8 are copied through unchanged; the folded length may differ
 * from the input's. Without a C.UTF-8 locale only A-Z are lowered. Thread-safe.
 */
char *text_fold(struct arena *arena, const char *text);

/*
 * Parse `text` as a whole number written the one canonical way ("0", or a non-zero digit and
 * digits; a leading '-' only when `min` is negative; no spaces, signs, or leading zeros) that
 * lies in [min, max]. True with *value set; false (and *value untouched) otherwise. Every
 * number keyward reads from outside (paths, queries, forms, arguments) goes through this.
 */
bool text_to_integer(const char *text, int64_t min, int64_t max, int64_t *value);

#define TEXT_TIME_MAX 32 /* bytes of a time text_utc_time() writes, with its NUL */

/* `unix_time` as "2027-01-31 18:00 UTC" (minutes; the seconds are dropped). */
void text_utc_time(char text[TEXT_TIME_MAX], int64_t unix_time);

/*
 * Parse a date and time in UTC, as a person types it or a datetime-local field sends it:
 * "2027-01-31 18:00", "2027-01-31T18:00", with ":SS" or without, an optional " UTC" or "Z",
 * or a date alone "2027-01-31" (its start, 00:00). Years 1970 to 9999; the day must exist
 * (no February 30th). True with *unix_time set; false (untouched) otherwise.
 */
bool text_parse_utc_time(const char *text, int64_t *unix_time);

/*
 * A span of `seconds` (0 or more) in a person's words, rounded down to its largest unit:
 * "less than a minute", "1 min", "59 min", "5 h", "1 day", "3 days".
 */
const char *text_span(struct arena *arena, int64_t seconds);

#define TEXT_ORIGIN_MAX 300 /* bytes of an origin text_origin() writes, with its NUL */

/*
 * The web origin of the `length` bytes at `authority` ("host" or "host:port", as in a Host header)
 * under http or https, written as browsers write an Origin header: "https://example.com",
 * "http://127.0.0.1:8080", "http://[2001:db8::1]:8080". The host is lower-cased; a port that is
 * the scheme's default (80, 443) is left out; `port_if_none` (SERVER_PORT: NULL or anything that is
 * not a port is ignored) stands in for a port the authority does not name. A host is letters,
 * digits, '.', '-' and '_', or an IPv6 address in brackets; a port is 1 to 65535. Writes at most
 * TEXT_ORIGIN_MAX bytes into `origin`; false (and "" there) when the authority is none of these.
 */
bool text_origin(char origin[TEXT_ORIGIN_MAX], bool https, const char *authority, size_t length,
		 const char *port_if_none);

#endif
