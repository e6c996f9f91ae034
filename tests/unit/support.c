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
#include "domain/keys.h"
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
	config_database_label(db->config.database_path, db->config.database_label, sizeof db->config.database_label);
	snprintf(db->config.token_prefix, sizeof db->config.token_prefix, "kw_");
	randombytes_buf(db->config.server_key, sizeof db->config.server_key);
	db->config.workspaces[0] = STORE_DEFAULT_WORKSPACE; /* the gatekeeper's default: workspace 1 */
	db->config.workspace_count = 1;
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

void test_key_create(struct test_db *db, const struct store_key_fields *fields, int64_t now,
		     char key_id[TOKEN_KEY_ID_LENGTH + 1], char token[TOKEN_MAX_LENGTH + 1], int64_t *row_id)
{
	test_key_create_in(db, STORE_DEFAULT_WORKSPACE, fields, now, key_id, token, row_id);
}

void test_key_create_in(struct test_db *db, int64_t workspace_id, const struct store_key_fields *fields, int64_t now,
			char key_id[TOKEN_KEY_ID_LENGTH + 1], char token[TOKEN_MAX_LENGTH + 1], int64_t *row_id)
{
	struct audit_actor actor = { 0, "test", "" };
	struct keys_secret secret;
	assert_int_equal(keys_create(db->store, &db->config, db->arena, &actor, workspace_id, fields, now, false, &secret),
			 STORE_OK);
	memcpy(key_id, secret.key_id, sizeof secret.key_id);
	memcpy(token, secret.token, sizeof secret.token);
	*row_id = secret.row_id;
	keys_secret_wipe(&secret);
}

static int compare_lines(const void *left, const void *right)
{
	return strcmp(*(char *const *)left, *(char *const *)right);
}

/* Append the rows of `table` to `dump`, sorted, one line each ("table|v1|v2..."). */
static void dump_table(sqlite3 *connection, struct arena *arena, const char *table, char **dump)
{
	char sql[256];
	snprintf(sql, sizeof sql, "SELECT * FROM \"%s\"", table);
	sqlite3_stmt *statement = NULL;
	if (sqlite3_prepare_v2(connection, sql, -1, &statement, NULL) != SQLITE_OK)
		fail_msg("%s: %s", sql, sqlite3_errmsg(connection));
	size_t count = 0, capacity = 64;
	char **lines = xcalloc(capacity, sizeof *lines);
	while (sqlite3_step(statement) == SQLITE_ROW) {
		char *line = arena_strdup(arena, table);
		for (int column = 0; column < sqlite3_column_count(statement); column++) {
			const unsigned char *text = sqlite3_column_text(statement, column);
			line = arena_printf(arena, "%s|%s", line, text ? (const char *)text : "NULL");
		}
		if (count == capacity)
			lines = xrealloc(lines, (capacity *= 2) * sizeof *lines);
		lines[count++] = line;
	}
	sqlite3_finalize(statement);
	qsort(lines, count, sizeof *lines, compare_lines);
	for (size_t i = 0; i < count; i++)
		*dump = arena_printf(arena, "%s%s\n", *dump, lines[i]);
	free(lines);
}

const char *test_db_dump(const struct test_db *db)
{
	sqlite3 *connection = NULL;
	assert_int_equal(sqlite3_open_v2(db->config.database_path, &connection, SQLITE_OPEN_READONLY, NULL), SQLITE_OK);
	sqlite3_busy_timeout(connection, 5000);
	sqlite3_stmt *tables = NULL;
	assert_int_equal(sqlite3_prepare_v2(connection,
					    "SELECT name FROM sqlite_master WHERE type = 'table' AND name NOT LIKE 'sqlite_%' "
					    "ORDER BY name",
					    -1, &tables, NULL),
			 SQLITE_OK);
	char *dump = arena_strdup(db->arena, "");
	while (sqlite3_step(tables) == SQLITE_ROW)
		dump_table(connection, db->arena, (const char *)sqlite3_column_text(tables, 0), &dump);
	sqlite3_finalize(tables);
	sqlite3_close(connection);
	return dump;
}

void test_assert_all_or_nothing(struct test_db *db, enum store_status (*action)(void *context), void *context,
				const struct test_write *writes, size_t count, const char *audit_action, long long lines)
{
	for (size_t i = 0; i < count; i++) {
		const char *before = test_db_dump(db);
		char sql[256];
		snprintf(sql, sizeof sql, "CREATE TRIGGER injected BEFORE %s ON %s BEGIN SELECT RAISE(ABORT, 'injected'); END",
			 writes[i].operation, writes[i].table);
		test_db_execute(db, sql);
		enum store_status status = action(context);
		test_db_execute(db, "DROP TRIGGER injected");
		if (status == STORE_OK)
			fail_msg("the action succeeded although %s %s failed", writes[i].operation, writes[i].table);
		if (strcmp(before, test_db_dump(db)) != 0)
			fail_msg("%s %s failed, yet the database changed", writes[i].operation, writes[i].table);
		test_db_assert_no_transaction(db);
	}
	long long had = test_db_integer(db, "SELECT count(*) FROM audit_event WHERE action = '%s'", audit_action);
	assert_int_equal(action(context), STORE_OK);
	assert_int_equal(test_db_integer(db, "SELECT count(*) FROM audit_event WHERE action = '%s'", audit_action),
			 had + lines);
	test_db_assert_no_transaction(db);
}
