/* store_roles.c: writing key roles (reading them is in store_keys.c, next to the keys that use them). */
#include "store/store_private.h"

enum store_status store_role_find_id_any_case(struct store *store, int64_t workspace_id, const char *name,
					      int64_t *role_id)
{
	struct store_query *statement = store_query(store, STMT_ROLE_FIND_ANY_CASE);
	store_bind_int(statement, 1, workspace_id);
	store_bind_text(statement, 2, name);
	int code = store_step(store, STMT_ROLE_FIND_ANY_CASE);
	if (code == STORE_ROW)
		*role_id = store_column_int(statement, 0);
	store_query_reset(statement);
	if (code == STORE_ROW)
		return STORE_OK;
	return code == STORE_DONE ? STORE_NOT_FOUND : store_status_from(code);
}

enum store_status store_role_insert(struct store *store, int64_t workspace_id, const char *name,
				    const char *description, const char *permissions, int64_t *role_id)
{
	struct store_query *statement = store_query(store, STMT_ROLE_INSERT);
	store_bind_int(statement, 1, workspace_id);
	store_bind_text(statement, 2, name);
	store_bind_text(statement, 3, description);
	store_bind_text(statement, 4, permissions);
	enum store_status status = store_run(store, STMT_ROLE_INSERT);
	if (status == STORE_OK && role_id != NULL)
		*role_id = store_last_insert_id(store);
	return status;
}

enum store_status store_role_update(struct store *store, int64_t workspace_id, int64_t role_id, const char *name,
				    const char *description, const char *permissions)
{
	struct store_query *statement = store_query(store, STMT_ROLE_UPDATE);
	store_bind_int(statement, 1, workspace_id);
	store_bind_int(statement, 2, role_id);
	store_bind_text(statement, 3, name);
	store_bind_text(statement, 4, description);
	store_bind_text(statement, 5, permissions);
	enum store_status status = store_run(store, STMT_ROLE_UPDATE);
	if (status == STORE_OK && store_changes(store) == 0)
		return STORE_NOT_FOUND;
	return status;
}

enum store_status store_role_usage(struct store *store, int64_t workspace_id, int64_t role_id, int64_t *keys,
				   int64_t *revoked)
{
	struct store_query *statement = store_query(store, STMT_ROLE_USAGE);
	store_bind_int(statement, 1, workspace_id);
	store_bind_int(statement, 2, role_id);
	int code = store_step(store, STMT_ROLE_USAGE);
	if (code == STORE_ROW) {
		*keys = store_column_int(statement, 0);
		*revoked = store_column_int(statement, 1);
	}
	store_query_reset(statement);
	return code == STORE_ROW ? STORE_OK : store_status_from(code == STORE_DONE ? STORE_ERROR : code);
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
		struct store_query *statement = store_query(store, STMT_ROLE_DELETE);
		store_bind_int(statement, 1, workspace_id);
		store_bind_int(statement, 2, role_id);
		status = store_run(store, STMT_ROLE_DELETE);
		if (status == STORE_OK && store_changes(store) == 0)
			status = STORE_NOT_FOUND;
	}
	if (status != STORE_OK) {
		store_transaction_rollback(store);
		return status;
	}
	return store_transaction_commit(store);
}
