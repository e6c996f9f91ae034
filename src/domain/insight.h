/*
 * insight.h: what the Usage tab and the dashboard show: periods and their buckets (UTC hours or
 * days), the rollup and retention each process's usage writer runs, and the warnings.
 *
 * Raw usage rows are rolled up into hourly tables every INSIGHT_ROLLUP_SECONDS; the pages read the
 * rollups plus the rows not rolled up yet, so they are always current. Warnings read the rollups
 * only, so they lag by up to INSIGHT_ROLLUP_SECONDS.
 */
#ifndef KEYWARD_DOMAIN_INSIGHT_H
#define KEYWARD_DOMAIN_INSIGHT_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "store/store.h"

struct config;

#define INSIGHT_ROLLUP_SECONDS 10
#define INSIGHT_ROLLUP_CHUNK 5000   /* raw rows per rollup transaction of the usage writer (~0.15 s) */
#define INSIGHT_ROLLUP_CHUNK_LARGE 50000 /* ... of `keyward usage rollup`, which holds up no one */
#define INSIGHT_PRUNE_SECONDS 3600  /* retention runs at most once an hour (across processes) */
#define INSIGHT_PRUNE_CHUNK 5000    /* rows per delete */
#define INSIGHT_NEW_ADDRESS_DAYS 30 /* an address unseen for this long counts as new */
#define INSIGHT_UNUSED_DAYS 30      /* keys unused this long are candidates to revoke */
#define INSIGHT_ROTATE_DAYS 90      /* secrets older than this are due for rotation */
#define INSIGHT_BUCKETS_MAX 168
#define INSIGHT_DAILY_DAYS 32 /* daily rollups serve the periods (30 days at most) and are kept this long */

enum insight_period { INSIGHT_24H, INSIGHT_7D, INSIGHT_30D, INSIGHT_PERIOD_COUNT };

/* A period on the clock: its buckets are `step` seconds from `since` on, `buckets` of them. */
struct insight_window {
	enum insight_period period;
	const char *name;  /* "24h", "7d", "30d": the query string's value */
	const char *label; /* "24 hours", "7 days", "30 days" */
	int64_t since;     /* start of the first bucket (a whole UTC hour or day) */
	int64_t step;      /* 3600 or 86400 */
	size_t buckets;
	struct store_usage_span span; /* the same period for the store: since, and its whole days */
};

/* Calls in one bucket of the window. */
struct insight_bucket {
	int64_t start;
	int64_t granted;
	int64_t refused;
};

/* The period named `text` ("24h", "7d", "30d"); false (24h set) for anything else, NULL included. */
bool insight_period_parse(const char *text, enum insight_period *period);

/* The window of `period` ending with the bucket that holds `now`. */
void insight_window(enum insight_period period, int64_t now, struct insight_window *window);

/* Every bucket of the window in order (zeros where the store had none) into out[window->buckets]. */
void insight_fill(const struct insight_window *window, const struct store_usage_bucket *sparse, size_t count,
		  struct insight_bucket *out);

/* Upkeep's state between rounds, and what the last round did. Start with all zero. */
struct insight_upkeep {
	bool pruning;   /* this process took the hour's retention turn and has not finished it */
	bool more;      /* rows still wait to be rolled up or pruned: run again soon */
	size_t rolled;  /* raw rows rolled up in the round */
	size_t deleted; /* rows past retention deleted in the round */
};

/*
 * One round of upkeep: roll up what waits (up to `max_chunks` transactions of `chunk_rows` raw
 * rows each), then, when this process holds the retention turn (taken at most
 * once an hour across all processes, or at once when `prune_now`), up to `max_chunks` rounds of
 * retention deletes (config's usage_raw_days and usage_hourly_days; daily rows after
 * INSIGHT_DAILY_DAYS). The usage writer runs a round every INSIGHT_ROLLUP_SECONDS, or every
 * second while `more`; `keyward usage rollup` runs rounds until nothing is left. False when the
 * database failed (said on stderr; the next round tries again).
 */
bool insight_maintain(struct store *store, const struct config *config, int64_t now, size_t chunk_rows,
		      size_t max_chunks, bool prune_now, struct insight_upkeep *upkeep);

/* A readable outcome: "granted", "disabled key" for "disabled", and so on. */
const char *insight_outcome_label(const char *outcome);

#endif
