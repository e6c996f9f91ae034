/*
 * chart.h: calls over time as an inline SVG drawn on the server: stacked bars of granted and
 * refused calls per bucket (refused ones hatched), with axes, labels, a
 * <title>/<desc> for assistive technology and a <title> per bar. The legend is the page's, in
 * HTML beside the SVG (figcaption.chart-key in the templates), so that it stays legible when the
 * drawing shrinks to a phone's width. No script, no style attribute (the Content-Security-Policy
 * allows neither inline script nor inline style): presentation attributes only. Scales with its
 * container (viewBox, width 100%) and stays legible at 360 px.
 */
#ifndef KEYWARD_VIEW_CHART_H
#define KEYWARD_VIEW_CHART_H

#include <stddef.h>
#include <stdint.h>

struct buf;

#define CHART_BUCKETS_MAX 1000 /* more are not drawn */

struct chart_bucket {
	int64_t start; /* Unix seconds (UTC) of the bucket's start */
	int64_t granted;
	int64_t refused;
};

enum chart_step { CHART_HOURLY, CHART_DAILY };

/*
 * Append the chart of `count` buckets to `out`. `title` names it (escaped here); `id` (letters,
 * digits, '-') makes its element ids unique in the page.
 */
void chart_render(struct buf *out, const struct chart_bucket *buckets, size_t count, enum chart_step step,
		  const char *title, const char *id);

/* The y axis's top: the smallest 1, 2 or 5 × 10^n that is at least `value` (1 for 0). */
int64_t chart_nice_max(int64_t value);

/* `value` for an axis label: 950, 1.2k, 35k, 1.5M (written into text[24]). */
void chart_short_number(int64_t value, char text[24]);

#endif
