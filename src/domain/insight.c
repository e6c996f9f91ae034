/* insight.c: usage periods and buckets, rollup and retention upkeep, outcome labels. */
#include "domain/insight.h"

#include <stdio.h>
#include <string.h>

#include "core/config.h"

static const struct {
	const char *name;
	const char *label;
	int64_t step;
	size_t buckets;
} periods[INSIGHT_PERIOD_COUNT] = {
	[INSIGHT_24H] = { "24h", "24 hours", 3600, 24 },
	[INSIGHT_7D] = { "7d", "7 days", 3600, 168 },
	[INSIGHT_30D] = { "30d", "30 days", 86400, 30 },
};

bool insight_period_parse(const char *text, enum insight_period *period)
{
	*period = INSIGHT_24H;
	for (int i = 0; text != NULL && i < INSIGHT_PERIOD_COUNT; i++)
		if (strcmp(text, periods[i].name) == 0) {
			*period = (enum insight_period)i;
			return true;
		}
	return false;
}

void insight_window(enum insight_period period, int64_t now, struct insight_window *window)
{
	if ((int)period < 0 || period >= INSIGHT_PERIOD_COUNT)
		period = INSIGHT_24H;
	window->period = period;
	window->name = periods[period].name;
	window->label = periods[period].label;
	window->step = periods[period].step;
	window->buckets = periods[period].buckets;
	int64_t current = now - now % window->step; /* the bucket that holds now */
	window->since = current - (int64_t)(window->buckets - 1) * window->step;
	/* The days from the first midnight at or after `since` on; every window holds one (24h: today's). */
	int64_t days_from = window->since + (86400 - window->since % 86400) % 86400;
	window->span = (struct store_usage_span){ window->since, days_from };
}

void insight_fill(const struct insight_window *window, const struct store_usage_bucket *sparse, size_t count,
		  struct insight_bucket *out)
{
	for (size_t i = 0; i < window->buckets; i++) {
		out[i].start = window->since + (int64_t)i * window->step;
		out[i].granted = 0;
		out[i].refused = 0;
	}
	for (size_t i = 0; i < count; i++)
		if (sparse[i].index >= 0 && (size_t)sparse[i].index < window->buckets) {
			out[sparse[i].index].granted += sparse[i].granted;
			out[sparse[i].index].refused += sparse[i].refused;
		}
}

bool insight_maintain(struct store *store, const struct config *config, int64_t now, size_t chunk_rows,
		      size_t max_chunks, bool prune_now, struct insight_upkeep *upkeep)
{
	upkeep->rolled = 0;
	upkeep->deleted = 0;
	upkeep->more = false;
	for (size_t chunk = 0; chunk < max_chunks; chunk++) {
		size_t rolled = 0;
		if (store_usage_rollup(store, chunk_rows, (int64_t)INSIGHT_NEW_ADDRESS_DAYS * 86400, &rolled) != STORE_OK) {
			fprintf(stderr, "keyward: usage rollup failed; it is tried again later\n");
			return false;
		}
		upkeep->rolled += rolled;
		upkeep->more = rolled == chunk_rows;
		if (!upkeep->more)
			break;
	}
	if (config->usage_raw_days < 1 || config->usage_hourly_days < 1) /* not configured: keep everything */
		return true;
	if (!upkeep->pruning) {
		int64_t pruned_at = 0;
		if (store_usage_pruned_at(store, &pruned_at) != STORE_OK)
			return false;
		if (!prune_now && now - pruned_at < INSIGHT_PRUNE_SECONDS)
			return true;
		/* Take this hour's turn first, so that other processes do not prune at the same time. */
		if (store_usage_set_pruned_at(store, now) != STORE_OK)
			return false;
		upkeep->pruning = true;
	}
	int64_t raw_before = now - config->usage_raw_days * 86400;
	int64_t hourly_before = now - config->usage_hourly_days * 86400;
	int64_t daily_before = now - now % 86400 - (INSIGHT_DAILY_DAYS - 1) * 86400;
	for (size_t round = 0; round < max_chunks; round++) {
		size_t deleted = 0;
		if (store_usage_prune(store, raw_before, hourly_before, daily_before, INSIGHT_PRUNE_CHUNK, &deleted) !=
		    STORE_OK) {
			fprintf(stderr, "keyward: usage retention failed; it is tried again in an hour\n");
			return false;
		}
		upkeep->deleted += deleted;
		if (deleted == 0) {
			upkeep->pruning = false;
			break;
		}
	}
	upkeep->more = upkeep->more || upkeep->pruning;
	return true;
}

const char *insight_outcome_label(const char *outcome)
{
	static const struct {
		const char *outcome;
		const char *label;
	} labels[] = {
		{ "granted", "Granted" },
		{ "missing_key", "No key sent" },
		{ "invalid_key", "Invalid key" },
		{ "disabled", "Key disabled" },
		{ "revoked", "Key revoked" },
		{ "expired", "Key expired" },
		{ "ip_not_allowed", "Address not allowed" },
		{ "insufficient_permissions", "Not permitted" },
		{ "unavailable", "Service busy" },
	};
	for (size_t i = 0; outcome != NULL && i < sizeof labels / sizeof labels[0]; i++)
		if (strcmp(outcome, labels[i].outcome) == 0)
			return labels[i].label;
	return outcome ? outcome : "";
}
