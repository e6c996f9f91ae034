/* store_roles.c: writing key roles (reading them is in store_keys.c, next to the keys that use them). */
#include "store/store_private.h"

enum store_status store_role_find_id_any_case(struct store *store, int64_t workspace_id, const char *name,
					      int64_t *role_id)
{
	sqlite3_stmt *statement = store_statement(store, STMT_ROLE_FIND_ANY_CASE);
	sqlite3_bind_int64(statement, 1, workspace_id);
	sqlite3_bind_text(statement, 2, name, -1, SQLITE_STATIC);
	int code = store_step(store, STMT_ROLE_FIND_ANY_CASE);
	if (code == SQLITE_ROW)
		*role_id = sqlite3_column_int64(statement, 0);
	sqlite3_reset(statement);
	if (code == SQLITE_ROW)
		return STORE_OK;
	return code == SQLITE_DONE ? STORE_NOT_FOUND : store_status_from(code);
}

enum store_status store_role_insert(struct store *store, int64_t workspace_id, const char *name,
				    const char *description, const char *permissions, int64_t *role_id)
{
	sqlite3_stmt *statement = store_statement(store, STMT_ROLE_INSERT);
	sqlite3_bind_int64(statement, 1, workspace_id);
	sqlite3_bind_text(statement, 2, name, -1, SQLITE_STATIC);
	sqlite3_bind_text(statement, 3, description, -1, SQLITE_STATIC);
	sqlite3_bind_text(statement, 4, permissions, -1, SQLITE_STATIC);
	enum store_status status = store_run(store, STMT_ROLE_INSERT);
	if (status == STORE_OK && role_id != NULL)
		*role_id = sqlite3_last_insert_rowid(store->db);
	return status;
}

enum store_status store_role_update(struct store *store, int64_t workspace_id, int64_t role_id, const char *name,
				    const char *description, const char *permissions)
{
	sqlite3_stmt *statement = store_statement(store, STMT_ROLE_UPDATE);
	sqlite3_bind_int64(statement, 1, workspace_id);
	sqlite3_bind_int64(statement, 2, role_id);
	sqlite3_bind_text(statement, 3, name, -1, SQLITE_STATIC);
	sqlite3_bind_text(statement, 4, description, -1, SQLITE_STATIC);
	sqlite3_bind_text(statement, 5, permissions, -1, SQLITE_STATIC);
	enum store_status status = store_run(store, STMT_ROLE_UPDATE);
	if (status == STORE_OK && sqlite3_changes(store->db) == 0)
		return STORE_NOT_FOUND;
	return status;
}

enum store_status store_role_usage(struct store *store, int64_t workspace_id, int64_t role_id, int64_t *keys,
				   int64_t *revoked)
{
	sqlite3_stmt *statement = store_statement(store, STMT_ROLE_USAGE);
	sqlite3_bind_int64(statement, 1, workspace_id);
	sqlite3_bind_int64(statement, 2, role_id);
	int code = store_step(store, STMT_ROLE_USAGE);
	if (code == SQLITE_ROW) {
		*keys = sqlite3_column_int64(statement, 0);
		*revoked = sqlite3_column_int64(statement, 1);
	}
	sqlite3_reset(statement);
	return code == SQLITE_ROW ? STORE_OK : store_status_from(code == SQLITE_DONE ? SQLITE_ERROR : code);
}

enum store_status store_role_delete(struct store *store, int64_t workspace_id, int64_t role_id)
{
	enum store_status status = store_transaction_begin(store);
	if (status != STORE_OK)
		return status;
	int64_t keys = 0, revoked = 0;
	status = store_role_usage(store, workspace_id, role_id, &keys, &revoked);
	if (status == STORE_OK && keys > 0)
		status = STORE_CONFLICT;
	if (status == STORE_OK) {
		sqlite3_stmt *statement = store_statement(store, STMT_ROLE_DELETE);
		sqlite3_bind_int64(statement, 1, workspace_id);
		sqlite3_bind_int64(statement, 2, role_id);
		status = store_run(store, STMT_ROLE_DELETE);
		if (status == STORE_OK && sqlite3_changes(store->db) == 0)
			status = STORE_NOT_FOUND;
	}
	if (status != STORE_OK) {
		store_transaction_rollback(store);
		return status;
	}
	return store_transaction_commit(store);
}
