/* text.c: strict UTF-8 validation, code point counting, trimming, control checks and case folding. */
#include "core/text.h"

#include <limits.h>
#include <locale.h>
#include <pthread.h>
#include <stdint.h>
#include <string.h>
#include <time.h>
#include <wchar.h>
#include <wctype.h>

#include "core/alloc.h"

/*
 * The well-formed UTF-8 byte sequences (Unicode Standard, table 3-7): the lead byte fixes the
 * length and the range allowed for the second byte; every later byte is 0x80..0xBF. The narrowed
 * second-byte ranges are what exclude overlongs (E0, F0), surrogates (ED) and > U+10FFFF (F4).
 * 0x80..0xC1 and 0xF5..0xFF never lead.
 */
static const struct utf8_lead {
	unsigned char lead_low, lead_high;
	unsigned char length;
	unsigned char second_low, second_high;
} utf8_leads[] = {
	{ 0xC2, 0xDF, 2, 0x80, 0xBF },
	{ 0xE0, 0xE0, 3, 0xA0, 0xBF },
	{ 0xE1, 0xEC, 3, 0x80, 0xBF },
	{ 0xED, 0xED, 3, 0x80, 0x9F },
	{ 0xEE, 0xEF, 3, 0x80, 0xBF },
	{ 0xF0, 0xF0, 4, 0x90, 0xBF },
	{ 0xF1, 0xF3, 4, 0x80, 0xBF },
	{ 0xF4, 0xF4, 4, 0x80, 0x8F },
};

/*
 * Length (1 to 4) of the well-formed sequence at the start of `bytes`, looking at no more than
 * `available` bytes (at least 1); 0 when the sequence there is ill-formed or cut short.
 */
static size_t utf8_sequence_length(const unsigned char *bytes, size_t available)
{
	if (bytes[0] < 0x80)
		return 1;
	for (size_t i = 0; i < sizeof utf8_leads / sizeof utf8_leads[0]; i++) {
		const struct utf8_lead *lead = &utf8_leads[i];
		if (bytes[0] < lead->lead_low || bytes[0] > lead->lead_high)
			continue;
		if (available < lead->length)
			return 0;
		if (bytes[1] < lead->second_low || bytes[1] > lead->second_high)
			return 0;
		for (size_t k = 2; k < lead->length; k++)
			if (bytes[k] < 0x80 || bytes[k] > 0xBF)
				return 0;
		return lead->length;
	}
	return 0;
}

bool utf8_valid(const char *bytes, size_t length)
{
	const unsigned char *at = (const unsigned char *)bytes;
	size_t left = length;
	while (left > 0) {
		size_t step = utf8_sequence_length(at, left);
		if (step == 0)
			return false;
		at += step;
		left -= step;
	}
	return true;
}

/* Code points in `length` bytes; each byte that is not part of a well-formed sequence counts as one. */
size_t utf8_length(const char *text, size_t length)
{
	const unsigned char *at = (const unsigned char *)text;
	size_t left = length;
	size_t count = 0;
	while (left > 0) {
		size_t step = utf8_sequence_length(at, left);
		if (step == 0)
			step = 1;
		at += step;
		left -= step;
		count++;
	}
	return count;
}

static bool text_is_ascii_space(char c)
{
	return c == ' ' || c == '\t' || c == '\r' || c == '\n' || c == '\f' || c == '\v';
}

/* An arena copy of NUL-terminated `text` without ASCII white space at either end; "" when all space. */
char *text_trim(struct arena *arena, const char *text)
{
	const char *start = text;
	while (text_is_ascii_space(*start))
		start++;
	const char *end = start + strlen(start);
	while (end > start && text_is_ascii_space(end[-1]))
		end--;
	return arena_strndup(arena, start, (size_t)(end - start));
}

/*
 * True when NUL-terminated `text` holds U+0001..U+001F, U+007F or U+0080..U+009F (C1, encoded
 * C2 80..C2 9F) not listed in `allowed` (UTF-8 text too; NULL means none allowed). Bytes that are
 * not well-formed UTF-8 are not control characters: a lone 0x85 is not NEL.
 */
char *text_shorten(struct arena *arena, const char *text, size_t max)
{
	size_t bytes = 0, points = 0;
	while (text[bytes] != '\0' && points < max) {
		bytes++;
		while (((unsigned char)text[bytes] & 0xC0) == 0x80) /* the rest of this code point */
			bytes++;
		points++;
	}
	if (text[bytes] == '\0')
		return arena_strdup(arena, text);
	return arena_printf(arena, "%.*s…", (int)bytes, text);
}

bool text_has_control(const char *text, const char *allowed)
{
	const unsigned char *at = (const unsigned char *)text;
	size_t left = strlen(text);
	while (left > 0) {
		size_t step = utf8_sequence_length(at, left);
		bool control = false;
		if (step == 1)
			control = at[0] < 0x20 || at[0] == 0x7F;
		else if (step == 2)
			control = at[0] == 0xC2 && at[1] <= 0x9F;
		else if (step == 0)
			step = 1;
		if (control) {
			char sequence[3] = { (char)at[0], step == 2 ? (char)at[1] : '\0', '\0' };
			if (allowed == NULL || strstr(allowed, sequence) == NULL)
				return true;
		}
		at += step;
		left -= step;
	}
	return false;
}

static pthread_once_t text_fold_once = PTHREAD_ONCE_INIT;
static locale_t text_fold_locale; /* (locale_t)0 when C.UTF-8 is missing: fold ASCII only */

static void text_fold_open_locale(void)
{
	text_fold_locale = newlocale(LC_CTYPE_MASK, "C.UTF-8", (locale_t)0);
}

/*
 * Fold `length` bytes of `text` into `out` (NULL: only measure) and return the folded length.
 * With `wide` the calling thread's locale must be C.UTF-8; code points go through mbrtowc,
 * towlower and wcrtomb, and any that would not round-trip are copied as they are. Without
 * `wide` only A-Z are lowered. Bytes that are not well-formed UTF-8 are copied one by one.
 * Deterministic, so that a measuring pass and a writing pass agree.
 */
static size_t text_fold_into(char *out, const unsigned char *text, size_t length, bool wide)
{
	size_t written = 0;
	size_t at = 0;
	while (at < length) {
		size_t step = utf8_sequence_length(text + at, length - at);
		char folded[MB_LEN_MAX];
		size_t folded_length = 0;
		if (step == 0) {
			step = 1;
		} else if (step == 1) {
			char c = (char)text[at];
			folded[0] = c >= 'A' && c <= 'Z' ? (char)(c - 'A' + 'a') : c;
			folded_length = 1;
		} else if (wide) {
			mbstate_t state;
			wchar_t code_point;
			memset(&state, 0, sizeof state);
			if (mbrtowc(&code_point, (const char *)text + at, step, &state) == step) {
				wchar_t lowered = (wchar_t)towlower((wint_t)code_point);
				memset(&state, 0, sizeof state);
				size_t produced = wcrtomb(folded, lowered, &state);
				if (produced != (size_t)-1 && produced > 0 && produced <= sizeof folded)
					folded_length = produced;
			}
		}
		const char *source = folded_length > 0 ? folded : (const char *)text + at;
		size_t source_length = folded_length > 0 ? folded_length : step;
		if (out != NULL)
			memcpy(out + written, source, source_length);
		written += source_length;
		at += step;
	}
	return written;
}

/*
 * An arena copy of NUL-terminated `text` with each code point lowered under C.UTF-8 (or A-Z only
 * when that locale cannot be opened). The length may change ("İ" is 2 bytes, "i" 1). The calling
 * thread's locale is switched with uselocale() for the call and restored before returning; the
 * process locale is never touched.
 */
char *text_fold(struct arena *arena, const char *text)
{
	pthread_once(&text_fold_once, text_fold_open_locale);
	const unsigned char *bytes = (const unsigned char *)text;
	size_t length = strlen(text);
	bool wide = text_fold_locale != (locale_t)0;
	locale_t previous = (locale_t)0;
	if (wide) {
		previous = uselocale(text_fold_locale);
		wide = previous != (locale_t)0;
	}
	size_t folded_length = text_fold_into(NULL, bytes, length, wide);
	char *folded = arena_alloc(arena, folded_length + 1);
	text_fold_into(folded, bytes, length, wide);
	folded[folded_length] = '\0';
	if (wide)
		uselocale(previous);
	return folded;
}

bool text_to_integer(const char *text, int64_t min, int64_t max, int64_t *value)
{
	if (text == NULL)
		return false;
	bool negative = text[0] == '-' && min < 0;
	const char *digits = text + negative;
	if (digits[0] < '0' || digits[0] > '9' || (digits[0] == '0' && (digits[1] != '\0' || negative)))
		return false;
	uint64_t magnitude = 0;
	const uint64_t limit = negative ? (uint64_t)INT64_MAX + 1 : (uint64_t)INT64_MAX;
	for (const char *c = digits; *c != '\0'; c++) {
		if (*c < '0' || *c > '9')
			return false;
		unsigned digit = (unsigned)(*c - '0');
		if (magnitude > (limit - digit) / 10)
			return false; /* past what an int64_t holds */
		magnitude = magnitude * 10 + digit;
	}
	int64_t number = negative ? (magnitude == (uint64_t)INT64_MAX + 1 ? INT64_MIN : -(int64_t)magnitude)
				  : (int64_t)magnitude;
	if (number < min || number > max)
		return false;
	*value = number;
	return true;
}

/* The port in the `length` bytes at `text` (1 to 65535, digits only, at most 5), or 0 when it is not one. */
static long port_of(const char *text, size_t length)
{
	if (length == 0 || length > 5)
		return 0;
	long port = 0;
	for (size_t i = 0; i < length; i++) {
		if (text[i] < '0' || text[i] > '9')
			return 0;
		port = port * 10 + (text[i] - '0');
	}
	return port <= 65535 ? port : 0;
}

bool text_origin(char origin[TEXT_ORIGIN_MAX], bool https, const char *authority, size_t length,
		 const char *port_if_none)
{
	origin[0] = '\0';
	const char *scheme = https ? "https://" : "http://";
	size_t host_length;
	if (length > 0 && authority[0] == '[') {
		const char *close = memchr(authority, ']', length);
		if (close == NULL || close == authority + 1)
			return false;
		host_length = (size_t)(close - authority) + 1;
		for (size_t i = 1; i + 1 < host_length; i++)
			if (strchr("0123456789abcdefABCDEF:.", authority[i]) == NULL || authority[i] == '\0')
				return false;
	} else {
		host_length = 0;
		while (host_length < length && authority[host_length] != ':') {
			char c = authority[host_length];
			if (!((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '.' ||
			      c == '-' || c == '_'))
				return false;
			host_length++;
		}
		if (host_length == 0)
			return false;
	}
	long port;
	if (host_length == length) {
		port = port_if_none != NULL ? port_of(port_if_none, strlen(port_if_none)) : 0;
	} else {
		if (authority[host_length] != ':')
			return false;
		port = port_of(authority + host_length + 1, length - host_length - 1);
		if (port == 0)
			return false;
	}
	if (port == (https ? 443 : 80))
		port = 0;
	size_t used = strlen(scheme);
	if (used + host_length + 7 > TEXT_ORIGIN_MAX)
		return false;
	memcpy(origin, scheme, used);
	for (size_t i = 0; i < host_length; i++) {
		char c = authority[i];
		origin[used++] = c >= 'A' && c <= 'Z' ? (char)(c - 'A' + 'a') : c;
	}
	if (port != 0) {
		char digits[8];
		size_t at = sizeof digits;
		for (; port > 0; port /= 10)
			digits[--at] = (char)('0' + port % 10);
		origin[used++] = ':';
		memcpy(origin + used, digits + at, sizeof digits - at);
		used += sizeof digits - at;
	}
	origin[used] = '\0';
	return true;
}

void text_utc_time(char text[TEXT_TIME_MAX], int64_t unix_time)
{
	time_t seconds = (time_t)unix_time;
	struct tm parts;
	gmtime_r(&seconds, &parts);
	if (strftime(text, TEXT_TIME_MAX, "%Y-%m-%d %H:%M UTC", &parts) == 0)
		text[0] = '\0';
}

/* Exactly `count` digits at *cursor as a number in [min, max]; moves the cursor past them. */
static bool read_digits(const char **cursor, int count, int min, int max, int *value)
{
	int number = 0;
	for (int i = 0; i < count; i++) {
		char c = (*cursor)[i];
		if (c < '0' || c > '9')
			return false;
		number = number * 10 + (c - '0');
	}
	*cursor += count;
	*value = number;
	return number >= min && number <= max;
}

/* Days since 1970-01-01 of a proleptic Gregorian date (Howard Hinnant's days_from_civil). */
static int64_t days_from_civil(int64_t year, int month, int day)
{
	year -= month <= 2;
	int64_t era = year / 400;
	int64_t year_of_era = year - era * 400;
	int64_t day_of_year = (153 * (month + (month > 2 ? -3 : 9)) + 2) / 5 + day - 1;
	int64_t day_of_era = year_of_era * 365 + year_of_era / 4 - year_of_era / 100 + day_of_year;
	return era * 146097 + day_of_era - 719468;
}

bool text_parse_utc_time(const char *text, int64_t *unix_time)
{
	if (text == NULL)
		return false;
	static const int month_days[] = { 31, 29, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31 };
	const char *cursor = text;
	int year, month, day, hour = 0, minute = 0, second = 0;
	if (!read_digits(&cursor, 4, 1970, 9999, &year) || *cursor++ != '-' ||
	    !read_digits(&cursor, 2, 1, 12, &month) || *cursor++ != '-' ||
	    !read_digits(&cursor, 2, 1, month_days[month - 1], &day))
		return false;
	bool leap = (year % 4 == 0 && year % 100 != 0) || year % 400 == 0;
	if (month == 2 && day == 29 && !leap)
		return false;
	if (*cursor == 'T' || *cursor == ' ') {
		cursor++;
		if (!read_digits(&cursor, 2, 0, 23, &hour) || *cursor++ != ':' || !read_digits(&cursor, 2, 0, 59, &minute))
			return false;
		if (*cursor == ':' && (cursor++, !read_digits(&cursor, 2, 0, 59, &second)))
			return false;
	}
	if (strcmp(cursor, "Z") != 0 && strcmp(cursor, " UTC") != 0 && cursor[0] != '\0')
		return false;
	*unix_time = days_from_civil(year, month, day) * 86400 + hour * 3600 + minute * 60 + second;
	return true;
}

const char *text_span(struct arena *arena, int64_t seconds)
{
	if (seconds < 60)
		return "less than a minute";
	if (seconds < 3600)
		return arena_printf(arena, "%lld min", (long long)(seconds / 60));
	if (seconds < 86400)
		return arena_printf(arena, "%lld h", (long long)(seconds / 3600));
	int64_t days = seconds / 86400;
	return arena_printf(arena, "%lld day%s", (long long)days, days == 1 ? "" : "s");
}
