/*
 * engine.h: what a storage engine gives the store. statements.c holds the statement table and
 * store.c what else the engines share (transactions, binding); each engine file holds what only it knows:
 * engine_sqlite.c (one file, the embedded default) and engine_postgresql.c (libpq).
 *
 * An engine opens a connection, brings its schema up to date, prepares every statement of the
 * table, and runs them. Statements are written once, in SQLite's dialect with numbered
 * parameters (?1, ?2 ...); where PostgreSQL needs other words the table gives them beside.
 */
#ifndef KEYWARD_STORE_ENGINE_H
#define KEYWARD_STORE_ENGINE_H

#include "store/store_private.h"

/*
 * How long a statement waits for a lock another connection holds before it gives up with
 * STORE_BUSY: SQLite's busy timeout, PostgreSQL's lock_timeout (unless the URI's options set one).
 */
#define STORE_BUSY_TIMEOUT_MS 5000
#define STORE_TEXT_OF(number) #number
#define STORE_TEXT(number) STORE_TEXT_OF(number)

struct store_engine {
	const char *name; /* "SQLite", "PostgreSQL" */
	bool arrays;      /* takes array literals ({1,2,"text"}) for statements that unnest them */
	/* Step the query once (its parameters are in query->params): STORE_ROW, STORE_DONE or a status. */
	int (*step)(struct store *store, struct store_query *query);
	/* Forget the query's rows and the bindings the engine holds. */
	void (*reset)(struct store *store, struct store_query *query);
	bool (*column_is_null)(const struct store_query *query, int column);
	int64_t (*column_int)(const struct store_query *query, int column);
	int (*column_count)(const struct store_query *query);
	/* The text of a column, not copied (valid until the next step or reset), and its length. */
	const char *(*column_text)(const struct store_query *query, int column, size_t *length);
	/* The bytes of a blob column in `arena` (or not copied, when the engine holds them as they are). */
	const void *(*column_blob)(struct arena *arena, const struct store_query *query, int column, size_t *length);
	int64_t (*changes)(struct store *store);
	int64_t (*last_insert_id)(struct store *store);
	/* False when the engine has left the transaction by itself (SQLite after some errors). */
	bool (*in_transaction)(struct store *store);
	enum store_status (*backup)(struct store *store, const char *path);
	/* The gate generation without asking the database, or STORE_NOT_FOUND: ask it. NULL: always ask. */
	enum store_status (*gate_generation)(struct store *store, int64_t *generation);
	void (*close)(struct store *store);
};

extern const struct store_engine store_engine_sqlite;
extern const struct store_engine store_engine_postgresql;

/* The SQL of statement `which` in SQLite's words, and in PostgreSQL's (NULL: the same words). */
const char *store_statement_sql(enum store_statement which);
const char *store_statement_postgresql(enum store_statement which);
/*
 * True for a statement whose best plan depends on its values: PostgreSQL plans it at each run for
 * the values bound (sent unprepared) instead of preparing it once. SQLite's plans never change.
 */
bool store_statement_each_run(enum store_statement which);

/* A new store of `engine` on `connection`, its queries not yet prepared. */
struct store *store_new(const struct store_engine *engine, void *connection, const char *where);

/* Free what store_new() made (the engine has closed its connection). */
void store_free(struct store *store);

/* Each engine's store_open() (and with `create`, store_create()). */
struct store *store_sqlite_open(const char *path, bool create, char *error, size_t error_size);
struct store *store_postgresql_open(const char *database, bool create, char *error, size_t error_size);

#endif
