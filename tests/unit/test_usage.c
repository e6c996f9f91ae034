/* test_usage.c: unit tests for the usage recorder (buffer, batches, flusher thread, shutdown) on real SQLite files. */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include <fcntl.h>
#include <pthread.h>
#include <sodium.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "support.h"

#include "core/alloc.h"
#include "core/config.h"
#include "domain/keys.h"
#include "domain/token.h"
#include "domain/usage.h"
#include "domain/verify.h"
#include "store/store.h"

#define HOUR 3600
#define BASE ((int64_t)1700000000 - (int64_t)1700000000 % HOUR) /* the start of an hour */

struct test_key {
	char key_id[TOKEN_KEY_ID_LENGTH + 1];
	char token[TOKEN_MAX_LENGTH + 1];
	int64_t row_id;
};

/*
 * A database with keys of every kind, and a verify_result for each decision the tests record,
 * made by verify_decide() on those real keys.
 */
struct fixture {
	struct test_db *db;
	struct test_key normal;     /* admin, enabled, no allowlist */
	struct test_key revoked;    /* revoked */
	struct test_key quiet;      /* off the record, enabled */
	struct test_key quiet_off;  /* off the record, disabled */
	struct test_key office;     /* allowlist 198.51.100.0/24 */
	struct verify_result granted, refused_revoked, unknown, quiet_granted, quiet_refused, office_granted,
		office_refused;
};

static struct test_key make_key(struct fixture *fixture, const char *name, bool enabled, bool off_record,
				const char *cidr)
{
	struct store_cidr list[1] = { { cidr, "" } };
	struct store_key_fields fields = {
		.name = name, .name_folded = name, .postback_url = "", .off_record = off_record, .enabled = enabled,
		.role_id = fixture->db->admin_role, .cidrs = list, .cidr_count = cidr ? 1 : 0,
	};
	struct test_key key;
	memset(&key, 0, sizeof key);
	test_key_create(fixture->db, &fields, BASE - 100 * HOUR, key.key_id, key.token, &key.row_id);
	return key;
}

static void decide(struct fixture *fixture, const char *token, const char *address, struct verify_result *result,
		   enum verify_code expected)
{
	struct verify_request request = {
		.key = token, .key_length = strlen(token), .client_address = address, .endpoint = "/x"
	};
	verify_decide(fixture->db->store, NULL, &fixture->db->config, fixture->db->arena, &request, result);
	assert_int_equal(result->code, expected);
}

static int setup(void **state)
{
	struct fixture *fixture = xcalloc(1, sizeof *fixture);
	fixture->db = test_db_open("usage");
	if (fixture->db == NULL || fixture->db->admin_role == 0) {
		test_db_close(fixture->db);
		free(fixture);
		return -1;
	}
	*state = fixture;

	fixture->normal = make_key(fixture, "Normal", true, false, NULL);
	fixture->revoked = make_key(fixture, "Revoked", true, false, NULL);
	assert_int_equal(
		store_key_revoke(fixture->db->store, STORE_DEFAULT_WORKSPACE, fixture->revoked.key_id, BASE - HOUR),
		STORE_OK);
	fixture->quiet = make_key(fixture, "Quiet", true, true, NULL);
	fixture->quiet_off = make_key(fixture, "Quiet, disabled", false, true, NULL);
	fixture->office = make_key(fixture, "Office", true, false, "198.51.100.0/24");

	char key_id[TOKEN_KEY_ID_LENGTH + 1], unknown[TOKEN_MAX_LENGTH + 1];
	token_generate_key_id(key_id);
	token_generate("kw_", key_id, unknown);
	decide(fixture, fixture->normal.token, "192.0.2.1", &fixture->granted, VERIFY_GRANTED);
	decide(fixture, fixture->revoked.token, "192.0.2.1", &fixture->refused_revoked, VERIFY_REVOKED);
	decide(fixture, unknown, "192.0.2.1", &fixture->unknown, VERIFY_INVALID_KEY);
	decide(fixture, fixture->quiet.token, "192.0.2.1", &fixture->quiet_granted, VERIFY_GRANTED);
	decide(fixture, fixture->quiet_off.token, "192.0.2.1", &fixture->quiet_refused, VERIFY_DISABLED);
	decide(fixture, fixture->office.token, "198.51.100.9", &fixture->office_granted, VERIFY_GRANTED);
	decide(fixture, fixture->office.token, "192.0.2.1", &fixture->office_refused, VERIFY_IP_NOT_ALLOWED);
	return 0;
}

static int teardown(void **state)
{
	struct fixture *fixture = *state;
	int removed = test_db_close(fixture->db);
	free(fixture);
	return removed;
}

static struct usage *start(struct fixture *fixture)
{
	char error[256] = "";
	struct usage *usage = usage_start(&fixture->db->config, error, sizeof error);
	if (usage == NULL)
		fail_msg("usage_start: %s", error);
	return usage;
}

static long long event_count(const struct fixture *fixture)
{
	return test_db_integer(fixture->db, "SELECT coalesce(sum(calls), 0) FROM usage_event");
}

/* When a key was last used (api_key_last_used); -1 when never. */
static long long last_used(const struct fixture *fixture, const struct test_key *key)
{
	return test_db_integer(fixture->db, "SELECT (SELECT at FROM api_key_last_used WHERE api_key_id = %lld)",
			       (long long)key->row_id);
}

static long long anonymous_calls(const struct fixture *fixture, const struct test_key *key, int64_t hour)
{
	return test_db_integer(
		fixture->db,
		"SELECT coalesce(sum(calls), 0) FROM usage_anonymous_hourly WHERE api_key_id = %lld AND hour = %lld",
		(long long)key->row_id, (long long)hour);
}

static double seconds_since(const struct timespec *start_time)
{
	struct timespec now;
	clock_gettime(CLOCK_MONOTONIC, &now);
	return (double)(now.tv_sec - start_time->tv_sec) + (double)(now.tv_nsec - start_time->tv_nsec) / 1e9;
}

static void sleep_ms(long milliseconds)
{
	struct timespec pause = { milliseconds / 1000, (milliseconds % 1000) * 1000000L };
	nanosleep(&pause, NULL);
}

/* ---- what is written -------------------------------------------------------------------------- */

#define THREADS 4
#define PER_THREAD 400

struct recorder {
	struct usage *usage;
	const struct fixture *fixture;
	int number;
};

/*
 * Each thread records, in turn: a grant, a revoked key, an unknown key, an off-the-record grant.
 * Endpoint, address and time encode the thread and the turn, so that every row can be checked.
 */
static void *record_many(void *argument)
{
	struct recorder *recorder = argument;
	const struct fixture *fixture = recorder->fixture;
	for (int i = 0; i < PER_THREAD; i++) {
		char endpoint[64], address[64];
		snprintf(endpoint, sizeof endpoint, "/t%d/%d", recorder->number, i);
		snprintf(address, sizeof address, "10.%d.%d.%d", recorder->number, i / 256, i % 256);
		const struct verify_result *results[] = { &fixture->granted, &fixture->refused_revoked, &fixture->unknown,
							  &fixture->quiet_granted };
		usage_record(recorder->usage, results[i % 4], endpoint, address, BASE + recorder->number * 10000 + i);
		/* What was handed over is copied: scribbling on it afterwards changes nothing. */
		memset(endpoint, 'X', sizeof endpoint - 1);
		memset(address, 'Y', sizeof address - 1);
	}
	return NULL;
}

static void test_every_event_from_several_threads_is_written(void **state)
{
	struct fixture *fixture = *state;
	struct usage *usage = start(fixture);
	pthread_t threads[THREADS];
	struct recorder recorders[THREADS];
	for (int t = 0; t < THREADS; t++) {
		recorders[t] = (struct recorder){ usage, fixture, t };
		assert_int_equal(pthread_create(&threads[t], NULL, record_many, &recorders[t]), 0);
	}
	for (int t = 0; t < THREADS; t++)
		pthread_join(threads[t], NULL);
	assert_true(usage_flush(usage));

	const long long per_kind = THREADS * PER_THREAD / 4;
	assert_int_equal(event_count(fixture), 2 * per_kind);
	assert_int_equal(test_db_integer(fixture->db,
					 "SELECT coalesce(sum(calls), 0) FROM usage_event WHERE api_key_id = %lld "
					 "AND outcome = 'granted'",
					 (long long)fixture->normal.row_id),
			 per_kind);
	assert_int_equal(test_db_integer(fixture->db,
					 "SELECT coalesce(sum(calls), 0) FROM usage_event WHERE api_key_id = %lld "
					 "AND outcome = 'revoked'",
					 (long long)fixture->revoked.row_id),
			 per_kind);
	/* The unknown key: counted per address and hour, in the first served workspace, no row of its own. */
	assert_int_equal(test_db_integer(fixture->db, "SELECT count(*) FROM usage_event WHERE api_key_id IS NULL"), 0);
	assert_int_equal(test_db_integer(fixture->db,
					 "SELECT coalesce(sum(calls), 0) FROM usage_refused_hourly WHERE "
					 "outcome = 'invalid_key' AND workspace_id = %d",
					 STORE_DEFAULT_WORKSPACE),
			 per_kind);
	/* Each of its calls came from an address of its own: one count each, in the hour of its time. */
	assert_int_equal(test_db_integer(fixture->db, "SELECT count(DISTINCT client_address) FROM usage_refused_hourly"),
			 per_kind);
	assert_int_equal(test_db_integer(fixture->db, "SELECT max(calls) FROM usage_refused_hourly"), 1);
	assert_int_equal(test_db_integer(fixture->db,
					 "SELECT count(*) FROM usage_refused_hourly WHERE hour %% 3600 != 0 OR "
					 "client_address NOT LIKE '10.%%'"),
			 0);
	/* Off the record: no event row, only the count. */
	assert_int_equal(test_db_integer(fixture->db,
					 "SELECT coalesce(sum(calls), 0) FROM usage_event WHERE api_key_id = %lld",
					 (long long)fixture->quiet.row_id),
			 0);
	assert_int_equal(
		test_db_integer(fixture->db,
				"SELECT coalesce(sum(calls), 0) FROM usage_anonymous_hourly WHERE api_key_id = %lld",
				(long long)fixture->quiet.row_id),
		per_kind);
	assert_int_equal(test_db_integer(fixture->db,
					 "SELECT count(*) FROM usage_anonymous_hourly WHERE api_key_id != %lld",
					 (long long)fixture->quiet.row_id),
			 0);
	/* Every row holds the endpoint, address and time its thread gave it, each exactly once. */
	assert_int_equal(test_db_integer(fixture->db, "SELECT count(DISTINCT endpoint) FROM usage_event"),
			 2 * per_kind);
	assert_int_equal(
		test_db_integer(
			fixture->db,
			"SELECT coalesce(sum(calls), 0) FROM usage_event WHERE "
			"endpoint = '/t' || ((at - %lld) / 10000) || '/' || ((at - %lld) %% 10000) AND "
			"client_address = '10.' || ((at - %lld) / 10000) || '.' || (((at - %lld) %% 10000) / 256) "
			"|| '.' || (((at - %lld) %% 10000) %% 256)",
			(long long)BASE, (long long)BASE, (long long)BASE, (long long)BASE, (long long)BASE),
		2 * per_kind);
	/* last_used: the latest grant, for granted keys only. */
	long long latest = BASE + (THREADS - 1) * 10000 + (PER_THREAD - 4);          /* i % 4 == 0 */
	long long latest_quiet = BASE + (THREADS - 1) * 10000 + (PER_THREAD - 1);    /* i % 4 == 3 */
	assert_int_equal(last_used(fixture, &fixture->normal), latest);
	assert_int_equal(last_used(fixture, &fixture->quiet), latest_quiet);
	assert_int_equal(last_used(fixture, &fixture->revoked), -1);
	usage_stop(usage);
	/* Nothing was written twice. */
	assert_int_equal(event_count(fixture), 2 * per_kind);
	assert_int_equal(test_db_integer(fixture->db, "SELECT sum(calls) FROM usage_refused_hourly"), per_kind);
}

/* Paths and addresses are stored as valid UTF-8 (PostgreSQL takes nothing else): stray bytes become
 * '?', and the cut at the limit never splits a character. */
static void test_strings_are_kept_as_utf8(void **state)
{
	struct fixture *fixture = *state;
	struct usage *usage = start(fixture);
	usage_record(usage, &fixture->granted, "/caf\xc3\xa9/\xff\xfe/\xc3(/\xed\xa0\x80", "192.0.2.1\x80", BASE);
	char endpoint[USAGE_ENDPOINT_MAX + 2];
	memset(endpoint, 'e', sizeof endpoint - 1);
	endpoint[0] = '/';
	memcpy(endpoint + USAGE_ENDPOINT_MAX - 1, "\xc3\xa9", 2); /* é across the limit */
	endpoint[USAGE_ENDPOINT_MAX + 1] = '\0';
	usage_record(usage, &fixture->granted, endpoint, "192.0.2.2", BASE + 1);
	assert_true(usage_flush(usage));
	const char *text = test_db_text(fixture->db, "SELECT endpoint || ' ' || client_address FROM usage_event WHERE at = %lld",
				  (long long)BASE);
	assert_string_equal(text, "/caf\xc3\xa9/\?\?/\?(/\?\?\? 192.0.2.1\?"); /* \? keeps ?? from being a trigraph */
	assert_int_equal(test_db_integer(fixture->db, "SELECT %s FROM usage_event WHERE at = %lld",
					 test_sql(fixture->db, "length(CAST(endpoint AS BLOB))", "octet_length(endpoint)"),
					 (long long)BASE + 1),
			 USAGE_ENDPOINT_MAX - 1);
	usage_stop(usage);
}

static void test_strings_are_kept_within_limits(void **state)
{
	struct fixture *fixture = *state;
	struct usage *usage = start(fixture);
	char endpoint[USAGE_ENDPOINT_MAX + 100];
	memset(endpoint, 'e', sizeof endpoint - 1);
	endpoint[0] = '/';
	endpoint[sizeof endpoint - 1] = '\0';
	char address[USAGE_ADDRESS_MAX + 40];
	memset(address, 'a', sizeof address - 1);
	address[sizeof address - 1] = '\0';
	usage_record(usage, &fixture->granted, endpoint, address, BASE);
	usage_record(usage, &fixture->granted, NULL, NULL, BASE + 1);
	usage_record(usage, &fixture->unknown, "/caf\xc3\xa9?q='x\"", "2001:db8::1", BASE + 2);
	assert_true(usage_flush(usage));
	assert_int_equal(test_db_integer(fixture->db, "SELECT length(endpoint) FROM usage_event WHERE at = %lld",
					 (long long)BASE),
			 USAGE_ENDPOINT_MAX);
	assert_int_equal(test_db_integer(fixture->db, "SELECT length(client_address) FROM usage_event WHERE at = %lld",
					 (long long)BASE),
			 USAGE_ADDRESS_MAX);
	assert_int_equal(test_db_integer(fixture->db,
					 "SELECT coalesce(sum(calls), 0) FROM usage_event WHERE at = %lld "
					 "AND endpoint = '' AND client_address = ''",
					 (long long)BASE + 1),
			 1);
	/* The unknown key's endpoint is kept nowhere; its address as its /64. */
	assert_int_equal(test_db_integer(fixture->db, "SELECT count(*) FROM usage_event WHERE at = %lld",
					 (long long)BASE + 2),
			 0);
	assert_int_equal(test_db_integer(fixture->db,
					 "SELECT coalesce(sum(calls), 0) FROM usage_refused_hourly WHERE hour = %lld "
					 "AND client_address = '2001:db8::/64' AND outcome = 'invalid_key'",
					 (long long)BASE),
			 1);
	/* An empty flush is fine. */
	assert_true(usage_flush(usage));
	usage_stop(usage);
	usage_stop(NULL);
}

/* Identical decisions of one second share a row with their count; any difference makes a new row. */
static void test_identical_decisions_share_a_row(void **state)
{
	struct fixture *fixture = *state;
	struct usage *usage = start(fixture);
	for (int i = 0; i < 5; i++)
		usage_record(usage, &fixture->granted, "/same", "192.0.2.1", BASE);
	usage_record(usage, &fixture->granted, "/same", "192.0.2.1", BASE + 1);   /* another second */
	usage_record(usage, &fixture->granted, "/same", "192.0.2.2", BASE);       /* another address */
	usage_record(usage, &fixture->granted, "/other", "192.0.2.1", BASE);      /* another endpoint */
	usage_record(usage, &fixture->office_refused, "/same", "192.0.2.1", BASE); /* another key and outcome */
	usage_record(usage, &fixture->unknown, "/same", "192.0.2.1", BASE);
	usage_record(usage, &fixture->unknown, "/same", "192.0.2.1", BASE);
	assert_true(usage_flush(usage));
	for (int i = 0; i < 3; i++) /* the same decision in a later batch: a row of its own */
		usage_record(usage, &fixture->granted, "/same", "192.0.2.1", BASE);
	usage_stop(usage);

	assert_int_equal(event_count(fixture), 5 + 1 + 1 + 1 + 1 + 3);
	assert_int_equal(test_db_integer(fixture->db, "SELECT count(*) FROM usage_event"), 6);
	assert_int_equal(test_db_integer(fixture->db,
					 "SELECT calls FROM usage_event WHERE api_key_id = %lld AND at = %lld AND "
					 "endpoint = '/same' AND client_address = '192.0.2.1' ORDER BY id LIMIT 1",
					 (long long)fixture->normal.row_id, (long long)BASE),
			 5);
	assert_int_equal(test_db_integer(fixture->db, "SELECT calls FROM usage_refused_hourly WHERE outcome = 'invalid_key'"),
			 2);
	assert_int_equal(test_db_integer(fixture->db, "SELECT min(calls) FROM usage_event"), 1);
}

static void test_anonymous_hours(void **state)
{
	struct fixture *fixture = *state;
	struct usage *usage = start(fixture);
	const struct verify_result *quiet = &fixture->quiet_granted;
	usage_record(usage, quiet, "/a", "192.0.2.1", BASE - 1);            /* the hour before */
	usage_record(usage, quiet, "/a", "192.0.2.1", BASE);                /* first second of the hour */
	usage_record(usage, quiet, "/a", "192.0.2.1", BASE + HOUR - 1);     /* its last second: 3599 */
	usage_record(usage, quiet, "/a", "192.0.2.1", BASE + HOUR);         /* 3600: the next hour */
	usage_record(usage, quiet, "/a", "192.0.2.1", BASE + HOUR + 1);
	usage_record(usage, quiet, "/a", "192.0.2.1", BASE + 5 * HOUR + 7);
	assert_true(usage_flush(usage));
	assert_int_equal(anonymous_calls(fixture, &fixture->quiet, BASE - HOUR), 1);
	assert_int_equal(anonymous_calls(fixture, &fixture->quiet, BASE), 2);
	assert_int_equal(anonymous_calls(fixture, &fixture->quiet, BASE + HOUR), 2);
	assert_int_equal(anonymous_calls(fixture, &fixture->quiet, BASE + 5 * HOUR), 1);
	assert_int_equal(test_db_integer(fixture->db, "SELECT count(*) FROM usage_anonymous_hourly"), 4);
	assert_int_equal(
		test_db_integer(fixture->db, "SELECT count(*) FROM usage_anonymous_hourly WHERE hour %% 3600 != 0"), 0);

	/* A later batch adds to the hour already there. */
	usage_record(usage, quiet, "/a", "192.0.2.1", BASE + 30);
	usage_record(usage, quiet, "/b", "192.0.2.2", BASE + 31);
	assert_true(usage_flush(usage));
	assert_int_equal(anonymous_calls(fixture, &fixture->quiet, BASE), 4);
	assert_int_equal(test_db_integer(fixture->db, "SELECT count(*) FROM usage_anonymous_hourly"), 4);

	/* Nothing about the requests themselves was kept anywhere. */
	assert_int_equal(event_count(fixture), 0);
	assert_int_equal(last_used(fixture, &fixture->quiet), BASE + 5 * HOUR + 7);

	/* A refused off-the-record key: no event row and no last use either. */
	usage_record(usage, &fixture->quiet_refused, "/c", "192.0.2.3", BASE + 9 * HOUR);
	usage_stop(usage);
	assert_int_equal(test_db_integer(fixture->db,
					 "SELECT coalesce(sum(calls), 0) FROM usage_event WHERE api_key_id = %lld",
					 (long long)fixture->quiet_off.row_id),
			 0);
	assert_int_equal(event_count(fixture), 0);
	assert_int_equal(last_used(fixture, &fixture->quiet_off), -1);
}

static void test_last_used_moves_forward_only_for_grants(void **state)
{
	struct fixture *fixture = *state;
	struct usage *usage = start(fixture);
	assert_int_equal(last_used(fixture, &fixture->office), -1);
	usage_record(usage, &fixture->office_refused, "/", "192.0.2.1", BASE + 500);
	assert_true(usage_flush(usage));
	assert_int_equal(last_used(fixture, &fixture->office), -1); /* a refusal is not a use */

	usage_record(usage, &fixture->office_granted, "/", "198.51.100.9", BASE + 1000);
	assert_true(usage_flush(usage));
	assert_int_equal(last_used(fixture, &fixture->office), BASE + 1000);

	usage_record(usage, &fixture->office_granted, "/", "198.51.100.9", BASE + 400); /* an older event, later */
	assert_true(usage_flush(usage));
	assert_int_equal(last_used(fixture, &fixture->office), BASE + 1000);

	usage_record(usage, &fixture->office_refused, "/", "192.0.2.1", BASE + 3000);
	assert_true(usage_flush(usage));
	assert_int_equal(last_used(fixture, &fixture->office), BASE + 1000);

	/* Within one batch, out of order: the latest grant wins, and a later refusal does not count. */
	usage_record(usage, &fixture->office_granted, "/", "198.51.100.9", BASE + 4000);
	usage_record(usage, &fixture->office_granted, "/", "198.51.100.9", BASE + 3500);
	usage_record(usage, &fixture->office_refused, "/", "192.0.2.1", BASE + 4500);
	assert_true(usage_flush(usage));
	assert_int_equal(last_used(fixture, &fixture->office), BASE + 4000);

	/* Another process wrote a later use meanwhile: an older batch does not move it back. */
	char sql[128];
	snprintf(sql, sizeof sql, "UPDATE api_key_last_used SET at = %lld WHERE api_key_id = %lld", (long long)BASE + 9000,
		 (long long)fixture->office.row_id);
	test_db_execute(fixture->db, sql);
	usage_record(usage, &fixture->office_granted, "/", "198.51.100.9", BASE + 8000);
	usage_stop(usage);
	assert_int_equal(last_used(fixture, &fixture->office), BASE + 9000);
	assert_int_equal(test_db_integer(fixture->db,
					 "SELECT coalesce(sum(calls), 0) FROM usage_event WHERE api_key_id = %lld",
					 (long long)fixture->office.row_id),
			 8);
	assert_int_equal(last_used(fixture, &fixture->normal), -1); /* untouched */
}

/* ---- when it is written ----------------------------------------------------------------------- */

static struct usage *start_every(struct fixture *fixture, int flush_ms)
{
	char error[256] = "";
	struct usage *usage = usage_start_every(&fixture->db->config, flush_ms, error, sizeof error);
	if (usage == NULL)
		fail_msg("usage_start_every: %s", error);
	return usage;
}

/*
 * With a timer of ten minutes, a full batch is written at once and a single event waits; with
 * a short one, the single event is written by the timer. (No wall-clock bound on the writes
 * themselves: a loaded machine may take seconds.)
 */
static void test_a_full_batch_is_written_without_waiting_for_the_timer(void **state)
{
	struct fixture *fixture = *state;
	struct usage *usage = start_every(fixture, 600000);
	for (int i = 0; i < USAGE_BATCH; i++)
		usage_record(usage, &fixture->granted, "/batch", "192.0.2.1", BASE + i);
	long long written = 0;
	struct timespec started;
	clock_gettime(CLOCK_MONOTONIC, &started);
	while ((written = event_count(fixture)) < USAGE_BATCH && seconds_since(&started) < 60.0)
		sleep_ms(10);
	assert_int_equal(written, USAGE_BATCH);

	/* A single event waits for the timer: the request never waits on the database... */
	usage_record(usage, &fixture->granted, "/single", "192.0.2.1", BASE + USAGE_BATCH);
	sleep_ms(500);
	assert_int_equal(event_count(fixture), USAGE_BATCH);
	usage_stop(usage); /* ...and stopping writes it */
	assert_int_equal(event_count(fixture), USAGE_BATCH + 1);

	/* The timer writes a single event by itself. */
	usage = start_every(fixture, 100);
	usage_record(usage, &fixture->granted, "/timer", "192.0.2.1", BASE + USAGE_BATCH + 1);
	clock_gettime(CLOCK_MONOTONIC, &started);
	while ((written = event_count(fixture)) < USAGE_BATCH + 2 && seconds_since(&started) < 60.0)
		sleep_ms(20);
	assert_int_equal(written, USAGE_BATCH + 2);
	usage_stop(usage);
}

static void test_stop_writes_what_is_left(void **state)
{
	struct fixture *fixture = *state;
	struct usage *usage = start(fixture);
	for (int i = 0; i < 37; i++)
		usage_record(usage, i % 2 ? &fixture->granted : &fixture->quiet_granted, "/left", "192.0.2.1", BASE + i);
	usage_stop(usage);
	assert_int_equal(event_count(fixture), 18);
	assert_int_equal(anonymous_calls(fixture, &fixture->quiet, BASE), 19);
	assert_int_equal(last_used(fixture, &fixture->normal), BASE + 35);
}

static void test_start_fails_on_a_database_it_cannot_open(void **state)
{
	struct fixture *fixture = *state;
	struct config config = fixture->db->config;
	snprintf(config.database_path, sizeof config.database_path, "%s/no/such/folder/k.db", fixture->db->folder);
	char error[256] = "";
	assert_null(usage_start(&config, error, sizeof error));
	assert_non_null(strstr(error, "no/such/folder"));
}

/*
 * A batch whose transaction fails because another connection holds the write lock past the
 * busy timeout is kept, and written once the lock is gone; events recorded meanwhile are kept
 * too, and recording them does not wait.
 */
static void test_a_batch_refused_by_a_locked_database_is_written_later(void **state)
{
	struct fixture *fixture = *state;
	struct usage *usage = start(fixture);
	for (int i = 0; i < 40; i++)
		usage_record(usage, &fixture->granted, "/first", "192.0.2.1", BASE + i);
	test_db_lock(fixture->db);
	assert_false(usage_flush(usage)); /* waits out the busy timeout, then gives up for now */
	assert_int_equal(event_count(fixture), 0);

	struct timespec recording;
	clock_gettime(CLOCK_MONOTONIC, &recording);
	for (int i = 0; i < 60; i++)
		usage_record(usage, &fixture->quiet_granted, "/second", "192.0.2.1", BASE + 100 + i);
	for (int i = 0; i < 25; i++)
		usage_record(usage, &fixture->refused_revoked, "/third", "192.0.2.1", BASE + 200 + i);
	assert_true(seconds_since(&recording) < 1.0);
	assert_int_equal(event_count(fixture), 0);

	test_db_unlock(fixture->db);
	usage_stop(usage);
	assert_int_equal(test_db_integer(fixture->db,
					 "SELECT coalesce(sum(calls), 0) FROM usage_event WHERE endpoint = '/first'"),
			 40);
	assert_int_equal(
		test_db_integer(fixture->db, "SELECT count(DISTINCT at) FROM usage_event WHERE endpoint = '/first'"),
		40);
	assert_int_equal(test_db_integer(fixture->db,
					 "SELECT coalesce(sum(calls), 0) FROM usage_event WHERE endpoint = '/third'"),
			 25);
	assert_int_equal(event_count(fixture), 65);
	assert_int_equal(anonymous_calls(fixture, &fixture->quiet, BASE), 60);
	assert_int_equal(last_used(fixture, &fixture->normal), BASE + 39);
	assert_int_equal(last_used(fixture, &fixture->quiet), BASE + 159);
}

/* Send stderr to <folder>/stderr.log (its path into log_path) until stderr_restore(); returns the saved stderr. */
static int stderr_to_log(const struct fixture *fixture, char *log_path, size_t size)
{
	snprintf(log_path, size, "%s/stderr.log", fixture->db->folder);
	fflush(stderr);
	int saved_stderr = dup(2);
	int log = open(log_path, O_WRONLY | O_CREAT | O_TRUNC, 0600);
	assert_true(saved_stderr >= 0 && log >= 0);
	dup2(log, 2);
	close(log);
	return saved_stderr;
}

static void stderr_restore(int saved_stderr)
{
	fflush(stderr);
	dup2(saved_stderr, 2);
	close(saved_stderr);
}

/* Add up the N of the lines of `path` that say "<before>N<after>" ("buffer full, ", " events were not recorded"). */
static long long reported(const char *path, const char *before, const char *after)
{
	FILE *file = fopen(path, "r");
	assert_non_null(file);
	long long total = 0;
	char line[512];
	while (fgets(line, sizeof line, file) != NULL) {
		const char *found = strstr(line, before);
		if (found == NULL)
			continue;
		char *end = NULL;
		unsigned long long count = strtoull(found + strlen(before), &end, 10);
		if (end != found + strlen(before) && strncmp(end, after, strlen(after)) == 0)
			total += (long long)count;
	}
	fclose(file);
	return total;
}

/*
 * While the writer is stuck on a locked database, the buffer holds at most USAGE_BUFFER_MAX
 * events, the batch being written included; later ones are dropped, and counted in the log.
 */
static void test_a_full_buffer_drops_and_counts(void **state)
{
	struct fixture *fixture = *state;
	char log_path[128];
	int saved_stderr = stderr_to_log(fixture, log_path, sizeof log_path);

	struct usage *usage = start(fixture);
	test_db_lock(fixture->db);
	const long long sent = 2LL * USAGE_BUFFER_MAX + 1000;
	struct timespec recording;
	clock_gettime(CLOCK_MONOTONIC, &recording);
	for (long long i = 0; i < sent; i++)
		usage_record(usage, &fixture->granted, "/flood", "192.0.2.1", BASE + i);
	double recording_took = seconds_since(&recording);
	test_db_unlock(fixture->db);
	usage_stop(usage);

	stderr_restore(saved_stderr);

	long long written = event_count(fixture);
	long long dropped = reported(log_path, "buffer full, ", " events were not recorded");
	assert_true(recording_took < 4.0); /* never waited on the locked database */
	assert_true(dropped >= 1000);
	assert_int_equal(written, USAGE_BUFFER_MAX); /* the batch that waits and those behind it, together */
	assert_int_equal(written + dropped, sent);
	/* The buffer refuses new events, it does not overwrite old ones: the first USAGE_BUFFER_MAX all stay. */
	assert_int_equal(test_db_integer(fixture->db, "SELECT coalesce(sum(calls), 0) FROM usage_event WHERE at < %lld",
					 (long long)BASE + USAGE_BUFFER_MAX),
			 USAGE_BUFFER_MAX);
}

/* ---- requests without a valid key ("strangers") ------------------------------------------------- */

/* A decision about no known key, counted in `workspace_id`, as verify_decide() leaves it. */
static struct verify_result stranger(enum verify_code code, int64_t workspace_id)
{
	struct verify_result result;
	memset(&result, 0, sizeof result);
	result.code = code;
	result.workspace_id = workspace_id;
	return result;
}

static long long refused(const struct fixture *fixture, int64_t workspace_id, int64_t hour, const char *address,
			 const char *outcome)
{
	return test_db_integer(fixture->db,
			       "SELECT coalesce(sum(calls), 0) FROM usage_refused_hourly WHERE workspace_id = %lld "
			       "AND hour = %lld AND client_address = '%s' AND outcome = '%s'",
			       (long long)workspace_id, (long long)hour, address, outcome);
}

/* Does any database file (the WAL included) hold `text`? */
static bool files_hold(const struct fixture *fixture, const char *text)
{
	static const char *const suffixes[] = { "", "-wal" };
	for (size_t i = 0; i < 2; i++) {
		char path[sizeof fixture->db->config.database_path + 8];
		snprintf(path, sizeof path, "%s%s", fixture->db->config.database_path, suffixes[i]);
		FILE *file = fopen(path, "rb");
		if (file == NULL)
			continue;
		static char data[1 << 22];
		size_t length = fread(data, 1, sizeof data, file);
		fclose(file);
		if (length > 0 && memmem(data, length, text, strlen(text)) != NULL)
			return true;
	}
	return false;
}

static void test_strangers_are_counted_per_hour_address_and_outcome(void **state)
{
	struct fixture *fixture = *state;
	struct usage *usage = start(fixture);
	const struct verify_result missing = stranger(VERIFY_MISSING_KEY, STORE_DEFAULT_WORKSPACE);
	const struct verify_result invalid = stranger(VERIFY_INVALID_KEY, STORE_DEFAULT_WORKSPACE);
	const struct verify_result elsewhere = stranger(VERIFY_INVALID_KEY, 99); /* a workspace not made (yet) */
	static const char *const marker = "/a-path-that-must-be-kept-nowhere";
	char path[128];
	for (int i = 0; i < 3; i++) {
		snprintf(path, sizeof path, "%s/%d", marker, i);
		usage_record(usage, &missing, path, "192.0.2.7", BASE + i);
	}
	usage_record(usage, &missing, marker, "::ffff:192.0.2.7", BASE + 100);  /* mapped: the same IPv4 address */
	usage_record(usage, &missing, marker, "::FFFF:c000:207", BASE + 200);   /* and again */
	usage_record(usage, &invalid, marker, "192.0.2.7", BASE + 300);          /* another outcome: its own count */
	usage_record(usage, &missing, marker, "192.0.2.7", BASE + HOUR);         /* another hour */
	usage_record(usage, &missing, marker, "192.0.2.8", BASE + 400);          /* another address */
	usage_record(usage, &invalid, marker, "2001:db8:1:2:aaaa::1", BASE + 1); /* one /64 ... */
	usage_record(usage, &invalid, marker, "2001:DB8:1:2:bbbb:cccc:dddd:eeee", BASE + 2);
	usage_record(usage, &invalid, marker, "2001:db8:1:3::1", BASE + 3);     /* ... and the next */
	usage_record(usage, &invalid, marker, "not an address", BASE + 4);
	usage_record(usage, &invalid, marker, "", BASE + 5);
	usage_record(usage, &invalid, marker, "10.0.0.1/8", BASE + 6);
	usage_record(usage, &missing, marker, NULL, BASE + 7);
	usage_record(usage, &elsewhere, marker, "192.0.2.7", BASE + 8);
	assert_true(usage_flush(usage));

	assert_int_equal(refused(fixture, 1, BASE, "192.0.2.7", "missing_key"), 5);
	assert_int_equal(refused(fixture, 1, BASE, "192.0.2.7", "invalid_key"), 1);
	assert_int_equal(refused(fixture, 1, BASE + HOUR, "192.0.2.7", "missing_key"), 1);
	assert_int_equal(refused(fixture, 1, BASE, "192.0.2.8", "missing_key"), 1);
	assert_int_equal(refused(fixture, 1, BASE, "2001:db8:1:2::/64", "invalid_key"), 2);
	assert_int_equal(refused(fixture, 1, BASE, "2001:db8:1:3::/64", "invalid_key"), 1);
	assert_int_equal(refused(fixture, 1, BASE, "(invalid)", "invalid_key"), 3);
	assert_int_equal(refused(fixture, 1, BASE, "(none)", "missing_key"), 1);
	assert_int_equal(refused(fixture, 99, BASE, "192.0.2.7", "invalid_key"), 1);
	assert_int_equal(test_db_integer(fixture->db, "SELECT count(*) FROM usage_refused_hourly"), 9);
	assert_int_equal(test_db_integer(fixture->db, "SELECT sum(calls) FROM usage_refused_hourly"), 16);

	/* A later batch adds to the counts there. */
	usage_record(usage, &missing, marker, "192.0.2.7", BASE + 900);
	usage_record(usage, &missing, marker, "192.0.2.7", BASE + 901);
	usage_stop(usage);
	assert_int_equal(refused(fixture, 1, BASE, "192.0.2.7", "missing_key"), 7);
	assert_int_equal(test_db_integer(fixture->db, "SELECT count(*) FROM usage_refused_hourly"), 9);
	/* Nothing else was written, and the paths are in no row (and, on SQLite, in no file). */
	assert_int_equal(event_count(fixture), 0);
	assert_int_equal(test_db_integer(fixture->db, "SELECT count(*) FROM usage_anonymous_hourly"), 0);
	assert_int_equal(last_used(fixture, &fixture->normal), -1);
	test_db_assert_nowhere(fixture->db, marker);
	test_db_assert_nowhere(fixture->db, "2001:db8:1:2:aaaa::1");
	if (!fixture->db->postgresql) {
		test_db_execute(fixture->db, "PRAGMA wal_checkpoint(TRUNCATE)");
		assert_false(files_hold(fixture, marker));
		assert_false(files_hold(fixture, "aaaa"));
	}
}

/* The refusal verify_decide() makes of an unknown key is counted like the hand-made ones above. */
static void test_a_decided_unknown_key_is_a_stranger(void **state)
{
	struct fixture *fixture = *state;
	struct usage *usage = start(fixture);
	for (int i = 0; i < 4; i++)
		usage_record(usage, &fixture->unknown, "/from/a/decision", "192.0.2.1", BASE + i);
	usage_stop(usage);
	assert_int_equal(refused(fixture, STORE_DEFAULT_WORKSPACE, BASE, "192.0.2.1", "invalid_key"), 4);
	assert_int_equal(event_count(fixture), 0);
}

/*
 * While the writer is stuck on a locked database, the strangers' table holds at most
 * USAGE_STRANGERS_MAX counts besides the batch being written; a new address past that is dropped,
 * counted, and said in the log, while addresses already held go on being counted.
 */
static void test_a_full_stranger_table_drops_and_counts(void **state)
{
	struct fixture *fixture = *state;
	char log_path[128];
	int saved_stderr = stderr_to_log(fixture, log_path, sizeof log_path);

	struct usage *usage = start(fixture);
	const struct verify_result missing = stranger(VERIFY_MISSING_KEY, STORE_DEFAULT_WORKSPACE);
	usage_record(usage, &missing, "/", "192.0.2.1", BASE); /* held from the start */
	test_db_lock(fixture->db);
	const long long sent = 2LL * USAGE_STRANGERS_MAX + 1000;
	struct timespec recording;
	clock_gettime(CLOCK_MONOTONIC, &recording);
	for (long long i = 0; i < sent; i++) {
		char address[32];
		snprintf(address, sizeof address, "10.%lld.%lld.%lld", i >> 16, (i >> 8) & 255, i & 255);
		usage_record(usage, &missing, "/flood", address, BASE + 1);
	}
	double recording_took = seconds_since(&recording);
	test_db_unlock(fixture->db);
	usage_stop(usage);

	stderr_restore(saved_stderr);

	long long counted = test_db_integer(fixture->db, "SELECT sum(calls) FROM usage_refused_hourly WHERE "
							 "client_address LIKE '10.%%'");
	long long dropped = reported(log_path, "without a valid key at once, ", " requests were not counted");
	assert_true(recording_took < 10.0); /* never waited on the locked database */
	assert_true(dropped >= 1000);
	assert_true(counted >= USAGE_STRANGERS_MAX);
	assert_true(counted <= 2LL * USAGE_STRANGERS_MAX);
	assert_int_equal(counted + dropped, sent);
	assert_int_equal(refused(fixture, STORE_DEFAULT_WORKSPACE, BASE, "192.0.2.1", "missing_key"), 1);
}

int main(void)
{
	if (sodium_init() < 0) {
		fprintf(stderr, "test_usage: sodium_init failed\n");
		return 1;
	}
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(test_every_event_from_several_threads_is_written, setup, teardown),
		cmocka_unit_test_setup_teardown(test_strings_are_kept_as_utf8, setup, teardown),
		cmocka_unit_test_setup_teardown(test_strings_are_kept_within_limits, setup, teardown),
		cmocka_unit_test_setup_teardown(test_identical_decisions_share_a_row, setup, teardown),
		cmocka_unit_test_setup_teardown(test_anonymous_hours, setup, teardown),
		cmocka_unit_test_setup_teardown(test_last_used_moves_forward_only_for_grants, setup, teardown),
		cmocka_unit_test_setup_teardown(test_a_full_batch_is_written_without_waiting_for_the_timer, setup, teardown),
		cmocka_unit_test_setup_teardown(test_stop_writes_what_is_left, setup, teardown),
		cmocka_unit_test_setup_teardown(test_start_fails_on_a_database_it_cannot_open, setup, teardown),
		cmocka_unit_test_setup_teardown(test_a_batch_refused_by_a_locked_database_is_written_later, setup, teardown),
		cmocka_unit_test_setup_teardown(test_a_full_buffer_drops_and_counts, setup, teardown),
		cmocka_unit_test_setup_teardown(test_strangers_are_counted_per_hour_address_and_outcome, setup, teardown),
		cmocka_unit_test_setup_teardown(test_a_decided_unknown_key_is_a_stranger, setup, teardown),
		cmocka_unit_test_setup_teardown(test_a_full_stranger_table_drops_and_counts, setup, teardown),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
