/*
 * engine_sqlite.c: the SQLite engine (one file beside the program, the embedded default): opening
 * and creating the file, its settings, its migrations (src/store/schema/NNN_*.sql, in
 * build/schema.h), and running the statement table on it.
 */
#include "store/engine.h"

#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <sqlite3.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "core/config.h"
#include "schema.h" /* store_migrations[], generated from src/store/schema/NNN_*.sql */

/* Run every statement in `sql` (several, separated by ';') in order. */
static int run_script(sqlite3 *db, const char *sql)
{
	const char *rest = sql;
	while (*rest != '\0') {
		sqlite3_stmt *statement = NULL;
		const char *tail = NULL;
		int code = sqlite3_prepare_v2(db, rest, -1, &statement, &tail);
		if (code != SQLITE_OK)
			return code;
		if (statement != NULL) {
			while ((code = sqlite3_step(statement)) == SQLITE_ROW)
				;
			sqlite3_finalize(statement);
			if (code != SQLITE_DONE)
				return code;
		}
		rest = tail;
	}
	return SQLITE_OK;
}

static int read_user_version(sqlite3 *db, int *version)
{
	sqlite3_stmt *statement = NULL;
	int code = sqlite3_prepare_v2(db, "PRAGMA user_version", -1, &statement, NULL);
	if (code != SQLITE_OK)
		return code;
	code = sqlite3_step(statement);
	if (code == SQLITE_ROW) {
		*version = sqlite3_column_int(statement, 0);
		code = SQLITE_OK;
	}
	sqlite3_finalize(statement);
	return code;
}

/*
 * Repairs for databases that a migration edited after it landed left behind (migrations are
 * history: never edit one; this table is the cost of having done so). Each runs inside the
 * migration transaction just before migration `before`, when `probe` (one integer) answers 0.
 */
static const struct {
	int before;          /* the migration it must precede */
	const char *probe;   /* 0 when the repair is due */
	const char *repair;
} repairs[] = {
	/*
	 * 003_gate.sql gained usage_event.calls after it landed; 007 copies that column, so a database
	 * made before the edit stopped at "migration 7 failed: no such column: calls". Add it as the
	 * edited 003 does (007 rebuilds the table with it anyway).
	 */
	{ 7, "SELECT count(*) FROM pragma_table_info('usage_event') WHERE name = 'calls'",
	  "ALTER TABLE usage_event ADD COLUMN calls INTEGER NOT NULL DEFAULT 1 CHECK (calls > 0)" },
};

/* Run the repairs due before migration `migration` (see repairs[]). */
static int repair_before(sqlite3 *db, int migration, char *error, size_t error_size)
{
	for (size_t i = 0; i < sizeof repairs / sizeof repairs[0]; i++) {
		if (repairs[i].before != migration)
			continue;
		sqlite3_stmt *statement = NULL;
		int code = sqlite3_prepare_v2(db, repairs[i].probe, -1, &statement, NULL);
		int found = 1;
		if (code == SQLITE_OK && (code = sqlite3_step(statement)) == SQLITE_ROW) {
			found = sqlite3_column_int(statement, 0);
			code = SQLITE_OK;
		}
		sqlite3_finalize(statement);
		if (code == SQLITE_OK && found == 0)
			code = run_script(db, repairs[i].repair);
		if (code != SQLITE_OK) {
			snprintf(error, error_size, "repair before migration %d failed: %s", migration, sqlite3_errmsg(db));
			return code;
		}
	}
	return SQLITE_OK;
}

/*
 * Apply the migrations past PRAGMA user_version. The version is read first, without a lock: an
 * up-to-date database (every start but the first after an upgrade) never waits for a writer.
 * Only when a migration is due is the write lock taken (BEGIN IMMEDIATE) and the version read
 * again, so that several processes starting together migrate once, in one transaction. Each
 * migration file sets user_version itself.
 */
static int migrate(sqlite3 *db, char *error, size_t error_size)
{
	int count = (int)(sizeof store_migrations / sizeof store_migrations[0]);
	int version = 0;
	int code = read_user_version(db, &version);
	if (code != SQLITE_OK) {
		snprintf(error, error_size, "cannot read the schema version: %s", sqlite3_errmsg(db));
		return code;
	}
	if (version == count)
		return SQLITE_OK;
	if (version > count) {
		snprintf(error, error_size, "the database is at schema version %d, newer than this program (%d)",
			 version, count);
		return SQLITE_ERROR;
	}
	code = run_script(db, "BEGIN IMMEDIATE");
	if (code != SQLITE_OK) {
		snprintf(error, error_size, "cannot lock the database to migrate it: %s", sqlite3_errmsg(db));
		return code;
	}
	code = read_user_version(db, &version); /* another process may have migrated meanwhile */
	if (code == SQLITE_OK && version > count) {
		snprintf(error, error_size, "the database is at schema version %d, newer than this program (%d)",
			 version, count);
		run_script(db, "ROLLBACK");
		return SQLITE_ERROR;
	}
	for (int next = version; code == SQLITE_OK && next < count; next++) {
		code = repair_before(db, next + 1, error, error_size);
		if (code != SQLITE_OK)
			break;
		code = run_script(db, store_migrations[next]);
		int reached = 0;
		if (code == SQLITE_OK && (code = read_user_version(db, &reached)) == SQLITE_OK && reached != next + 1) {
			snprintf(error, error_size, "migration %d did not set user_version", next + 1);
			run_script(db, "ROLLBACK");
			return SQLITE_ERROR;
		}
		if (code != SQLITE_OK)
			snprintf(error, error_size, "migration %d failed: %s", next + 1, sqlite3_errmsg(db));
	}
	if (code == SQLITE_OK)
		code = run_script(db, "COMMIT");
	if (code != SQLITE_OK) {
		if (error[0] == '\0')
			snprintf(error, error_size, "cannot migrate the database: %s", sqlite3_errmsg(db));
		run_script(db, "ROLLBACK");
	}
	return code;
}

/*
 * Process-wide SQLite settings, made once before the first connection. Memory statistics off:
 * keyward never reads them, and with them on every SQLite allocation takes a global mutex
 * (SQLite's own advice for speed; under callgrind it saved about 2,000 instructions of the
 * 19,000 a key lookup took, and as many per usage row written).
 */
static void configure_sqlite(void)
{
	sqlite3_config(SQLITE_CONFIG_MEMSTATUS, 0);
}

void store_report_damaged(const char *path)
{
	fprintf(stderr, "keyward: database damaged: run PRAGMA integrity_check on %s\n", path);
}

/* The sentence for a failure to open `path`: the damage advice for a damaged file, else `doing` and SQLite's reason. */
static void open_failed(sqlite3 *db, int code, const char *path, const char *doing, char *error, size_t error_size)
{
	int primary = code & 0xff;
	const char *reason = db ? sqlite3_errmsg(db) : sqlite3_errstr(code);
	if (primary == SQLITE_CORRUPT || primary == SQLITE_NOTADB)
		snprintf(error, error_size, "database damaged: run PRAGMA integrity_check on %s (%s)", path, reason);
	else if (error[0] == '\0')
		snprintf(error, error_size, "%s %s: %s", doing, path, reason);
}

/*
 * True when there is a database at `path`: a file, not empty (an empty file is what an interrupted
 * copy or a `touch` leaves; SQLite would take it for a new database), or one whose write-ahead log
 * holds its pages.
 */
static bool database_exists(const char *path)
{
	struct stat info;
	if (stat(path, &info) != 0)
		return false;
	if (!S_ISREG(info.st_mode) || info.st_size > 0)
		return true; /* not a regular file: SQLite says what is wrong with it */
	char wal[4096];
	snprintf(wal, sizeof wal, "%s-wal", path);
	return stat(wal, &info) == 0 && info.st_size > 0;
}

/* Open `path` with `flags`, set it up, migrate it and prepare every statement (store_open()). */
static struct store *open_database(const char *path, int flags, char *error, size_t error_size)
{
	static pthread_once_t configured = PTHREAD_ONCE_INIT;
	pthread_once(&configured, configure_sqlite);
	error[0] = '\0';
	if (!(flags & SQLITE_OPEN_CREATE) && !database_exists(path)) {
		snprintf(error, error_size, "no database at %s: run \"keyward --db %s init\" to create one (is the path right?)",
			 path, path);
		return NULL;
	}
	sqlite3 *db = NULL;
	int code = sqlite3_open_v2(path, &db, flags | SQLITE_OPEN_READWRITE | SQLITE_OPEN_NOMUTEX, NULL);
	if (code != SQLITE_OK) {
		open_failed(db, code, path, "cannot open database", error, error_size);
		sqlite3_close(db);
		return NULL;
	}
	sqlite3_busy_timeout(db, STORE_BUSY_TIMEOUT_MS);
	sqlite3_extended_result_codes(db, 1);
	code = run_script(db, "PRAGMA journal_mode = WAL; PRAGMA foreign_keys = ON; PRAGMA synchronous = NORMAL");
	if (code == SQLITE_OK)
		code = migrate(db, error, error_size);
	if (code != SQLITE_OK) {
		open_failed(db, code, path, "cannot set up database", error, error_size);
		sqlite3_close(db);
		return NULL;
	}
	struct store *store = store_new(&store_engine_sqlite, db, path);
	for (int which = 0; which < STMT_COUNT; which++) {
		sqlite3_stmt *statement = NULL;
		if (store_statement_sql((enum store_statement)which)[0] == '\0')
			continue; /* not on this engine */
		code = sqlite3_prepare_v3(db, store_statement_sql((enum store_statement)which), -1,
					  SQLITE_PREPARE_PERSISTENT, &statement, NULL);
		store->queries[which].prepared = statement;
		if (code != SQLITE_OK) {
			char doing[128];
			snprintf(doing, sizeof doing, "cannot prepare statement %s in",
				 store_statement_name((enum store_statement)which));
			open_failed(db, code, path, doing, error, error_size);
			store_close(store);
			return NULL;
		}
	}
	return store;
}

/*
 * Make the file of a new database at `path` with CONFIG_DATABASE_MODE whatever the umask (SQLite
 * would make it 0644 less the umask, and gives its -wal and -shm files the database's mode). An
 * existing file is left as it is. False with a sentence when it can be made but not set up.
 */
static bool make_database_file(const char *path, char *error, size_t error_size)
{
	int fd = open(path, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC | O_NOFOLLOW, 0600);
	if (fd < 0)
		return true; /* it exists, or SQLite will say why it cannot be made */
	bool ok = fchmod(fd, CONFIG_DATABASE_MODE) == 0;
	if (!ok)
		snprintf(error, error_size, "cannot set the mode of new database %s: %s", path, strerror(errno));
	close(fd);
	if (!ok)
		unlink(path);
	return ok;
}

struct store *store_sqlite_open(const char *path, bool create, char *error, size_t error_size)
{
	error[0] = '\0';
	if (!create)
		return open_database(path, 0, error, error_size);
	if (!make_database_file(path, error, error_size))
		return NULL;
	return open_database(path, SQLITE_OPEN_CREATE, error, error_size);
}

/* ---- the engine ------------------------------------------------------------------------------ */

static sqlite3 *connection_of(struct store *store)
{
	return store->connection;
}

/* SQLite's result code as a store status (store_status_from() for the engine's own codes). */
static int status_of(int code)
{
	if (code == SQLITE_CONSTRAINT_TRIGGER)
		return STORE_ERROR; /* a trigger refused the write (an operator's, or a test's): a failure, not a rule */
	switch (code & 0xff) {
	case SQLITE_OK:
	case SQLITE_DONE:
		return STORE_DONE;
	case SQLITE_ROW:
		return STORE_ROW;
	case SQLITE_BUSY:
	case SQLITE_LOCKED:
		return STORE_BUSY;
	case SQLITE_CONSTRAINT:
		return STORE_CONFLICT;
	case SQLITE_CORRUPT:
	case SQLITE_NOTADB:
		return STORE_DAMAGED;
	default:
		return STORE_ERROR;
	}
}

/* Hand the query's parameters to SQLite, once per run (the text and blobs are the caller's: static). */
static void bind_parameters(struct store_query *query)
{
	sqlite3_stmt *statement = query->prepared;
	for (int i = 0; i < query->param_count; i++) {
		const struct store_param *param = &query->params[i];
		switch (param->kind) {
		case STORE_PARAM_NULL:
			sqlite3_bind_null(statement, i + 1);
			break;
		case STORE_PARAM_INT:
			sqlite3_bind_int64(statement, i + 1, param->integer);
			break;
		case STORE_PARAM_TEXT:
			sqlite3_bind_text(statement, i + 1, param->data, -1, SQLITE_STATIC);
			break;
		case STORE_PARAM_BLOB:
			sqlite3_bind_blob64(statement, i + 1, param->data, param->length, SQLITE_STATIC);
			break;
		}
	}
}

static int sqlite_step(struct store *store, struct store_query *query)
{
	if (query->prepared == NULL) {
		fprintf(stderr, "keyward: store: %s: not a statement of SQLite\n", store_statement_name(query->which));
		return STORE_ERROR;
	}
	if (!query->started) {
		bind_parameters(query);
		query->started = true;
	}
	int code = sqlite3_step(query->prepared);
	if (code != SQLITE_ROW && code != SQLITE_DONE)
		fprintf(stderr, "keyward: store: %s: %s\n", store_statement_name(query->which),
			sqlite3_errmsg(connection_of(store)));
	return status_of(code);
}

static void sqlite_reset(struct store *store, struct store_query *query)
{
	(void)store;
	if (query->prepared == NULL)
		return; /* a statement of another engine only */
	sqlite3_reset(query->prepared);
	sqlite3_clear_bindings(query->prepared);
}

static bool sqlite_column_is_null(const struct store_query *query, int column)
{
	return sqlite3_column_type(query->prepared, column) == SQLITE_NULL;
}

static int64_t sqlite_column_int(const struct store_query *query, int column)
{
	return sqlite3_column_int64(query->prepared, column);
}

static int sqlite_column_count(const struct store_query *query)
{
	return sqlite3_column_count(query->prepared);
}

static const char *sqlite_column_text(const struct store_query *query, int column, size_t *length)
{
	const unsigned char *text = sqlite3_column_text(query->prepared, column);
	*length = text == NULL ? 0 : (size_t)sqlite3_column_bytes(query->prepared, column);
	return (const char *)text;
}

static const void *sqlite_column_blob(struct arena *arena, const struct store_query *query, int column,
				      size_t *length)
{
	(void)arena;
	const void *blob = sqlite3_column_blob(query->prepared, column);
	*length = blob == NULL ? 0 : (size_t)sqlite3_column_bytes(query->prepared, column);
	return blob;
}

static int64_t sqlite_changes(struct store *store)
{
	return sqlite3_changes64(connection_of(store));
}

static int64_t sqlite_last_insert_id(struct store *store)
{
	return sqlite3_last_insert_rowid(connection_of(store));
}

static bool sqlite_in_transaction(struct store *store)
{
	return !sqlite3_get_autocommit(connection_of(store));
}

/* VACUUM INTO: see store_backup(). */
static enum store_status sqlite_backup(struct store *store, const char *path)
{
	struct store_query *query = store_query(store, STMT_BACKUP);
	store_bind_text(query, 1, path);
	return store_run(store, STMT_BACKUP);
}

static void sqlite_close(struct store *store)
{
	for (int which = 0; which < STMT_COUNT; which++)
		sqlite3_finalize(store->queries[which].prepared);
	sqlite3_close(connection_of(store));
}

const struct store_engine store_engine_sqlite = {
	.name = "SQLite",
	.arrays = false,
	.step = sqlite_step,
	.reset = sqlite_reset,
	.column_is_null = sqlite_column_is_null,
	.column_int = sqlite_column_int,
	.column_count = sqlite_column_count,
	.column_text = sqlite_column_text,
	.column_blob = sqlite_column_blob,
	.changes = sqlite_changes,
	.last_insert_id = sqlite_last_insert_id,
	.in_transaction = sqlite_in_transaction,
	.backup = sqlite_backup,
	.close = sqlite_close,
};
