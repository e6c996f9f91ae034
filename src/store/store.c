/*
 * store.c: what both engines share: the query layer (binding, stepping, columns) and
 * transactions, and the choice of engine at open. The statements are in statements.c.
 */
#include "store/engine.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/alloc.h"

/* ---- opening ---------------------------------------------------------------------------------- */

struct store *store_new(const struct store_engine *engine, void *connection, const char *where)
{
	struct store *store = xcalloc(1, sizeof *store);
	store->engine = engine;
	store->connection = connection;
	store->where = xstrdup(where);
	for (int which = 0; which < STMT_COUNT; which++) {
		store->queries[which].store = store;
		store->queries[which].which = (enum store_statement)which;
	}
	return store;
}

void store_free(struct store *store)
{
	free(store->where);
	free(store);
}

struct store *store_open(const char *database, char *error, size_t error_size)
{
	if (store_is_postgresql(database))
		return store_postgresql_open(database, false, error, error_size);
	return store_sqlite_open(database, false, error, error_size);
}

struct store *store_create(const char *database, char *error, size_t error_size)
{
	if (store_is_postgresql(database))
		return store_postgresql_open(database, true, error, error_size);
	return store_sqlite_open(database, true, error, error_size);
}

void store_close(struct store *store)
{
	if (store == NULL)
		return;
	for (int which = 0; which < STMT_COUNT; which++)
		store->engine->reset(store, &store->queries[which]);
	store->engine->close(store);
	store_free(store);
}

enum store_status store_backup(struct store *store, const char *path)
{
	return store->engine->backup(store, path);
}

/* ---- queries ---------------------------------------------------------------------------------- */

struct store_query *store_query(struct store *store, enum store_statement which)
{
	struct store_query *query = &store->queries[which];
	store_query_reset(query);
	return query;
}

static struct store *store_of(const struct store_query *query)
{
	return query->store;
}

void store_query_reset(struct store_query *query)
{
	struct store *store = store_of(query);
	if (query->started || query->param_count > 0)
		store->engine->reset(store, query);
	query->param_count = 0;
	query->started = false;
}

/* Parameter `index` (1-based) of `query`, counted as bound. */
static struct store_param *param_at(struct store_query *query, int index)
{
	if (index < 1 || index > STORE_PARAMS_MAX) {
		fprintf(stderr, "keyward: store: %s: parameter %d is out of range\n", store_statement_name(query->which),
			index);
		abort(); /* a programming error: the table and the code disagree */
	}
	for (int i = query->param_count; i < index - 1; i++)
		query->params[i].kind = STORE_PARAM_NULL;
	if (index > query->param_count)
		query->param_count = index;
	return &query->params[index - 1];
}

void store_bind_int(struct store_query *query, int index, int64_t value)
{
	struct store_param *param = param_at(query, index);
	param->kind = STORE_PARAM_INT;
	param->integer = value;
}

void store_bind_text(struct store_query *query, int index, const char *text)
{
	struct store_param *param = param_at(query, index);
	param->kind = text == NULL ? STORE_PARAM_NULL : STORE_PARAM_TEXT;
	param->data = text;
	param->length = text == NULL ? 0 : strlen(text);
}

void store_bind_blob(struct store_query *query, int index, const void *data, size_t length)
{
	struct store_param *param = param_at(query, index);
	param->kind = STORE_PARAM_BLOB;
	param->data = data;
	param->length = length;
}

void store_bind_null(struct store_query *query, int index)
{
	param_at(query, index)->kind = STORE_PARAM_NULL;
}

int store_step(struct store *store, enum store_statement which)
{
	return store->engine->step(store, &store->queries[which]);
}

enum store_status store_status_from(int code)
{
	return code == STORE_ROW || code == STORE_DONE ? STORE_OK : (enum store_status)code;
}

enum store_status store_run(struct store *store, enum store_statement which)
{
	int code = store_step(store, which);
	store_query_reset(&store->queries[which]);
	return store_status_from(code);
}

bool store_column_is_null(const struct store_query *query, int column)
{
	return store_of(query)->engine->column_is_null(query, column);
}

int64_t store_column_int(const struct store_query *query, int column)
{
	return store_of(query)->engine->column_int(query, column);
}

int store_column_count(const struct store_query *query)
{
	return store_of(query)->engine->column_count(query);
}

const char *store_column_text(struct arena *arena, const struct store_query *query, int column)
{
	size_t length = 0;
	const char *text = store_of(query)->engine->column_text(query, column, &length);
	if (text == NULL)
		return "";
	return arena_strndup(arena, text, length);
}

const void *store_column_blob(struct arena *arena, const struct store_query *query, int column, size_t *length)
{
	const void *blob = store_of(query)->engine->column_blob(arena, query, column, length);
	if (blob == NULL || *length == 0) {
		*length = 0;
		return NULL;
	}
	return blob;
}

int64_t store_changes(struct store *store)
{
	return store->engine->changes(store);
}

int64_t store_last_insert_id(struct store *store)
{
	return store->engine->last_insert_id(store);
}

/* ---- transactions ----------------------------------------------------------------------------- */

enum store_status store_transaction_begin(struct store *store)
{
	if (store->depth > 0 && !store->engine->in_transaction(store))
		return STORE_ERROR; /* the outer transaction is gone: nothing may run outside it */
	enum store_statement which = store->depth > 0 ? STMT_SAVEPOINT : STMT_BEGIN;
	store_query(store, which);
	enum store_status status = store_run(store, which);
	if (status == STORE_OK)
		store->depth++;
	return status;
}

enum store_status store_read_begin(struct store *store)
{
	if (store->depth > 0)
		return store_transaction_begin(store);
	store_query(store, STMT_BEGIN_READ);
	enum store_status status = store_run(store, STMT_BEGIN_READ);
	if (status == STORE_OK)
		store->depth++;
	return status;
}

enum store_status store_transaction_commit(struct store *store)
{
	if (store->depth == 0)
		return STORE_ERROR;
	if (!store->engine->in_transaction(store)) { /* the engine rolled it back by itself after an error */
		fprintf(stderr, "keyward: store: the transaction was rolled back after an error; nothing was saved\n");
		store->depth = 0;
		return STORE_ERROR;
	}
	enum store_statement which = store->depth > 1 ? STMT_RELEASE : STMT_COMMIT;
	store_query(store, which);
	enum store_status status = store_run(store, which);
	if (status != STORE_OK) {
		store_transaction_rollback(store);
		return status;
	}
	store->depth--;
	return STORE_OK;
}

void store_transaction_rollback(struct store *store)
{
	if (store->depth == 0)
		return;
	if (!store->engine->in_transaction(store)) {
		store->depth = 0;
		return;
	}
	if (store->depth > 1) {
		/* Undo the savepoint, then pop it; the outer transaction stays open. */
		store_query(store, STMT_ROLLBACK_TO);
		store_run(store, STMT_ROLLBACK_TO);
		store_query(store, STMT_RELEASE);
		store_run(store, STMT_RELEASE);
	} else {
		store_query(store, STMT_ROLLBACK);
		store_run(store, STMT_ROLLBACK);
	}
	store->depth--;
}

enum store_status store_transaction_finish(struct store *store, enum store_status status)
{
	if (status != STORE_OK) {
		store_transaction_rollback(store);
		return status;
	}
	return store_transaction_commit(store);
}
