/*
 * test_chart.c: unit tests for the server-drawn SVG chart: nice axis maxima and short numbers,
 * bucket labels at known UTC times, escaping, well-formed markup (a small tag-balance checker),
 * no style attributes, one pair of bars per bucket, and hostile counts.
 */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include <stdbool.h>
#include <stdio.h>
#include <string.h>

#include "core/buf.h"
#include "view/chart.h"

#define HOUR 3600LL
#define DAY 86400LL
#define MIDNIGHT 1795392000LL /* Mon 23 Nov 2026 00:00 UTC: `date -u -d @1795392000` */

static void test_nice_maxima_and_short_numbers(void **state)
{
	(void)state;
	static const int64_t cases[][2] = { { 0, 1 }, { 1, 1 }, { 3, 3 }, { 7, 8 }, { 9, 10 }, { 11, 12 }, { 13, 15 },
					    { 55, 60 }, { 100, 100 }, { 101, 120 }, { 550, 600 }, { 999, 1000 },
					    { 1001, 1200 }, { 1234567, 1500000 }, { INT64_MAX, INT64_MAX } };
	for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++)
		if (chart_nice_max(cases[i][0]) != cases[i][1])
			fail_msg("nice max of %lld: %lld, expected %lld", (long long)cases[i][0],
				 (long long)chart_nice_max(cases[i][0]), (long long)cases[i][1]);
	char text[24];
	static const struct {
		int64_t value;
		const char *text;
	} numbers[] = { { 0, "0" }, { 950, "950" }, { 1000, "1k" }, { 1200, "1.2k" }, { 35000, "35k" },
			{ 1500000, "1.5M" }, { -5, "0" } };
	for (size_t i = 0; i < sizeof numbers / sizeof numbers[0]; i++) {
		chart_short_number(numbers[i].value, text);
		assert_string_equal(text, numbers[i].text);
	}
}

/* Every "<name ...>" is closed by "</name>" or self-closed, in order: a small well-formedness check. */
static void assert_balanced(const char *svg)
{
	char stack[64][32];
	int depth = 0;
	for (const char *c = strchr(svg, '<'); c != NULL; c = strchr(c + 1, '<')) {
		const char *end = strchr(c, '>');
		assert_non_null(end);
		if (c[1] == '/') {
			assert_true(depth > 0);
			depth--;
			size_t length = strlen(stack[depth]);
			if (strncmp(c + 2, stack[depth], length) != 0 || c[2 + length] != '>')
				fail_msg("</%.*s> closes <%s>", (int)(end - c - 2), c + 2, stack[depth]);
		} else if (end[-1] != '/') {
			size_t length = strcspn(c + 1, " >");
			assert_true(length < sizeof stack[0] && depth < 64);
			memcpy(stack[depth], c + 1, length);
			stack[depth++][length] = '\0';
		}
		/* Text between tags holds no raw '<' or '&' that is not an entity. */
		const char *next = strchr(end, '<');
		for (const char *t = end + 1; next != NULL && t < next; t++)
			if (*t == '&')
				assert_true(strncmp(t, "&amp;", 5) == 0 || strncmp(t, "&lt;", 4) == 0 || strncmp(t, "&gt;", 4) == 0 ||
					    strncmp(t, "&quot;", 6) == 0 || strncmp(t, "&#39;", 5) == 0);
	}
	assert_int_equal(depth, 0);
}

static size_t occurrences(const char *text, const char *needle)
{
	size_t count = 0;
	for (const char *at = strstr(text, needle); at != NULL; at = strstr(at + 1, needle))
		count++;
	return count;
}

/* Whether the <text> element that ends with `ending` (">04:00</text>") is one phones hide. */
static bool label_is_minor(const char *svg, const char *ending)
{
	const char *end = strstr(svg, ending);
	assert_non_null(end);
	const char *start = end;
	while (start > svg && *start != '<')
		start--;
	static const char minor[] = "<text class=\"chart-minor\"";
	return strncmp(start, minor, sizeof minor - 1) == 0;
}

static void test_hourly_chart(void **state)
{
	(void)state;
	struct chart_bucket buckets[24];
	for (int i = 0; i < 24; i++)
		buckets[i] = (struct chart_bucket){ MIDNIGHT + i * HOUR, i * 10, i == 6 ? 7 : 0 };
	struct buf out = BUF_INIT;
	chart_render(&out, buckets, 24, CHART_HOURLY, "Calls <of> \"A\" & 'B'", "usage-chart");
	assert_balanced(out.data);
	assert_non_null(strstr(out.data, "<svg xmlns=\"http://www.w3.org/2000/svg\""));
	assert_non_null(strstr(out.data, "role=\"img\""));
	assert_non_null(strstr(out.data, "<title id=\"usage-chart-title\">Calls &lt;of&gt; &quot;A&quot; &amp; &#39;B&#39;</title>"));
	assert_null(strstr(out.data, "style="));
	assert_null(strstr(out.data, "<script"));
	/* One title and two rects (granted, refused) per bucket. */
	assert_int_equal(occurrences(out.data, "<g><title>"), 24);
	assert_non_null(strstr(out.data, "<g><title>Mon 23 Nov 06:00 UTC: 60 granted, 7 refused</title>"));
	assert_non_null(strstr(out.data, ">00:00</text>"));
	assert_non_null(strstr(out.data, ">04:00</text>"));
	assert_null(strstr(out.data, ">01:00</text>")); /* few labels: every 4th hour */
	/* Phones (keyward.css) hide every other x label and the y axis's 0, which sat on the first. */
	assert_false(label_is_minor(out.data, ">00:00</text>"));
	assert_true(label_is_minor(out.data, ">04:00</text>"));
	assert_false(label_is_minor(out.data, ">08:00</text>"));
	assert_true(label_is_minor(out.data, "\">0</text>"));
	assert_false(label_is_minor(out.data, "\">250</text>"));
	assert_int_equal(occurrences(out.data, "class=\"chart-minor\""), 1 + 3); /* 0, and 04:00 12:00 20:00 */
	assert_non_null(strstr(out.data, "2767 calls: 2760 granted, 7 refused. Busiest: Mon 23 Nov 23:00 UTC, 230 calls."));
	assert_non_null(strstr(out.data, ">250</text>")); /* axis top: 230 -> 250 */
	buf_free(&out);
}

static void test_daily_and_weekly_labels(void **state)
{
	(void)state;
	struct chart_bucket days[30];
	for (int i = 0; i < 30; i++)
		days[i] = (struct chart_bucket){ MIDNIGHT - (29 - i) * DAY, 5, 0 };
	struct buf out = BUF_INIT;
	chart_render(&out, days, 30, CHART_DAILY, "Daily", "d");
	assert_balanced(out.data);
	assert_non_null(strstr(out.data, ">Oct 25</text>")); /* the first of the 30 */
	assert_non_null(strstr(out.data, "Mon 23 Nov (UTC): 5 granted, 0 refused"));
	assert_true(occurrences(out.data, "</text>") <= 6 + 8); /* y labels, at most 8 x labels */
	buf_clear(&out);
	struct chart_bucket hours[168];
	for (int i = 0; i < 168; i++)
		hours[i] = (struct chart_bucket){ MIDNIGHT - (167 - i) * HOUR, 1, 1 };
	chart_render(&out, hours, 168, CHART_HOURLY, "Week", "w");
	assert_balanced(out.data);
	/* A label in the middle of each whole day; none for the one hour of Monday the chart holds. */
	assert_non_null(strstr(out.data, ">Sun 22</text>"));
	assert_non_null(strstr(out.data, ">Tue 17</text>"));
	assert_null(strstr(out.data, ">Mon 23</text>"));
	assert_null(strstr(out.data, ">06:00</text>"));
	assert_int_equal(occurrences(out.data, "y2=\"272\" stroke=\"#e3e7ee\""), 7); /* a line at each midnight */
	buf_free(&out);
}

/* One refused call beside a hundred thousand granted ones still shows. */
static void test_small_counts_stay_visible(void **state)
{
	(void)state;
	struct chart_bucket buckets[2] = { { MIDNIGHT, 100000, 0 }, { MIDNIGHT + HOUR, 0, 1 } };
	struct buf out = BUF_INIT;
	chart_render(&out, buckets, 2, CHART_HOURLY, "Small", "s");
	const char *bar = strstr(out.data, "<title>Mon 23 Nov 01:00 UTC: 0 granted, 1 refused</title>");
	assert_non_null(bar);
	const char *refused = strstr(strstr(bar, "<rect") + 1, "<rect");
	double height = 0;
	assert_non_null(refused);
	assert_int_equal(sscanf(strstr(refused, "height=\"") + 8, "%lf", &height), 1);
	assert_true(height >= 2.0);
	/* Gridlines at round steps: 50k in fifths (10k), not quarters (12.5k, shown as "12k"). */
	buf_clear(&out);
	buckets[0].granted = 48000;
	chart_render(&out, buckets, 2, CHART_HOURLY, "Round", "r");
	assert_non_null(strstr(out.data, ">10k</text>"));
	assert_non_null(strstr(out.data, ">50k</text>"));
	assert_null(strstr(out.data, ">12k</text>"));
	buf_free(&out);
}

static void test_empty_and_hostile_input(void **state)
{
	(void)state;
	struct buf out = BUF_INIT;
	chart_render(&out, NULL, 0, CHART_HOURLY, NULL, NULL);
	assert_balanced(out.data);
	assert_non_null(strstr(out.data, "No calls in this period."));
	buf_clear(&out);
	struct chart_bucket zero[3] = { { MIDNIGHT, 0, 0 }, { MIDNIGHT + HOUR, 0, 0 }, { MIDNIGHT + 2 * HOUR, 0, 0 } };
	chart_render(&out, zero, 3, CHART_HOURLY, "Zero", "z\"><script>");
	assert_balanced(out.data);
	assert_null(strstr(out.data, "<script>"));
	assert_non_null(strstr(out.data, ">1</text>")); /* a 0..1 axis, no division by zero */
	buf_clear(&out);
	struct chart_bucket huge[2] = { { MIDNIGHT, INT64_MAX, INT64_MAX }, { MIDNIGHT + HOUR, -5, -7 } };
	chart_render(&out, huge, 2, CHART_HOURLY, "Huge", "h");
	assert_balanced(out.data);
	assert_null(strstr(out.data, "nan"));
	assert_null(strstr(out.data, "=\"-")); /* no negative coordinate or size */
	assert_null(strstr(out.data, ">-"));    /* no negative label */
	buf_free(&out);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_nice_maxima_and_short_numbers),
		cmocka_unit_test(test_hourly_chart),
		cmocka_unit_test(test_daily_and_weekly_labels),
		cmocka_unit_test(test_small_counts_stay_visible),
		cmocka_unit_test(test_empty_and_hostile_input),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
