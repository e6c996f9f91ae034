/*
 * store_copy.c: a whole SQLite database copied into an empty PostgreSQL one (keyward migrate-to,
 * src/domain/migration.c), table by table as STORE_COPY_TABLES (store_private.h) lists them.
 */
#include "store/engine.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/alloc.h"

struct copy_table {
	const char *name;
	enum store_statement read, write, clear;
	const char *columns;
	const char *kinds; /* a letter a column: i integer, t text, b blob */
};

#define COPY_TABLE(NAME, name, table, columns, placeholders, kinds, order, seed) \
	{ #name, STMT_COPY_READ_##NAME, STMT_COPY_WRITE_##NAME, STMT_COPY_CLEAR_##NAME, columns, kinds },

static const struct copy_table copy_tables[] = { STORE_COPY_TABLES(COPY_TABLE) };

#define COPY_TABLE_COUNT (sizeof copy_tables / sizeof copy_tables[0])

_Static_assert(COPY_TABLE_COUNT <= STORE_COPY_TABLES_MAX, "STORE_COPY_TABLES_MAX is too small");

size_t store_copy_table_count(void)
{
	return COPY_TABLE_COUNT;
}

const char *store_copy_table_name(size_t index)
{
	return index < COPY_TABLE_COUNT ? copy_tables[index].name : NULL;
}

/* Run `which`, a row of one count per copied table, into counts[]. */
static enum store_status count_each(struct store *store, enum store_statement which, int64_t *counts)
{
	struct store_query *query = store_query(store, which);
	int code = store_step(store, which);
	if (code == STORE_ROW)
		for (size_t i = 0; i < COPY_TABLE_COUNT; i++)
			counts[i] = store_column_int(query, (int)i);
	store_query_reset(query);
	return code == STORE_ROW ? STORE_OK : code == STORE_DONE ? STORE_ERROR : store_status_from(code);
}

enum store_status store_copy_count(struct store *store, int64_t counts[STORE_COPY_TABLES_MAX])
{
	return count_each(store, STMT_COPY_COUNTS, counts);
}

enum store_status store_copy_extra(struct store *target, int64_t extra[STORE_COPY_TABLES_MAX])
{
	return count_each(target, STMT_COPY_EXTRA, extra);
}

/* The table's kinds must name each of its columns once: the list and the code disagree otherwise. */
static void check_kinds(const struct copy_table *table)
{
	size_t columns = 1;
	for (const char *c = table->columns; *c != '\0'; c++)
		columns += *c == ',';
	if (columns != strlen(table->kinds) || columns > STORE_PARAMS_MAX) {
		fprintf(stderr, "keyward: store: copy: %s has %zu columns and %zu kinds\n", table->name, columns,
			strlen(table->kinds));
		abort(); /* a programming error */
	}
}

/* Copy every row of `table`, one insert each, its values as they are (NULL stays NULL). */
static enum store_status copy_table(struct store *source, struct store *target, const struct copy_table *table,
				    struct arena *arena)
{
	check_kinds(table);
	size_t width = strlen(table->kinds);
	struct store_query *reading = store_query(source, table->read);
	int code;
	while ((code = store_step(source, table->read)) == STORE_ROW) {
		struct store_query *writing = store_query(target, table->write);
		for (size_t i = 0; i < width; i++) {
			int column = (int)i;
			if (store_column_is_null(reading, column)) {
				store_bind_null(writing, column + 1);
			} else if (table->kinds[i] == 'i') {
				store_bind_int(writing, column + 1, store_column_int(reading, column));
			} else if (table->kinds[i] == 't') {
				store_bind_text(writing, column + 1, store_column_text(arena, reading, column));
			} else {
				size_t length = 0;
				const void *blob = store_column_blob(arena, reading, column, &length);
				store_bind_blob(writing, column + 1, blob != NULL ? blob : "", length);
			}
		}
		enum store_status status = store_run(target, table->write);
		arena_reset(arena);
		if (status != STORE_OK) {
			fprintf(stderr, "keyward: store: copy: a row of %s was refused\n", table->name);
			store_query_reset(reading);
			return status;
		}
	}
	store_query_reset(reading);
	return store_status_from(code);
}

/* Move the target's identity sequences past what was copied (see STMT_COPY_SEQUENCES). */
static enum store_status advance_sequences(struct store *source, struct store *target)
{
	struct store_query *query = store_query(source, STMT_COPY_USAGE_SEQUENCE);
	int code = store_step(source, STMT_COPY_USAGE_SEQUENCE);
	int64_t usage_sequence = code == STORE_ROW ? store_column_int(query, 0) : 0;
	store_query_reset(query);
	if (code != STORE_ROW)
		return code == STORE_DONE ? STORE_ERROR : store_status_from(code);
	query = store_query(target, STMT_COPY_SEQUENCES);
	store_bind_int(query, 1, usage_sequence);
	return store_run(target, STMT_COPY_SEQUENCES);
}

enum store_status store_copy_rows(struct store *source, struct store *target)
{
	if (source->engine != &store_engine_sqlite || target->engine != &store_engine_postgresql) {
		fprintf(stderr, "keyward: store: copy: from %s to %s: only SQLite to PostgreSQL is a copy\n",
			source->engine->name, target->engine->name);
		return STORE_ERROR;
	}
	if (source->depth == 0 || target->depth == 0) {
		fprintf(stderr, "keyward: store: copy: outside a transaction\n");
		return STORE_ERROR;
	}
	enum store_status status = STORE_OK;
	/* The seed goes first, the tables that reference others before those they reference. */
	for (size_t i = COPY_TABLE_COUNT; status == STORE_OK && i > 0; i--) {
		store_query(target, copy_tables[i - 1].clear);
		status = store_run(target, copy_tables[i - 1].clear);
	}
	struct arena *arena = arena_new();
	for (size_t i = 0; status == STORE_OK && i < COPY_TABLE_COUNT; i++)
		status = copy_table(source, target, &copy_tables[i], arena);
	arena_free(arena);
	return status == STORE_OK ? advance_sequences(source, target) : status;
}
