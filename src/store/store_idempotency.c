/*
 * store_idempotency.c: the management API's recorded answers to POSTs sent with an
 * Idempotency-Key (api_idempotency, 015_idempotency.sql). The caller holds a transaction around
 * claim, its change and finish, so that a change and its recorded answer commit together.
 */
#include <string.h>

#include "core/alloc.h"
#include "store/store_private.h"

enum store_status store_idempotency_claim(struct store *store, const struct store_idempotency_key *key,
					  const unsigned char *request_hash, size_t request_hash_length, int64_t now,
					  int64_t max_age, bool *claimed, int64_t *row_id)
{
	*claimed = false;
	*row_id = 0;
	struct store_query *statement = store_query(store, STMT_IDEMPOTENCY_PRUNE);
	store_bind_int(statement, 1, now - max_age);
	enum store_status status = store_run(store, STMT_IDEMPOTENCY_PRUNE);
	if (status != STORE_OK)
		return status;
	statement = store_query(store, STMT_IDEMPOTENCY_CLAIM);
	store_bind_int(statement, 1, key->workspace_id);
	store_bind_int(statement, 2, key->api_key_row_id);
	store_bind_blob(statement, 3, key->hash, key->hash_length);
	store_bind_blob(statement, 4, request_hash, request_hash_length);
	store_bind_int(statement, 5, now);
	int code = store_step(store, STMT_IDEMPOTENCY_CLAIM);
	if (code == STORE_ROW) {
		*claimed = true;
		*row_id = store_column_int(statement, 0);
		code = store_step(store, STMT_IDEMPOTENCY_CLAIM);
	}
	store_query_reset(statement);
	return code == STORE_DONE ? STORE_OK : store_status_from(code);
}

enum store_status store_idempotency_get(struct store *store, struct arena *arena,
					const struct store_idempotency_key *key, struct store_idempotency *found)
{
	memset(found, 0, sizeof *found);
	struct store_query *statement = store_query(store, STMT_IDEMPOTENCY_GET);
	store_bind_int(statement, 1, key->api_key_row_id);
	store_bind_blob(statement, 2, key->hash, key->hash_length);
	int code = store_step(store, STMT_IDEMPOTENCY_GET);
	if (code == STORE_ROW) {
		found->status = store_column_int(statement, 0);
		const void *blob = store_column_blob(arena, statement, 1, &found->request_hash_length);
		found->request_hash = arena_alloc(arena, found->request_hash_length + 1);
		if (found->request_hash_length > 0)
			memcpy(found->request_hash, blob, found->request_hash_length);
		blob = store_column_blob(arena, statement, 2, &found->answer_length);
		found->answer = arena_alloc(arena, found->answer_length + 1);
		if (found->answer_length > 0)
			memcpy(found->answer, blob, found->answer_length);
		found->created_at = store_column_int(statement, 3);
	}
	store_query_reset(statement);
	if (code == STORE_ROW)
		return STORE_OK;
	return code == STORE_DONE ? STORE_NOT_FOUND : store_status_from(code);
}

enum store_status store_idempotency_finish(struct store *store, int64_t row_id, int64_t status_code,
					   const unsigned char *answer, size_t answer_length)
{
	struct store_query *statement = store_query(store, STMT_IDEMPOTENCY_FINISH);
	store_bind_int(statement, 1, row_id);
	store_bind_int(statement, 2, status_code);
	store_bind_blob(statement, 3, answer, answer_length);
	enum store_status status = store_run(store, STMT_IDEMPOTENCY_FINISH);
	if (status == STORE_OK && store_changes(store) == 0)
		return STORE_NOT_FOUND;
	return status;
}
