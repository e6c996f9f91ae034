/* store_gate.c: the gatekeeper's reads (a key by its hash) and its batched usage writes. */
#include "store/engine.h"

#include <string.h>

#include "core/alloc.h"
#include "core/buf.h"

/* Split the space-separated CIDR list of a key into an array in `arena`. */
static void split_cidrs(struct arena *arena, const char *text, struct store_key_auth *key)
{
	key->cidrs = NULL;
	key->cidr_count = 0;
	if (text[0] == '\0')
		return;
	size_t count = 1;
	for (const char *c = text; *c != '\0'; c++)
		count += *c == ' ';
	key->cidrs = arena_alloc(arena, count * sizeof *key->cidrs);
	char *copy = arena_strdup(arena, text);
	char *save = NULL;
	for (char *part = strtok_r(copy, " ", &save); part != NULL; part = strtok_r(NULL, " ", &save))
		key->cidrs[key->cidr_count++] = part;
}

enum store_status store_key_find_by_hash(struct store *store, struct arena *arena, const unsigned char *hash,
					 size_t hash_length, struct store_key_auth *key)
{
	struct store_query *statement = store_query(store, STMT_KEY_FIND_BY_HASH);
	store_bind_blob(statement, 1, hash, hash_length);
	int code = store_step(store, STMT_KEY_FIND_BY_HASH);
	if (code == STORE_ROW) {
		memset(key, 0, sizeof *key);
		key->id = store_column_int(statement, 0);
		key->workspace_id = store_column_int(statement, 1);
		key->key_id = store_column_text(arena, statement, 2);
		key->name = store_column_text(arena, statement, 3);
		key->enabled = store_column_int(statement, 4) != 0;
		key->revoked = store_column_int(statement, 5) != 0;
		key->off_record = store_column_int(statement, 6) != 0;
		key->role_name = store_column_text(arena, statement, 7);
		key->permissions = store_column_text(arena, statement, 8);
		split_cidrs(arena, store_column_text(arena, statement, 9), key);
		key->expires_at = store_column_int(statement, 10);
		key->previous_secret = store_column_int(statement, 11) != 0;
		key->previous_until = key->previous_secret ? store_column_int(statement, 12) : 0;
		key->allowlist_enabled = store_column_int(statement, 13) != 0;
	}
	store_query_reset(statement);
	if (code == STORE_ROW)
		return STORE_OK;
	return code == STORE_DONE ? STORE_NOT_FOUND : store_status_from(code);
}

enum store_status store_gate_generation(struct store *store, int64_t *generation)
{
	if (store->engine->gate_generation != NULL && store->engine->gate_generation(store, generation) == STORE_OK)
		return STORE_OK;
	struct store_query *statement = store_query(store, STMT_GATE_GENERATION);
	int code = store_step(store, STMT_GATE_GENERATION);
	if (code == STORE_ROW)
		*generation = store_column_int(statement, 0);
	store_query_reset(statement);
	if (code == STORE_ROW)
		return STORE_OK;
	return code == STORE_DONE ? STORE_NOT_FOUND : store_status_from(code);
}

/* Append `text` to an array literal as one quoted element ("a\"b"): only " and \ are escaped. */
static void array_text(struct buf *array, const char *text)
{
	buf_puts(array, array->length > 1 ? ",\"" : "\"");
	for (const char *c = text; *c != '\0'; c++) {
		if (*c == '"' || *c == '\\')
			buf_append(array, "\\", 1);
		buf_append(array, c, 1);
	}
	buf_puts(array, "\"");
}

static void array_integer(struct buf *array, int64_t value, bool null)
{
	if (null)
		buf_puts(array, array->length > 1 ? ",NULL" : "NULL");
	else
		buf_printf(array, array->length > 1 ? ",%lld" : "%lld", (long long)value);
}

/*
 * A batch as one statement of array literals, a column each (engines that take arrays:
 * PostgreSQL): one round trip for the batch, not one per row.
 */
#define ARRAY_COLUMNS_MAX 8

struct array_columns {
	struct buf columns[ARRAY_COLUMNS_MAX];
	int count;
};

static void columns_open(struct array_columns *array, int count)
{
	array->count = count;
	for (int c = 0; c < count; c++) {
		array->columns[c] = (struct buf)BUF_INIT;
		buf_puts(&array->columns[c], "{");
	}
}

/* Close the literals, bind them as ?1, ?2 ... of `which` and run it. */
static enum store_status columns_run(struct store *store, struct array_columns *array, enum store_statement which)
{
	struct store_query *statement = store_query(store, which);
	for (int c = 0; c < array->count; c++) {
		buf_puts(&array->columns[c], "}");
		store_bind_text(statement, c + 1, array->columns[c].data);
	}
	enum store_status status = store_run(store, which);
	for (int c = 0; c < array->count; c++)
		buf_free(&array->columns[c]);
	return status;
}
static enum store_status write_events_at_once(struct store *store, const struct store_usage_event *events,
					      size_t count)
{
	struct array_columns array;
	columns_open(&array, 8);
	for (size_t i = 0; i < count; i++) {
		array_integer(&array.columns[0], events[i].workspace_id, false);
		array_integer(&array.columns[1], events[i].api_key_id, events[i].api_key_id == 0);
		array_integer(&array.columns[2], events[i].at, false);
		array_text(&array.columns[3], events[i].endpoint);
		array_text(&array.columns[4], events[i].client_address);
		array_text(&array.columns[5], events[i].outcome);
		array_integer(&array.columns[6], events[i].calls, false);
		array_integer(&array.columns[7], events[i].previous_secret, false);
	}
	return columns_run(store, &array, STMT_USAGE_INSERT_MANY);
}

static enum store_status write_events(struct store *store, const struct store_usage_event *events, size_t count)
{
	if (count > 0) {
		store_query(store, STMT_USAGE_WRITE_LOCK);
		enum store_status status = store_run(store, STMT_USAGE_WRITE_LOCK);
		if (status != STORE_OK)
			return status;
	}
	if (count > 1 && store->engine->arrays)
		return write_events_at_once(store, events, count);
	for (size_t i = 0; i < count; i++) {
		struct store_query *statement = store_query(store, STMT_USAGE_INSERT);
		store_bind_int(statement, 1, events[i].workspace_id);
		if (events[i].api_key_id != 0)
			store_bind_int(statement, 2, events[i].api_key_id);
		store_bind_int(statement, 3, events[i].at);
		store_bind_text(statement, 4, events[i].endpoint);
		store_bind_text(statement, 5, events[i].client_address);
		store_bind_text(statement, 6, events[i].outcome);
		store_bind_int(statement, 7, events[i].calls);
		store_bind_int(statement, 8, events[i].previous_secret);
		enum store_status status = store_run(store, STMT_USAGE_INSERT);
		if (status != STORE_OK)
			return status;
	}
	return STORE_OK;
}

static enum store_status write_counts(struct store *store, const struct store_usage_count *counts, size_t count)
{
	if (count > 1 && store->engine->arrays) {
		struct array_columns array;
		columns_open(&array, 4);
		for (size_t i = 0; i < count; i++) {
			array_integer(&array.columns[0], counts[i].workspace_id, false);
			array_integer(&array.columns[1], counts[i].api_key_id, false);
			array_integer(&array.columns[2], counts[i].hour, false);
			array_integer(&array.columns[3], counts[i].calls, false);
		}
		return columns_run(store, &array, STMT_USAGE_ANONYMOUS_ADD_MANY);
	}
	for (size_t i = 0; i < count; i++) {
		struct store_query *statement = store_query(store, STMT_USAGE_ANONYMOUS_ADD);
		store_bind_int(statement, 1, counts[i].workspace_id);
		store_bind_int(statement, 2, counts[i].api_key_id);
		store_bind_int(statement, 3, counts[i].hour);
		store_bind_int(statement, 4, counts[i].calls);
		enum store_status status = store_run(store, STMT_USAGE_ANONYMOUS_ADD);
		if (status != STORE_OK)
			return status;
	}
	return STORE_OK;
}

static enum store_status write_refusals(struct store *store, const struct store_refusal_count *refusals, size_t count)
{
	if (count > 1 && store->engine->arrays) {
		struct array_columns array;
		columns_open(&array, 5);
		for (size_t i = 0; i < count; i++) {
			array_integer(&array.columns[0], refusals[i].hour, false);
			array_integer(&array.columns[1], refusals[i].workspace_id, false);
			array_text(&array.columns[2], refusals[i].client_address);
			array_text(&array.columns[3], refusals[i].outcome);
			array_integer(&array.columns[4], refusals[i].calls, false);
		}
		return columns_run(store, &array, STMT_USAGE_REFUSED_ADD_MANY);
	}
	for (size_t i = 0; i < count; i++) {
		struct store_query *statement = store_query(store, STMT_USAGE_REFUSED_ADD);
		store_bind_int(statement, 1, refusals[i].hour);
		store_bind_int(statement, 2, refusals[i].workspace_id);
		store_bind_text(statement, 3, refusals[i].client_address);
		store_bind_text(statement, 4, refusals[i].outcome);
		store_bind_int(statement, 5, refusals[i].calls);
		enum store_status status = store_run(store, STMT_USAGE_REFUSED_ADD);
		if (status != STORE_OK)
			return status;
	}
	return STORE_OK;
}

static enum store_status write_last_used(struct store *store, const struct store_last_used *last_used, size_t count)
{
	if (count > 1 && store->engine->arrays) {
		struct array_columns array;
		columns_open(&array, 2);
		for (size_t i = 0; i < count; i++) {
			array_integer(&array.columns[0], last_used[i].api_key_id, false);
			array_integer(&array.columns[1], last_used[i].at, false);
		}
		return columns_run(store, &array, STMT_KEY_TOUCH_MANY);
	}
	for (size_t i = 0; i < count; i++) {
		struct store_query *statement = store_query(store, STMT_KEY_TOUCH);
		store_bind_int(statement, 1, last_used[i].api_key_id);
		store_bind_int(statement, 2, last_used[i].at);
		enum store_status status = store_run(store, STMT_KEY_TOUCH);
		if (status != STORE_OK)
			return status;
	}
	return STORE_OK;
}

enum store_status store_usage_write(struct store *store, const struct store_usage_event *events, size_t event_count,
				    const struct store_usage_count *counts, size_t count_count,
				    const struct store_last_used *last_used, size_t last_used_count,
				    const struct store_refusal_count *refusals, size_t refusal_count)
{
	enum store_status status = store_transaction_begin(store);
	if (status != STORE_OK)
		return status;
	status = write_events(store, events, event_count);
	if (status == STORE_OK)
		status = write_counts(store, counts, count_count);
	if (status == STORE_OK)
		status = write_refusals(store, refusals, refusal_count);
	if (status == STORE_OK)
		status = write_last_used(store, last_used, last_used_count);
	if (status != STORE_OK) {
		store_transaction_rollback(store);
		return status;
	}
	return store_transaction_commit(store);
}
