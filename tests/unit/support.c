/* support.c: the unit tests' shared database fixture (see support.h). */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include <dirent.h>
#include <libpq-fe.h>
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

/* ---- the engine ------------------------------------------------------------------------------- */

bool test_postgresql(void)
{
	const char *server = getenv("KEYWARD_TEST_PG");
	return server != NULL && server[0] != '\0';
}

const char *test_sql(const struct test_db *db, const char *sqlite, const char *postgresql)
{
	return db->postgresql ? postgresql : sqlite;
}

/* The connection to KEYWARD_TEST_PG's database, made at the first need and kept for the process. */
static PGconn *server_connection(void)
{
	static PGconn *server;
	if (server == NULL) {
		const char *keywords[] = { "dbname", "fallback_application_name", NULL };
		const char *values[] = { getenv("KEYWARD_TEST_PG"), "keyward-unit-tests", NULL };
		server = PQconnectdbParams(keywords, values, 1);
		if (PQstatus(server) != CONNECTION_OK) {
			fprintf(stderr, "cannot connect to KEYWARD_TEST_PG: %s", PQerrorMessage(server));
			PQfinish(server);
			server = NULL;
		}
	}
	return server;
}

/* Run `sql` (no rows wanted) on `connection`; false, with the reason on stderr, when it failed. */
static bool postgresql_run(PGconn *connection, const char *sql)
{
	PGresult *result = PQexec(connection, sql);
	ExecStatusType status = PQresultStatus(result);
	bool ok = status == PGRES_COMMAND_OK || status == PGRES_TUPLES_OK;
	if (!ok)
		fprintf(stderr, "%s: %s", sql, PQerrorMessage(connection));
	PQclear(result);
	return ok;
}

/* `uri` (postgresql://...) with its database, the path, replaced by `name`, into out[size]. */
static bool uri_with_database(const char *uri, const char *name, char *out, size_t size)
{
	const char *scheme_end = strstr(uri, "://");
	if (scheme_end == NULL)
		return false;
	const char *path = scheme_end + 3 + strcspn(scheme_end + 3, "/?");
	const char *query = path + strcspn(path, "?");
	int written = snprintf(out, size, "%.*s/%s%s", (int)(path - uri), uri, name, query);
	return written > 0 && (size_t)written < size;
}

/*
 * A new database for `db`, named after the test, its process and a counter: a copy of
 * KEYWARD_TEST_PG_TEMPLATE when that is set (a database migrated already), else an empty one that
 * store_create() gives keyward's schema as `keyward init` does. Sets database_path to its URI.
 */
static bool postgresql_database(struct test_db *db, const char *name)
{
	static unsigned made;
	PGconn *server = server_connection();
	if (server == NULL)
		return false;
	snprintf(db->database, sizeof db->database, "kw_%.20s_%ld_%u", name, (long)getpid(), made++);
	for (char *c = db->database; *c != '\0'; c++)
		if (*c == '-')
			*c = '_';
	const char *template = getenv("KEYWARD_TEST_PG_TEMPLATE");
	char sql[256];
	if (template != NULL && template[0] != '\0')
		snprintf(sql, sizeof sql, "CREATE DATABASE \"%s\" TEMPLATE \"%s\"", db->database, template);
	else
		snprintf(sql, sizeof sql, "CREATE DATABASE \"%s\"", db->database);
	if (!postgresql_run(server, sql)) {
		db->database[0] = '\0';
		return false;
	}
	if (!uri_with_database(getenv("KEYWARD_TEST_PG"), db->database, db->config.database_path,
			       sizeof db->config.database_path)) {
		fprintf(stderr, "KEYWARD_TEST_PG must be a postgresql:// URI\n");
		return false;
	}
	return true;
}

/* ---- the fixture ------------------------------------------------------------------------------ */

struct test_db *test_db_open(const char *name)
{
	if (sodium_init() < 0) {
		fprintf(stderr, "sodium_init failed\n");
		return NULL;
	}
	struct test_db *db = xcalloc(1, sizeof *db);
	db->postgresql = test_postgresql();
	snprintf(db->folder, sizeof db->folder, "/tmp/keyward-test-%.20s-XXXXXX", name);
	if (mkdtemp(db->folder) == NULL) {
		perror("mkdtemp");
		free(db);
		return NULL;
	}
	db->arena = arena_new();
	if (db->postgresql) {
		if (!postgresql_database(db, name)) {
			test_db_close(db);
			return NULL;
		}
	} else {
		snprintf(db->config.database_path, sizeof db->config.database_path, "%s/keyward.db", db->folder);
	}
	config_database_label(db->config.database_path, db->config.database_label, sizeof db->config.database_label);
	snprintf(db->config.token_prefix, sizeof db->config.token_prefix, "kw_");
	randombytes_buf(db->config.server_key, sizeof db->config.server_key);
	db->config.workspaces[0] = STORE_DEFAULT_WORKSPACE; /* the gatekeeper's default: workspace 1 */
	db->config.workspace_count = 1;
	char error[256];
	db->store = store_create(db->config.database_path, error, sizeof error);
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
	int removed = 0;
	if (db->lock != NULL)
		test_db_unlock(db);
	if (db->connection != NULL)
		PQfinish(db->connection);
	if (db->database[0] != '\0') {
		/* FORCE: the gate watcher (engine_postgresql.c) may still be connected to it. */
		char sql[128];
		snprintf(sql, sizeof sql, "DROP DATABASE IF EXISTS \"%s\" WITH (FORCE)", db->database);
		PGconn *server = server_connection();
		if (server == NULL || !postgresql_run(server, sql))
			removed = -1;
	}
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
	if (rmdir(db->folder) != 0)
		removed = -1;
	free(db);
	return removed;
}

/* ---- direct SQL on PostgreSQL ------------------------------------------------------------------ */

/* A connection of the test's own to db's PostgreSQL database; fails the test when it cannot. */
static PGconn *postgresql_connect(const struct test_db *db)
{
	const char *keywords[] = { "dbname", "fallback_application_name", NULL };
	const char *values[] = { db->config.database_path, "keyward-unit-tests", NULL };
	PGconn *connection = PQconnectdbParams(keywords, values, 1);
	if (PQstatus(connection) != CONNECTION_OK) {
		char message[512];
		snprintf(message, sizeof message, "%s", PQerrorMessage(connection));
		PQfinish(connection);
		fail_msg("cannot connect to %s: %s", db->config.database_label, message);
	}
	PQclear(PQexec(connection, "SET client_min_messages = warning"));
	return connection;
}

/* The test's connection for its direct SQL (not the store's), made at the first need. */
static PGconn *test_connection(const struct test_db *db)
{
	struct test_db *mutable = (struct test_db *)db;
	if (mutable->connection == NULL)
		mutable->connection = postgresql_connect(db);
	return mutable->connection;
}

/* The rows of `sql`; fails the test on an error. The caller PQclear()s it. */
static PGresult *postgresql_rows(const struct test_db *db, const char *sql)
{
	PGconn *connection = test_connection(db);
	PGresult *result = PQexec(connection, sql);
	if (PQresultStatus(result) != PGRES_TUPLES_OK && PQresultStatus(result) != PGRES_COMMAND_OK) {
		char message[1024];
		snprintf(message, sizeof message, "%s", PQerrorMessage(connection));
		PQclear(result);
		fail_msg("%s: %s", sql, message);
	}
	return result;
}

/*
 * Rows written with ids of their own (INSERT INTO workspace (id, ...) VALUES (2, ...)) leave an
 * identity's sequence behind them, where SQLite would go on after the largest rowid: move each
 * sequence past its table's largest id, as a copy from SQLite does (010_baseline.sql).
 */
static const char raise_sequences[] =
	"DO $$ DECLARE r record; s text; top bigint; used bigint; BEGIN "
	"FOR r IN SELECT table_name AS t, column_name AS c FROM information_schema.columns "
	"WHERE table_schema = current_schema() AND is_identity = 'YES' LOOP "
	"s := pg_get_serial_sequence(quote_ident(r.t), r.c); "
	"EXECUTE format('SELECT max(%I) FROM %I', r.c, r.t) INTO top; "
	"EXECUTE format('SELECT CASE WHEN is_called THEN last_value ELSE last_value - 1 END FROM %s', s) INTO used; "
	"IF top > used THEN PERFORM setval(s, top); END IF; "
	"END LOOP; END $$";

/* ---- direct SQL on either engine -------------------------------------------------------------- */

void test_db_execute(const struct test_db *db, const char *sql)
{
	if (db->postgresql) {
		PQclear(postgresql_rows(db, sql));
		PQclear(postgresql_rows(db, raise_sequences));
		return;
	}
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

/*
 * The first row of `format` (printf-style) on db's PostgreSQL database; fails the test on an error
 * or an empty result. The caller PQclear()s it.
 */
static PGresult *postgresql_first_row(const struct test_db *db, const char *format, va_list arguments)
{
	char sql[2048];
	vsnprintf(sql, sizeof sql, format, arguments);
	PGresult *result = postgresql_rows(db, sql);
	if (PQntuples(result) == 0 || PQnfields(result) == 0) {
		PQclear(result);
		fail_msg("%s: no row", sql);
	}
	return result;
}

/* An integer as PostgreSQL writes it in text: digits, or a boolean's t and f (SQLite's 1 and 0). */
static long long postgresql_integer(const PGresult *result, int row)
{
	if (PQgetisnull(result, row, 0))
		return -1;
	const char *text = PQgetvalue(result, row, 0);
	if (strcmp(text, "t") == 0 || strcmp(text, "f") == 0)
		return text[0] == 't';
	return strtoll(text, NULL, 10);
}

long long test_db_integer(const struct test_db *db, const char *format, ...)
{
	va_list arguments;
	va_start(arguments, format);
	long long value;
	if (db->postgresql) {
		PGresult *result = postgresql_first_row(db, format, arguments);
		value = postgresql_integer(result, 0);
		PQclear(result);
	} else {
		value = first_integer(db->config.database_path, format, arguments);
	}
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
	const char *copy;
	if (db->postgresql) {
		PGresult *result = postgresql_first_row(db, format, arguments);
		copy = arena_strdup(db->arena, PQgetisnull(result, 0, 0) ? "(null)" : PQgetvalue(result, 0, 0));
		PQclear(result);
	} else {
		sqlite3 *connection = NULL;
		sqlite3_stmt *statement = first_row(db->config.database_path, &connection, format, arguments);
		const unsigned char *text = sqlite3_column_text(statement, 0);
		copy = arena_strdup(db->arena, text != NULL ? (const char *)text : "(null)");
		sqlite3_finalize(statement);
		sqlite3_close(connection);
	}
	va_end(arguments);
	return copy;
}

const char *test_db_joined(const struct test_db *db, const char *separator, const char *format, ...)
{
	char sql[2048];
	va_list arguments;
	va_start(arguments, format);
	vsnprintf(sql, sizeof sql, format, arguments);
	va_end(arguments);
	char *joined = arena_strdup(db->arena, "");
	if (db->postgresql) {
		PGresult *result = postgresql_rows(db, sql);
		for (int row = 0; row < PQntuples(result); row++)
			joined = arena_printf(db->arena, "%s%s%s", joined, row > 0 ? separator : "",
					      PQgetisnull(result, row, 0) ? "(null)" : PQgetvalue(result, row, 0));
		PQclear(result);
		return joined;
	}
	sqlite3 *connection = NULL;
	assert_int_equal(sqlite3_open_v2(db->config.database_path, &connection, SQLITE_OPEN_READONLY, NULL), SQLITE_OK);
	sqlite3_busy_timeout(connection, 5000);
	sqlite3_stmt *statement = NULL;
	if (sqlite3_prepare_v2(connection, sql, -1, &statement, NULL) != SQLITE_OK)
		fail_msg("%s: %s", sql, sqlite3_errmsg(connection));
	for (int row = 0; sqlite3_step(statement) == SQLITE_ROW; row++) {
		const unsigned char *text = sqlite3_column_text(statement, 0);
		joined = arena_printf(db->arena, "%s%s%s", joined, row > 0 ? separator : "",
				      text != NULL ? (const char *)text : "(null)");
	}
	sqlite3_finalize(statement);
	sqlite3_close(connection);
	return joined;
}

const char *test_db_blob(const struct test_db *db, const char *hex)
{
	if (db->postgresql)
		return arena_printf(db->arena, "'\\x%s'::bytea", hex);
	return arena_printf(db->arena, "X'%s'", hex);
}

void test_db_assert_no_transaction(const struct test_db *db)
{
	if (db->postgresql) {
		/* Another session of this database inside a transaction: the store's, left open. */
		assert_int_equal(test_db_integer(db, "SELECT count(*) FROM pg_stat_activity WHERE datname = "
						     "current_database() AND pid <> pg_backend_pid() AND state LIKE "
						     "'idle in transaction%%'"),
				 0);
		return;
	}
	sqlite3 *connection = NULL;
	const char *path = db->config.database_path;
	assert_int_equal(sqlite3_open_v2(path, &connection, SQLITE_OPEN_READWRITE, NULL), SQLITE_OK);
	sqlite3_busy_timeout(connection, 0);
	assert_int_equal(sqlite3_exec(connection, "BEGIN IMMEDIATE; ROLLBACK", NULL, NULL, NULL), SQLITE_OK);
	sqlite3_close(connection);
}

void test_db_lock(struct test_db *db)
{
	assert_null(db->lock);
	if (db->postgresql) {
		/* EXCLUSIVE: reads go on, writes wait (PostgreSQL's lock_timeout, then STORE_BUSY). */
		PGconn *connection = postgresql_connect(db);
		db->lock = connection;
		if (!postgresql_run(connection, "BEGIN; DO $$ DECLARE t text; BEGIN FOR t IN SELECT tablename FROM pg_tables "
						"WHERE schemaname = current_schema() LOOP EXECUTE format('LOCK TABLE %I IN "
						"EXCLUSIVE MODE', t); END LOOP; END $$"))
			fail_msg("cannot lock %s", db->config.database_label);
		return;
	}
	sqlite3 *connection = NULL;
	assert_int_equal(sqlite3_open(db->config.database_path, &connection), SQLITE_OK);
	db->lock = connection;
	char *message = NULL;
	if (sqlite3_exec(connection, "BEGIN EXCLUSIVE", NULL, NULL, &message) != SQLITE_OK)
		fail_msg("BEGIN EXCLUSIVE: %s", message ? message : "?");
}

void test_db_unlock(struct test_db *db)
{
	assert_non_null(db->lock);
	void *lock = db->lock;
	db->lock = NULL;
	if (db->postgresql) {
		bool ok = postgresql_run(lock, "COMMIT");
		PQfinish(lock);
		assert_true(ok);
		return;
	}
	int status = sqlite3_exec(lock, "COMMIT", NULL, NULL, NULL);
	sqlite3_close(lock);
	assert_int_equal(status, SQLITE_OK);
}

void test_db_fail_writes(const struct test_db *db, const char *operation, const char *table, const char *when,
			 const char *message)
{
	char sql[512];
	if (db->postgresql) {
		test_db_execute(db, "CREATE OR REPLACE FUNCTION keyward_test_injected() RETURNS trigger LANGUAGE plpgsql "
				    "AS $$ BEGIN RAISE EXCEPTION '%', TG_ARGV[0]; END $$");
		snprintf(sql, sizeof sql, "CREATE TRIGGER injected BEFORE %s ON \"%s\" FOR EACH ROW WHEN (%s) EXECUTE "
					  "FUNCTION keyward_test_injected('%s')",
			 operation, table, when != NULL ? when : "true", message);
	} else {
		snprintf(sql, sizeof sql, "CREATE TRIGGER injected BEFORE %s ON \"%s\" WHEN (%s) BEGIN SELECT RAISE(ABORT, "
					  "'%s'); END",
			 operation, table, when != NULL ? when : "1", message);
	}
	test_db_execute(db, sql);
}

void test_db_allow_writes(const struct test_db *db, const char *table)
{
	char sql[128];
	snprintf(sql, sizeof sql, db->postgresql ? "DROP TRIGGER injected ON \"%s\"" : "DROP TRIGGER injected", table);
	test_db_execute(db, sql);
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

/* Append `lines` to `dump` sorted, one a line, and free the array. */
static void append_sorted(struct arena *arena, char **lines, size_t count, char **dump)
{
	qsort(lines, count, sizeof *lines, compare_lines);
	for (size_t i = 0; i < count; i++)
		*dump = arena_printf(arena, "%s%s\n", *dump, lines[i]);
	free(lines);
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
	append_sorted(arena, lines, count, dump);
}

/* test_db_dump() on PostgreSQL: the tables of the schema, by name, as the rows' text. */
static const char *postgresql_dump(const struct test_db *db)
{
	char *dump = arena_strdup(db->arena, "");
	PGresult *tables = postgresql_rows(db, "SELECT tablename FROM pg_tables WHERE schemaname = current_schema() "
					       "ORDER BY tablename");
	for (int table = 0; table < PQntuples(tables); table++) {
		const char *name = PQgetvalue(tables, table, 0);
		char sql[256];
		snprintf(sql, sizeof sql, "SELECT * FROM \"%s\"", name);
		PGresult *rows = postgresql_rows(db, sql);
		size_t count = (size_t)PQntuples(rows);
		char **lines = xcalloc(count + 1, sizeof *lines);
		for (size_t row = 0; row < count; row++) {
			char *line = arena_strdup(db->arena, name);
			for (int column = 0; column < PQnfields(rows); column++)
				line = arena_printf(db->arena, "%s|%s", line,
						    PQgetisnull(rows, (int)row, column) ? "NULL" :
											  PQgetvalue(rows, (int)row, column));
			lines[row] = line;
		}
		PQclear(rows);
		append_sorted(db->arena, lines, count, &dump);
	}
	PQclear(tables);
	return dump;
}

const char *test_db_dump(const struct test_db *db)
{
	if (db->postgresql)
		return postgresql_dump(db);
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

void test_db_assert_nowhere(const struct test_db *db, const char *secret)
{
	const char *dump = test_db_dump(db);
	char *hex = arena_alloc(db->arena, 2 * strlen(secret) + 1);
	sodium_bin2hex(hex, 2 * strlen(secret) + 1, (const unsigned char *)secret, strlen(secret));
	if (strstr(dump, secret) != NULL || strstr(dump, hex) != NULL)
		fail_msg("\"%s\" is in the database", secret);
}

void test_assert_all_or_nothing(struct test_db *db, enum store_status (*action)(void *context), void *context,
				const struct test_write *writes, size_t count, const char *audit_action, long long lines)
{
	for (size_t i = 0; i < count; i++) {
		const char *before = test_db_dump(db);
		test_db_fail_writes(db, writes[i].operation, writes[i].table, NULL, "injected");
		enum store_status status = action(context);
		test_db_allow_writes(db, writes[i].table);
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
