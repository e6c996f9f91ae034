/*
 * support.h: what the unit tests share: a real database with a folder of its own, a configuration
 * pointing at it, and direct SQL for checking or breaking what the store wrote.
 * Include after <cmocka.h>: failures are cmocka failures.
 *
 * The database is an SQLite file in the folder, or, when KEYWARD_TEST_PG holds the postgresql://
 * URI of a PostgreSQL server's database (tests/pg/unit.py sets it), a new database on that server
 * for each test, dropped at test_db_close(): a copy of KEYWARD_TEST_PG_TEMPLATE when that names a
 * migrated template database, else an empty one that store_create() migrates. The direct SQL of the
 * tests runs on either engine: write it in the words both know ("user" quoted, no PRAGMA), or
 * choose with test_sql().
 */
#ifndef KEYWARD_TESTS_UNIT_SUPPORT_H
#define KEYWARD_TESTS_UNIT_SUPPORT_H

#include <stdbool.h>
#include <stdint.h>

#include "core/config.h"
#include "domain/token.h"

#include "store/store.h"

struct arena;
struct store_key_fields;

/* A database, migrated and opened, a fresh mkdtemp() folder, and an arena for its rows. */
struct test_db {
	char folder[64];      /* the SQLite file's; on either engine, for the files a test makes */
	struct config config; /* database_path set, token prefix "kw_", a random server key */
	struct store *store;
	struct arena *arena;
	int64_t admin_role;     /* the seeded roles of the default workspace */
	int64_t read_only_role;
	bool postgresql;        /* the database is PostgreSQL's (KEYWARD_TEST_PG) */
	char database[64];      /* its name there, dropped at close */
	void *connection;       /* the test's own connection there (PGconn *), made at its first SQL */
	void *lock;             /* the connection test_db_lock() holds the lock with (sqlite3 *, PGconn *) */
};

/* True when the tests run on PostgreSQL: KEYWARD_TEST_PG is set. */
bool test_postgresql(void);

/*
 * Skip the calling test when the tests run on PostgreSQL, saying why on standard output (a test
 * about SQLite's file: its modes, WAL, damage, backups); cmocka counts it as skipped.
 */
#define test_skip_on_postgresql(reason)                                                                \
	do {                                                                                           \
		if (test_postgresql()) {                                                               \
			print_message("skipped on PostgreSQL: %s\n", reason);                         \
			skip();                                                                        \
		}                                                                                      \
	} while (0)

/* `sqlite` or `postgresql`, whichever db's engine reads: for direct SQL the two write differently. */
const char *test_sql(const struct test_db *db, const char *sqlite, const char *postgresql);

/*
 * Make one (the folder under /tmp/keyward-test-`name`-XXXXXX); NULL (with a message on stderr) on
 * failure.
 */
struct test_db *test_db_open(const char *name);

/*
 * Close it and remove its folder (and its PostgreSQL database); returns 0 when everything was
 * removed (for cmocka teardowns).
 */
int test_db_close(struct test_db *db);

/*
 * Run `sql` (several statements allowed) on a connection of its own, as another process would. On
 * PostgreSQL, rows written with ids of their own then move each identity's sequence past them, so
 * that the store's next row gets a new id as on SQLite.
 */
void test_db_execute(const struct test_db *db, const char *sql);

/* The integer in the first column of the first row of `format` (printf-style); -1 for NULL. */
long long test_db_integer(const struct test_db *db, const char *format, ...) __attribute__((format(printf, 2, 3)));

/* The text in the first column of the first row of `format` (printf-style), in db->arena; "(null)" for NULL. */
const char *test_db_text(const struct test_db *db, const char *format, ...) __attribute__((format(printf, 2, 3)));

/*
 * The first column of every row of `format` (printf-style; give it an ORDER BY), joined with
 * `separator`, in db->arena: SQLite's group_concat(), which PostgreSQL lacks.
 */
const char *test_db_joined(const struct test_db *db, const char *separator, const char *format, ...)
	__attribute__((format(printf, 3, 4)));

/* An SQL literal of the blob whose bytes `hex` spells (lower or upper case), in db->arena. */
const char *test_db_blob(const struct test_db *db, const char *hex);

/*
 * Fails unless `secret` is nowhere in the database: in no column of any row, as text or as the
 * hex of its bytes (how PostgreSQL writes a bytea).
 */
void test_db_assert_nowhere(const struct test_db *db, const char *secret);

/*
 * Hold the database's write lock from a connection of the test's own, as another process would,
 * until test_db_unlock() (or test_db_close()): the store's writes wait out its busy timeout and
 * then fail with STORE_BUSY; reads go on.
 */
void test_db_lock(struct test_db *db);
void test_db_unlock(struct test_db *db);

/*
 * Make every `operation` (INSERT, UPDATE, DELETE) on `table` fail with `message`, as a trigger an
 * operator installed would, until test_db_allow_writes(); one at a time. With `when` (an SQL
 * condition on the row, NEW.column or OLD.column), only the rows it holds for fail.
 */
void test_db_fail_writes(const struct test_db *db, const char *operation, const char *table, const char *when,
			 const char *message);
void test_db_allow_writes(const struct test_db *db, const char *table);

/*
 * A key made through keys_create() as the command line makes it (no sealed copy), in workspace
 * `workspace_id` (the default one for test_key_create) at `now`; fails the test unless it was
 * saved. The caller wipes `token`.
 */
void test_key_create_in(struct test_db *db, int64_t workspace_id, const struct store_key_fields *fields, int64_t now,
			char key_id[TOKEN_KEY_ID_LENGTH + 1], char token[TOKEN_MAX_LENGTH + 1], int64_t *row_id);
void test_key_create(struct test_db *db, const struct store_key_fields *fields, int64_t now,
		     char key_id[TOKEN_KEY_ID_LENGTH + 1], char token[TOKEN_MAX_LENGTH + 1], int64_t *row_id);

/*
 * Every row of every table of the database as text (tables by name, rows sorted), in db->arena:
 * equal before and after an action means the action changed nothing at all.
 */
const char *test_db_dump(const struct test_db *db);

/* One write an action makes, to be made to fail: { "INSERT", "api_key" }, { "UPDATE", "gate_state" }, ... */
struct test_write {
	const char *operation; /* INSERT, UPDATE, DELETE */
	const char *table;
};

/*
 * Make each of `writes` fail in turn (a trigger that raises, installed from another connection as
 * an operator could) and check that `action(context)` says so and leaves the whole database exactly
 * as it was, with no transaction open; then run it without a fault: it must succeed and add
 * `lines` lines of `audit_action` to the audit log.
 */
void test_assert_all_or_nothing(struct test_db *db, enum store_status (*action)(void *context), void *context,
				const struct test_write *writes, size_t count, const char *audit_action, long long lines);

/* Fails unless another connection can take the write lock at once: no transaction was left open. */
void test_db_assert_no_transaction(const struct test_db *db);

/* test_db_execute() and test_db_integer() on any SQLite file, such as one a test made beside db->store's. */
void test_file_execute(const char *path, const char *sql);
long long test_file_integer(const char *path, const char *format, ...) __attribute__((format(printf, 2, 3)));

#endif
