/* support.c: the unit tests' shared database fixture (see support.h). */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include <dirent.h>
#include <sodium.h>
#include <sqlite3.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "support.h"

#include "core/alloc.h"
#include "store/store.h"

struct test_db *test_db_open(const char *name)
{
	if (sodium_init() < 0) {
		fprintf(stderr, "sodium_init failed\n");
		return NULL;
	}
	struct test_db *db = xcalloc(1, sizeof *db);
	snprintf(db->folder, sizeof db->folder, "/tmp/keyward-test-%.20s-XXXXXX", name);
	if (mkdtemp(db->folder) == NULL) {
		perror("mkdtemp");
		free(db);
		return NULL;
	}
	snprintf(db->config.database_path, sizeof db->config.database_path, "%s/keyward.db", db->folder);
	snprintf(db->config.token_prefix, sizeof db->config.token_prefix, "kw_");
	randombytes_buf(db->config.server_key, sizeof db->config.server_key);
	char error[256];
	db->store = store_create(db->config.database_path, error, sizeof error);
	db->arena = arena_new();
	if (db->store == NULL) {
		fprintf(stderr, "store_create: %s\n", error);
		test_db_close(db);
		return NULL;
	}
	struct store_role role;
	if (store_role_find_by_name(db->store, db->arena, STORE_DEFAULT_WORKSPACE, "admin", &role) == STORE_OK)
		db->admin_role = role.id;
	if (store_role_find_by_name(db->store, db->arena, STORE_DEFAULT_WORKSPACE, "read-only", &role) == STORE_OK)
		db->read_only_role = role.id;
	return db;
}

int test_db_close(struct test_db *db)
{
	if (db == NULL)
		return 0;
	store_close(db->store);
	arena_free(db->arena);
	DIR *folder = opendir(db->folder);
	if (folder != NULL) {
		struct dirent *entry;
		while ((entry = readdir(folder)) != NULL) {
			char path[384];
			snprintf(path, sizeof path, "%s/%s", db->folder, entry->d_name);
			if (strcmp(entry->d_name, ".") != 0 && strcmp(entry->d_name, "..") != 0)
				unlink(path);
		}
		closedir(folder);
	}
	int removed = rmdir(db->folder);
	free(db);
	return removed;
}

void test_db_execute(const struct test_db *db, const char *sql)
{
	test_file_execute(db->config.database_path, sql);
}

void test_file_execute(const char *path, const char *sql)
{
	sqlite3 *connection = NULL;
	assert_int_equal(sqlite3_open(path, &connection), SQLITE_OK);
	sqlite3_busy_timeout(connection, 5000);
	char *message = NULL;
	if (sqlite3_exec(connection, sql, NULL, NULL, &message) != SQLITE_OK)
		fail_msg("%s: %s", sql, message ? message : "?");
	sqlite3_close(connection);
}

/*
 * Open `path` read-only into *connection and step the printf-style `format` to its first row;
 * fails the test on an SQL error or an empty result. The caller finalizes and closes both.
 */
static sqlite3_stmt *first_row(const char *path, sqlite3 **connection, const char *format, va_list arguments)
{
	char sql[2048];
	vsnprintf(sql, sizeof sql, format, arguments);
	*connection = NULL;
	assert_int_equal(sqlite3_open_v2(path, connection, SQLITE_OPEN_READONLY, NULL), SQLITE_OK);
	sqlite3_busy_timeout(*connection, 5000);
	sqlite3_stmt *statement = NULL;
	if (sqlite3_prepare_v2(*connection, sql, -1, &statement, NULL) != SQLITE_OK)
		fail_msg("%s: %s", sql, sqlite3_errmsg(*connection));
	assert_int_equal(sqlite3_step(statement), SQLITE_ROW);
	return statement;
}

static long long first_integer(const char *path, const char *format, va_list arguments)
{
	sqlite3 *connection = NULL;
	sqlite3_stmt *statement = first_row(path, &connection, format, arguments);
	long long value = sqlite3_column_type(statement, 0) == SQLITE_NULL ? -1 : sqlite3_column_int64(statement, 0);
	sqlite3_finalize(statement);
	sqlite3_close(connection);
	return value;
}

long long test_db_integer(const struct test_db *db, const char *format, ...)
{
	va_list arguments;
	va_start(arguments, format);
	long long value = first_integer(db->config.database_path, format, arguments);
	va_end(arguments);
	return value;
}

long long test_file_integer(const char *path, const char *format, ...)
{
	va_list arguments;
	va_start(arguments, format);
	long long value = first_integer(path, format, arguments);
	va_end(arguments);
	return value;
}

const char *test_db_text(const struct test_db *db, const char *format, ...)
{
	va_list arguments;
	va_start(arguments, format);
	sqlite3 *connection = NULL;
	sqlite3_stmt *statement = first_row(db->config.database_path, &connection, format, arguments);
	va_end(arguments);
	const unsigned char *text = sqlite3_column_text(statement, 0);
	const char *copy = arena_strdup(db->arena, text != NULL ? (const char *)text : "(null)");
	sqlite3_finalize(statement);
	sqlite3_close(connection);
	return copy;
}

void test_db_assert_no_transaction(const struct test_db *db)
{
	sqlite3 *connection = NULL;
	const char *path = db->config.database_path;
	assert_int_equal(sqlite3_open_v2(path, &connection, SQLITE_OPEN_READWRITE, NULL), SQLITE_OK);
	sqlite3_busy_timeout(connection, 0);
	assert_int_equal(sqlite3_exec(connection, "BEGIN IMMEDIATE; ROLLBACK", NULL, NULL, NULL), SQLITE_OK);
	sqlite3_close(connection);
}
