/*
 * usage.c: insight pages: a key's Usage tab (calls, outcomes, endpoints, client addresses, a
 * chart, warnings) and the workspace dashboard (the workspace's calls, busiest keys, keys to
 * revoke or rotate, warnings). Both read the hourly rollups (domain/insight.h).
 */
#include <stdio.h>
#include <string.h>
#include <time.h>

#include "core/alloc.h"
#include "core/buf.h"
#include "core/config.h"
#include "domain/insight.h"
#include "domain/keys.h"
#include "domain/usage.h"
#include "http/url.h"
#include "pages/pages_private.h"
#include "view/chart.h"
#include "view/view.h"

#define USAGE_TOP 20     /* endpoints and addresses listed */
#define DASHBOARD_TOP 10 /* keys per dashboard list */
#define WARNINGS_MAX 8     /* warning lines shown: one per key and kind */
#define LATEST_MAX 50    /* latest calls listed in a narrowed view */
#define STRANGERS_TOP 5  /* addresses listed under "Requests without a valid key" */

/* Thousands separated by a thin space: 1 234 567. */
static const char *count_text(struct arena *arena, int64_t value)
{
	char digits[32];
	int length = snprintf(digits, sizeof digits, "%lld", (long long)(value < 0 ? 0 : value));
	char out[48];
	size_t used = 0;
	for (int i = 0; i < length; i++) {
		if (i > 0 && (length - i) % 3 == 0)
			used += (size_t)snprintf(out + used, sizeof out - used, "\u2009");
		out[used++] = digits[i];
	}
	out[used] = '\0';
	return arena_strdup(arena, out);
}

enum time_style { MINUTES, SECONDS, MACHINE };

/* A UTC time: "2026-11-23 06:00 UTC", "2026-11-23 06:00:09 UTC", or "2026-11-23T06:00:09Z". */
static const char *time_text(struct arena *arena, int64_t unix_time, enum time_style style)
{
	time_t seconds = (time_t)unix_time;
	struct tm parts;
	char text[48];
	gmtime_r(&seconds, &parts);
	if (style == MINUTES)
		strftime(text, sizeof text, "%Y-%m-%d %H:%M UTC", &parts);
	else if (style == SECONDS)
		strftime(text, sizeof text, "%Y-%m-%d %H:%M:%S UTC", &parts);
	else
		strftime(text, sizeof text, "%Y-%m-%dT%H:%M:%SZ", &parts);
	return arena_strdup(arena, text);
}

/* The period switch: {periods: [{name, label, url, current}]}, links to `path`?period=…&extra. */
static void set_periods(struct app *app, struct http_request *request, struct mustache_value *data, const char *path,
			const struct insight_window *window)
{
	struct arena *arena = request->arena;
	struct mustache_value *list = view_set(data, "periods", view_list(arena));
	for (int i = 0; i < INSIGHT_PERIOD_COUNT; i++) {
		struct insight_window other;
		insight_window((enum insight_period)i, 0, &other);
		struct mustache_value *item = view_push_map(arena, list);
		view_set_string(arena, item, "name", other.name);
		view_set_string(arena, item, "label", other.label);
		view_set_string(arena, item, "url", page_ws_url(app, request, arena_printf(arena, "%s?period=%s", path,
											    other.name)));
		view_set_bool(arena, item, "current", other.period == window->period);
	}
	view_set_string(arena, data, "period_label", window->label);
	view_set_string(arena, data, "period", window->name);
}

/*
 * The chart of a window from the store's buckets: {chart (SVG), chart_rows (the same as a table),
 * total, granted, refused}.
 */
static void set_chart(struct http_request *request, struct mustache_value *data, const struct insight_window *window,
		      const struct store_usage_bucket *sparse, size_t count, const char *title, const char *id)
{
	struct arena *arena = request->arena;
	struct insight_bucket filled[INSIGHT_BUCKETS_MAX];
	struct chart_bucket bars[INSIGHT_BUCKETS_MAX];
	insight_fill(window, sparse, count, filled);
	int64_t granted = 0, refused = 0;
	struct mustache_value *rows = view_set(data, "chart_rows", view_list(arena));
	for (size_t i = 0; i < window->buckets; i++) {
		bars[i] = (struct chart_bucket){ filled[i].start, filled[i].granted, filled[i].refused };
		granted += filled[i].granted;
		refused += filled[i].refused;
		if (filled[i].granted == 0 && filled[i].refused == 0)
			continue; /* the table lists the buckets with calls; the chart shows them all */
		struct mustache_value *row = view_push_map(arena, rows);
		view_set_time(arena, row, "start", filled[i].start, "");
		view_set_string(arena, row, "granted", count_text(arena, filled[i].granted));
		view_set_string(arena, row, "refused", count_text(arena, filled[i].refused));
	}
	struct buf svg = BUF_INIT;
	chart_render(&svg, bars, window->buckets, window->step == 86400 ? CHART_DAILY : CHART_HOURLY, title, id);
	view_set_string(arena, data, "chart", arena_strndup(arena, svg.data, svg.length));
	buf_free(&svg);
	view_set_string(arena, data, "total", count_text(arena, granted + refused));
	view_set_string(arena, data, "granted", count_text(arena, granted));
	view_set_string(arena, data, "refused", count_text(arena, refused));
	view_set_bool(arena, data, "has_calls", granted + refused > 0);
	view_set_string(arena, data, "chart_unit", window->step == 86400 ? "calls per day" : "calls per hour");
}

void page_set_warnings(struct app *app, struct http_request *request, struct mustache_value *data,
		       int64_t api_key_row_id, int64_t now)
{
	struct arena *arena = request->arena;
	struct store_key_brief *spikes = NULL, *addresses = NULL;
	size_t spike_count = 0, address_count = 0;
	int64_t spike_keys = 0, address_keys = 0;
	int64_t day = now - now % 3600 - 23 * 3600;
	if (store_usage_spikes(app->store, arena, request->visit->workspace_id, api_key_row_id, day, app->config->refused_alert,
			       WARNINGS_MAX, &spikes, &spike_count, &spike_keys) != STORE_OK ||
	    store_usage_new_addresses(app->store, arena, request->visit->workspace_id, api_key_row_id, day, WARNINGS_MAX,
				      &addresses, &address_count, &address_keys) != STORE_OK)
		return; /* warnings are extra: the page goes on without them */
	struct mustache_value *list = view_set(data, "warnings", view_list(arena));
	size_t shown = 0;
	/* One line per key and kind, the latest first: WARNINGS_MAX of them in all. */
	for (size_t i = 0; i < spike_count && shown < WARNINGS_MAX; i++, shown++) {
		struct mustache_value *item = view_push_map(arena, list);
		view_set_string(arena, item, "key", spikes[i].name);
		view_set_bool(arena, item, "with_key", api_key_row_id == 0);
		const char *when = time_text(arena, spikes[i].at, MINUTES);
		view_set_string(arena, item, "text",
				spikes[i].hours == 1
					? arena_printf(arena, "%s refused calls in the hour from %s (more than %lld)",
						       count_text(arena, spikes[i].calls), when, app->config->refused_alert)
					: arena_printf(arena, "%s refused calls in %lld hours of more than %lld each, the "
							      "latest from %s",
						       count_text(arena, spikes[i].refused), (long long)spikes[i].hours,
						       app->config->refused_alert, when));
		view_set_string(arena, item, "url",
				page_ws_url(app, request, arena_printf(arena, "/keys/%s/usage?period=24h&refused=1",
								       spikes[i].key_id)));
	}
	for (size_t i = 0; i < address_count && shown < WARNINGS_MAX; i++, shown++) {
		struct mustache_value *item = view_push_map(arena, list);
		view_set_string(arena, item, "key", addresses[i].name);
		view_set_bool(arena, item, "with_key", api_key_row_id == 0);
		int64_t found = addresses[i].calls;
		const char *when = time_text(arena, addresses[i].at, MINUTES);
		if (found == 1) {
			view_set_string(arena, item, "text",
					arena_printf(arena, "used from %s, an address not seen in the %d days before, first at %s",
						     addresses[i].address, INSIGHT_NEW_ADDRESS_DAYS, when));
			view_set_string(arena, item, "url",
					page_ws_url(app, request, arena_printf(arena, "/keys/%s/usage?period=24h&address=%s",
									       addresses[i].key_id,
									       url_query_escape(arena, addresses[i].address))));
		} else {
			view_set_string(arena, item, "text",
					arena_printf(arena, "used from %lld addresses not seen in the %d days before (%s%s), the "
							    "latest first at %s",
						     (long long)found, INSIGHT_NEW_ADDRESS_DAYS, addresses[i].address,
						     found > 3 ? ", …" : "", when));
			view_set_string(arena, item, "url",
					page_ws_url(app, request, arena_printf(arena, "/keys/%s/usage?period=24h#addresses",
									       addresses[i].key_id)));
		}
	}
	size_t all = (size_t)spike_keys + (size_t)address_keys;
	if (all > shown)
		view_set_string(arena, data, "warnings_more",
				arena_printf(arena, "and %zu more like these in the last 24 hours", all - shown));
	view_set_bool(arena, data, "has_warnings", all > 0);
}

/* A query value that fits: "" when absent, undecodable or longer than `max`. */
static const char *query_value(struct http_request *request, const char *name, size_t max)
{
	const struct form_pair *pair = form_find(&request->query, name);
	if (pair == NULL || pair->status != FORM_VALUE_OK || strlen(pair->value) > max)
		return "";
	return pair->value;
}

static struct mustache_value *item_list(struct arena *arena, const struct store_usage_item *items, size_t count,
					bool addresses)
{
	struct mustache_value *list = view_list(arena);
	for (size_t i = 0; i < count; i++) {
		struct mustache_value *row = view_push_map(arena, list);
		view_set_string(arena, row, "name", items[i].name);
		view_set_string(arena, row, "calls", count_text(arena, items[i].calls));
		view_set_string(arena, row, "refused", count_text(arena, items[i].refused));
		if (addresses)
			view_set_time(arena, row, "first_seen", items[i].first_seen, "");
		view_set_time(arena, row, "last_seen", items[i].last_seen, "");
	}
	return list;
}

/* The latest calls of a narrowed view: {latest: [{at, endpoint, address, outcome, label, calls, refused}]}. */
static enum store_status set_latest(struct app *app, struct http_request *request, struct mustache_value *data,
				    int64_t api_key_row_id, const struct store_usage_slice *slice, int64_t since)
{
	struct arena *arena = request->arena;
	struct store_usage_call *calls = NULL;
	size_t count = 0;
	enum store_status status = store_usage_latest(app->store, arena, request->visit->workspace_id, api_key_row_id, slice, since,
						      LATEST_MAX, &calls, &count);
	if (status != STORE_OK)
		return status;
	struct mustache_value *list = view_set(data, "latest", view_list(arena));
	for (size_t i = 0; i < count; i++) {
		struct mustache_value *row = view_push_map(arena, list);
		view_set_string(arena, row, "at", time_text(arena, calls[i].at, SECONDS));
		view_set_string(arena, row, "datetime", time_text(arena, calls[i].at, MACHINE));
		view_set_string(arena, row, "endpoint", calls[i].endpoint);
		view_set_string(arena, row, "address", calls[i].address);
		view_set_string(arena, row, "outcome", calls[i].outcome);
		view_set_string(arena, row, "label", insight_outcome_label(calls[i].outcome));
		view_set_bool(arena, row, "refused", strcmp(calls[i].outcome, "granted") != 0);
		view_set_string(arena, row, "calls", count_text(arena, calls[i].calls));
	}
	view_set_bool(arena, data, "has_latest", count > 0);
	view_set_int(arena, data, "latest_max", LATEST_MAX);
	return STORE_OK;
}

void page_keys_usage(struct app *app, struct http_request *request, struct http_response *response)
{
	struct arena *arena = request->arena;
	struct store_key key;
	if (!page_load_key(app, request, response, &key))
		return;
	enum insight_period period;
	insight_period_parse(form_get(&request->query, "period"), &period);
	struct insight_window window;
	int64_t now = page_now();
	insight_window(period, now, &window);
	struct mustache_value *data = page_data(app, request, arena_printf(arena, "Usage of %s", key.name));
	struct mustache_value *item = view_set(data, "key", view_map(arena));
	view_set_string(arena, item, "name", key.name);
	view_set_string(arena, item, "key_id", key.key_id);
	view_set_string(arena, item, "url", page_ws_url(app, request, arena_printf(arena, "/keys/%s", key.key_id)));
	set_periods(app, request, data, arena_printf(arena, "/keys/%s/usage", key.key_id), &window);
	enum store_status status = STORE_OK;
	if (key.off_record) {
		int64_t anonymous = 0;
		status = store_usage_anonymous(app->store, request->visit->workspace_id, key.id, window.since, &anonymous);
		view_set_bool(arena, data, "off_record", true);
		view_set_string(arena, data, "anonymous", count_text(arena, anonymous));
	} else {
		struct store_usage_bucket *buckets = NULL;
		struct store_usage_outcome *outcomes = NULL;
		struct store_usage_item *endpoints = NULL, *addresses = NULL;
		size_t bucket_count = 0, outcome_count = 0, endpoint_count = 0, address_count = 0;
		int64_t endpoint_total = 0, address_total = 0;
		const char *only_address = query_value(request, "address", USAGE_ADDRESS_MAX);
		const char *only_endpoint = query_value(request, "endpoint", USAGE_ENDPOINT_MAX);
		bool refused_only = strcmp(query_value(request, "refused", 1), "1") == 0;
		struct store_usage_filter endpoint_filter = { window.span, USAGE_TOP, only_endpoint, refused_only };
		struct store_usage_filter address_filter = { window.span, USAGE_TOP, only_address, refused_only };
		struct store_usage_slice slice = { only_endpoint, only_address, refused_only };
		status = store_usage_series(app->store, arena, request->visit->workspace_id, key.id, &slice, window.since, window.step,
					    &buckets, &bucket_count);
		bool narrowed = only_address[0] || only_endpoint[0]; /* to one address or endpoint */
		if (status == STORE_OK && !narrowed) /* refusals by reason are counted per key only */
			status = store_usage_outcomes(app->store, arena, key.id, window.since, &outcomes, &outcome_count);
		if (status == STORE_OK)
			status = store_usage_endpoints(app->store, arena, key.id, &endpoint_filter, &endpoints,
						       &endpoint_count, &endpoint_total);
		if (status == STORE_OK)
			status = store_usage_addresses(app->store, arena, key.id, &address_filter, &addresses,
						       &address_count, &address_total);
		if (status == STORE_OK) {
			set_chart(request, data, &window, buckets, bucket_count,
				  arena_printf(arena, "Calls of %s, last %s", key.name, window.label), "usage-chart");
			struct mustache_value *refusals = view_set(data, "refusals", view_list(arena));
			view_set_bool(arena, data, "has_refusals",
				      outcome_count > 1 || (outcome_count == 1 && strcmp(outcomes[0].outcome, "granted") != 0));
			for (size_t i = 0; i < outcome_count; i++) {
				if (strcmp(outcomes[i].outcome, "granted") == 0)
					continue;
				struct mustache_value *row = view_push_map(arena, refusals);
				view_set_string(arena, row, "code", outcomes[i].outcome);
				view_set_string(arena, row, "label", insight_outcome_label(outcomes[i].outcome));
				view_set_string(arena, row, "calls", count_text(arena, outcomes[i].calls));
			}
			view_set(data, "endpoints", item_list(arena, endpoints, endpoint_count, false));
			view_set(data, "addresses", item_list(arena, addresses, address_count, true));
			view_set_bool(arena, data, "has_endpoints", endpoint_count > 0);
			view_set_bool(arena, data, "has_addresses", address_count > 0);
			if (endpoint_total > (int64_t)endpoint_count)
				view_set_string(arena, data, "endpoints_more",
						arena_printf(arena, "The %zu busiest of %lld endpoints.", endpoint_count,
							     (long long)endpoint_total));
			if (address_total > (int64_t)address_count)
				view_set_string(arena, data, "addresses_more",
						arena_printf(arena, "The %zu busiest of %lld addresses.", address_count,
							     (long long)address_total));
			const char *shown = only_address[0] ? arena_printf(arena, "calls from %s", only_address)
					    : only_endpoint[0] ? arena_printf(arena, "calls to %s", only_endpoint)
					    : NULL;
			if (refused_only)
				shown = shown ? arena_printf(arena, "refused %s", shown) : "refused calls";
			if (shown != NULL) {
				/* A narrowed view: its numbers and chart, the other table left out, the calls themselves. */
				view_set_string(arena, data, "filtered", shown);
				view_set_string(arena, data, "unfiltered_url",
						page_ws_url(app, request, arena_printf(arena, "/keys/%s/usage?period=%s",
										       key.key_id, window.name)));
				view_set_bool(arena, data, "narrowed", narrowed);
				view_set_bool(arena, data, "show_endpoints", !only_address[0]);
				view_set_bool(arena, data, "show_addresses", only_address[0] || !only_endpoint[0]);
				status = set_latest(app, request, data, key.id, &slice, window.since);
			} else {
				view_set_bool(arena, data, "show_endpoints", true);
				view_set_bool(arena, data, "show_addresses", true);
			}
			page_set_warnings(app, request, data, key.id, now);
		}
	}
	if (status != STORE_OK) {
		page_store_error(app, request, response, status);
		return;
	}
	page_render(app, request, response, "key_usage", data);
}

/* One dashboard list of keys: {name: {keys: [...], total, more}}. */
static enum store_status set_briefs(struct app *app, struct http_request *request, struct mustache_value *data,
				    const char *name, enum store_key_brief_list list, int64_t since,
				    const struct insight_window *window)
{
	const char *period = window->name;
	struct store_usage_span span = window->span;
	if (list != STORE_BRIEF_BUSIEST)
		span.since = since;
	struct arena *arena = request->arena;
	struct store_key_brief *keys = NULL;
	size_t count = 0;
	int64_t total = 0;
	enum store_status status =
		store_key_briefs(app->store, arena, request->visit->workspace_id, list, &span, DASHBOARD_TOP, &keys, &count, &total);
	if (status != STORE_OK)
		return status;
	struct mustache_value *section = view_set(data, name, view_map(arena));
	struct mustache_value *rows = view_set(section, "keys", view_list(arena));
	for (size_t i = 0; i < count; i++) {
		struct mustache_value *row = view_push_map(arena, rows);
		view_set_string(arena, row, "name", keys[i].name);
		view_set_string(arena, row, "key_id", keys[i].key_id);
		view_set_string(arena, row, "url", page_ws_url(app, request, arena_printf(arena, "/keys/%s", keys[i].key_id)));
		view_set_string(arena, row, "usage_url",
				page_ws_url(app, request, arena_printf(arena, "/keys/%s/usage?period=%s", keys[i].key_id,
								       period)));
		view_set_string(arena, row, "calls", count_text(arena, keys[i].calls));
		view_set_string(arena, row, "refused", count_text(arena, keys[i].refused));
		view_set_bool(arena, row, "has_refused", keys[i].refused > 0);
		view_set_time(arena, row, "at", keys[i].at, "never");
	}
	view_set_bool(arena, section, "any", count > 0);
	view_set_string(arena, section, "total", count_text(arena, total));
	if (total > (int64_t)count)
		view_set_string(arena, section, "more", arena_printf(arena, "and %lld more", (long long)(total - (int64_t)count)));
	return STORE_OK;
}

/*
 * Requests without a valid key that the gatekeeper counted in this workspace in the period:
 * {strangers: {any, total, addresses, rows: [{address, calls, outcomes}], more}}.
 */
static enum store_status set_strangers(struct app *app, struct http_request *request, struct mustache_value *data,
				       const struct insight_window *window)
{
	struct arena *arena = request->arena;
	struct store_refused_address *rows = NULL;
	size_t count = 0;
	int64_t addresses = 0, calls = 0;
	enum store_status status = store_usage_refused(app->store, arena, request->visit->workspace_id, window->since,
						       STRANGERS_TOP, &rows, &count, &addresses, &calls);
	if (status != STORE_OK)
		return status;
	struct mustache_value *section = view_set(data, "strangers", view_map(arena));
	view_set_bool(arena, section, "any", calls > 0);
	view_set_string(arena, section, "total", count_text(arena, calls));
	view_set_string(arena, section, "addresses",
			arena_printf(arena, "%s %s", count_text(arena, addresses), addresses == 1 ? "address" : "addresses"));
	struct mustache_value *list = view_set(section, "rows", view_list(arena));
	for (size_t i = 0; i < count; i++) {
		struct mustache_value *row = view_push_map(arena, list);
		view_set_string(arena, row, "address", rows[i].address);
		view_set_string(arena, row, "calls", count_text(arena, rows[i].calls));
		const char *outcomes = "";
		if (rows[i].missing_key > 0)
			outcomes = arena_printf(arena, "%s %s", insight_outcome_label("missing_key"),
						count_text(arena, rows[i].missing_key));
		if (rows[i].invalid_key > 0)
			outcomes = arena_printf(arena, "%s%s%s %s", outcomes, outcomes[0] ? ", " : "",
						insight_outcome_label("invalid_key"), count_text(arena, rows[i].invalid_key));
		view_set_string(arena, row, "outcomes", outcomes);
	}
	if (addresses > (int64_t)count)
		view_set_string(arena, section, "more",
				arena_printf(arena, "and %lld more addresses", (long long)(addresses - (int64_t)count)));
	return STORE_OK;
}

/* {expiry: {expiring, expired, ...}} when keys of the workspace expire within a week or have expired. */
static enum store_status set_expiry(struct app *app, struct http_request *request, struct mustache_value *data,
				    int64_t now)
{
	struct arena *arena = request->arena;
	int64_t expiring = 0, expired = 0;
	enum store_status status = store_key_expiry_counts(app->store, request->visit->workspace_id, now,
							   now + KEYS_EXPIRY_WARNING, &expiring, &expired);
	if (status != STORE_OK || (expiring == 0 && expired == 0))
		return status;
	struct mustache_value *section = view_set(data, "expiry", view_map(arena));
	if (expiring > 0)
		view_set_int(arena, section, "expiring", expiring);
	if (expired > 0)
		view_set_int(arena, section, "expired", expired);
	view_set_bool(arena, section, "expiring_one", expiring == 1);
	view_set_bool(arena, section, "expired_one", expired == 1);
	view_set_int(arena, section, "days", KEYS_EXPIRY_WARNING / 86400);
	view_set_string(arena, section, "expiring_url", page_ws_url(app, request, "/keys?status=expiring"));
	view_set_string(arena, section, "expired_url", page_ws_url(app, request, "/keys?status=expired"));
	return STORE_OK;
}

void page_dashboard(struct app *app, struct http_request *request, struct http_response *response)
{
	struct arena *arena = request->arena;
	enum insight_period period;
	insight_period_parse(form_get(&request->query, "period"), &period);
	struct insight_window window;
	int64_t now = page_now();
	insight_window(period, now, &window);
	struct mustache_value *data = page_data(app, request, arena_printf(arena, "%s: dashboard", request->visit->workspace_name));
	set_periods(app, request, data, "/", &window);
	struct store_usage_bucket *buckets = NULL;
	size_t bucket_count = 0;
	int64_t anonymous = 0;
	enum store_status status = store_usage_series(app->store, arena, request->visit->workspace_id, 0, NULL, window.since,
						      window.step, &buckets, &bucket_count);
	if (status == STORE_OK)
		status = store_usage_anonymous(app->store, request->visit->workspace_id, 0, window.since, &anonymous);
	if (status == STORE_OK)
		status = set_briefs(app, request, data, "busiest", STORE_BRIEF_BUSIEST, window.since, &window);
	if (status == STORE_OK)
		status = set_briefs(app, request, data, "never_used", STORE_BRIEF_NEVER_USED, 0, &window);
	if (status == STORE_OK)
		status = set_briefs(app, request, data, "unused", STORE_BRIEF_UNUSED_SINCE,
				    now - INSIGHT_UNUSED_DAYS * 86400, &window);
	if (status == STORE_OK)
		status = set_briefs(app, request, data, "rotation", STORE_BRIEF_SECRET_OLDER,
				    now - INSIGHT_ROTATE_DAYS * 86400, &window);
	if (status == STORE_OK)
		status = set_strangers(app, request, data, &window);
	if (status == STORE_OK)
		status = set_expiry(app, request, data, now);
	if (status != STORE_OK) {
		page_store_error(app, request, response, status);
		return;
	}
	set_chart(request, data, &window, buckets, bucket_count,
		  arena_printf(arena, "Calls in %s, last %s", request->visit->workspace_name, window.label), "dashboard-chart");
	if (anonymous > 0)
		view_set_string(arena, data, "anonymous", count_text(arena, anonymous));
	page_set_warnings(app, request, data, 0, now);
	view_set_int(arena, data, "unused_days", INSIGHT_UNUSED_DAYS);
	view_set_int(arena, data, "rotate_days", INSIGHT_ROTATE_DAYS);
	page_render(app, request, response, "dashboard", data);
}
