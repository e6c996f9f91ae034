/*
 * test_insight.c: unit tests for usage insight on real SQLite files: periods and their UTC
 * buckets, the hourly and daily rollups against hand-computed sums (hour and day edges, and
 * generated traffic read through every period at several times of day), reading rolled-up and
 * not-yet-rolled rows together, endpoints and addresses, off-the-record counts, warnings (refused
 * spikes, new addresses), retention, the watermark, and upkeep across two processes.
 */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "support.h"

#include "core/alloc.h"
#include "domain/insight.h"
#include "store/store.h"

#define HOUR 3600LL
#define DAY 86400LL
/* 2026-11-23 00:00:00 UTC, a Monday: `date -u -d @1795392000`. */
#define MIDNIGHT 1795392000LL
#define NEW_ADDRESS (30 * DAY) /* an address unseen this long is new */

/* ---- periods ---------------------------------------------------------------------------------- */

static void test_periods_and_their_buckets(void **state)
{
	(void)state;
	enum insight_period period;
	assert_true(insight_period_parse("7d", &period));
	assert_int_equal(period, INSIGHT_7D);
	assert_false(insight_period_parse("1y", &period));
	assert_int_equal(period, INSIGHT_24H);
	assert_false(insight_period_parse(NULL, &period));

	struct insight_window window;
	int64_t now = MIDNIGHT + 6 * HOUR + 59 * 60 + 59; /* 06:59:59 */
	insight_window(INSIGHT_24H, now, &window);
	assert_int_equal(window.buckets, 24);
	assert_int_equal(window.step, HOUR);
	assert_int_equal(window.since, MIDNIGHT + 6 * HOUR - 23 * HOUR); /* the last bucket holds now */
	insight_window(INSIGHT_7D, now, &window);
	assert_int_equal(window.buckets, 168);
	assert_int_equal(window.since, MIDNIGHT + 6 * HOUR - 167 * HOUR);
	insight_window(INSIGHT_30D, now, &window);
	assert_int_equal(window.buckets, 30);
	assert_int_equal(window.step, DAY);
	assert_int_equal(window.since, MIDNIGHT - 29 * DAY);
	/* On the very second a day starts, that day is the last bucket. */
	insight_window(INSIGHT_30D, MIDNIGHT, &window);
	assert_int_equal(window.since, MIDNIGHT - 29 * DAY);

	struct store_usage_bucket sparse[] = { { 0, 5, 1 }, { 29, 2, 0 }, { 30, 100, 100 }, { -1, 7, 7 } };
	struct insight_bucket filled[30];
	insight_fill(&window, sparse, 4, filled);
	assert_int_equal(filled[0].start, MIDNIGHT - 29 * DAY);
	assert_int_equal(filled[0].granted, 5);
	assert_int_equal(filled[0].refused, 1);
	assert_int_equal(filled[29].start, MIDNIGHT);
	assert_int_equal(filled[29].granted, 2);
	int64_t sum = 0;
	for (int i = 0; i < 30; i++)
		sum += filled[i].granted + filled[i].refused;
	assert_int_equal(sum, 8); /* buckets outside the window are dropped */
}

/* ---- the store -------------------------------------------------------------------------------- */

struct fixture {
	struct test_db *db;
	int64_t key;   /* internal row ids */
	int64_t other;
};

static int64_t add_key(struct test_db *db, const char *key_id, int64_t created)
{
	char sql[512];
	snprintf(sql, sizeof sql,
		 "INSERT INTO api_key (workspace_id, key_id, name, name_folded, secret_hash, secret_hint, role_id, "
		 "created_at, updated_at, secret_set_at) VALUES (1, '%s', '%s', '%s', %s, 'abcd', %lld, %lld, %lld, %lld)",
		 key_id, key_id, key_id, test_sql(db, "randomblob(32)", "sha256(random()::text::bytea)"), (long long)db->admin_role, (long long)created, (long long)created,
		 (long long)created);
	test_db_execute(db, sql);
	return test_db_integer(db, "SELECT id FROM api_key WHERE key_id = '%s'", key_id);
}

static int setup(void **state)
{
	struct fixture *fixture = xcalloc(1, sizeof *fixture);
	fixture->db = test_db_open("insight");
	if (fixture->db == NULL)
		return -1;
	fixture->key = add_key(fixture->db, "key_insightAAAAAAA", MIDNIGHT - 200 * DAY);
	fixture->other = add_key(fixture->db, "key_insightBBBBBBB", MIDNIGHT - 10 * DAY);
	*state = fixture;
	return 0;
}

static int teardown(void **state)
{
	struct fixture *fixture = *state;
	int removed = test_db_close(fixture->db);
	free(fixture);
	return removed;
}

static void write_events(struct fixture *fixture, const struct store_usage_event *events, size_t count)
{
	assert_int_equal(store_usage_write(fixture->db->store, events, count, NULL, 0, NULL, 0, NULL, 0), STORE_OK);
}

static void roll_all(struct fixture *fixture)
{
	size_t rolled = 0;
	do
		assert_int_equal(store_usage_rollup(fixture->db->store, 3, NEW_ADDRESS, &rolled), STORE_OK); /* small chunks */
	while (rolled == 3);
	test_db_assert_no_transaction(fixture->db);
}

/* Events around the midnight edge: 23:59:59 the day before, 00:00:00 and 00:59:59, 01:00:00. */
static void write_edge_events(struct fixture *fixture)
{
	int64_t k = fixture->key;
	const struct store_usage_event events[] = {
		{ 1, k, MIDNIGHT - 1, "/v1/a", "192.0.2.1", "granted", 3, false },
		{ 1, k, MIDNIGHT, "/v1/a", "192.0.2.1", "granted", 1, false },
		{ 1, k, MIDNIGHT + HOUR - 1, "/v1/b", "192.0.2.2", "ip_not_allowed", 2, false },
		{ 1, k, MIDNIGHT + HOUR, "/v1/a", "192.0.2.2", "granted", 4, false },
		{ 1, k, MIDNIGHT + HOUR + 5, "/v1/a", "192.0.2.1", "disabled", 1, false },
		{ 1, fixture->other, MIDNIGHT + 10, "/v1/z", "198.51.100.9", "granted", 7, false },
		{ 1, 0, MIDNIGHT + 20, "/v1/a", "203.0.113.5", "invalid_key", 9, false }, /* no key */
	};
	write_events(fixture, events, sizeof events / sizeof events[0]);
}

static void test_the_rollup_sums_by_utc_hour(void **state)
{
	struct fixture *fixture = *state;
	write_edge_events(fixture);
	roll_all(fixture);
	struct test_db *db = fixture->db;
	long long k = (long long)fixture->key;
	assert_int_equal(test_db_integer(db, "SELECT calls FROM usage_hourly WHERE api_key_id = %lld AND hour = %lld AND "
					     "outcome = 'granted'", k, MIDNIGHT - HOUR), 3);
	assert_int_equal(test_db_integer(db, "SELECT calls FROM usage_hourly WHERE api_key_id = %lld AND hour = %lld AND "
					     "outcome = 'granted'", k, MIDNIGHT), 1);
	assert_int_equal(test_db_integer(db, "SELECT calls FROM usage_hourly WHERE api_key_id = %lld AND hour = %lld AND "
					     "outcome = 'ip_not_allowed'", k, MIDNIGHT), 2);
	assert_int_equal(test_db_integer(db, "SELECT sum(calls) FROM usage_hourly WHERE api_key_id = %lld AND hour = %lld",
					 k, MIDNIGHT + HOUR), 5);
	assert_int_equal(test_db_integer(db, "SELECT count(*) FROM usage_hourly WHERE api_key_id = 0"), 0); /* no key */
	assert_int_equal(test_db_integer(db, "SELECT sum(calls) FROM usage_hourly"), 18);
	/* The day before and the day itself, per key, per endpoint and per address; the workspace's hours. */
	assert_int_equal(test_db_integer(db, "SELECT calls FROM usage_daily_key WHERE api_key_id = %lld AND day = %lld", k,
					 MIDNIGHT - DAY), 3);
	assert_int_equal(test_db_integer(db, "SELECT refused FROM usage_daily_key WHERE api_key_id = %lld AND day = %lld",
					 k, MIDNIGHT), 3);
	assert_int_equal(test_db_integer(db, "SELECT calls FROM usage_daily_endpoint WHERE api_key_id = %lld AND day = %lld "
					     "AND endpoint = '/v1/a'", k, MIDNIGHT), 6);
	assert_int_equal(test_db_integer(db, "SELECT first_seen FROM usage_daily_address WHERE api_key_id = %lld AND "
					     "day = %lld AND client_address = '192.0.2.1'", k, MIDNIGHT), MIDNIGHT);
	assert_int_equal(test_db_integer(db, "SELECT sum(calls) FROM usage_hourly_workspace WHERE workspace_id = 1 AND "
					     "hour = %lld", MIDNIGHT), 10);
	assert_int_equal(test_db_integer(db, "SELECT first_seen FROM usage_key_address WHERE api_key_id = %lld AND "
					     "client_address = '192.0.2.1'", k), MIDNIGHT - 1);
	assert_int_equal(test_db_integer(db, "SELECT first_seen FROM usage_hourly_address WHERE api_key_id = %lld AND "
					     "hour = %lld AND client_address = '192.0.2.2'", k, MIDNIGHT), MIDNIGHT + HOUR - 1);
	assert_int_equal(test_db_integer(db, "SELECT refused FROM usage_hourly_endpoint WHERE api_key_id = %lld AND "
					     "hour = %lld AND endpoint = '/v1/b'", k, MIDNIGHT), 2);
	assert_int_equal(test_db_integer(db, "SELECT count(*) FROM usage_hourly_endpoint WHERE api_key_id = 0"), 0);
	/* Rolling up again adds nothing: the watermark moved. */
	size_t rolled = 1;
	assert_int_equal(store_usage_rollup(db->store, 100, NEW_ADDRESS, &rolled), STORE_OK);
	assert_int_equal(rolled, 0);
	assert_int_equal(test_db_integer(db, "SELECT sum(calls) FROM usage_hourly"), 18);
}

/* Read the series of the key as 30 days of buckets ending at MIDNIGHT + 2 h. */
static void series(struct fixture *fixture, int64_t key, enum insight_period period, struct insight_window *window,
		   struct insight_bucket *filled)
{
	insight_window(period, MIDNIGHT + 2 * HOUR, window);
	struct store_usage_bucket *sparse = NULL;
	size_t count = 0;
	assert_int_equal(store_usage_series(fixture->db->store, fixture->db->arena, 1, key, NULL, window->since,
					    window->step, &sparse, &count),
			 STORE_OK);
	insight_fill(window, sparse, count, filled);
}

static void check_edge_series(struct fixture *fixture)
{
	struct insight_window window;
	struct insight_bucket buckets[INSIGHT_BUCKETS_MAX];
	series(fixture, fixture->key, INSIGHT_30D, &window, buckets);
	assert_int_equal(buckets[28].granted, 3); /* 23:59:59 the day before */
	assert_int_equal(buckets[29].granted, 5);
	assert_int_equal(buckets[29].refused, 3);
	series(fixture, fixture->key, INSIGHT_24H, &window, buckets); /* the last bucket is 02:00 */
	assert_int_equal(buckets[20].granted, 3); /* 23:00 */
	assert_int_equal(buckets[21].granted, 1); /* 00:00 */
	assert_int_equal(buckets[21].refused, 2);
	assert_int_equal(buckets[22].granted, 4); /* 01:00 */
	assert_int_equal(buckets[22].refused, 1);
	assert_int_equal(buckets[23].granted + buckets[23].refused, 0);
	/* The workspace: its keys, not the unknown tokens. */
	series(fixture, 0, INSIGHT_24H, &window, buckets);
	assert_int_equal(buckets[21].granted, 8);
	assert_int_equal(buckets[21].refused, 2);
}

static void test_pages_read_rolled_up_and_waiting_rows_alike(void **state)
{
	struct fixture *fixture = *state;
	write_edge_events(fixture);
	check_edge_series(fixture); /* nothing rolled up yet */
	size_t rolled = 0;
	assert_int_equal(store_usage_rollup(fixture->db->store, 4, NEW_ADDRESS, &rolled), STORE_OK); /* half of it */
	assert_int_equal(rolled, 4);
	check_edge_series(fixture);
	roll_all(fixture);
	check_edge_series(fixture);
}

static void test_endpoints_addresses_and_outcomes(void **state)
{
	struct fixture *fixture = *state;
	write_edge_events(fixture);
	size_t rolled = 0;
	assert_int_equal(store_usage_rollup(fixture->db->store, 2, NEW_ADDRESS, &rolled), STORE_OK);
	struct arena *arena = fixture->db->arena;
	struct store_usage_filter filter = { { MIDNIGHT - DAY, MIDNIGHT - DAY }, 20, NULL, false };
	struct store_usage_item *items = NULL;
	size_t count = 0;
	int64_t total = 0;
	assert_int_equal(store_usage_endpoints(fixture->db->store, arena, fixture->key, &filter, &items, &count, &total),
			 STORE_OK);
	assert_int_equal(count, 2);
	assert_int_equal(total, 2);
	assert_string_equal(items[0].name, "/v1/a");
	assert_int_equal(items[0].calls, 9);
	assert_int_equal(items[0].refused, 1);
	assert_int_equal(items[0].last_seen, MIDNIGHT + HOUR + 5);
	assert_int_equal(store_usage_addresses(fixture->db->store, arena, fixture->key, &filter, &items, &count, &total),
			 STORE_OK);
	assert_int_equal(count, 2);
	assert_string_equal(items[0].name, "192.0.2.2");
	assert_int_equal(items[0].calls, 6);
	assert_int_equal(items[0].first_seen, MIDNIGHT + HOUR - 1);
	assert_int_equal(items[1].first_seen, MIDNIGHT - 1);
	assert_int_equal(items[1].last_seen, MIDNIGHT + HOUR + 5);
	/* Only one address; only refused calls, the most refused first; a limit. */
	filter.only = "192.0.2.1";
	assert_int_equal(store_usage_addresses(fixture->db->store, arena, fixture->key, &filter, &items, &count, &total),
			 STORE_OK);
	assert_int_equal(count, 1);
	assert_int_equal(items[0].calls, 5);
	filter.only = NULL;
	filter.refused_only = true;
	assert_int_equal(store_usage_endpoints(fixture->db->store, arena, fixture->key, &filter, &items, &count, &total),
			 STORE_OK);
	assert_int_equal(count, 2);
	assert_string_equal(items[0].name, "/v1/b");
	filter.refused_only = false;
	filter.limit = 1;
	assert_int_equal(store_usage_endpoints(fixture->db->store, arena, fixture->key, &filter, &items, &count, &total),
			 STORE_OK);
	assert_int_equal(count, 1);
	assert_int_equal(total, 2);
	struct store_usage_outcome *outcomes = NULL;
	assert_int_equal(store_usage_outcomes(fixture->db->store, arena, fixture->key, MIDNIGHT, &outcomes, &count),
			 STORE_OK);
	assert_int_equal(count, 3);
	assert_string_equal(outcomes[0].outcome, "granted");
	assert_int_equal(outcomes[0].calls, 5); /* since midnight: not the 3 before */
	assert_string_equal(outcomes[1].outcome, "ip_not_allowed");
}

static void test_off_the_record_counts(void **state)
{
	struct fixture *fixture = *state;
	const struct store_usage_count counts[] = { { 1, fixture->other, MIDNIGHT - HOUR, 4 },
						    { 1, fixture->other, MIDNIGHT, 6 } };
	assert_int_equal(store_usage_write(fixture->db->store, NULL, 0, counts, 2, NULL, 0, NULL, 0), STORE_OK);
	int64_t calls = 0;
	assert_int_equal(store_usage_anonymous(fixture->db->store, 1, fixture->other, MIDNIGHT, &calls), STORE_OK);
	assert_int_equal(calls, 6);
	assert_int_equal(store_usage_anonymous(fixture->db->store, 1, 0, MIDNIGHT - DAY, &calls), STORE_OK);
	assert_int_equal(calls, 10);
	assert_int_equal(store_usage_anonymous(fixture->db->store, 2, 0, MIDNIGHT - DAY, &calls), STORE_OK);
	assert_int_equal(calls, 0);
}

static void test_warnings(void **state)
{
	struct fixture *fixture = *state;
	int64_t k = fixture->key;
	const struct store_usage_event events[] = {
		/* used from 192.0.2.1 for weeks: known */
		{ 1, k, MIDNIGHT - 20 * DAY, "/v1/a", "192.0.2.1", "granted", 1, false },
		{ 1, k, MIDNIGHT + 1, "/v1/a", "192.0.2.1", "granted", 1, false },
		/* 198.51.100.7 last seen 40 days ago (outside the 30): new again today */
		{ 1, k, MIDNIGHT - 40 * DAY, "/v1/a", "198.51.100.7", "granted", 1, false },
		{ 1, k, MIDNIGHT + 2, "/v1/a", "198.51.100.7", "granted", 1, false },
		/* refused: 10 in one hour (at the threshold), 11 in another (over it) */
		{ 1, k, MIDNIGHT + 3, "/v1/a", "192.0.2.1", "ip_not_allowed", 10, false },
		{ 1, k, MIDNIGHT + HOUR, "/v1/a", "192.0.2.1", "ip_not_allowed", 6, false },
		{ 1, k, MIDNIGHT + HOUR + 1, "/v1/a", "192.0.2.1", "disabled", 5, false },
		/* the other key was first used today: every address is new, but there is nothing to compare */
		{ 1, fixture->other, MIDNIGHT + 4, "/v1/a", "203.0.113.1", "granted", 1, false },
	};
	write_events(fixture, events, sizeof events / sizeof events[0]);
	roll_all(fixture);
	struct store_key_brief *found = NULL;
	size_t count = 0;
	int64_t day = MIDNIGHT - 22 * HOUR, keys = 0;
	assert_int_equal(store_usage_spikes(fixture->db->store, fixture->db->arena, 1, 0, day, 10, 20, &found, &count,
					    &keys),
			 STORE_OK);
	assert_int_equal(count, 1);
	assert_int_equal(keys, 1);
	assert_int_equal(found[0].hours, 1);
	assert_int_equal(found[0].at, MIDNIGHT + HOUR);
	assert_int_equal(found[0].calls, 11);
	assert_string_equal(found[0].key_id, "key_insightAAAAAAA");
	assert_int_equal(store_usage_spikes(fixture->db->store, fixture->db->arena, 1, fixture->other, day, 10, 20, &found,
					    &count, &keys),
			 STORE_OK);
	assert_int_equal(count, 0);
	assert_int_equal(store_usage_spikes(fixture->db->store, fixture->db->arena, 2, 0, day, 10, 20, &found, &count,
					    &keys),
			 STORE_OK);
	assert_int_equal(count, 0); /* another workspace sees none */
	assert_int_equal(store_usage_new_addresses(fixture->db->store, fixture->db->arena, 1, 0, day, 20, &found, &count,
						   &keys),
			 STORE_OK);
	assert_int_equal(count, 1);
	assert_int_equal(keys, 1);
	assert_int_equal(found[0].calls, 1); /* one new address */
	assert_string_equal(found[0].address, "198.51.100.7");
	assert_int_equal(found[0].at, MIDNIGHT + 2);
	assert_int_equal(store_usage_new_addresses(fixture->db->store, fixture->db->arena, 2, 0, day, 20, &found, &count,
						   &keys),
			 STORE_OK);
	assert_int_equal(count, 0);
	/* Four more new addresses of the key: one line for it, with the count and the latest three. */
	const struct store_usage_event more[] = {
		{ 1, k, MIDNIGHT + 10, "/v1/a", "203.0.113.10", "granted", 1, false },
		{ 1, k, MIDNIGHT + 11, "/v1/a", "203.0.113.11", "granted", 1, false },
		{ 1, k, MIDNIGHT + 12, "/v1/a", "203.0.113.12", "ip_not_allowed", 1, false }, /* refused calls count too */
		{ 1, k, MIDNIGHT + 13, "/v1/a", "203.0.113.13", "granted", 1, false },
		{ 1, k, MIDNIGHT + 14, "/v1/a", "192.0.2.1", "granted", 1, false }, /* known */
		/* the other key's second address: it has been in use for seconds, not 30 days: nothing to say */
		{ 1, fixture->other, MIDNIGHT + 15, "/v1/a", "203.0.113.2", "granted", 1, false },
	};
	write_events(fixture, more, sizeof more / sizeof more[0]);
	roll_all(fixture);
	assert_int_equal(store_usage_new_addresses(fixture->db->store, fixture->db->arena, 1, 0, day, 20, &found, &count,
						   &keys),
			 STORE_OK);
	assert_int_equal(count, 1);
	assert_int_equal(keys, 1);
	assert_int_equal(found[0].calls, 5);
	assert_int_equal(found[0].at, MIDNIGHT + 13);
	assert_string_equal(found[0].address, "203.0.113.13, 203.0.113.12, 203.0.113.11");
	/* One more hour over the threshold, earlier: still one line for the key, at its latest hour. */
	const struct store_usage_event earlier[] = { { 1, k, MIDNIGHT - 2 * HOUR, "/v1/a", "192.0.2.1", "disabled", 12, false } };
	write_events(fixture, earlier, 1);
	roll_all(fixture);
	assert_int_equal(store_usage_spikes(fixture->db->store, fixture->db->arena, 1, 0, day, 10, 20, &found, &count,
					    &keys),
			 STORE_OK);
	assert_int_equal(count, 1);
	assert_int_equal(keys, 1);
	assert_int_equal(found[0].at, MIDNIGHT + HOUR);
	assert_int_equal(found[0].calls, 11); /* in the latest hour */
	/* 12 two hours before midnight; 11 from midnight (10, and 1 of the new addresses'); 11 after. */
	assert_int_equal(found[0].refused, 34);
	assert_int_equal(found[0].hours, 3);
}

static void test_retention_keeps_what_it_should(void **state)
{
	struct fixture *fixture = *state;
	int64_t k = fixture->key, now = MIDNIGHT;
	const struct store_usage_event events[] = {
		{ 1, k, now - 31 * DAY, "/old", "192.0.2.1", "granted", 1, false },   /* raw: past 30 days */
		{ 1, k, now - 29 * DAY, "/kept", "192.0.2.1", "granted", 1, false },  /* raw: kept */
		{ 1, k, now - 401 * DAY, "/ancient", "192.0.2.1", "granted", 1, false }, /* hourly: past 400 days */
	};
	write_events(fixture, events, 3);
	const struct store_usage_event waiting[] = { { 1, k, now - 50 * DAY, "/waiting", "192.0.2.1", "granted", 1, false } };
	roll_all(fixture);
	write_events(fixture, waiting, 1); /* old but not rolled up: kept until it is */
	size_t deleted = 0;
	assert_int_equal(store_usage_prune(fixture->db->store, now - 30 * DAY, now - 400 * DAY, now - 32 * DAY, 1, &deleted),
			 STORE_OK);
	assert_true(deleted > 0);
	do
		assert_int_equal(store_usage_prune(fixture->db->store, now - 30 * DAY, now - 400 * DAY, now - 32 * DAY, 1,
						   &deleted),
				 STORE_OK);
	while (deleted > 0);
	struct test_db *db = fixture->db;
	assert_int_equal(test_db_integer(db, "SELECT count(*) FROM usage_event WHERE endpoint IN ('/old', '/ancient')"), 0);
	assert_int_equal(test_db_integer(db, "SELECT count(*) FROM usage_event WHERE endpoint IN ('/kept', '/waiting')"), 2);
	assert_int_equal(test_db_integer(db, "SELECT count(*) FROM usage_hourly_endpoint WHERE endpoint = '/old'"), 1);
	assert_int_equal(test_db_integer(db, "SELECT count(*) FROM usage_hourly_endpoint WHERE endpoint = '/ancient'"), 0);
	assert_int_equal(test_db_integer(db, "SELECT count(*) FROM usage_hourly WHERE hour < %lld", now - 400 * DAY), 0);
	assert_int_equal(test_db_integer(db, "SELECT count(*) FROM usage_hourly_address WHERE hour < %lld",
					 now - 400 * DAY), 0);
	/* Daily rows serve the periods only: 32 days. */
	assert_int_equal(test_db_integer(db, "SELECT count(*) FROM usage_daily_endpoint WHERE endpoint = '/old'"), 1);
	assert_int_equal(test_db_integer(db, "SELECT count(*) FROM usage_daily_endpoint WHERE endpoint = '/ancient'"), 0);
	assert_int_equal(test_db_integer(db, "SELECT count(*) FROM usage_daily_address WHERE day < %lld", now - 32 * DAY),
			 0);
	assert_int_equal(test_db_integer(db, "SELECT count(*) FROM usage_daily_key WHERE day < %lld", now - 32 * DAY), 0);
	assert_int_equal(test_db_integer(db, "SELECT count(*) FROM usage_hourly_workspace WHERE hour < %lld",
					 now - 400 * DAY), 0);
	test_db_assert_no_transaction(db);
}

static void test_dashboard_lists(void **state)
{
	struct fixture *fixture = *state;
	struct test_db *db = fixture->db;
	/* key: used 40 days ago; other: never used; a third, revoked, is in no list. */
	test_db_execute(db, "INSERT INTO api_key_last_used (api_key_id, at) SELECT id, 1795392000 - 40 * 86400 FROM "
			    "api_key WHERE key_id = 'key_insightAAAAAAA'");
	int64_t revoked = add_key(db, "key_insightCCCCCCC", MIDNIGHT - 300 * DAY);
	test_db_execute(db, "UPDATE api_key SET revoked_at = 1795392000 WHERE key_id = 'key_insightCCCCCCC'");
	(void)revoked;
	struct store_key_brief *keys = NULL;
	size_t count = 0;
	int64_t total = 0;
	struct store_usage_span span = { 0, 0 };
	assert_int_equal(store_key_briefs(db->store, db->arena, 1, STORE_BRIEF_NEVER_USED, &span, 10, &keys, &count, &total),
			 STORE_OK);
	assert_int_equal(count, 1);
	assert_int_equal(total, 1);
	assert_string_equal(keys[0].key_id, "key_insightBBBBBBB");
	span.since = MIDNIGHT - 30 * DAY;
	assert_int_equal(store_key_briefs(db->store, db->arena, 1, STORE_BRIEF_UNUSED_SINCE, &span, 10, &keys, &count, &total),
			 STORE_OK);
	assert_int_equal(count, 1);
	assert_string_equal(keys[0].key_id, "key_insightAAAAAAA");
	assert_int_equal(keys[0].at, MIDNIGHT - 40 * DAY);
	span.since = MIDNIGHT - 90 * DAY;
	assert_int_equal(store_key_briefs(db->store, db->arena, 1, STORE_BRIEF_SECRET_OLDER, &span, 10, &keys, &count, &total),
			 STORE_OK);
	assert_int_equal(count, 1);
	assert_string_equal(keys[0].key_id, "key_insightAAAAAAA");
	write_edge_events(fixture);
	span = (struct store_usage_span){ MIDNIGHT, MIDNIGHT };
	assert_int_equal(store_key_briefs(db->store, db->arena, 1, STORE_BRIEF_BUSIEST, &span, 1, &keys, &count, &total),
			 STORE_OK);
	assert_int_equal(count, 1);
	assert_int_equal(total, 2);
	assert_string_equal(keys[0].key_id, "key_insightAAAAAAA");
	assert_int_equal(keys[0].calls, 8);
	assert_int_equal(keys[0].refused, 3);
}

/* ---- generated traffic, summed by hand ------------------------------------------------------- */

#define GENERATED 2500
static const char *const endpoints[] = { "/v1/a", "/v1/b", "/v1/c", "/v1/d/x", "/v2/e" };
static const char *const addresses[] = { "192.0.2.1", "192.0.2.2", "198.51.100.3", "2001:db8::4", "203.0.113.5",
					  "10.0.0.6" };
static const char *const outcomes[] = { "granted", "granted", "granted", "ip_not_allowed", "disabled" };
#define COUNT_OF(array) (sizeof(array) / sizeof((array)[0]))

static uint64_t lcg(uint64_t *seed)
{
	*seed = *seed * 6364136223846793005ULL + 1442695040888963407ULL;
	return *seed >> 33;
}

/*
 * GENERATED events of both keys, in time order as the writer stores them, from 35 days before
 * MIDNIGHT to 10 minutes after it, with more of them near the edges that matter: the last hours
 * before midnight, the first after it, and a week and 30 days back.
 */
static struct store_usage_event *generate(struct fixture *fixture, uint64_t seed)
{
	struct store_usage_event *events = xcalloc(GENERATED, sizeof *events);
	int64_t edges[] = { MIDNIGHT, MIDNIGHT - 6 * DAY, MIDNIGHT - 7 * DAY + HOUR, MIDNIGHT - 29 * DAY, MIDNIGHT - DAY };
	for (size_t i = 0; i < GENERATED; i++) {
		int64_t at;
		if (i % 3 == 0) /* within two hours of an edge */
			at = edges[lcg(&seed) % COUNT_OF(edges)] - 2 * HOUR + (int64_t)(lcg(&seed) % (4 * HOUR));
		else
			at = MIDNIGHT - 35 * DAY + (int64_t)(lcg(&seed) % (35 * DAY));
		if (at >= MIDNIGHT + 600)
			at = MIDNIGHT + 599;
		events[i] = (struct store_usage_event){ 1, lcg(&seed) % 3 ? fixture->key : fixture->other, at,
							endpoints[lcg(&seed) % COUNT_OF(endpoints)],
							addresses[lcg(&seed) % COUNT_OF(addresses)],
							outcomes[lcg(&seed) % COUNT_OF(outcomes)], 1 + (int64_t)(lcg(&seed) % 3), false };
	}
	for (size_t i = 1; i < GENERATED; i++) /* insertion sort by time */
		for (size_t j = i; j > 0 && events[j - 1].at > events[j].at; j--) {
			struct store_usage_event swap = events[j];
			events[j] = events[j - 1];
			events[j - 1] = swap;
		}
	return events;
}

static bool refused(const struct store_usage_event *event)
{
	return strcmp(event->outcome, "granted") != 0;
}

/*
 * What the store says of a window and `key` against sums over `events`, by hand; the first
 * `rolled` of them are rolled up (first seen reaches back past the window through those only).
 */
static void check_window(struct fixture *fixture, const struct store_usage_event *events, size_t rolled, int64_t key,
			 enum insight_period period, int64_t now)
{
	struct store *store = fixture->db->store;
	struct arena *arena = fixture->db->arena;
	struct insight_window window;
	insight_window(period, now, &window);
	assert_true(window.span.since <= window.span.days_from);
	assert_int_equal(window.span.days_from % DAY, 0);
	/* The series, bucket by bucket. */
	int64_t granted[INSIGHT_BUCKETS_MAX] = { 0 }, refusals[INSIGHT_BUCKETS_MAX] = { 0 };
	for (size_t i = 0; i < GENERATED; i++)
		if (events[i].api_key_id == key && events[i].at >= window.since) {
			int64_t *sums = refused(&events[i]) ? refusals : granted;
			sums[(events[i].at - window.since) / window.step] += events[i].calls;
		}
	struct store_usage_bucket *sparse = NULL;
	size_t count = 0;
	assert_int_equal(store_usage_series(store, arena, 1, key, NULL, window.since, window.step, &sparse, &count),
			 STORE_OK);
	struct insight_bucket filled[INSIGHT_BUCKETS_MAX];
	insight_fill(&window, sparse, count, filled);
	for (size_t b = 0; b < window.buckets; b++) {
		assert_int_equal(filled[b].granted, granted[b]);
		assert_int_equal(filled[b].refused, refusals[b]);
	}
	/* Each endpoint and each address: calls, refused, first and last seen. */
	for (int kind = 0; kind < 2; kind++) {
		const char *const *names = kind == 0 ? endpoints : addresses;
		size_t name_count = kind == 0 ? COUNT_OF(endpoints) : COUNT_OF(addresses);
		struct store_usage_filter filter = { window.span, 20, NULL, false };
		struct store_usage_item *items = NULL;
		int64_t total = 0;
		enum store_status status =
			kind == 0 ? store_usage_endpoints(store, arena, key, &filter, &items, &count, &total)
				  : store_usage_addresses(store, arena, key, &filter, &items, &count, &total);
		assert_int_equal(status, STORE_OK);
		size_t expected_count = 0;
		for (size_t n = 0; n < name_count; n++) {
			int64_t calls = 0, refused_calls = 0, first = INT64_MAX, last = 0;
			for (size_t i = 0; i < GENERATED; i++) {
				const char *name = kind == 0 ? events[i].endpoint : events[i].client_address;
				if (events[i].api_key_id != key || strcmp(name, names[n]) != 0)
					continue;
				if (events[i].at < first && (i < rolled || events[i].at >= window.since))
					first = events[i].at; /* first seen: ever, not just in the window */
				if (events[i].at < window.since)
					continue;
				calls += events[i].calls;
				refused_calls += refused(&events[i]) ? events[i].calls : 0;
				last = events[i].at > last ? events[i].at : last;
			}
			const struct store_usage_item *item = NULL;
			for (size_t i = 0; i < count; i++)
				if (strcmp(items[i].name, names[n]) == 0)
					item = &items[i];
			if (calls == 0) {
				assert_null(item);
				continue;
			}
			expected_count++;
			assert_non_null(item);
			assert_int_equal(item->calls, calls);
			assert_int_equal(item->refused, refused_calls);
			assert_int_equal(item->last_seen, last);
			if (kind == 1)
				assert_int_equal(item->first_seen, first);
		}
		assert_int_equal(count, expected_count);
		assert_int_equal(total, (int64_t)expected_count);
		for (size_t i = 1; i < count; i++)
			assert_true(items[i - 1].calls >= items[i].calls); /* busiest first */
	}
	/* The busiest keys of the workspace. */
	struct store_key_brief *keys = NULL;
	int64_t total = 0;
	assert_int_equal(store_key_briefs(store, arena, 1, STORE_BRIEF_BUSIEST, &window.span, 10, &keys, &count, &total),
			 STORE_OK);
	for (size_t k = 0; k < count; k++) {
		int64_t row = strcmp(keys[k].key_id, "key_insightAAAAAAA") == 0 ? fixture->key : fixture->other;
		int64_t calls = 0, refused_calls = 0;
		for (size_t i = 0; i < GENERATED; i++)
			if (events[i].api_key_id == row && events[i].at >= window.since) {
				calls += events[i].calls;
				refused_calls += refused(&events[i]) ? events[i].calls : 0;
			}
		assert_int_equal(keys[k].calls, calls);
		assert_int_equal(keys[k].refused, refused_calls);
	}
	assert_int_equal(count, 2);
}

static void check_every_window(struct fixture *fixture, const struct store_usage_event *events, size_t rolled)
{
	/* Just after the last event; half past midnight; noon; a second before the next midnight. */
	const int64_t nows[] = { MIDNIGHT + 600, MIDNIGHT + 1800, MIDNIGHT + 12 * HOUR, MIDNIGHT + DAY - 1 };
	for (size_t n = 0; n < COUNT_OF(nows); n++)
		for (int period = 0; period < INSIGHT_PERIOD_COUNT; period++) {
			check_window(fixture, events, rolled, fixture->key, (enum insight_period)period, nows[n]);
			check_window(fixture, events, rolled, fixture->other, (enum insight_period)period, nows[n]);
		}
}

static void test_generated_traffic_matches_sums_by_hand(void **state)
{
	struct fixture *fixture = *state;
	struct store_usage_event *events = generate(fixture, 42);
	write_events(fixture, events, GENERATED);
	check_every_window(fixture, events, 0); /* raw rows only */
	size_t rolled = 0;
	assert_int_equal(store_usage_rollup(fixture->db->store, GENERATED / 2, NEW_ADDRESS, &rolled), STORE_OK);
	assert_int_equal(rolled, GENERATED / 2);
	check_every_window(fixture, events, GENERATED / 2); /* half rolled up: the older half */
	do
		assert_int_equal(store_usage_rollup(fixture->db->store, 97, NEW_ADDRESS, &rolled), STORE_OK);
	while (rolled == 97);
	check_every_window(fixture, events, GENERATED); /* all rolled up, in odd chunks */
	free(events);
}

/* ---- the watermark and upkeep ---------------------------------------------------------------- */

/* Once retention has emptied usage_event, new rows must still get ids past the watermark. */
static void test_ids_are_never_used_twice(void **state)
{
	struct fixture *fixture = *state;
	int64_t k = fixture->key;
	const struct store_usage_event old[] = { { 1, k, MIDNIGHT - 40 * DAY, "/v1/a", "192.0.2.1", "granted", 1, false },
						 { 1, k, MIDNIGHT - 39 * DAY, "/v1/a", "192.0.2.1", "granted", 1, false } };
	write_events(fixture, old, 2);
	roll_all(fixture);
	size_t deleted = 0;
	assert_int_equal(store_usage_prune(fixture->db->store, MIDNIGHT - 30 * DAY, MIDNIGHT - 400 * DAY,
					   MIDNIGHT - 32 * DAY, 100, &deleted),
			 STORE_OK);
	assert_int_equal(test_db_integer(fixture->db, "SELECT count(*) FROM usage_event"), 0);
	const struct store_usage_event fresh[] = { { 1, k, MIDNIGHT, "/v1/new", "192.0.2.1", "granted", 5, false } };
	write_events(fixture, fresh, 1);
	assert_true(test_db_integer(fixture->db, "SELECT min(id) FROM usage_event") >
		    test_db_integer(fixture->db, "SELECT rolled_to FROM usage_rollup"));
	size_t rolled = 0;
	assert_int_equal(store_usage_rollup(fixture->db->store, 100, NEW_ADDRESS, &rolled), STORE_OK);
	assert_int_equal(rolled, 1);
	assert_int_equal(test_db_integer(fixture->db, "SELECT calls FROM usage_hourly_endpoint WHERE endpoint = '/v1/new'"),
			 5);
}

/* Two processes' upkeep: one takes the hour's retention turn and finishes it over several rounds. */
static void test_upkeep_rolls_up_and_takes_turns_at_retention(void **state)
{
	struct fixture *fixture = *state;
	struct test_db *db = fixture->db;
	int64_t k = fixture->key, now = MIDNIGHT + HOUR;
	struct store_usage_event events[40];
	for (size_t i = 0; i < 40; i++)
		events[i] = (struct store_usage_event){ 1, k, MIDNIGHT - (int64_t)(i < 30 ? 60 : 1) * DAY + (int64_t)i,
							"/v1/a", "192.0.2.1", "granted", 1, false };
	write_events(fixture, events, 40);
	struct config config = db->config;
	config.usage_raw_days = 30;
	config.usage_hourly_days = 400;
	char error[256];
	struct store *second = store_open(config.database_path, error, sizeof error);
	assert_non_null(second);
	/* One chunk of 7 per round: the rollup needs 6 rounds, and says so while it does. */
	struct insight_upkeep first = { 0 }, other = { 0 };
	assert_true(insight_maintain(db->store, &config, now, 7, 1, false, &first));
	assert_int_equal(first.rolled, 7);
	assert_true(first.more);
	assert_true(first.pruning); /* never pruned before: its turn */
	assert_true(insight_maintain(second, &config, now, 7, 1, false, &other));
	assert_false(other.pruning); /* the hour's turn is taken */
	size_t rounds = 0;
	while (first.more && rounds++ < 50)
		assert_true(insight_maintain(db->store, &config, now, 7, 1, false, &first));
	assert_false(first.more);
	assert_false(first.pruning);
	assert_int_equal(test_db_integer(db, "SELECT count(*) FROM usage_event"), 10); /* the 30 old ones went */
	assert_int_equal(test_db_integer(db, "SELECT sum(calls) FROM usage_hourly"), 40);
	/* Within the hour nobody prunes; `prune_now` does at once. */
	assert_true(insight_maintain(second, &config, now + 60, 7, 1, false, &other));
	assert_false(other.pruning);
	assert_true(insight_maintain(second, &config, now + 60, 7, 10, true, &other));
	assert_false(other.pruning);
	assert_false(other.more);
	store_close(second);
	test_db_assert_no_transaction(db);
}

/* ---- requests without a valid key (usage_refused_hourly) -------------------------------------- */

static void write_refusals(struct fixture *fixture, const struct store_refusal_count *refusals, size_t count)
{
	assert_int_equal(store_usage_write(fixture->db->store, NULL, 0, NULL, 0, NULL, 0, refusals, count), STORE_OK);
}

/* Written with the rest of a batch, added up across batches, read per workspace and period, busiest first. */
static void test_refused_counts(void **state)
{
	struct fixture *fixture = *state;
	int64_t h = MIDNIGHT;
	const struct store_refusal_count first[] = {
		{ h, 1, "192.0.2.1", "missing_key", 5 },
		{ h, 1, "192.0.2.1", "invalid_key", 2 },
		{ h + HOUR, 1, "192.0.2.1", "missing_key", 1 },
		{ h, 1, "2001:db8:1:2::/64", "invalid_key", 7 },
		{ h, 1, "(invalid)", "invalid_key", 1 },
		{ h - 2 * DAY, 1, "198.51.100.1", "missing_key", 100 }, /* before the period read below */
		{ h, 2, "192.0.2.1", "missing_key", 50 },              /* another workspace */
		{ h, 99, "192.0.2.1", "missing_key", 3 },              /* a workspace not made: no foreign key refuses it */
	};
	write_refusals(fixture, first, sizeof first / sizeof first[0]);
	const struct store_refusal_count second[] = { { h, 1, "192.0.2.1", "missing_key", 4 } };
	write_refusals(fixture, second, 1);
	assert_int_equal(test_db_integer(fixture->db, "SELECT calls FROM usage_refused_hourly WHERE hour = %lld AND "
						      "workspace_id = 1 AND client_address = '192.0.2.1' AND "
						      "outcome = 'missing_key'",
					 (long long)h),
			 9);

	struct store_refused_address *rows = NULL;
	size_t count = 0;
	int64_t address_count = 0, calls = 0;
	assert_int_equal(store_usage_refused(fixture->db->store, fixture->db->arena, 1, h - HOUR, 2, &rows, &count,
					     &address_count, &calls),
			 STORE_OK);
	assert_int_equal(count, 2);
	assert_int_equal(address_count, 3);
	assert_int_equal(calls, 9 + 2 + 1 + 7 + 1);
	assert_string_equal(rows[0].address, "192.0.2.1");
	assert_int_equal(rows[0].calls, 12);
	assert_int_equal(rows[0].missing_key, 10);
	assert_int_equal(rows[0].invalid_key, 2);
	assert_string_equal(rows[1].address, "2001:db8:1:2::/64");
	assert_int_equal(rows[1].calls, 7);
	assert_int_equal(rows[1].missing_key, 0);
	assert_int_equal(rows[1].invalid_key, 7);
	/* A longer period takes in the older hour; another workspace sees its own only. */
	assert_int_equal(store_usage_refused(fixture->db->store, fixture->db->arena, 1, h - 3 * DAY, 10, &rows, &count,
					     &address_count, &calls),
			 STORE_OK);
	assert_int_equal(count, 4);
	assert_int_equal(calls, 120);
	assert_string_equal(rows[0].address, "198.51.100.1");
	assert_string_equal(rows[3].address, "(invalid)");
	assert_int_equal(store_usage_refused(fixture->db->store, fixture->db->arena, 2, h - 3 * DAY, 10, &rows, &count,
					     &address_count, &calls),
			 STORE_OK);
	assert_int_equal(count, 1);
	assert_int_equal(calls, 50);
	/* None: nothing, and zeros. */
	assert_int_equal(store_usage_refused(fixture->db->store, fixture->db->arena, 3, h - 3 * DAY, 10, &rows, &count,
					     &address_count, &calls),
			 STORE_OK);
	assert_int_equal(count, 0);
	assert_int_equal(address_count, 0);
	assert_int_equal(calls, 0);

	/* Retention: with the raw usage, in every workspace (the one never made included), in small pieces. */
	size_t deleted = 0, total = 0;
	do {
		assert_int_equal(store_usage_prune(fixture->db->store, h - DAY, h - 400 * DAY, h - 32 * DAY, 1, &deleted),
				 STORE_OK);
		total += deleted;
	} while (deleted > 0);
	assert_int_equal(total, 1);
	assert_int_equal(test_db_integer(fixture->db, "SELECT count(*) FROM usage_refused_hourly WHERE hour < %lld",
					 (long long)h - DAY),
			 0);
	do
		assert_int_equal(store_usage_prune(fixture->db->store, h + 1, h - 400 * DAY, h - 32 * DAY, 2, &deleted),
				 STORE_OK);
	while (deleted > 0);
	assert_string_equal(test_db_joined(fixture->db, ",", "SELECT hour - %lld FROM usage_refused_hourly ORDER BY hour",
					   (long long)h),
			    "3600"); /* one row, an HOUR on */
	test_db_assert_no_transaction(fixture->db);
}

/* A failed batch writes none of its parts: the counts of strangers go with the events, or not at all. */
static void test_a_failed_batch_leaves_no_refused_counts(void **state)
{
	struct fixture *fixture = *state;
	const struct store_usage_event bad[] = { { 1, fixture->key, MIDNIGHT, "/x", "192.0.2.1", "granted", 0, false } }; /* calls > 0 */
	const struct store_refusal_count refusals[] = { { MIDNIGHT, 1, "192.0.2.9", "missing_key", 4 } };
	assert_int_not_equal(store_usage_write(fixture->db->store, bad, 1, NULL, 0, NULL, 0, refusals, 1), STORE_OK);
	assert_int_equal(test_db_integer(fixture->db, "SELECT count(*) FROM usage_refused_hourly"), 0);
	const struct store_refusal_count none[] = { { MIDNIGHT, 1, "192.0.2.9", "missing_key", 0 } }; /* calls > 0 */
	assert_int_not_equal(store_usage_write(fixture->db->store, NULL, 0, NULL, 0, NULL, 0, none, 1), STORE_OK);
	test_db_assert_no_transaction(fixture->db);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_periods_and_their_buckets),
		cmocka_unit_test_setup_teardown(test_the_rollup_sums_by_utc_hour, setup, teardown),
		cmocka_unit_test_setup_teardown(test_pages_read_rolled_up_and_waiting_rows_alike, setup, teardown),
		cmocka_unit_test_setup_teardown(test_endpoints_addresses_and_outcomes, setup, teardown),
		cmocka_unit_test_setup_teardown(test_off_the_record_counts, setup, teardown),
		cmocka_unit_test_setup_teardown(test_warnings, setup, teardown),
		cmocka_unit_test_setup_teardown(test_retention_keeps_what_it_should, setup, teardown),
		cmocka_unit_test_setup_teardown(test_dashboard_lists, setup, teardown),
		cmocka_unit_test_setup_teardown(test_generated_traffic_matches_sums_by_hand, setup, teardown),
		cmocka_unit_test_setup_teardown(test_ids_are_never_used_twice, setup, teardown),
		cmocka_unit_test_setup_teardown(test_upkeep_rolls_up_and_takes_turns_at_retention, setup, teardown),
		cmocka_unit_test_setup_teardown(test_refused_counts, setup, teardown),
		cmocka_unit_test_setup_teardown(test_a_failed_batch_leaves_no_refused_counts, setup, teardown),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
