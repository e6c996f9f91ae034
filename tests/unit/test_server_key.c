/* test_server_key.c: the server key file held against its database's check value, on real files. */
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
#include <sys/stat.h>
#include <unistd.h>

#include "support.h"

#include "core/config.h"
#include "domain/server_key.h"
#include "store/store.h"

static int setup(void **state)
{
	struct test_db *db = test_db_open("server-key");
	if (db == NULL)
		return -1;
	/* Beside an SQLite file, as keyward puts it by default; on PostgreSQL, in the test's folder. */
	snprintf(db->config.server_key_path, sizeof db->config.server_key_path, "%s/keyward.db.key", db->folder);
	memset(db->config.server_key, 0, sizeof db->config.server_key); /* what the file holds is read, not this */
	*state = db;
	return 0;
}

static int teardown(void **state)
{
	return test_db_close(*state);
}

static void write_key(const struct test_db *db, unsigned char fill)
{
	unsigned char key[CONFIG_SERVER_KEY_BYTES];
	memset(key, fill, sizeof key);
	unlink(db->config.server_key_path);
	FILE *file = fopen(db->config.server_key_path, "wb");
	assert_non_null(file);
	assert_int_equal(fwrite(key, 1, sizeof key, file), sizeof key);
	fclose(file);
	chmod(db->config.server_key_path, 0600);
}

static bool key_file_exists(const struct test_db *db)
{
	return access(db->config.server_key_path, F_OK) == 0;
}

/* Something made with the key: a user (its sessions are keyed with it). */
static void add_user(const struct test_db *db)
{
	test_db_execute(db, "INSERT INTO \"user\" (email, email_folded, password_hash, created_at, updated_at) "
			    "VALUES ('a@example.com', 'a@example.com', '', 1, 1)");
}

static void add_key(const struct test_db *db)
{
	char sql[512];
	snprintf(sql, sizeof sql, "INSERT INTO api_key (workspace_id, key_id, name, name_folded, secret_hash, secret_hint, "
				  "role_id, created_at, updated_at) VALUES (1, 'key_made_with_it', 'k', 'k', %s, 'abcd', "
				  "(SELECT id FROM role WHERE name = 'admin'), 1, 1)",
		 test_db_blob(db, "01"));
	test_db_execute(db, sql);
}

/* Fails unless `error` names both the key file and the database. */
static void assert_names_both_paths(const struct test_db *db, const char *error)
{
	char database[1100];
	snprintf(database, sizeof database, "database %s", db->config.database_path);
	if (strstr(error, db->config.server_key_path) == NULL || strstr(error, database) == NULL)
		fail_msg("\"%s\" does not name both %s and %s", error, db->config.server_key_path,
			 db->config.database_path);
}

static bool load(struct test_db *db, bool initialising, char *error, size_t size)
{
	error[0] = '\0';
	return server_key_load(db->store, &db->config, initialising, error, size);
}

static void test_init_makes_a_key_for_an_empty_database(void **state)
{
	struct test_db *db = *state;
	char error[1024];
	assert_true(load(db, true, error, sizeof error));
	struct stat info;
	assert_int_equal(stat(db->config.server_key_path, &info), 0);
	assert_int_equal(info.st_mode & 0777, 0640);
	assert_int_equal(info.st_size, CONFIG_SERVER_KEY_BYTES);
	unsigned char expected[STORE_KEY_CHECK_BYTES], stored[STORE_KEY_CHECK_BYTES];
	server_key_check_value(db->config.server_key, sizeof db->config.server_key, expected);
	bool present = false, holds = false;
	assert_int_equal(store_key_check_get(db->store, stored, &present, &holds), STORE_OK);
	assert_true(present);
	assert_memory_equal(stored, expected, sizeof expected);
	/* Never the key itself. */
	assert_memory_not_equal(stored, db->config.server_key, sizeof stored);
	/* Again, with the key it made: the same key, accepted. */
	unsigned char first[CONFIG_SERVER_KEY_BYTES];
	memcpy(first, db->config.server_key, sizeof first);
	add_key(db);
	assert_true(load(db, false, error, sizeof error));
	assert_memory_equal(db->config.server_key, first, sizeof first);
}

static void test_only_init_makes_a_key(void **state)
{
	struct test_db *db = *state;
	char error[1024];
	assert_false(load(db, false, error, sizeof error));
	assert_names_both_paths(db, error);
	assert_non_null(strstr(error, "init"));
	assert_false(key_file_exists(db));
}

static void test_missing_key_with_keys_or_users_is_refused(void **state)
{
	struct test_db *db = *state;
	char error[1024];
	write_key(db, 7);
	assert_true(load(db, true, error, sizeof error));
	add_user(db);
	unlink(db->config.server_key_path);
	for (int initialising = 0; initialising < 2; initialising++) {
		assert_false(load(db, initialising, error, sizeof error));
		assert_names_both_paths(db, error);
		assert_non_null(strstr(error, "missing"));
		assert_false(key_file_exists(db)); /* no new key, not even from init */
	}
	/* The same holds for a key (no users). */
	test_db_execute(db, "DELETE FROM \"user\"");
	add_key(db);
	assert_false(load(db, true, error, sizeof error));
	assert_false(key_file_exists(db));
}

static void test_replaced_key_is_refused(void **state)
{
	struct test_db *db = *state;
	char error[1024];
	write_key(db, 7);
	assert_true(load(db, true, error, sizeof error));
	add_key(db);
	write_key(db, 8);
	for (int initialising = 0; initialising < 2; initialising++) {
		assert_false(load(db, initialising, error, sizeof error));
		assert_names_both_paths(db, error);
		assert_non_null(strstr(error, "does not match"));
	}
	write_key(db, 7); /* the right one back */
	assert_true(load(db, false, error, sizeof error));
}

/* A database made before checks existed trusts the first key it starts with, and only that one. */
static void test_first_key_is_trusted_once(void **state)
{
	struct test_db *db = *state;
	char error[1024];
	add_key(db);
	write_key(db, 9);
	assert_true(load(db, false, error, sizeof error));
	bool present = false, holds = false;
	unsigned char stored[STORE_KEY_CHECK_BYTES];
	assert_int_equal(store_key_check_get(db->store, stored, &present, &holds), STORE_OK);
	assert_true(present);
	assert_true(holds);
	write_key(db, 10);
	assert_false(load(db, false, error, sizeof error));
	assert_names_both_paths(db, error);
}

/* With nothing made with the old key, another key loses nothing: the check follows it. */
static void test_empty_database_follows_its_key(void **state)
{
	struct test_db *db = *state;
	char error[1024];
	write_key(db, 7);
	assert_true(load(db, true, error, sizeof error));
	write_key(db, 8);
	assert_true(load(db, false, error, sizeof error));
	unlink(db->config.server_key_path);
	assert_true(load(db, true, error, sizeof error)); /* init may give an empty database a fresh key */
	unsigned char fresh[CONFIG_SERVER_KEY_BYTES], eights[CONFIG_SERVER_KEY_BYTES];
	memcpy(fresh, db->config.server_key, sizeof fresh);
	memset(eights, 8, sizeof eights);
	assert_memory_not_equal(fresh, eights, sizeof fresh);
	add_key(db);
	write_key(db, 8);
	assert_false(load(db, false, error, sizeof error));
}

static void test_bad_key_files_are_refused(void **state)
{
	struct test_db *db = *state;
	char error[1024];
	FILE *file = fopen(db->config.server_key_path, "wb");
	assert_non_null(file);
	fputs("short", file);
	fclose(file);
	assert_false(load(db, true, error, sizeof error));
	assert_non_null(strstr(error, db->config.server_key_path));
	assert_non_null(strstr(error, "exactly 32 bytes"));
	unlink(db->config.server_key_path);
	assert_int_equal(mkdir(db->config.server_key_path, 0700), 0); /* a folder where the file should be */
	assert_false(load(db, true, error, sizeof error));
	assert_non_null(strstr(error, db->config.server_key_path));
	rmdir(db->config.server_key_path);
}

#define TEST(name) cmocka_unit_test_setup_teardown(name, setup, teardown)

int main(void)
{
	const struct CMUnitTest tests[] = {
		TEST(test_init_makes_a_key_for_an_empty_database),
		TEST(test_only_init_makes_a_key),
		TEST(test_missing_key_with_keys_or_users_is_refused),
		TEST(test_replaced_key_is_refused),
		TEST(test_first_key_is_trusted_once),
		TEST(test_empty_database_follows_its_key),
		TEST(test_bad_key_files_are_refused),
	};
	return cmocka_run_group_tests_name("server_key", tests, NULL, NULL);
}
