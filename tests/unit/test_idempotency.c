/*
 * test_idempotency.c: recorded answers of the management API (domain/idempotency.c) on a real
 * database: a request is new once, then replayed with its first answer; the same key for another
 * request is a mismatch; answers older than a day are gone; nothing is kept in the clear; a
 * rolled-back request leaves no record; and another server key opens nothing.
 */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include <stdbool.h>
#include <stdlib.h>
#include <string.h>

#include "support.h"

#include "core/alloc.h"
#include "domain/idempotency.h"
#include "store/store.h"

#define NOW 1700000000
#define ANSWER "{\"key\":{\"key_id\":\"key_abc\"},\"token\":\"kw_key_abc_SECRETSECRETSECRET\"}"

static int setup(void **state)
{
	struct test_db *db = test_db_open("idempotency");
	if (db == NULL)
		return -1;
	/* A calling key, row 1 of workspace 1. */
	test_db_execute(db, test_sql(db,
				     "INSERT INTO api_key (workspace_id, key_id, name, name_folded, secret_hash, secret_hint, "
				     "role_id, created_at, updated_at) VALUES (1, 'key_caller', 'Caller', 'caller', x'01', "
				     "'abcd', 1, 1, 1)",
				     "INSERT INTO api_key (workspace_id, key_id, name, name_folded, secret_hash, secret_hint, "
				     "role_id, created_at, updated_at) VALUES (1, 'key_caller', 'Caller', 'caller', '\\x01', "
				     "'abcd', 1, 1, 1)"));
	*state = db;
	return 0;
}

static int teardown(void **state)
{
	return test_db_close(*state);
}

static int64_t caller_row(struct test_db *db)
{
	return test_db_integer(db, "SELECT id FROM api_key WHERE key_id = 'key_caller'");
}

/* Begin with `value` for POST `path` and `body` at `now`, inside a transaction left open. */
static enum idempotency_outcome begin(struct test_db *db, struct idempotency *state, const char *value,
				      const char *path, const char *body, int64_t now, int *status, const char **answer)
{
	enum idempotency_outcome outcome = IDEMPOTENCY_NEW;
	assert_int_equal(store_transaction_begin(db->store), STORE_OK);
	assert_int_equal(idempotency_begin(db->store, &db->config, db->arena, 1, caller_row(db), value, "POST", path,
					   body, body ? strlen(body) : 0, now, state, &outcome, status, answer),
			 STORE_OK);
	return outcome;
}

/* Record `answer` for a new request and commit. */
static void answer_and_commit(struct test_db *db, const char *value, const char *path, const char *body,
			      int status, const char *answer, int64_t now)
{
	struct idempotency state;
	int replay_status = 0;
	const char *replay = NULL;
	assert_int_equal(begin(db, &state, value, path, body, now, &replay_status, &replay), IDEMPOTENCY_NEW);
	assert_int_equal(idempotency_finish(db->store, &state, status, answer, strlen(answer)), STORE_OK);
	assert_int_equal(store_transaction_commit(db->store), STORE_OK);
}

static void test_new_then_replayed_then_mismatched(void **state)
{
	struct test_db *db = *state;
	answer_and_commit(db, "abc-123", "/api/v1/keys", "{\"name\":\"A\"}", 201, ANSWER, NOW);

	struct idempotency again;
	int status = 0;
	const char *answer = NULL;
	assert_int_equal(begin(db, &again, "abc-123", "/api/v1/keys", "{\"name\":\"A\"}", NOW + 60, &status, &answer),
			 IDEMPOTENCY_REPLAY);
	store_transaction_rollback(db->store);
	assert_int_equal(status, 201);
	assert_string_equal(answer, ANSWER);

	/* Another body, another path, or another method with the same key: a mismatch. */
	assert_int_equal(begin(db, &again, "abc-123", "/api/v1/keys", "{\"name\":\"B\"}", NOW + 60, &status, &answer),
			 IDEMPOTENCY_MISMATCH);
	store_transaction_rollback(db->store);
	assert_int_equal(begin(db, &again, "abc-123", "/api/v1/keys/key_x/roll", "{\"name\":\"A\"}", NOW + 60, &status,
			       &answer),
			 IDEMPOTENCY_MISMATCH);
	store_transaction_rollback(db->store);

	/* Another key is another request. */
	assert_int_equal(begin(db, &again, "abc-124", "/api/v1/keys", "{\"name\":\"A\"}", NOW + 60, &status, &answer),
			 IDEMPOTENCY_NEW);
	store_transaction_rollback(db->store);
	assert_int_equal(test_db_integer(db, "SELECT count(*) FROM api_idempotency"), 1);
}

static void test_nothing_in_the_clear(void **state)
{
	struct test_db *db = *state;
	answer_and_commit(db, "find-me-in-the-file", "/api/v1/keys", "{}", 201, ANSWER, NOW);
	test_db_assert_nowhere(db, "SECRETSECRETSECRET");
	test_db_assert_nowhere(db, "find-me-in-the-file");
	/* The empty body is a body too, and none differs from it. */
	struct idempotency again;
	int status = 0;
	const char *answer = NULL;
	assert_int_equal(begin(db, &again, "find-me-in-the-file", "/api/v1/keys", NULL, NOW, &status, &answer),
			 IDEMPOTENCY_MISMATCH);
	store_transaction_rollback(db->store);
}

static void test_a_day_later_the_key_is_new_again(void **state)
{
	struct test_db *db = *state;
	answer_and_commit(db, "daily", "/api/v1/keys", "{}", 201, ANSWER, NOW);
	struct idempotency again;
	int status = 0;
	const char *answer = NULL;
	assert_int_equal(begin(db, &again, "daily", "/api/v1/keys", "{}", NOW + IDEMPOTENCY_MAX_AGE, &status, &answer),
			 IDEMPOTENCY_REPLAY);
	store_transaction_rollback(db->store);
	assert_int_equal(begin(db, &again, "daily", "/api/v1/keys", "{\"other\":1}", NOW + IDEMPOTENCY_MAX_AGE + 1,
			       &status, &answer),
			 IDEMPOTENCY_NEW);
	store_transaction_rollback(db->store);
}

static void test_a_rolled_back_request_leaves_no_record(void **state)
{
	struct test_db *db = *state;
	struct idempotency first;
	int status = 0;
	const char *answer = NULL;
	assert_int_equal(begin(db, &first, "failed", "/api/v1/keys", "{}", NOW, &status, &answer), IDEMPOTENCY_NEW);
	store_transaction_rollback(db->store); /* keyward failed: 5xx, nothing kept */
	assert_int_equal(test_db_integer(db, "SELECT count(*) FROM api_idempotency"), 0);
	answer_and_commit(db, "failed", "/api/v1/keys", "{}", 201, ANSWER, NOW + 1);
	assert_int_equal(test_db_integer(db, "SELECT count(*) FROM api_idempotency WHERE status = 201"), 1);
}

static void test_another_server_key_opens_nothing(void **state)
{
	struct test_db *db = *state;
	answer_and_commit(db, "sealed", "/api/v1/keys", "{}", 201, ANSWER, NOW);
	/* A copy of the rows under another server key: the rows are not found (their hash is keyed). */
	db->config.server_key[0] ^= 1;
	struct idempotency again;
	int status = 0;
	const char *answer = NULL;
	assert_int_equal(begin(db, &again, "sealed", "/api/v1/keys", "{}", NOW, &status, &answer), IDEMPOTENCY_NEW);
	store_transaction_rollback(db->store);
	db->config.server_key[0] ^= 1;
	assert_int_equal(begin(db, &again, "sealed", "/api/v1/keys", "{}", NOW, &status, &answer), IDEMPOTENCY_REPLAY);
	store_transaction_rollback(db->store);
}

static void test_key_values(void **state)
{
	(void)state;
	assert_true(idempotency_key_valid("a"));
	assert_true(idempotency_key_valid("550e8400-e29b-41d4-a716-446655440000"));
	char longest[IDEMPOTENCY_KEY_MAX + 2];
	memset(longest, 'x', sizeof longest);
	longest[IDEMPOTENCY_KEY_MAX] = '\0';
	assert_true(idempotency_key_valid(longest));
	longest[IDEMPOTENCY_KEY_MAX] = 'x';
	longest[IDEMPOTENCY_KEY_MAX + 1] = '\0';
	assert_false(idempotency_key_valid(longest));
	assert_false(idempotency_key_valid(""));
	assert_false(idempotency_key_valid(NULL));
	assert_false(idempotency_key_valid("tab\there"));
	assert_false(idempotency_key_valid("caf\xc3\xa9"));
	assert_false(idempotency_key_valid("del\x7f"));
}

#define TEST(name) cmocka_unit_test_setup_teardown(name, setup, teardown)

int main(void)
{
	const struct CMUnitTest tests[] = {
		TEST(test_new_then_replayed_then_mismatched),
		TEST(test_nothing_in_the_clear),
		TEST(test_a_day_later_the_key_is_new_again),
		TEST(test_a_rolled_back_request_leaves_no_record),
		TEST(test_another_server_key_opens_nothing),
		cmocka_unit_test(test_key_values),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
