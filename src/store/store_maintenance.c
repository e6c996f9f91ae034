/* store_maintenance.c: what keeps a database whole: the server key's check value (backups: store.c). */
#include "store/store_private.h"

#include <string.h>

#include "core/alloc.h"

enum store_status store_key_check_get(struct store *store, unsigned char value[STORE_KEY_CHECK_BYTES], bool *present,
				      bool *holds_secrets)
{
	struct store_query *statement = store_query(store, STMT_KEY_CHECK_GET);
	int code = store_step(store, STMT_KEY_CHECK_GET);
	*present = false;
	*holds_secrets = false;
	if (code == STORE_ROW) {
		struct arena *arena = arena_new(); /* PostgreSQL decodes the bytes into it */
		size_t length = 0;
		const void *blob = store_column_blob(arena, statement, 0, &length);
		/* A value of another length is no check of ours: take it as a mismatch, not as none. */
		*present = !store_column_is_null(statement, 0);
		memset(value, 0, STORE_KEY_CHECK_BYTES);
		if (blob != NULL && length == STORE_KEY_CHECK_BYTES)
			memcpy(value, blob, STORE_KEY_CHECK_BYTES);
		arena_free(arena);
		*holds_secrets = store_column_int(statement, 1) != 0;
	}
	store_query_reset(statement);
	return code == STORE_ROW ? STORE_OK : store_status_from(code);
}

enum store_status store_key_check_set(struct store *store, const unsigned char value[STORE_KEY_CHECK_BYTES],
				      bool replace, int64_t now)
{
	enum store_statement which = replace ? STMT_KEY_CHECK_REPLACE : STMT_KEY_CHECK_INSERT;
	struct store_query *statement = store_query(store, which);
	store_bind_blob(statement, 1, value, STORE_KEY_CHECK_BYTES);
	store_bind_int(statement, 2, now);
	enum store_status status = store_run(store, which);
	if (status == STORE_OK && replace && store_changes(store) == 0)
		return STORE_CONFLICT; /* keys or users appeared meanwhile */
	return status;
}
