/* store_maintenance.c: what keeps a database whole: the server key's check value, and backups. */
#include "store/store_private.h"

#include <string.h>

enum store_status store_key_check_get(struct store *store, unsigned char value[STORE_KEY_CHECK_BYTES], bool *present,
				      bool *holds_secrets)
{
	sqlite3_stmt *statement = store_statement(store, STMT_KEY_CHECK_GET);
	int code = store_step(store, STMT_KEY_CHECK_GET);
	*present = false;
	*holds_secrets = false;
	if (code == SQLITE_ROW) {
		const void *blob = sqlite3_column_blob(statement, 0);
		/* A value of another length is no check of ours: take it as a mismatch, not as none. */
		*present = sqlite3_column_type(statement, 0) != SQLITE_NULL;
		memset(value, 0, STORE_KEY_CHECK_BYTES);
		if (blob != NULL && sqlite3_column_bytes(statement, 0) == STORE_KEY_CHECK_BYTES)
			memcpy(value, blob, STORE_KEY_CHECK_BYTES);
		*holds_secrets = sqlite3_column_int(statement, 1) != 0;
	}
	sqlite3_reset(statement);
	return code == SQLITE_ROW ? STORE_OK : store_status_from(code);
}

enum store_status store_key_check_set(struct store *store, const unsigned char value[STORE_KEY_CHECK_BYTES],
				      bool replace, int64_t now)
{
	enum store_statement which = replace ? STMT_KEY_CHECK_REPLACE : STMT_KEY_CHECK_INSERT;
	sqlite3_stmt *statement = store_statement(store, which);
	sqlite3_bind_blob(statement, 1, value, STORE_KEY_CHECK_BYTES, SQLITE_STATIC);
	sqlite3_bind_int64(statement, 2, now);
	enum store_status status = store_run(store, which);
	if (status == STORE_OK && replace && sqlite3_changes(store->db) == 0)
		return STORE_CONFLICT; /* keys or users appeared meanwhile */
	return status;
}

enum store_status store_backup(struct store *store, const char *path)
{
	sqlite3_stmt *statement = store_statement(store, STMT_BACKUP);
	sqlite3_bind_text(statement, 1, path, -1, SQLITE_STATIC);
	return store_run(store, STMT_BACKUP);
}
