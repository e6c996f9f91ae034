/* chart.c: the calls-over-time chart as inline SVG (see chart.h). */
#include "view/chart.h"

#include <stdbool.h>
#include <stdio.h>
#include <string.h>
#include <time.h>

#include "core/buf.h"

/* The drawing, in viewBox units: wide and short, so that it scales down to a phone's width. */
#define WIDTH 800
#define HEIGHT 300
#define LEFT 66   /* room for the y labels */
#define RIGHT 12
#define TOP 16    /* room for the top label (the legend is the page's, in HTML) */
#define BOTTOM 34 /* room for the x labels */
#define FONT 15   /* at desktop widths; keyward.css enlarges the labels on phones (classes below) */
/*
 * Labels that keyward.css hides on phones, where the labels are twice as large: every other x
 * label, and the y axis's 0 (the baseline says it), which would sit on the first x label.
 */
#define MINOR " class=\"chart-minor\""
#define X_LABELS_MAX 8
#define MIN_BAR 2.0 /* a bucket with calls stays visible beside a tall one */

/* WCAG AA on white: granted #1d5fc4 (5.9:1), refused #b3261e (6.5:1), text #4a5565 (7.4:1). */
#define GRANTED_COLOUR "#1d5fc4"
#define REFUSED_COLOUR "#b3261e"
#define TEXT_COLOUR "#4a5565"
#define GRID_COLOUR "#e3e7ee"

static int64_t add_saturating(int64_t a, int64_t b)
{
	if (a < 0)
		a = 0;
	if (b < 0)
		b = 0;
	return a > INT64_MAX - b ? INT64_MAX : a + b;
}

int64_t chart_nice_max(int64_t value)
{
	if (value <= 1)
		return 1;
	if (value <= 10)
		return value <= 4 ? value : value <= 5 ? 5 : value <= 6 ? 6 : value <= 8 ? 8 : 10;
	/* Tenths of a power of ten: 1, 1.2, 1.5, 2, 2.5, 3, 4, 5, 6, 8 (times 10^n). */
	static const int64_t tenths[] = { 10, 12, 15, 20, 25, 30, 40, 50, 60, 80, 100 };
	int64_t power = 1; /* value <= 10 * power */
	while (power <= INT64_MAX / 100 && power * 10 < value)
		power *= 10;
	for (size_t i = 0; i < sizeof tenths / sizeof tenths[0]; i++) {
		if (power / 10 > INT64_MAX / tenths[i])
			return INT64_MAX;
		int64_t candidate = power >= 10 ? tenths[i] * (power / 10) : (tenths[i] * power + 9) / 10;
		if (candidate >= value)
			return candidate;
	}
	return INT64_MAX;
}

/* Whether `step` is 1, 2, 2.5 or 5 times a power of ten: a gridline step people read at a glance. */
static bool round_step(int64_t step)
{
	while (step >= 100 && step % 10 == 0)
		step /= 10;
	return step == 1 || step == 2 || step == 5 || step == 10 || step == 20 || step == 25 || step == 50;
}

/*
 * How many gridlines divide `axis` into round whole steps: 4 or 5 (3 or 2 when nothing else does;
 * `axis` itself when small), so that 50k is marked every 10k, not every 12.5k.
 */
static int gridlines_for(int64_t axis)
{
	if (axis <= 4)
		return (int)axis;
	static const int counts[] = { 4, 5, 3, 2 };
	for (size_t i = 0; i < sizeof counts / sizeof counts[0]; i++)
		if (axis % counts[i] == 0 && round_step(axis / counts[i]))
			return counts[i];
	for (size_t i = 0; i < sizeof counts / sizeof counts[0]; i++)
		if (axis % counts[i] == 0)
			return counts[i];
	return 4;
}

void chart_short_number(int64_t value, char text[24])
{
	static const struct {
		int64_t unit;
		const char *suffix;
	} units[] = { { 1000000000000LL, "T" }, { 1000000000LL, "G" }, { 1000000LL, "M" }, { 1000LL, "k" } };
	if (value < 0)
		value = 0;
	for (size_t i = 0; i < sizeof units / sizeof units[0]; i++)
		if (value >= units[i].unit) {
			int64_t whole = value / units[i].unit;
			int64_t tenth = (value % units[i].unit) * 10 / units[i].unit;
			if (whole >= 10 || tenth == 0)
				snprintf(text, 24, "%lld%s", (long long)whole, units[i].suffix);
			else
				snprintf(text, 24, "%lld.%lld%s", (long long)whole, (long long)tenth, units[i].suffix);
			return;
		}
	snprintf(text, 24, "%lld", (long long)value);
}

/* XML text or attribute value. */
static void put_escaped(struct buf *out, const char *text)
{
	for (const char *c = text ? text : ""; *c != '\0'; c++) {
		switch (*c) {
		case '&': buf_puts(out, "&amp;"); break;
		case '<': buf_puts(out, "&lt;"); break;
		case '>': buf_puts(out, "&gt;"); break;
		case '"': buf_puts(out, "&quot;"); break;
		case '\'': buf_puts(out, "&#39;"); break;
		default:
			if ((unsigned char)*c >= 0x20 || *c == '\t' || *c == '\n')
				buf_append(out, c, 1); /* other control characters are not allowed in XML */
		}
	}
}

/* Only the characters of an id ("usage-chart"). */
static void put_id(struct buf *out, const char *id)
{
	for (const char *c = id ? id : "chart"; *c != '\0'; c++)
		if ((*c >= 'a' && *c <= 'z') || (*c >= 'A' && *c <= 'Z') || (*c >= '0' && *c <= '9') || *c == '-')
			buf_append(out, c, 1);
}

enum label_kind {
	LABEL_HOUR, /* "06:00" */
	LABEL_DAY,  /* "Mon 23" (hourly charts over days), "Nov 23" (daily charts) */
	LABEL_FULL, /* "Mon 23 Nov 06:00 UTC", "Mon 23 Nov (UTC)": bar titles and the description */
};

static void bucket_label(int64_t start, enum chart_step step, enum label_kind kind, char text[40])
{
	time_t seconds = (time_t)start;
	struct tm parts;
	gmtime_r(&seconds, &parts);
	static const char *const days[] = { "Sun", "Mon", "Tue", "Wed", "Thu", "Fri", "Sat" };
	static const char *const months[] = { "Jan", "Feb", "Mar", "Apr", "May", "Jun",
					      "Jul", "Aug", "Sep", "Oct", "Nov", "Dec" };
	const char *day = days[parts.tm_wday], *month = months[parts.tm_mon];
	switch (kind) {
	case LABEL_HOUR:
		snprintf(text, 40, "%02d:00", parts.tm_hour);
		break;
	case LABEL_DAY:
		snprintf(text, 40, "%s %d", step == CHART_DAILY ? month : day, parts.tm_mday);
		break;
	case LABEL_FULL:
		if (step == CHART_HOURLY)
			snprintf(text, 40, "%s %d %s %02d:00 UTC", day, parts.tm_mday, month, parts.tm_hour);
		else
			snprintf(text, 40, "%s %d %s (UTC)", day, parts.tm_mday, month);
		break;
	}
}

void chart_render(struct buf *out, const struct chart_bucket *buckets, size_t count, enum chart_step step,
		  const char *title, const char *id)
{
	if (count > CHART_BUCKETS_MAX)
		count = CHART_BUCKETS_MAX;
	int64_t total_granted = 0, total_refused = 0, top = 0;
	size_t busiest = 0;
	for (size_t i = 0; i < count; i++) {
		int64_t calls = add_saturating(buckets[i].granted, buckets[i].refused);
		total_granted = add_saturating(total_granted, buckets[i].granted);
		total_refused = add_saturating(total_refused, buckets[i].refused);
		if (calls > top) {
			top = calls;
			busiest = i;
		}
	}
	int64_t axis = chart_nice_max(top);
	/* Four gridlines at even steps of a nice maximum; small maxima get whole-number steps. */
	int gridlines = gridlines_for(axis);
	double plot_width = WIDTH - LEFT - RIGHT, plot_height = HEIGHT - TOP - BOTTOM;

	buf_puts(out, "<svg xmlns=\"http://www.w3.org/2000/svg\" viewBox=\"0 0 " );
	buf_printf(out, "%d %d\" width=\"100%%\" role=\"img\" aria-labelledby=\"", WIDTH, HEIGHT);
	put_id(out, id);
	buf_puts(out, "-title ");
	put_id(out, id);
	buf_puts(out, "-desc\" font-family=\"system-ui, -apple-system, 'Segoe UI', sans-serif\">\n<title id=\"");
	put_id(out, id);
	buf_puts(out, "-title\">");
	put_escaped(out, title);
	buf_puts(out, "</title>\n<desc id=\"");
	put_id(out, id);
	buf_puts(out, "-desc\">");
	char number[24], label[40];
	if (top == 0) {
		buf_puts(out, "No calls in this period.");
	} else {
		int64_t total = add_saturating(total_granted, total_refused);
		buf_printf(out, "%lld calls: %lld granted, %lld refused. Busiest: ", (long long)total,
			   (long long)total_granted, (long long)total_refused);
		bucket_label(buckets[busiest].start, step, LABEL_FULL, label);
		buf_printf(out, "%s, %lld calls.", label, (long long)top);
	}
	buf_puts(out, "</desc>\n");

	/* A hatch, so that refused bars differ from granted ones without colour. */
	buf_puts(out, "<defs><pattern id=\"");
	put_id(out, id);
	buf_printf(out, "-hatch\" width=\"6\" height=\"6\" patternUnits=\"userSpaceOnUse\" patternTransform=\"rotate(45)\">"
			"<rect width=\"6\" height=\"6\" fill=\"%s\"/><line x1=\"0\" y1=\"0\" x2=\"0\" y2=\"6\" "
			"stroke=\"#ffffff\" stroke-width=\"2\" stroke-opacity=\"0.55\"/></pattern></defs>\n",
		   REFUSED_COLOUR);

	/* Gridlines and y labels. */
	buf_printf(out, "<g class=\"chart-axis\" font-size=\"%d\" fill=\"%s\" text-anchor=\"end\">", FONT, TEXT_COLOUR);
	for (int line = 0; line <= gridlines; line++) {
		double y = TOP + plot_height - plot_height * line / gridlines;
		int64_t value = (int64_t)((double)axis * line / gridlines + 0.5);
		chart_short_number(value, number);
		buf_printf(out, "<line x1=\"%d\" y1=\"%.1f\" x2=\"%d\" y2=\"%.1f\" stroke=\"%s\" stroke-width=\"1\"/>", LEFT,
			   y, WIDTH - RIGHT, y, line == 0 ? "#8a95a5" : GRID_COLOUR);
		buf_printf(out, "<text%s x=\"%d\" y=\"%.1f\">%s</text>", line == 0 ? MINOR : "", LEFT - 8, y + 5, number);
	}
	buf_puts(out, "</g>\n");

	/* Bars: granted at the bottom, refused stacked on top; each with its own title. */
	double slot = count > 0 ? plot_width / (double)count : plot_width;
	if (step == CHART_HOURLY && count > 24) { /* hours over days: a faint line at each midnight */
		buf_puts(out, "<g>");
		for (size_t i = 1; i < count; i++)
			if (buckets[i].start % 86400 == 0)
				buf_printf(out, "<line x1=\"%.1f\" y1=\"%d\" x2=\"%.1f\" y2=\"%d\" stroke=\"%s\" stroke-width=\"1\"/>",
					   LEFT + slot * (double)i, TOP, LEFT + slot * (double)i, HEIGHT - BOTTOM + 6,
					   GRID_COLOUR);
		buf_puts(out, "</g>\n");
	}
	double gap = slot > 6 ? slot * 0.2 : 0.5;
	buf_puts(out, "<g>");
	for (size_t i = 0; i < count; i++) {
		double x = LEFT + slot * (double)i + gap / 2, width = slot - gap;
		double granted = (double)(buckets[i].granted > 0 ? buckets[i].granted : 0);
		double refused = (double)(buckets[i].refused > 0 ? buckets[i].refused : 0);
		double granted_height = plot_height * granted / (double)axis;
		double refused_height = plot_height * refused / (double)axis;
		if (granted > 0 && granted_height < MIN_BAR)
			granted_height = MIN_BAR;
		if (refused > 0 && refused_height < MIN_BAR)
			refused_height = MIN_BAR;
		if (granted_height > plot_height) /* only when the sum saturated: keep the bar inside the plot */
			granted_height = plot_height;
		if (refused_height > plot_height - granted_height)
			refused_height = plot_height - granted_height;
		double base = TOP + plot_height;
		bucket_label(buckets[i].start, step, LABEL_FULL, label);
		buf_printf(out, "<g><title>%s: %lld granted, %lld refused</title>", label, (long long)buckets[i].granted,
			   (long long)buckets[i].refused);
		buf_printf(out, "<rect x=\"%.1f\" y=\"%.1f\" width=\"%.1f\" height=\"%.1f\" fill=\"%s\"/>", x,
			   base - granted_height, width, granted_height, GRANTED_COLOUR);
		buf_printf(out, "<rect x=\"%.1f\" y=\"%.1f\" width=\"%.1f\" height=\"%.1f\" fill=\"url(#", x,
			   base - granted_height - refused_height, width, refused_height);
		put_id(out, id);
		buf_puts(out, "-hatch)\"/></g>");
	}
	buf_puts(out, "</g>\n");

	/*
	 * X labels, a few: hourly over one day, every 4th hour; hourly over days, the middle of each
	 * day (every other day past 8 days); daily, about every 5th day.
	 */
	bool by_day = step == CHART_DAILY || count > 24;
	size_t every = step == CHART_DAILY ? (count + X_LABELS_MAX - 1) / X_LABELS_MAX : count > 24 ? 24 : 4;
	if (step == CHART_HOURLY && count > 24 * X_LABELS_MAX)
		every = 48;
	buf_printf(out, "<g class=\"chart-axis\" font-size=\"%d\" fill=\"%s\" text-anchor=\"middle\">", FONT,
		   TEXT_COLOUR);
	size_t phase = 0; /* the first labelled bucket: a whole day (or a whole 4 hours) */
	int64_t unit = step == CHART_HOURLY && !by_day ? 4 * 3600 : 86400;
	while (phase < count && buckets[phase].start % unit != 0 && step == CHART_HOURLY)
		phase++;
	size_t drawn = 0;
	for (size_t i = phase; i < count; i += every ? every : 1) {
		bucket_label(buckets[i].start, step, by_day ? LABEL_DAY : LABEL_HOUR, label);
		double offset = 0.5;
		if (by_day && step == CHART_HOURLY) { /* the middle of the day, or of what the chart has of it */
			double left = (double)(count - i);
			if (left < 4)
				break; /* too little of today to carry a label */
			offset = left < 24 ? left / 2 : 12;
		}
		double x = LEFT + slot * ((double)i + offset);
		if (x < LEFT + 24)
			x = LEFT + 24;
		if (x > WIDTH - RIGHT - 24)
			x = WIDTH - RIGHT - 24;
		buf_printf(out, "<text%s x=\"%.1f\" y=\"%d\">%s</text>", drawn++ % 2 == 1 ? MINOR : "", x, HEIGHT - 10, label);
	}
	buf_puts(out, "</g>\n</svg>");
}
