/*
 * test_key_cache.c: unit tests for the gatekeeper's key cache against real SQLite files: what it
 * remembers, that every change made from another connection (another process) is seen on the
 * very next lookup, that usage writes leave it alone, and that it stays within its bounds.
 */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include <sodium.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "support.h"

#include "core/alloc.h"
#include "domain/key_cache.h"
#include "domain/keys.h"
#include "domain/token.h"
#include "store/store.h"

#define NOW 1800000000LL

struct fixture {
	struct test_db *db;
	struct key_cache *cache;
	/* A key with two networks, made through keys_create(), and its keyed hash. */
	char key_id[TOKEN_KEY_ID_LENGTH + 1];
	int64_t row_id;
	unsigned char hash[TOKEN_HASH_BYTES];
};

static void make_key(struct test_db *db, const char *name, char key_id[TOKEN_KEY_ID_LENGTH + 1], int64_t *row_id,
		     unsigned char hash[TOKEN_HASH_BYTES])
{
	struct store_cidr cidrs[] = { { "10.0.0.0/8", "office" }, { "2001:db8::/32", "" } };
	struct store_key_fields fields = {
		.name = name,
		.name_folded = name,
		.postback_url = "",
		.enabled = true,
		.role_id = db->admin_role,
		.cidrs = cidrs,
		.cidr_count = 2,
	};
	char token[TOKEN_MAX_LENGTH + 1];
	test_key_create(db, &fields, NOW, key_id, token, row_id);
	token_hash(db->config.server_key, token, strlen(token), hash);
	sodium_memzero(token, sizeof token);
}

static int setup(void **state)
{
	struct fixture *fixture = xcalloc(1, sizeof *fixture);
	fixture->db = test_db_open("key-cache");
	if (fixture->db == NULL)
		return -1;
	fixture->cache = key_cache_new();
	make_key(fixture->db, "Billing service", fixture->key_id, &fixture->row_id, fixture->hash);
	*state = fixture;
	return 0;
}

static int teardown(void **state)
{
	struct fixture *fixture = *state;
	key_cache_free(fixture->cache);
	int removed = test_db_close(fixture->db);
	free(fixture);
	return removed;
}

static enum store_status find(struct fixture *fixture, const unsigned char *hash, struct store_key_auth *key)
{
	return key_cache_find(fixture->cache, fixture->db->store, fixture->db->arena, hash, key);
}

static struct key_cache_counts counts(const struct fixture *fixture)
{
	return key_cache_counts(fixture->cache);
}

/* ---- remembering ------------------------------------------------------------------------------ */

static void test_a_found_key_is_remembered_whole(void **state)
{
	struct fixture *fixture = *state;
	struct store_key_auth first, second;
	assert_int_equal(find(fixture, fixture->hash, &first), STORE_OK);
	assert_int_equal(counts(fixture).misses, 1);
	assert_int_equal(counts(fixture).known, 1);
	assert_int_equal(find(fixture, fixture->hash, &second), STORE_OK);
	assert_int_equal(counts(fixture).hits, 1);
	assert_int_equal(counts(fixture).misses, 1);

	/* The copy from memory is the key as the store has it, in the caller's arena. */
	assert_int_equal(second.id, fixture->row_id);
	assert_int_equal(second.workspace_id, STORE_DEFAULT_WORKSPACE);
	assert_string_equal(second.key_id, fixture->key_id);
	assert_string_equal(second.name, "Billing service");
	assert_string_equal(second.role_name, "admin");
	assert_string_equal(second.permissions, first.permissions);
	assert_non_null(strstr(second.permissions, "api.key.verify"));
	assert_true(second.enabled);
	assert_false(second.revoked);
	assert_false(second.off_record);
	assert_int_equal(second.cidr_count, 2);
	assert_string_equal(second.cidrs[0], "10.0.0.0/8");
	assert_string_equal(second.cidrs[1], "2001:db8::/32");
	assert_ptr_not_equal(second.name, first.name);
}

static void test_an_unknown_hash_is_remembered(void **state)
{
	struct fixture *fixture = *state;
	unsigned char unknown[TOKEN_HASH_BYTES];
	randombytes_buf(unknown, sizeof unknown);
	struct store_key_auth key;
	assert_int_equal(find(fixture, unknown, &key), STORE_NOT_FOUND);
	assert_int_equal(find(fixture, unknown, &key), STORE_NOT_FOUND);
	assert_int_equal(counts(fixture).misses, 1);
	assert_int_equal(counts(fixture).hits, 1);
	assert_int_equal(counts(fixture).unknown, 1);
	assert_int_equal(counts(fixture).known, 0);
}

static void test_without_a_cache_the_store_answers(void **state)
{
	struct fixture *fixture = *state;
	struct store_key_auth key;
	assert_int_equal(key_cache_find(NULL, fixture->db->store, fixture->db->arena, fixture->hash, &key), STORE_OK);
	assert_string_equal(key.key_id, fixture->key_id);
}

/* ---- changes from elsewhere ------------------------------------------------------------------- */

/* Warm the cache, run `sql` on another connection, and return the key as the next lookup sees it. */
static enum store_status after(struct fixture *fixture, const char *sql, struct store_key_auth *key)
{
	struct store_key_auth warm;
	assert_int_equal(find(fixture, fixture->hash, &warm), STORE_OK);
	assert_int_equal(find(fixture, fixture->hash, &warm), STORE_OK); /* now from memory */
	unsigned long resets = counts(fixture).resets;
	test_db_execute(fixture->db, sql);
	enum store_status status = find(fixture, fixture->hash, key);
	assert_int_equal(counts(fixture).resets, resets + 1);
	return status;
}

static void test_each_change_is_seen_on_the_next_lookup(void **state)
{
	struct fixture *fixture = *state;
	struct store_key_auth key;
	char sql[512];

	snprintf(sql, sizeof sql, "UPDATE api_key SET enabled = 0 WHERE key_id = '%s'", fixture->key_id);
	assert_int_equal(after(fixture, sql, &key), STORE_OK);
	assert_false(key.enabled);

	/* The allowlist's switch (015_allowlist.sql), off and on again, its networks kept. */
	snprintf(sql, sizeof sql, "UPDATE api_key SET allowlist_enabled = 0 WHERE key_id = '%s'", fixture->key_id);
	assert_int_equal(after(fixture, sql, &key), STORE_OK);
	assert_false(key.allowlist_enabled);
	assert_int_equal(key.cidr_count, 2);
	snprintf(sql, sizeof sql, "UPDATE api_key SET allowlist_enabled = 1 WHERE key_id = '%s'", fixture->key_id);
	assert_int_equal(after(fixture, sql, &key), STORE_OK);
	assert_true(key.allowlist_enabled);

	snprintf(sql, sizeof sql, "UPDATE api_key SET revoked_at = %lld WHERE key_id = '%s'", NOW, fixture->key_id);
	assert_int_equal(after(fixture, sql, &key), STORE_OK);
	assert_true(key.revoked);

	snprintf(sql, sizeof sql, "UPDATE api_key SET name = 'Renamed', off_record = 1 WHERE key_id = '%s'",
		 fixture->key_id);
	assert_int_equal(after(fixture, sql, &key), STORE_OK);
	assert_string_equal(key.name, "Renamed");
	assert_true(key.off_record);

	snprintf(sql, sizeof sql, "UPDATE api_key SET role_id = %lld WHERE key_id = '%s'",
		 (long long)fixture->db->read_only_role, fixture->key_id);
	assert_int_equal(after(fixture, sql, &key), STORE_OK);
	assert_string_equal(key.role_name, "read-only");
	assert_null(strstr(key.permissions, "api.key.verify"));

	assert_int_equal(after(fixture, "UPDATE role SET permissions = 'api.key.view api.reports.read' "
					"WHERE name = 'read-only'", &key),
			 STORE_OK);
	assert_string_equal(key.permissions, "api.key.view api.reports.read");

	snprintf(sql, sizeof sql, "DELETE FROM api_key_cidr WHERE api_key_id = %lld AND cidr = '10.0.0.0/8'",
		 (long long)fixture->row_id);
	assert_int_equal(after(fixture, sql, &key), STORE_OK);
	assert_int_equal(key.cidr_count, 1);
	assert_string_equal(key.cidrs[0], "2001:db8::/32");

	snprintf(sql, sizeof sql,
		 "INSERT INTO api_key_cidr (workspace_id, api_key_id, position, cidr) VALUES (1, %lld, 5, '192.0.2.0/24')",
		 (long long)fixture->row_id);
	assert_int_equal(after(fixture, sql, &key), STORE_OK);
	assert_int_equal(key.cidr_count, 2);

	snprintf(sql, sizeof sql, "UPDATE api_key_cidr SET cidr = '198.51.100.0/24' WHERE api_key_id = %lld AND position = 5",
		 (long long)fixture->row_id);
	assert_int_equal(after(fixture, sql, &key), STORE_OK);
	assert_true(strcmp(key.cidrs[0], "198.51.100.0/24") == 0 || strcmp(key.cidrs[1], "198.51.100.0/24") == 0);

	/* A new secret: the old hash is unknown at once. */
	snprintf(sql, sizeof sql, "UPDATE api_key SET secret_hash = %s WHERE key_id = '%s'",
		 test_sql(fixture->db, "randomblob(32)", "sha256(random()::text::bytea)"), fixture->key_id);
	assert_int_equal(after(fixture, sql, &key), STORE_NOT_FOUND);
}

static void test_changes_through_the_store_are_seen_too(void **state)
{
	struct fixture *fixture = *state;
	struct store_key_auth key;
	assert_int_equal(find(fixture, fixture->hash, &key), STORE_OK);
	assert_int_equal(store_key_set_enabled(fixture->db->store, STORE_DEFAULT_WORKSPACE, fixture->key_id, false, NOW),
			 STORE_OK);
	assert_int_equal(find(fixture, fixture->hash, &key), STORE_OK);
	assert_false(key.enabled);
	assert_int_equal(store_key_revoke(fixture->db->store, STORE_DEFAULT_WORKSPACE, fixture->key_id, NOW), STORE_OK);
	assert_int_equal(find(fixture, fixture->hash, &key), STORE_OK);
	assert_true(key.revoked);
	assert_int_equal(counts(fixture).resets, 2);
}

/* An unknown hash that becomes a key's (a key made, or a secret set) is found on the next lookup. */
static void test_a_remembered_unknown_hash_can_become_a_key(void **state)
{
	struct fixture *fixture = *state;
	unsigned char later[TOKEN_HASH_BYTES];
	randombytes_buf(later, sizeof later);
	char hex[2 * TOKEN_HASH_BYTES + 1];
	sodium_bin2hex(hex, sizeof hex, later, sizeof later);
	struct store_key_auth key;
	assert_int_equal(find(fixture, later, &key), STORE_NOT_FOUND);
	assert_int_equal(find(fixture, later, &key), STORE_NOT_FOUND);
	assert_int_equal(counts(fixture).hits, 1);

	char sql[1024];
	snprintf(sql, sizeof sql,
		 "INSERT INTO api_key (workspace_id, key_id, name, name_folded, secret_hash, secret_hint, role_id, "
		 "created_at, updated_at) VALUES (1, 'key_madeElsewhere0', 'Made elsewhere', 'made elsewhere', %s, "
		 "'abcd', %lld, %lld, %lld)",
		 test_db_blob(fixture->db, hex), (long long)fixture->db->admin_role, NOW, NOW);
	test_db_execute(fixture->db, sql);
	assert_int_equal(find(fixture, later, &key), STORE_OK);
	assert_string_equal(key.name, "Made elsewhere");

	/* And the other way: the first key's hash, set on another key after being unknown. */
	snprintf(sql, sizeof sql, "UPDATE api_key SET secret_hash = %s WHERE key_id = '%s'",
		 test_sql(fixture->db, "randomblob(32)", "sha256(random()::text::bytea)"), fixture->key_id);
	test_db_execute(fixture->db, sql);
	assert_int_equal(find(fixture, fixture->hash, &key), STORE_NOT_FOUND);
	char old_hex[2 * TOKEN_HASH_BYTES + 1];
	sodium_bin2hex(old_hex, sizeof old_hex, fixture->hash, sizeof fixture->hash);
	snprintf(sql, sizeof sql, "UPDATE api_key SET secret_hash = %s WHERE key_id = 'key_madeElsewhere0'",
		 test_db_blob(fixture->db, old_hex));
	test_db_execute(fixture->db, sql);
	assert_int_equal(find(fixture, fixture->hash, &key), STORE_OK);
	assert_string_equal(key.name, "Made elsewhere");
}

/* Usage is written every second: it must not cost the cache its contents. */
static void test_usage_writes_leave_the_cache_alone(void **state)
{
	struct fixture *fixture = *state;
	struct store_key_auth key;
	assert_int_equal(find(fixture, fixture->hash, &key), STORE_OK);
	struct store_usage_event event = { STORE_DEFAULT_WORKSPACE, fixture->row_id, NOW, "/v1/things", "192.0.2.1",
					   "granted", 1, false };
	struct store_usage_count count = { STORE_DEFAULT_WORKSPACE, fixture->row_id, NOW - NOW % 3600, 3 };
	struct store_last_used last_used = { fixture->row_id, NOW };
	assert_int_equal(store_usage_write(fixture->db->store, &event, 1, &count, 1, &last_used, 1, NULL, 0), STORE_OK);
	assert_int_equal(find(fixture, fixture->hash, &key), STORE_OK);
	assert_int_equal(counts(fixture).hits, 1);
	assert_int_equal(counts(fixture).resets, 0);
	assert_int_equal(test_db_integer(fixture->db, "SELECT at FROM api_key_last_used WHERE api_key_id = %lld",
					 (long long)fixture->row_id),
			 NOW);
}

/* The generation cannot be read: the store's error comes back and nothing is answered from memory. */
static void test_a_broken_database_is_not_hidden(void **state)
{
	struct fixture *fixture = *state;
	struct store_key_auth key;
	assert_int_equal(find(fixture, fixture->hash, &key), STORE_OK);
	test_db_execute(fixture->db, "DROP TABLE gate_state");
	assert_int_equal(find(fixture, fixture->hash, &key), STORE_ERROR);
	assert_int_equal(counts(fixture).hits, 0);
}

/* ---- bounds ----------------------------------------------------------------------------------- */

#define MANY (KEY_CACHE_KNOWN + KEY_CACHE_KNOWN / 4)
#define RECENT 32

static void test_the_cache_stays_within_its_bounds(void **state)
{
	struct fixture *fixture = *state;
	struct store *store = fixture->db->store;
	unsigned char (*hashes)[TOKEN_HASH_BYTES] = xcalloc(MANY, sizeof *hashes);
	assert_int_equal(store_transaction_begin(store), STORE_OK);
	for (size_t i = 0; i < MANY; i++) {
		char key_id[TOKEN_KEY_ID_LENGTH + 1], name[32];
		int64_t row_id;
		snprintf(name, sizeof name, "Key %zu", i);
		make_key(fixture->db, name, key_id, &row_id, hashes[i]);
	}
	assert_int_equal(store_transaction_commit(store), STORE_OK);

	struct store_key_auth key;
	for (size_t i = 0; i < MANY; i++) {
		assert_int_equal(find(fixture, hashes[i], &key), STORE_OK);
		arena_reset(fixture->db->arena);
	}
	assert_int_equal(counts(fixture).misses, MANY);
	assert_true(counts(fixture).known <= KEY_CACHE_KNOWN);
	assert_true(counts(fixture).known >= KEY_CACHE_KNOWN / 2);

	/* The most recently used are still there. */
	unsigned long hits = counts(fixture).hits;
	for (size_t i = MANY - RECENT; i < MANY; i++)
		assert_int_equal(find(fixture, hashes[i], &key), STORE_OK);
	assert_int_equal(counts(fixture).hits, hits + RECENT);

	/* A flood of unknown hashes fills only the unknown side. */
	size_t known = counts(fixture).known;
	for (size_t i = 0; i < 2 * KEY_CACHE_UNKNOWN; i++) {
		unsigned char unknown[TOKEN_HASH_BYTES];
		randombytes_buf(unknown, sizeof unknown);
		assert_int_equal(find(fixture, unknown, &key), STORE_NOT_FOUND);
	}
	assert_true(counts(fixture).unknown <= KEY_CACHE_UNKNOWN);
	assert_int_equal(counts(fixture).known, known);
	hits = counts(fixture).hits;
	for (size_t i = MANY - RECENT; i < MANY; i++)
		assert_int_equal(find(fixture, hashes[i], &key), STORE_OK);
	assert_int_equal(counts(fixture).hits, hits + RECENT);

	/* An evicted key is simply looked up again. */
	assert_int_equal(find(fixture, hashes[0], &key), STORE_OK);
	assert_string_equal(key.name, "Key 0");
	free(hashes);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(test_a_found_key_is_remembered_whole, setup, teardown),
		cmocka_unit_test_setup_teardown(test_an_unknown_hash_is_remembered, setup, teardown),
		cmocka_unit_test_setup_teardown(test_without_a_cache_the_store_answers, setup, teardown),
		cmocka_unit_test_setup_teardown(test_each_change_is_seen_on_the_next_lookup, setup, teardown),
		cmocka_unit_test_setup_teardown(test_changes_through_the_store_are_seen_too, setup, teardown),
		cmocka_unit_test_setup_teardown(test_a_remembered_unknown_hash_can_become_a_key, setup, teardown),
		cmocka_unit_test_setup_teardown(test_usage_writes_leave_the_cache_alone, setup, teardown),
		cmocka_unit_test_setup_teardown(test_a_broken_database_is_not_hidden, setup, teardown),
		cmocka_unit_test_setup_teardown(test_the_cache_stays_within_its_bounds, setup, teardown),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
