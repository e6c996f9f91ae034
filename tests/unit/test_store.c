/* test_store.c: unit tests for the store (schema, migrations, roles, keys, CIDRs, reveals) on real SQLite files. */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "support.h"

#include "core/alloc.h"
#include "schema.h" /* store_migrations[]: the number of migrations the program knows */
#include "store/store.h"

#define MIGRATION_COUNT ((long long)(sizeof store_migrations / sizeof store_migrations[0]))
#define HASH_LENGTH 32

/* A store on a database of its own, with both seeded roles found. */
struct fixture {
	struct test_db *db;
};

static int setup(void **state)
{
	struct fixture *fixture = xcalloc(1, sizeof *fixture);
	fixture->db = test_db_open("store");
	if (fixture->db == NULL || fixture->db->admin_role == 0 || fixture->db->read_only_role == 0) {
		test_db_close(fixture->db);
		free(fixture);
		return -1;
	}
	*state = fixture;
	return 0;
}

/* test_db_close() removes every file a test made in the folder, even when the test failed half-way. */
static int teardown(void **state)
{
	struct fixture *fixture = *state;
	int removed = test_db_close(fixture->db);
	free(fixture);
	return removed;
}

/* A secret hash that differs per key ID (the store only needs it unique). */
static void hash_for(const char *key_id, unsigned char hash[HASH_LENGTH])
{
	memset(hash, 0, HASH_LENGTH);
	memcpy(hash, key_id, strnlen(key_id, HASH_LENGTH));
}

static struct store_key_fields fields_of(const char *name, const char *folded, int64_t role_id)
{
	struct store_key_fields fields = {
		.name = name, .name_folded = folded, .postback_url = "", .enabled = true, .role_id = role_id,
	};
	return fields;
}

/* Insert a key with no CIDRs; fails the test unless the store says OK. Returns the row id. */
static int64_t insert_key(struct fixture *fixture, const char *key_id, const struct store_key_fields *fields,
			  int64_t now)
{
	unsigned char hash[HASH_LENGTH];
	hash_for(key_id, hash);
	int64_t row_id = 0;
	assert_int_equal(store_key_insert(fixture->db->store, STORE_DEFAULT_WORKSPACE, key_id, hash, sizeof hash,
					  "wxyz", fields, "tester", now, 0 /* no limit */, &row_id),
			 STORE_OK);
	assert_true(row_id > 0);
	return row_id;
}

static int64_t insert_simple_key(struct fixture *fixture, const char *key_id, const char *name, int64_t now)
{
	struct store_key_fields fields = fields_of(name, name, fixture->db->admin_role);
	return insert_key(fixture, key_id, &fields, now);
}

static void assert_cidrs(const struct store_key *key, const struct store_cidr *expected, size_t count)
{
	assert_int_equal(key->cidr_count, count);
	for (size_t i = 0; i < count; i++) {
		assert_string_equal(key->cidrs[i].cidr, expected[i].cidr);
		assert_string_equal(key->cidrs[i].label, expected[i].label);
	}
}

/* ---- opening, schema, migrations ----------------------------------------------------------- */

/* The database's schema version (PostgreSQL's migrations share SQLite's numbers). */
static long long schema_version(const struct test_db *db)
{
	return test_db_integer(db, "%s", test_sql(db, "PRAGMA user_version", "SELECT max(version) FROM schema_version"));
}

/* How many tables, indexes and such the database holds. */
static long long schema_objects(const struct test_db *db)
{
	return test_db_integer(db, "%s",
			       test_sql(db, "SELECT count(*) FROM sqlite_master",
					"SELECT count(*) FROM pg_class WHERE relnamespace = current_schema()::regnamespace"));
}

static void test_open_creates_schema(void **state)
{
	struct fixture *fixture = *state;
	assert_true(MIGRATION_COUNT >= 1);
	assert_int_equal(schema_version(fixture->db), MIGRATION_COUNT);
	if (!fixture->db->postgresql)
		assert_string_equal(test_db_text(fixture->db, "PRAGMA journal_mode"), "wal");
	assert_int_equal(test_db_integer(fixture->db, "%s",
					 test_sql(fixture->db,
						  "SELECT count(*) FROM sqlite_master WHERE type = 'table' AND name IN "
						  "('workspace', 'role', 'api_key', 'api_key_cidr', 'secret_reveal')",
						  "SELECT count(*) FROM pg_tables WHERE schemaname = current_schema() AND "
						  "tablename IN ('workspace', 'role', 'api_key', 'api_key_cidr', 'secret_reveal')")),
			 5);
	assert_int_equal(test_db_integer(fixture->db, "SELECT count(*) FROM workspace WHERE id = 1"), 1);
}

static void test_open_twice_is_idempotent(void **state)
{
	struct fixture *fixture = *state;
	insert_simple_key(fixture, "key_survives", "survives", 100);
	long long objects = schema_objects(fixture->db);
	for (int round = 0; round < 2; round++) {
		store_close(fixture->db->store);
		char error[256] = "untouched";
		fixture->db->store = store_open(fixture->db->config.database_path, error, sizeof error);
		assert_non_null(fixture->db->store);
		assert_string_equal(error, "");
		assert_int_equal(schema_version(fixture->db), MIGRATION_COUNT);
		assert_int_equal(schema_objects(fixture->db), objects);
		assert_int_equal(test_db_integer(fixture->db, "SELECT count(*) FROM role"), 2);
		assert_int_equal(test_db_integer(fixture->db, "SELECT count(*) FROM workspace"), 1);
	}
	struct store_key key;
	assert_int_equal(
		store_key_get(fixture->db->store, fixture->db->arena, STORE_DEFAULT_WORKSPACE, "key_survives", &key),
		STORE_OK);
	assert_string_equal(key.name, "survives");
}

/* The database's version made newer than this program knows: refused, and left as it is. */
static void newer_postgresql_schema(struct fixture *fixture)
{
	store_close(fixture->db->store);
	fixture->db->store = NULL;
	char sql[64];
	snprintf(sql, sizeof sql, "UPDATE schema_version SET version = %lld", MIGRATION_COUNT + 1);
	test_db_execute(fixture->db, sql);
	long long objects = schema_objects(fixture->db);
	char error[256] = "";
	assert_null(store_open(fixture->db->config.database_path, error, sizeof error));
	char expected[128];
	snprintf(expected, sizeof expected, "schema version %lld, newer than this program (%lld)", MIGRATION_COUNT + 1,
		 MIGRATION_COUNT);
	if (strstr(error, expected) == NULL)
		fail_msg("error \"%s\" does not say \"%s\"", error, expected);
	assert_int_equal(schema_version(fixture->db), MIGRATION_COUNT + 1);
	assert_int_equal(schema_objects(fixture->db), objects);
}

static void test_open_refuses_newer_schema(void **state)
{
	struct fixture *fixture = *state;
	if (fixture->db->postgresql) {
		newer_postgresql_schema(fixture);
		return;
	}
	char path[160];
	snprintf(path, sizeof path, "%s/newer.db", fixture->db->folder);
	char sql[64];
	snprintf(sql, sizeof sql, "PRAGMA user_version = %lld", MIGRATION_COUNT + 1);
	test_file_execute(path, sql);

	char error[256] = "";
	struct store *store = store_open(path, error, sizeof error);
	assert_null(store);
	char expected[128];
	snprintf(expected, sizeof expected, "schema version %lld, newer than this program (%lld)", MIGRATION_COUNT + 1,
		 MIGRATION_COUNT);
	if (strstr(error, expected) == NULL)
		fail_msg("error \"%s\" does not say \"%s\"", error, expected);
	/* Nothing was migrated into it. */
	assert_int_equal(test_file_integer(path, "PRAGMA user_version"), MIGRATION_COUNT + 1);
	assert_int_equal(test_file_integer(path, "SELECT count(*) FROM sqlite_master"), 0);
}

static void test_open_reports_bad_files(void **state)
{
	test_skip_on_postgresql("about SQLite files: a missing folder, a file that is no database");
	struct fixture *fixture = *state;
	char path[160];
	char error[256] = "";
	snprintf(path, sizeof path, "%s/no-such-folder/keyward.db", fixture->db->folder);
	assert_null(store_open(path, error, sizeof error));
	if (strstr(error, path) == NULL)
		fail_msg("error \"%s\" does not name the path", error);

	snprintf(path, sizeof path, "%s/garbage.db", fixture->db->folder);
	FILE *file = fopen(path, "w");
	assert_non_null(file);
	for (int i = 0; i < 200; i++)
		fputs("this is not an SQLite database. ", file);
	fclose(file);
	error[0] = '\0';
	assert_null(store_open(path, error, sizeof error));
	char expected[256];
	snprintf(expected, sizeof expected, "database damaged: run PRAGMA integrity_check on %s", path);
	if (strstr(error, expected) == NULL)
		fail_msg("error \"%s\" does not say \"%s\"", error, expected);
}

/* True when `path` exists. */
static bool file_exists(const char *path)
{
	return access(path, F_OK) == 0;
}

/* Only store_create() makes a database: store_open() names the path and the command that would. */
static void test_open_refuses_a_missing_or_empty_file(void **state)
{
	test_skip_on_postgresql("about SQLite files: a missing or an empty one");
	struct fixture *fixture = *state;
	char path[160];
	char expected[512];
	char error[512] = "";
	snprintf(path, sizeof path, "%s/typo.db", fixture->db->folder);
	assert_null(store_open(path, error, sizeof error));
	snprintf(expected, sizeof expected,
		 "no database at %s: run \"keyward --db %s init\" to create one (is the path right?)", path, path);
	assert_string_equal(error, expected);
	assert_false(file_exists(path));
	char wal[200];
	snprintf(wal, sizeof wal, "%s-wal", path);
	assert_false(file_exists(wal));

	/* An empty file (an interrupted copy, a touch) is no database either: SQLite would start a new one. */
	FILE *file = fopen(path, "w");
	assert_non_null(file);
	fclose(file);
	error[0] = '\0';
	assert_null(store_open(path, error, sizeof error));
	assert_string_equal(error, expected);
	assert_int_equal(test_file_integer(path, "SELECT count(*) FROM sqlite_master"), 0);

	/* store_create() makes it, migrated; then store_open() takes it. */
	struct store *store = store_create(path, error, sizeof error);
	assert_non_null(store);
	store_close(store);
	assert_int_equal(test_file_integer(path, "PRAGMA user_version"), MIGRATION_COUNT);
	store = store_open(path, error, sizeof error);
	assert_non_null(store);
	store_close(store);
}

/* Overwrite page `page` (1-based) of the file at `path` with bytes no page starts with. */
static void damage_page(const char *path, long long page)
{
	long long size = test_file_integer(path, "PRAGMA page_size");
	FILE *file = fopen(path, "r+b");
	assert_non_null(file);
	assert_int_equal(fseek(file, (long)((page - 1) * size), SEEK_SET), 0);
	for (long long i = 0; i < size; i++)
		fputc(0xa5, file);
	fclose(file);
}

/* A damaged page is STORE_DAMAGED, not busy nor a plain error, whatever the extended code. */
static void test_damaged_page_is_store_damaged(void **state)
{
	test_skip_on_postgresql("about SQLite's file: a damaged page");
	struct fixture *fixture = *state;
	char key_id[32];
	for (int i = 0; i < 300; i++) { /* more than one page of keys */
		snprintf(key_id, sizeof key_id, "key_damage_%04d", i);
		insert_simple_key(fixture, key_id, "a key with a name long enough to fill pages", 100 + i);
	}
	store_close(fixture->db->store);
	fixture->db->store = NULL;
	long long root = test_db_integer(fixture->db, "SELECT rootpage FROM sqlite_master WHERE name = 'api_key'");
	damage_page(fixture->db->config.database_path, root);

	char error[512] = "";
	fixture->db->store = store_open(fixture->db->config.database_path, error, sizeof error);
	assert_non_null(fixture->db->store); /* the schema and header are whole: it opens */
	struct store_key *keys = NULL;
	size_t count = 0;
	bool more = false;
	struct store_key_filter filter = { .state = STORE_FILTER_ACTIVE, .limit = 10 };
	assert_int_equal(store_key_list(fixture->db->store, fixture->db->arena, STORE_DEFAULT_WORKSPACE, &filter, &keys,
					&count, &more),
			 STORE_DAMAGED);
	store_close(fixture->db->store);
	fixture->db->store = NULL;

	/* Damage in the header: refused at open with the advice. */
	damage_page(fixture->db->config.database_path, 1);
	assert_null(store_open(fixture->db->config.database_path, error, sizeof error));
	if (strstr(error, "database damaged: run PRAGMA integrity_check on ") == NULL)
		fail_msg("error \"%s\" does not give the advice", error);
}

/* The server key's check value: none at first, stored once, replaced only while no key or user exists. */
static void test_key_check(void **state)
{
	struct fixture *fixture = *state;
	struct store *store = fixture->db->store;
	unsigned char value[STORE_KEY_CHECK_BYTES], other[STORE_KEY_CHECK_BYTES], read[STORE_KEY_CHECK_BYTES];
	memset(value, 1, sizeof value);
	memset(other, 2, sizeof other);
	bool present = true, holds = true;
	assert_int_equal(store_key_check_get(store, read, &present, &holds), STORE_OK);
	assert_false(present);
	assert_false(holds);
	assert_int_equal(store_key_check_set(store, value, false, 10), STORE_OK);
	assert_int_equal(store_key_check_set(store, other, false, 11), STORE_OK); /* the first stands */
	assert_int_equal(store_key_check_get(store, read, &present, &holds), STORE_OK);
	assert_true(present);
	assert_memory_equal(read, value, sizeof value);
	assert_int_equal(store_key_check_set(store, other, true, 12), STORE_OK); /* nothing made with it: replaced */
	assert_int_equal(store_key_check_get(store, read, &present, &holds), STORE_OK);
	assert_memory_equal(read, other, sizeof other);

	insert_simple_key(fixture, "key_holds_secret", "made with the key", 100);
	assert_int_equal(store_key_check_get(store, read, &present, &holds), STORE_OK);
	assert_true(holds);
	assert_int_equal(store_key_check_set(store, value, true, 13), STORE_CONFLICT);
	assert_int_equal(store_key_check_get(store, read, &present, &holds), STORE_OK);
	assert_memory_equal(read, other, sizeof other);

	test_db_execute(fixture->db, "DELETE FROM api_key; INSERT INTO \"user\" (email, email_folded, password_hash, "
				     "created_at, updated_at) VALUES ('a@example.com', 'a@example.com', '', 1, 1)");
	assert_int_equal(store_key_check_get(store, read, &present, &holds), STORE_OK);
	assert_true(holds); /* users count too: their sessions are keyed with it */
	assert_int_equal(store_key_check_set(store, value, true, 14), STORE_CONFLICT);
}

/* VACUUM INTO: a whole copy in a new file; refused over a file that holds something (and on PostgreSQL). */
static void test_backup_copies_into_a_new_file(void **state)
{
	struct fixture *fixture = *state;
	insert_simple_key(fixture, "key_in_backup", "kept", 100);
	char path[160];
	snprintf(path, sizeof path, "%s/copy.db", fixture->db->folder);
	if (fixture->db->postgresql) { /* no file to copy: pg_dump's work, and said so */
		assert_int_equal(store_backup(fixture->db->store, path), STORE_ERROR);
		assert_false(file_exists(path));
		test_db_assert_no_transaction(fixture->db);
		return;
	}
	assert_int_equal(store_backup(fixture->db->store, path), STORE_OK);
	assert_int_equal(test_file_integer(path, "SELECT count(*) FROM api_key WHERE key_id = 'key_in_backup'"), 1);
	assert_int_equal(test_file_integer(path, "PRAGMA user_version"), MIGRATION_COUNT);
	assert_int_not_equal(store_backup(fixture->db->store, path), STORE_OK);
	assert_int_equal(test_file_integer(path, "SELECT count(*) FROM api_key"), 1);
	test_db_assert_no_transaction(fixture->db);
}

/* ---- roles --------------------------------------------------------------------------------- */

static void test_roles_admin_and_read_only(void **state)
{
	struct fixture *fixture = *state;
	struct store_role *roles = NULL;
	size_t count = 0;
	assert_int_equal(
		store_role_list(fixture->db->store, fixture->db->arena, STORE_DEFAULT_WORKSPACE, &roles, &count),
		STORE_OK);
	assert_int_equal(count, 2);
	assert_string_equal(roles[0].name, "admin");
	assert_string_equal(roles[1].name, "read-only");
	assert_int_equal(roles[0].id, fixture->db->admin_role);
	assert_int_equal(roles[1].id, fixture->db->read_only_role);
	assert_non_null(strstr(roles[0].permissions, "api.key.create"));
	assert_non_null(strstr(roles[1].permissions, "api.key.view"));
	assert_null(strstr(roles[1].permissions, "api.key.create"));
	assert_true(strlen(roles[1].description) > 0);

	struct store_role role;
	assert_int_equal(store_role_get(fixture->db->store, fixture->db->arena, STORE_DEFAULT_WORKSPACE,
					fixture->db->read_only_role, &role),
			 STORE_OK);
	assert_string_equal(role.name, "read-only");
	assert_int_equal(store_role_get(fixture->db->store, fixture->db->arena, STORE_DEFAULT_WORKSPACE, 9999, &role),
			 STORE_NOT_FOUND);
	assert_int_equal(store_role_get(fixture->db->store, fixture->db->arena, 2, fixture->db->admin_role, &role),
			 STORE_NOT_FOUND);
	assert_int_equal(store_role_find_by_name(fixture->db->store, fixture->db->arena, STORE_DEFAULT_WORKSPACE,
						 "Admin", &role),
			 STORE_NOT_FOUND);
	assert_int_equal(store_role_list(fixture->db->store, fixture->db->arena, 2, &roles, &count), STORE_OK);
	assert_int_equal(count, 0);
}

/* ---- keys: insert and get ------------------------------------------------------------------ */

static void test_key_insert_and_get(void **state)
{
	struct fixture *fixture = *state;
	static const struct store_cidr cidrs[] = {
		{ "192.168.0.0/16", "office" },
		{ "10.0.0.0/8", "" },
		{ "2001:db8::/32", "VPN \xc3\xa9t\xc3\xa9" },
	};
	struct store_key_fields fields = {
		.name = "Billing \xc3\x84pi",
		.name_folded = "billing \xc3\xa4pi",
		.postback_url = "https://example.com/hooks/keyward",
		.off_record = true,
		.enabled = false,
		.role_id = fixture->db->read_only_role,
		.cidrs = cidrs,
		.cidr_count = 3,
	};
	unsigned char hash[HASH_LENGTH];
	hash_for("key_4fT9aZ0pQ2mX8bYc", hash);
	int64_t row_id = 0;
	assert_int_equal(store_key_insert(fixture->db->store, STORE_DEFAULT_WORKSPACE, "key_4fT9aZ0pQ2mX8bYc", hash,
					  sizeof hash, "bYc9", &fields, "tester", 1700000000, 0, &row_id),
			 STORE_OK);
	assert_true(row_id > 0);

	struct store_key key;
	memset(&key, 0x5A, sizeof key);
	assert_int_equal(store_key_get(fixture->db->store, fixture->db->arena, STORE_DEFAULT_WORKSPACE,
				       "key_4fT9aZ0pQ2mX8bYc", &key),
			 STORE_OK);
	assert_int_equal(key.id, row_id);
	assert_int_equal(key.workspace_id, STORE_DEFAULT_WORKSPACE);
	assert_string_equal(key.key_id, "key_4fT9aZ0pQ2mX8bYc");
	assert_string_equal(key.name, "Billing \xc3\x84pi");
	assert_string_equal(key.secret_hint, "bYc9");
	assert_string_equal(key.postback_url, "https://example.com/hooks/keyward");
	assert_true(key.off_record);
	assert_false(key.enabled);
	assert_int_equal(key.role_id, fixture->db->read_only_role);
	assert_string_equal(key.role_name, "read-only");
	assert_int_equal(key.created_at, 1700000000);
	assert_int_equal(key.updated_at, 1700000000);
	assert_int_equal(key.last_used_at, 0);
	assert_int_equal(key.revoked_at, 0);
	assert_cidrs(&key, cidrs, 3);

	/* The stored hash and folded name are what was given. */
	assert_int_equal(test_db_integer(fixture->db, "SELECT length(secret_hash) FROM api_key"), HASH_LENGTH);
	assert_string_equal(test_db_text(fixture->db, "SELECT name_folded FROM api_key"), "billing \xc3\xa4pi");
}

static void test_key_insert_without_cidrs_and_odd_text(void **state)
{
	struct fixture *fixture = *state;
	struct store_key_fields fields = fields_of("Robert'); DROP TABLE api_key;--", "robert'); drop table api_key;--",
						   fixture->db->admin_role);
	insert_key(fixture, "key_plain", &fields, 5);
	struct store_key key;
	assert_int_equal(
		store_key_get(fixture->db->store, fixture->db->arena, STORE_DEFAULT_WORKSPACE, "key_plain", &key),
		STORE_OK);
	assert_string_equal(key.name, "Robert'); DROP TABLE api_key;--");
	assert_string_equal(key.postback_url, "");
	assert_true(key.enabled);
	assert_false(key.off_record);
	assert_string_equal(key.role_name, "admin");
	assert_int_equal(key.cidr_count, 0);
}

static void test_key_get_unknown(void **state)
{
	struct fixture *fixture = *state;
	insert_simple_key(fixture, "key_known", "known", 1);
	struct store_key key;
	assert_int_equal(
		store_key_get(fixture->db->store, fixture->db->arena, STORE_DEFAULT_WORKSPACE, "key_unknown", &key),
		STORE_NOT_FOUND);
	assert_int_equal(store_key_get(fixture->db->store, fixture->db->arena, STORE_DEFAULT_WORKSPACE, "", &key),
			 STORE_NOT_FOUND);
	assert_int_equal(store_key_get(fixture->db->store, fixture->db->arena, 2, "key_known", &key), STORE_NOT_FOUND);
}

static void test_key_many_cidrs_keep_their_order(void **state)
{
	struct fixture *fixture = *state;
	enum { COUNT = 37 };
	struct store_cidr cidrs[COUNT];
	char texts[COUNT][32], labels[COUNT][32];
	for (int i = 0; i < COUNT; i++) {
		snprintf(texts[i], sizeof texts[i], "10.%d.0.0/16", (COUNT - i) * 3);
		snprintf(labels[i], sizeof labels[i], "row %d", i);
		cidrs[i].cidr = texts[i];
		cidrs[i].label = labels[i];
	}
	struct store_key_fields fields = fields_of("many", "many", fixture->db->admin_role);
	fields.cidrs = cidrs;
	fields.cidr_count = COUNT;
	insert_key(fixture, "key_many", &fields, 1);
	struct store_key key;
	assert_int_equal(
		store_key_get(fixture->db->store, fixture->db->arena, STORE_DEFAULT_WORKSPACE, "key_many", &key),
		STORE_OK);
	assert_cidrs(&key, cidrs, COUNT);
}

/* ---- keys: failed writes leave nothing behind ---------------------------------------------- */

static void test_key_duplicate_id_conflicts(void **state)
{
	struct fixture *fixture = *state;
	static const struct store_cidr first_cidrs[] = { { "10.0.0.0/8", "a" }, { "10.1.0.0/16", "b" } };
	static const struct store_cidr second_cidrs[] = {
		{ "192.0.2.0/24", "x" }, { "198.51.100.0/24", "y" }, { "203.0.113.0/24", "z" },
	};
	struct store_key_fields fields = fields_of("first", "first", fixture->db->admin_role);
	fields.cidrs = first_cidrs;
	fields.cidr_count = 2;
	insert_key(fixture, "key_twice", &fields, 10);

	struct store_key_fields second = fields_of("second", "second", fixture->db->read_only_role);
	second.cidrs = second_cidrs;
	second.cidr_count = 3;
	unsigned char hash[HASH_LENGTH];
	hash_for("another secret", hash);
	int64_t row_id = 0;
	assert_int_equal(store_key_insert(fixture->db->store, STORE_DEFAULT_WORKSPACE, "key_twice", hash, sizeof hash,
					  "zzzz", &second, "tester", 20, 0, &row_id),
			 STORE_CONFLICT);

	assert_int_equal(test_db_integer(fixture->db, "SELECT count(*) FROM api_key"), 1);
	assert_int_equal(test_db_integer(fixture->db, "SELECT count(*) FROM api_key_cidr"), 2);
	assert_int_equal(test_db_integer(fixture->db, "SELECT count(*) FROM api_key_cidr WHERE label IN ('x','y','z')"),
			 0);
	struct store_key key;
	assert_int_equal(
		store_key_get(fixture->db->store, fixture->db->arena, STORE_DEFAULT_WORKSPACE, "key_twice", &key),
		STORE_OK);
	assert_string_equal(key.name, "first");
	assert_int_equal(key.created_at, 10);
	assert_cidrs(&key, first_cidrs, 2);
	test_db_assert_no_transaction(fixture->db);

	/* The store still works afterwards. */
	insert_simple_key(fixture, "key_after", "after", 30);
}

static void test_key_duplicate_secret_hash_conflicts(void **state)
{
	struct fixture *fixture = *state;
	insert_simple_key(fixture, "key_same", "one", 1);
	unsigned char hash[HASH_LENGTH];
	hash_for("key_same", hash); /* the hash of the first key */
	struct store_key_fields fields = fields_of("two", "two", fixture->db->admin_role);
	int64_t row_id = 0;
	assert_int_equal(store_key_insert(fixture->db->store, STORE_DEFAULT_WORKSPACE, "key_other", hash, sizeof hash,
					  "abcd", &fields, "tester", 2, 0, &row_id),
			 STORE_CONFLICT);
	assert_int_equal(test_db_integer(fixture->db, "SELECT count(*) FROM api_key"), 1);
	test_db_assert_no_transaction(fixture->db);
}

/* A CIDR row that the database refuses (NULL text) after the key row was written: all of it is undone. */
static void test_key_insert_failing_late_writes_nothing(void **state)
{
	struct fixture *fixture = *state;
	static const struct store_cidr cidrs[] = { { "10.0.0.0/8", "ok" }, { "10.2.0.0/16", "ok too" }, { NULL, "" } };
	struct store_key_fields fields = fields_of("half", "half", fixture->db->admin_role);
	fields.cidrs = cidrs;
	fields.cidr_count = 3;
	unsigned char hash[HASH_LENGTH];
	hash_for("key_half", hash);
	int64_t row_id = 0;
	enum store_status status = store_key_insert(fixture->db->store, STORE_DEFAULT_WORKSPACE, "key_half", hash,
						    sizeof hash, "half", &fields, "tester", 1, 0, &row_id);
	assert_int_not_equal(status, STORE_OK);
	assert_int_equal(test_db_integer(fixture->db, "SELECT count(*) FROM api_key"), 0);
	assert_int_equal(test_db_integer(fixture->db, "SELECT count(*) FROM api_key_cidr"), 0);
	struct store_key key;
	assert_int_equal(
		store_key_get(fixture->db->store, fixture->db->arena, STORE_DEFAULT_WORKSPACE, "key_half", &key),
		STORE_NOT_FOUND);
	test_db_assert_no_transaction(fixture->db);

	/* The same key ID and hash can be written afterwards: nothing of the failed attempt remains. */
	fields.cidr_count = 2;
	assert_int_equal(store_key_insert(fixture->db->store, STORE_DEFAULT_WORKSPACE, "key_half", hash, sizeof hash,
					  "half", &fields, "tester", 2, 0, &row_id),
			 STORE_OK);
	assert_int_equal(test_db_integer(fixture->db, "SELECT count(*) FROM api_key_cidr"), 2);
}

static void test_key_insert_unknown_role_refused(void **state)
{
	struct fixture *fixture = *state;
	struct store_key_fields fields = fields_of("orphan", "orphan", 9999);
	unsigned char hash[HASH_LENGTH];
	hash_for("key_orphan", hash);
	int64_t row_id = 0;
	assert_int_equal(store_key_insert(fixture->db->store, STORE_DEFAULT_WORKSPACE, "key_orphan", hash, sizeof hash,
					  "abcd", &fields, "tester", 1, 0, &row_id),
			 STORE_CONFLICT);
	assert_int_equal(test_db_integer(fixture->db, "SELECT count(*) FROM api_key"), 0);
}

/* ---- keys: list ---------------------------------------------------------------------------- */

/* List with `filter` (one page holds them all); check that it holds exactly `expected` key IDs in order. */
static void assert_list(struct fixture *fixture, const struct store_key_filter *filter, const char *const *expected,
			size_t expected_count)
{
	struct store_key *keys = NULL;
	size_t count = 99;
	bool more = true;
	assert_int_equal(store_key_list(fixture->db->store, fixture->db->arena, STORE_DEFAULT_WORKSPACE, filter, &keys,
					&count, &more),
			 STORE_OK);
	assert_false(more);
	assert_int_equal(count, expected_count);
	for (size_t i = 0; i < expected_count; i++)
		assert_string_equal(keys[i].key_id, expected[i]);
}

/* A list of key IDs as the (array, count) pair assert_list() takes. */
#define LIST(...)                                   \
	((const char *const[]){ __VA_ARGS__ }),     \
	(sizeof((const char *const[]){ __VA_ARGS__ }) / sizeof(const char *))

static void test_key_list_filters(void **state)
{
	struct fixture *fixture = *state;
	struct store_key_fields fields = fields_of("Billing Service", "billing service", fixture->db->admin_role);
	insert_key(fixture, "key_billing", &fields, 100);
	fields = fields_of("billing batch", "billing batch", fixture->db->read_only_role);
	fields.enabled = false;
	insert_key(fixture, "key_batch", &fields, 200);
	fields = fields_of("Search", "search", fixture->db->admin_role);
	insert_key(fixture, "key_search", &fields, 300);
	fields = fields_of("\xc3\x84PFEL Import", "\xc3\xa4pfel import", fixture->db->read_only_role);
	fields.note = "L\xc3\xa4uft auf Server 7";
	fields.note_folded = "l\xc3\xa4uft auf server 7";
	insert_key(fixture, "key_apfel", &fields, 400);
	fields = fields_of("100% sure_thing", "100% sure_thing", fixture->db->admin_role);
	insert_key(fixture, "key_percent", &fields, 500);
	fields = fields_of("old billing", "old billing", fixture->db->admin_role);
	fields.enabled = false;
	insert_key(fixture, "key_old", &fields, 50);
	assert_int_equal(store_key_revoke(fixture->db->store, STORE_DEFAULT_WORKSPACE, "key_search", 1000), STORE_OK);
	assert_int_equal(store_key_revoke(fixture->db->store, STORE_DEFAULT_WORKSPACE, "key_old", 1000), STORE_OK);

	struct store_key_filter filter = { .state = STORE_FILTER_ACTIVE, .limit = 50 };
	assert_list(fixture, &filter, LIST("key_percent", "key_apfel", "key_batch", "key_billing"));
	filter.text_folded = "";
	assert_list(fixture, &filter, LIST("key_percent", "key_apfel", "key_batch", "key_billing"));

	filter.state = STORE_FILTER_ENABLED;
	assert_list(fixture, &filter, LIST("key_percent", "key_apfel", "key_billing"));
	filter.state = STORE_FILTER_DISABLED;
	assert_list(fixture, &filter, LIST("key_batch"));
	filter.state = STORE_FILTER_REVOKED;
	assert_list(fixture, &filter, LIST("key_old", "key_search")); /* newest first: by id, not created_at */

	/* Folded-name substring. */
	filter.state = STORE_FILTER_ACTIVE;
	filter.text_folded = "billing";
	assert_list(fixture, &filter, LIST("key_batch", "key_billing"));
	filter.text_folded = "ing s";
	assert_list(fixture, &filter, LIST("key_billing"));
	filter.text_folded = "\xc3\xa4pfel";
	assert_list(fixture, &filter, LIST("key_apfel"));
	filter.text_folded = "Billing"; /* the filter is compared with the folded name as given */
	assert_list(fixture, &filter, NULL, 0);
	filter.text_folded = "nothing like it";
	assert_list(fixture, &filter, NULL, 0);
	/* No LIKE wildcards: '%' and '_' are plain characters. */
	filter.text_folded = "%";
	assert_list(fixture, &filter, LIST("key_percent"));
	filter.text_folded = "_";
	assert_list(fixture, &filter, LIST("key_percent"));
	filter.text_folded = "billing";
	filter.state = STORE_FILTER_REVOKED;
	assert_list(fixture, &filter, LIST("key_old"));

	/* The folded note too; the key ID and the secret's hint only when given apart. */
	filter.state = STORE_FILTER_ACTIVE;
	filter.text_folded = "l\xc3\xa4uft auf";
	assert_list(fixture, &filter, LIST("key_apfel"));
	filter.text_folded = "perc";
	assert_list(fixture, &filter, NULL, 0);
	filter.key_id_folded = "perc";
	assert_list(fixture, &filter, LIST("key_percent"));
	filter.text_folded = "wxyz";
	filter.key_id_folded = "";
	assert_list(fixture, &filter, NULL, 0);
	filter.hint_folded = "wxyz";
	assert_list(fixture, &filter, LIST("key_percent", "key_apfel", "key_batch", "key_billing"));
	filter.hint_folded = "wxy";
	assert_list(fixture, &filter, NULL, 0);
	filter.hint_folded = NULL;
	filter.key_id_folded = NULL;

	/* Role, alone and combined. */
	filter.text_folded = NULL;
	filter.state = STORE_FILTER_ACTIVE;
	filter.role_id = fixture->db->admin_role;
	assert_list(fixture, &filter, LIST("key_percent", "key_billing"));
	filter.role_id = fixture->db->read_only_role;
	assert_list(fixture, &filter, LIST("key_apfel", "key_batch"));
	filter.state = STORE_FILTER_DISABLED;
	assert_list(fixture, &filter, LIST("key_batch"));
	filter.text_folded = "billing";
	filter.state = STORE_FILTER_ENABLED;
	assert_list(fixture, &filter, NULL, 0);
	filter.role_id = 9999;
	filter.text_folded = NULL;
	filter.state = STORE_FILTER_ACTIVE;
	assert_list(fixture, &filter, NULL, 0);

	/* Other workspaces see nothing. */
	struct store_key *keys = NULL;
	size_t count = 9;
	bool more = true;
	filter.role_id = 0;
	assert_int_equal(store_key_list(fixture->db->store, fixture->db->arena, 2, &filter, &keys, &count, &more),
			 STORE_OK);
	assert_int_equal(count, 0);
	assert_false(more);
}

static void test_key_list_rows_are_complete(void **state)
{
	struct fixture *fixture = *state;
	static const struct store_cidr cidrs[] = { { "10.0.0.0/8", "x" } };
	struct store_key_fields fields = fields_of("Full", "full", fixture->db->read_only_role);
	fields.postback_url = "https://example.com/";
	fields.off_record = true;
	fields.cidrs = cidrs;
	fields.cidr_count = 1;
	int64_t row_id = insert_key(fixture, "key_full", &fields, 77);
	struct store_key_filter filter = { .state = STORE_FILTER_ACTIVE, .limit = 10 };
	struct store_key *keys = NULL;
	size_t count = 0;
	bool more = true;
	assert_int_equal(store_key_list(fixture->db->store, fixture->db->arena, STORE_DEFAULT_WORKSPACE, &filter, &keys,
					&count, &more),
			 STORE_OK);
	assert_int_equal(count, 1);
	assert_false(more);
	assert_int_equal(keys[0].id, row_id);
	assert_string_equal(keys[0].name, "Full");
	assert_string_equal(keys[0].secret_hint, "wxyz");
	assert_string_equal(keys[0].postback_url, "https://example.com/");
	assert_string_equal(keys[0].role_name, "read-only");
	assert_true(keys[0].off_record);
	assert_true(keys[0].enabled);
	assert_int_equal(keys[0].created_at, 77);
	assert_int_equal(keys[0].cidr_count, 0); /* lists carry no CIDRs */
}

/* ---- keys: update, enable, secret, revoke -------------------------------------------------- */

static void test_key_update_replaces_fields_and_cidrs(void **state)
{
	struct fixture *fixture = *state;
	static const struct store_cidr old_cidrs[] = { { "10.0.0.0/8", "old a" }, { "10.1.0.0/16", "old b" },
						       { "10.2.0.0/16", "old c" } };
	static const struct store_cidr new_cidrs[] = { { "2001:db8::/32", "new v6" }, { "192.0.2.0/24", "" } };
	static const struct store_cidr neighbour_cidrs[] = { { "198.51.100.0/24", "neighbour" } };
	struct store_key_fields fields = fields_of("Before", "before", fixture->db->admin_role);
	fields.cidrs = old_cidrs;
	fields.cidr_count = 3;
	int64_t row_id = insert_key(fixture, "key_update", &fields, 100);
	struct store_key_fields neighbour = fields_of("Neighbour", "neighbour", fixture->db->admin_role);
	neighbour.cidrs = neighbour_cidrs;
	neighbour.cidr_count = 1;
	insert_key(fixture, "key_neighbour", &neighbour, 100);

	struct store_key_fields changed = {
		.name = "After",
		.name_folded = "after",
		.postback_url = "http://example.com:8080/x",
		.off_record = true,
		.enabled = false,
		.role_id = fixture->db->read_only_role,
		.cidrs = new_cidrs,
		.cidr_count = 2,
	};
	assert_int_equal(store_key_update(fixture->db->store, STORE_DEFAULT_WORKSPACE, "key_update", &changed, 200),
			 STORE_OK);
	struct store_key key;
	assert_int_equal(
		store_key_get(fixture->db->store, fixture->db->arena, STORE_DEFAULT_WORKSPACE, "key_update", &key),
		STORE_OK);
	assert_int_equal(key.id, row_id);
	assert_string_equal(key.name, "After");
	assert_string_equal(key.postback_url, "http://example.com:8080/x");
	assert_true(key.off_record);
	assert_false(key.enabled);
	assert_int_equal(key.role_id, fixture->db->read_only_role);
	assert_string_equal(key.role_name, "read-only");
	assert_int_equal(key.created_at, 100);
	assert_int_equal(key.updated_at, 200);
	assert_string_equal(key.secret_hint, "wxyz");
	assert_cidrs(&key, new_cidrs, 2);
	assert_string_equal(test_db_text(fixture->db, "SELECT name_folded FROM api_key WHERE key_id = 'key_update'"),
			    "after");

	/* Old rows are gone from the table, the neighbour's rows stay. */
	assert_int_equal(test_db_integer(fixture->db, "SELECT count(*) FROM api_key_cidr"), 3);
	assert_int_equal(test_db_integer(fixture->db, "SELECT count(*) FROM api_key_cidr WHERE label LIKE 'old%%'"), 0);
	assert_int_equal(
		store_key_get(fixture->db->store, fixture->db->arena, STORE_DEFAULT_WORKSPACE, "key_neighbour", &key),
		STORE_OK);
	assert_cidrs(&key, neighbour_cidrs, 1);

	/* An update to no CIDRs at all empties the list. */
	changed.cidr_count = 0;
	assert_int_equal(store_key_update(fixture->db->store, STORE_DEFAULT_WORKSPACE, "key_update", &changed, 300),
			 STORE_OK);
	assert_int_equal(
		store_key_get(fixture->db->store, fixture->db->arena, STORE_DEFAULT_WORKSPACE, "key_update", &key),
		STORE_OK);
	assert_int_equal(key.cidr_count, 0);

	assert_int_equal(store_key_update(fixture->db->store, STORE_DEFAULT_WORKSPACE, "key_nobody", &changed, 300),
			 STORE_NOT_FOUND);
	assert_int_equal(store_key_update(fixture->db->store, 2, "key_update", &changed, 300), STORE_NOT_FOUND);
	test_db_assert_no_transaction(fixture->db);
}

/* An update whose new CIDR list the database refuses changes nothing at all. */
static void test_key_update_is_atomic(void **state)
{
	struct fixture *fixture = *state;
	static const struct store_cidr old_cidrs[] = { { "10.0.0.0/8", "one" }, { "10.1.0.0/16", "two" } };
	static const struct store_cidr bad_cidrs[] = { { "192.0.2.0/24", "fine" }, { NULL, "refused" } };
	struct store_key_fields fields = fields_of("Stays", "stays", fixture->db->admin_role);
	fields.cidrs = old_cidrs;
	fields.cidr_count = 2;
	insert_key(fixture, "key_atomic", &fields, 100);

	struct store_key_fields changed = fields_of("Changed", "changed", fixture->db->read_only_role);
	changed.cidrs = bad_cidrs;
	changed.cidr_count = 2;
	assert_int_not_equal(store_key_update(fixture->db->store, STORE_DEFAULT_WORKSPACE, "key_atomic", &changed, 200),
			     STORE_OK);
	struct store_key key;
	assert_int_equal(
		store_key_get(fixture->db->store, fixture->db->arena, STORE_DEFAULT_WORKSPACE, "key_atomic", &key),
		STORE_OK);
	assert_string_equal(key.name, "Stays");
	assert_int_equal(key.role_id, fixture->db->admin_role);
	assert_int_equal(key.updated_at, 100);
	assert_cidrs(&key, old_cidrs, 2);
	assert_int_equal(test_db_integer(fixture->db, "SELECT count(*) FROM api_key_cidr"), 2);
	test_db_assert_no_transaction(fixture->db);

	/* An unknown role is refused the same way. */
	changed = fields_of("Changed", "changed", 9999);
	assert_int_equal(store_key_update(fixture->db->store, STORE_DEFAULT_WORKSPACE, "key_atomic", &changed, 200),
			 STORE_CONFLICT);
	assert_int_equal(
		store_key_get(fixture->db->store, fixture->db->arena, STORE_DEFAULT_WORKSPACE, "key_atomic", &key),
		STORE_OK);
	assert_string_equal(key.name, "Stays");
	assert_cidrs(&key, old_cidrs, 2);
}

static void test_key_set_enabled(void **state)
{
	struct fixture *fixture = *state;
	insert_simple_key(fixture, "key_toggle", "toggle", 100);
	struct store_key key;
	assert_int_equal(store_key_set_enabled(fixture->db->store, STORE_DEFAULT_WORKSPACE, "key_toggle", false, 150),
			 STORE_OK);
	assert_int_equal(
		store_key_get(fixture->db->store, fixture->db->arena, STORE_DEFAULT_WORKSPACE, "key_toggle", &key),
		STORE_OK);
	assert_false(key.enabled);
	assert_int_equal(key.updated_at, 150);
	/* Disabling twice is fine: the key exists and is not revoked. */
	assert_int_equal(store_key_set_enabled(fixture->db->store, STORE_DEFAULT_WORKSPACE, "key_toggle", false, 160),
			 STORE_OK);
	assert_int_equal(store_key_set_enabled(fixture->db->store, STORE_DEFAULT_WORKSPACE, "key_toggle", true, 170),
			 STORE_OK);
	assert_int_equal(
		store_key_get(fixture->db->store, fixture->db->arena, STORE_DEFAULT_WORKSPACE, "key_toggle", &key),
		STORE_OK);
	assert_true(key.enabled);
	assert_int_equal(key.updated_at, 170);
	assert_int_equal(store_key_set_enabled(fixture->db->store, STORE_DEFAULT_WORKSPACE, "key_nobody", true, 180),
			 STORE_NOT_FOUND);
	assert_int_equal(store_key_set_enabled(fixture->db->store, 2, "key_toggle", false, 180), STORE_NOT_FOUND);
}

static void test_key_set_secret(void **state)
{
	struct fixture *fixture = *state;
	insert_simple_key(fixture, "key_rotate", "rotate", 100);
	insert_simple_key(fixture, "key_other", "other", 100);
	unsigned char hash[HASH_LENGTH];
	memset(hash, 0xAB, sizeof hash);
	assert_int_equal(store_key_set_secret(fixture->db->store, STORE_DEFAULT_WORKSPACE, "key_rotate", hash,
					      sizeof hash, "NEW1", 200, 0),
			 STORE_OK);
	struct store_key key;
	assert_int_equal(
		store_key_get(fixture->db->store, fixture->db->arena, STORE_DEFAULT_WORKSPACE, "key_rotate", &key),
		STORE_OK);
	assert_string_equal(key.secret_hint, "NEW1");
	assert_int_equal(key.updated_at, 200);
	assert_string_equal(
		test_db_text(fixture->db, "SELECT %s FROM api_key WHERE key_id = 'key_rotate'",
			     test_sql(fixture->db, "hex(secret_hash)", "upper(encode(secret_hash, 'hex'))")),
		"ABABABABABABABABABABABABABABABABABABABABABABABABABABABABABABABAB");

	/* Another key's hash is refused. */
	hash_for("key_other", hash);
	assert_int_equal(store_key_set_secret(fixture->db->store, STORE_DEFAULT_WORKSPACE, "key_rotate", hash,
					      sizeof hash, "OOPS", 300, 0),
			 STORE_CONFLICT);
	assert_int_equal(
		store_key_get(fixture->db->store, fixture->db->arena, STORE_DEFAULT_WORKSPACE, "key_rotate", &key),
		STORE_OK);
	assert_string_equal(key.secret_hint, "NEW1");
	assert_int_equal(store_key_set_secret(fixture->db->store, STORE_DEFAULT_WORKSPACE, "key_nobody", hash,
					      sizeof hash, "NONE", 300, 0),
			 STORE_NOT_FOUND);
}

static void test_key_revoke_is_final(void **state)
{
	struct fixture *fixture = *state;
	static const struct store_cidr cidrs[] = { { "10.0.0.0/8", "kept" } };
	struct store_key_fields fields = fields_of("Doomed", "doomed", fixture->db->admin_role);
	fields.cidrs = cidrs;
	fields.cidr_count = 1;
	insert_key(fixture, "key_doomed", &fields, 100);

	assert_int_equal(store_key_revoke(fixture->db->store, STORE_DEFAULT_WORKSPACE, "key_doomed", 500), STORE_OK);
	struct store_key key;
	assert_int_equal(
		store_key_get(fixture->db->store, fixture->db->arena, STORE_DEFAULT_WORKSPACE, "key_doomed", &key),
		STORE_OK);
	assert_int_equal(key.revoked_at, 500);
	assert_int_equal(key.updated_at, 500);

	assert_int_equal(store_key_revoke(fixture->db->store, STORE_DEFAULT_WORKSPACE, "key_doomed", 600),
			 STORE_NOT_FOUND);

	struct store_key_fields changed = fields_of("Revived", "revived", fixture->db->read_only_role);
	assert_int_equal(store_key_update(fixture->db->store, STORE_DEFAULT_WORKSPACE, "key_doomed", &changed, 700),
			 STORE_NOT_FOUND);
	assert_int_equal(store_key_set_enabled(fixture->db->store, STORE_DEFAULT_WORKSPACE, "key_doomed", false, 700),
			 STORE_NOT_FOUND);
	assert_int_equal(store_key_set_enabled(fixture->db->store, STORE_DEFAULT_WORKSPACE, "key_doomed", true, 700),
			 STORE_NOT_FOUND);
	unsigned char hash[HASH_LENGTH];
	memset(hash, 0xCD, sizeof hash);
	assert_int_equal(store_key_set_secret(fixture->db->store, STORE_DEFAULT_WORKSPACE, "key_doomed", hash,
					      sizeof hash, "LATE", 700, 0),
			 STORE_NOT_FOUND);
	test_db_assert_no_transaction(fixture->db);

	/* None of the refused writes changed anything. */
	assert_int_equal(
		store_key_get(fixture->db->store, fixture->db->arena, STORE_DEFAULT_WORKSPACE, "key_doomed", &key),
		STORE_OK);
	assert_string_equal(key.name, "Doomed");
	assert_true(key.enabled);
	assert_string_equal(key.secret_hint, "wxyz");
	assert_int_equal(key.revoked_at, 500);
	assert_int_equal(key.updated_at, 500);
	assert_int_equal(key.role_id, fixture->db->admin_role);
	assert_cidrs(&key, cidrs, 1);

	assert_int_equal(store_key_revoke(fixture->db->store, STORE_DEFAULT_WORKSPACE, "key_nobody", 600),
			 STORE_NOT_FOUND);
	insert_simple_key(fixture, "key_elsewhere", "elsewhere", 100);
	assert_int_equal(store_key_revoke(fixture->db->store, 2, "key_elsewhere", 600), STORE_NOT_FOUND);
}

/* ---- reveals ------------------------------------------------------------------------------- */

#define MAX_AGE 600

static void put_reveal(struct fixture *fixture, int64_t row_id, const char *sealed, int64_t now)
{
	assert_int_equal(store_reveal_put(fixture->db->store, STORE_DEFAULT_WORKSPACE, row_id,
					  (const unsigned char *)sealed, strlen(sealed), now, MAX_AGE),
			 STORE_OK);
}

/* Get a reveal, compare it with `expected` (NULL: expect STORE_NOT_FOUND), and delete it. */
static void take_reveal(struct fixture *fixture, int64_t workspace_id, int64_t row_id, int64_t now,
			const char *expected)
{
	unsigned char *sealed = (unsigned char *)"untouched";
	size_t length = 99;
	int64_t reveal_id = -1;
	enum store_status status = store_reveal_get(fixture->db->store, fixture->db->arena, workspace_id, row_id, now,
						    MAX_AGE, &reveal_id, &sealed, &length);
	if (expected == NULL) {
		assert_int_equal(status, STORE_NOT_FOUND);
		assert_null(sealed);
		assert_int_equal(length, 0);
		return;
	}
	assert_int_equal(status, STORE_OK);
	assert_int_equal(length, strlen(expected));
	assert_memory_equal(sealed, expected, length);
	assert_int_equal(store_reveal_delete(fixture->db->store, workspace_id, reveal_id), STORE_OK);
}

static void test_reveal_read_then_delete(void **state)
{
	struct fixture *fixture = *state;
	int64_t row_id = insert_simple_key(fixture, "key_reveal", "reveal", 1000);
	static const unsigned char binary[] = { 0x00, 0xFF, 0x10, 0x00, 0x80, 0x7F };
	assert_int_equal(store_reveal_put(fixture->db->store, STORE_DEFAULT_WORKSPACE, row_id, binary, sizeof binary,
					  1000, MAX_AGE),
			 STORE_OK);
	unsigned char *sealed = NULL;
	size_t length = 0;
	int64_t reveal_id = 0;
	assert_int_equal(store_reveal_get(fixture->db->store, fixture->db->arena, STORE_DEFAULT_WORKSPACE, row_id, 1010,
					  MAX_AGE, &reveal_id, &sealed, &length),
			 STORE_OK);
	assert_int_equal(length, sizeof binary);
	assert_memory_equal(sealed, binary, sizeof binary);
	/* Reading leaves it waiting; deleting uses it up, once. */
	assert_int_equal(test_db_integer(fixture->db, "SELECT count(*) FROM secret_reveal"), 1);
	assert_int_equal(store_reveal_delete(fixture->db->store, STORE_DEFAULT_WORKSPACE, reveal_id), STORE_OK);
	assert_int_equal(test_db_integer(fixture->db, "SELECT count(*) FROM secret_reveal"), 0);
	assert_int_equal(store_reveal_delete(fixture->db->store, STORE_DEFAULT_WORKSPACE, reveal_id), STORE_NOT_FOUND);
	take_reveal(fixture, STORE_DEFAULT_WORKSPACE, row_id, 1011, NULL);
}

/* The store takes any bytes, even none (SQLite hands back a NULL pointer for an empty blob). */
static void test_reveal_empty_blob(void **state)
{
	struct fixture *fixture = *state;
	int64_t row_id = insert_simple_key(fixture, "key_empty", "empty", 1000);
	static const unsigned char nothing[1] = { 0 };
	assert_int_equal(
		store_reveal_put(fixture->db->store, STORE_DEFAULT_WORKSPACE, row_id, nothing, 0, 1000, MAX_AGE),
		STORE_OK);
	unsigned char *sealed = NULL;
	size_t length = 99;
	int64_t reveal_id = 0;
	assert_int_equal(store_reveal_get(fixture->db->store, fixture->db->arena, STORE_DEFAULT_WORKSPACE, row_id, 1001,
					  MAX_AGE, &reveal_id, &sealed, &length),
			 STORE_OK);
	assert_non_null(sealed);
	assert_int_equal(length, 0);
	assert_int_equal(store_reveal_delete(fixture->db->store, STORE_DEFAULT_WORKSPACE, reveal_id), STORE_OK);
	take_reveal(fixture, STORE_DEFAULT_WORKSPACE, row_id, 1002, NULL);
}

static void test_reveal_expires(void **state)
{
	struct fixture *fixture = *state;
	int64_t row_id = insert_simple_key(fixture, "key_expire", "expire", 1000);
	put_reveal(fixture, row_id, "stale", 1000);
	take_reveal(fixture, STORE_DEFAULT_WORKSPACE, row_id, 1000 + MAX_AGE + 1, NULL);
	/* Exactly max_age old is still in time. */
	put_reveal(fixture, row_id, "just in time", 2000);
	take_reveal(fixture, STORE_DEFAULT_WORKSPACE, row_id, 2000 + MAX_AGE, "just in time");
}

static void test_reveal_put_replaces_earlier(void **state)
{
	struct fixture *fixture = *state;
	int64_t row_id = insert_simple_key(fixture, "key_replace", "replace", 1000);
	put_reveal(fixture, row_id, "first secret", 1000);
	put_reveal(fixture, row_id, "second secret", 1005);
	assert_int_equal(test_db_integer(fixture->db, "SELECT count(*) FROM secret_reveal"), 1);
	take_reveal(fixture, STORE_DEFAULT_WORKSPACE, row_id, 1010, "second secret");
	take_reveal(fixture, STORE_DEFAULT_WORKSPACE, row_id, 1010, NULL);
}

static void test_reveal_keys_and_workspaces_are_separate(void **state)
{
	struct fixture *fixture = *state;
	int64_t one = insert_simple_key(fixture, "key_one", "one", 1000);
	int64_t two = insert_simple_key(fixture, "key_two", "two", 1000);
	put_reveal(fixture, one, "for one", 1000);
	put_reveal(fixture, two, "for two", 1001);
	take_reveal(fixture, 2, one, 1002, NULL); /* another workspace gets nothing, and takes nothing */
	take_reveal(fixture, STORE_DEFAULT_WORKSPACE, one, 1002, "for one");
	take_reveal(fixture, STORE_DEFAULT_WORKSPACE, two, 1002, "for two");
	take_reveal(fixture, STORE_DEFAULT_WORKSPACE, 9999, 1002, NULL);
}

static void test_reveal_put_drops_stale_ones(void **state)
{
	struct fixture *fixture = *state;
	int64_t one = insert_simple_key(fixture, "key_one", "one", 1000);
	int64_t two = insert_simple_key(fixture, "key_two", "two", 1000);
	put_reveal(fixture, one, "forgotten", 1000);
	put_reveal(fixture, two, "fresh", 1000 + MAX_AGE + 1);
	assert_int_equal(test_db_integer(fixture->db, "SELECT count(*) FROM secret_reveal"), 1);
	take_reveal(fixture, STORE_DEFAULT_WORKSPACE, two, 1000 + MAX_AGE + 2, "fresh");
}

static void test_revoke_drops_pending_reveal(void **state)
{
	struct fixture *fixture = *state;
	int64_t row_id = insert_simple_key(fixture, "key_revoked", "revoked", 1000);
	put_reveal(fixture, row_id, "never shown", 1000);
	assert_int_equal(store_key_revoke(fixture->db->store, STORE_DEFAULT_WORKSPACE, "key_revoked", 1001), STORE_OK);
	assert_int_equal(test_db_integer(fixture->db, "SELECT count(*) FROM secret_reveal"), 0);
	take_reveal(fixture, STORE_DEFAULT_WORKSPACE, row_id, 1002, NULL);
}

/* The active-key limit: the configured default, a workspace's own, revoked keys not counting. */
static void test_key_limit(void **state)
{
	struct fixture *fixture = *state;
	struct store *store = fixture->db->store;
	struct store_key_fields fields = fields_of("Limited", "limited", fixture->db->admin_role);
	insert_simple_key(fixture, "key_limit_one", "One", 10);
	insert_simple_key(fixture, "key_limit_two", "Two", 11);
	int64_t limit = -1, active = -1, row_id = 0;
	assert_int_equal(store_key_active_limit(store, STORE_DEFAULT_WORKSPACE, 2, &limit, &active), STORE_OK);
	assert_int_equal(limit, 2);
	assert_int_equal(active, 2);

	unsigned char hash[HASH_LENGTH];
	hash_for("key_limit_three", hash);
	assert_int_equal(store_key_insert(store, STORE_DEFAULT_WORKSPACE, "key_limit_three", hash, sizeof hash, "3333",
					  &fields, "tester", 12, 2, &row_id),
			 STORE_LIMIT);
	assert_int_equal(test_db_integer(fixture->db, "SELECT count(*) FROM api_key WHERE key_id = 'key_limit_three'"), 0);
	test_db_assert_no_transaction(fixture->db);
	/* No limit (0), or a higher one: room again. */
	assert_int_equal(store_key_insert(store, STORE_DEFAULT_WORKSPACE, "key_limit_three", hash, sizeof hash, "3333",
					  &fields, "tester", 12, 3, &row_id),
			 STORE_OK);
	/* A revoked key does not count. */
	assert_int_equal(store_key_revoke(store, STORE_DEFAULT_WORKSPACE, "key_limit_one", 13), STORE_OK);
	assert_int_equal(store_key_active_limit(store, STORE_DEFAULT_WORKSPACE, 3, &limit, &active), STORE_OK);
	assert_int_equal(active, 2);
	hash_for("key_limit_four", hash);
	assert_int_equal(store_key_insert(store, STORE_DEFAULT_WORKSPACE, "key_limit_four", hash, sizeof hash, "4444",
					  &fields, "tester", 14, 3, &row_id),
			 STORE_OK);
	/* The workspace's own limit wins over the default; its 0 means none. */
	test_db_execute(fixture->db, "UPDATE workspace SET active_key_limit = 3 WHERE id = 1");
	hash_for("key_limit_five", hash);
	assert_int_equal(store_key_insert(store, STORE_DEFAULT_WORKSPACE, "key_limit_five", hash, sizeof hash, "5555",
					  &fields, "tester", 15, 0, &row_id),
			 STORE_LIMIT);
	test_db_execute(fixture->db, "UPDATE workspace SET active_key_limit = 0 WHERE id = 1");
	assert_int_equal(store_key_insert(store, STORE_DEFAULT_WORKSPACE, "key_limit_five", hash, sizeof hash, "5555",
					  &fields, "tester", 15, 1, &row_id),
			 STORE_OK);
}

#define TEST(name) cmocka_unit_test_setup_teardown(name, setup, teardown)

int main(void)
{
	const struct CMUnitTest tests[] = {
		TEST(test_open_creates_schema),
		TEST(test_open_twice_is_idempotent),
		TEST(test_open_refuses_newer_schema),
		TEST(test_open_reports_bad_files),
		TEST(test_open_refuses_a_missing_or_empty_file),
		TEST(test_damaged_page_is_store_damaged),
		TEST(test_key_check),
		TEST(test_backup_copies_into_a_new_file),
		TEST(test_roles_admin_and_read_only),
		TEST(test_key_insert_and_get),
		TEST(test_key_insert_without_cidrs_and_odd_text),
		TEST(test_key_get_unknown),
		TEST(test_key_many_cidrs_keep_their_order),
		TEST(test_key_duplicate_id_conflicts),
		TEST(test_key_duplicate_secret_hash_conflicts),
		TEST(test_key_insert_failing_late_writes_nothing),
		TEST(test_key_insert_unknown_role_refused),
		TEST(test_key_list_filters),
		TEST(test_key_list_rows_are_complete),
		TEST(test_key_update_replaces_fields_and_cidrs),
		TEST(test_key_update_is_atomic),
		TEST(test_key_set_enabled),
		TEST(test_key_set_secret),
		TEST(test_key_revoke_is_final),
		TEST(test_reveal_read_then_delete),
		TEST(test_reveal_empty_blob),
		TEST(test_reveal_expires),
		TEST(test_reveal_put_replaces_earlier),
		TEST(test_reveal_keys_and_workspaces_are_separate),
		TEST(test_reveal_put_drops_stale_ones),
		TEST(test_key_limit),
		TEST(test_revoke_drops_pending_reveal),
	};
	return cmocka_run_group_tests_name("store", tests, NULL, NULL);
}
