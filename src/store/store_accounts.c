/* store_accounts.c: console users (disabled, removed, new passwords), sessions, sign-in attempts, the audit log. */
#include "store/store_private.h"

#include <string.h>

#include "core/alloc.h"

enum store_status store_user_insert(struct store *store, const char *email, const char *email_folded,
				    const char *name, const char *password_hash, int64_t now, int64_t *user_id)
{
	sqlite3_stmt *statement = store_statement(store, STMT_USER_INSERT);
	sqlite3_bind_text(statement, 1, email, -1, SQLITE_STATIC);
	sqlite3_bind_text(statement, 2, email_folded, -1, SQLITE_STATIC);
	sqlite3_bind_text(statement, 3, name, -1, SQLITE_STATIC);
	sqlite3_bind_text(statement, 4, password_hash, -1, SQLITE_STATIC);
	sqlite3_bind_int64(statement, 5, now);
	enum store_status status = store_run(store, STMT_USER_INSERT);
	if (status == STORE_OK && user_id != NULL)
		*user_id = sqlite3_last_insert_rowid(store->db);
	return status;
}

static enum store_status read_user(struct store *store, struct arena *arena, enum store_statement which,
				   struct store_user *user)
{
	sqlite3_stmt *statement = store->statements[which];
	int code = store_step(store, which);
	if (code == SQLITE_ROW) {
		user->id = sqlite3_column_int64(statement, 0);
		user->email = store_column_text(arena, statement, 1);
		user->name = store_column_text(arena, statement, 2);
		user->password_hash = store_column_text(arena, statement, 3);
		user->disabled_at = sqlite3_column_int64(statement, 4);
	}
	sqlite3_reset(statement);
	if (code == SQLITE_ROW)
		return STORE_OK;
	return code == SQLITE_DONE ? STORE_NOT_FOUND : store_status_from(code);
}

enum store_status store_user_find_by_email(struct store *store, struct arena *arena, const char *email_folded,
					   struct store_user *user)
{
	sqlite3_stmt *statement = store_statement(store, STMT_USER_FIND_BY_EMAIL);
	sqlite3_bind_text(statement, 1, email_folded, -1, SQLITE_STATIC);
	return read_user(store, arena, STMT_USER_FIND_BY_EMAIL, user);
}

enum store_status store_user_get(struct store *store, struct arena *arena, int64_t user_id, struct store_user *user)
{
	sqlite3_stmt *statement = store_statement(store, STMT_USER_GET);
	sqlite3_bind_int64(statement, 1, user_id);
	return read_user(store, arena, STMT_USER_GET, user);
}

enum store_status store_user_count(struct store *store, int64_t *count)
{
	sqlite3_stmt *statement = store_statement(store, STMT_USER_COUNT);
	int code = store_step(store, STMT_USER_COUNT);
	if (code == SQLITE_ROW)
		*count = sqlite3_column_int64(statement, 0);
	sqlite3_reset(statement);
	return code == SQLITE_ROW ? STORE_OK : store_status_from(code == SQLITE_DONE ? SQLITE_ERROR : code);
}

enum store_status store_session_insert(struct store *store, const unsigned char *token_hash, size_t hash_length,
				       int64_t user_id, int64_t now, int64_t expires_at, const char *client_address)
{
	sqlite3_stmt *statement = store_statement(store, STMT_SESSION_INSERT);
	sqlite3_bind_blob(statement, 1, token_hash, (int)hash_length, SQLITE_STATIC);
	sqlite3_bind_int64(statement, 2, user_id);
	sqlite3_bind_int64(statement, 3, now);
	sqlite3_bind_int64(statement, 4, expires_at);
	sqlite3_bind_text(statement, 5, client_address ? client_address : "", -1, SQLITE_STATIC);
	return store_run(store, STMT_SESSION_INSERT);
}

enum store_status store_session_find(struct store *store, struct arena *arena, const unsigned char *token_hash,
				     size_t hash_length, struct store_session *session)
{
	sqlite3_stmt *statement = store_statement(store, STMT_SESSION_FIND);
	sqlite3_bind_blob(statement, 1, token_hash, (int)hash_length, SQLITE_STATIC);
	int code = store_step(store, STMT_SESSION_FIND);
	if (code == SQLITE_ROW) {
		session->id = sqlite3_column_int64(statement, 0);
		session->user_id = sqlite3_column_int64(statement, 1);
		session->created_at = sqlite3_column_int64(statement, 2);
		session->last_seen_at = sqlite3_column_int64(statement, 3);
		session->expires_at = sqlite3_column_int64(statement, 4);
		session->email = store_column_text(arena, statement, 5);
		session->user_name = store_column_text(arena, statement, 6);
	}
	sqlite3_reset(statement);
	if (code == SQLITE_ROW)
		return STORE_OK;
	return code == SQLITE_DONE ? STORE_NOT_FOUND : store_status_from(code);
}

enum store_status store_session_touch(struct store *store, int64_t session_id, int64_t now)
{
	sqlite3_stmt *statement = store_statement(store, STMT_SESSION_TOUCH);
	sqlite3_bind_int64(statement, 1, session_id);
	sqlite3_bind_int64(statement, 2, now);
	return store_run(store, STMT_SESSION_TOUCH);
}

enum store_status store_session_delete(struct store *store, const unsigned char *token_hash, size_t hash_length)
{
	sqlite3_stmt *statement = store_statement(store, STMT_SESSION_DELETE);
	sqlite3_bind_blob(statement, 1, token_hash, (int)hash_length, SQLITE_STATIC);
	return store_run(store, STMT_SESSION_DELETE);
}

enum store_status store_session_delete_expired(struct store *store, int64_t now, int64_t idle_since)
{
	sqlite3_stmt *statement = store_statement(store, STMT_SESSION_DELETE_EXPIRED);
	sqlite3_bind_int64(statement, 1, now);
	sqlite3_bind_int64(statement, 2, idle_since);
	return store_run(store, STMT_SESSION_DELETE_EXPIRED);
}

enum store_status store_audit_insert(struct store *store, const struct store_audit_event *event)
{
	sqlite3_stmt *statement = store_statement(store, STMT_AUDIT_INSERT);
	sqlite3_bind_int64(statement, 1, event->workspace_id);
	sqlite3_bind_int64(statement, 2, event->at);
	if (event->actor_user_id > 0)
		sqlite3_bind_int64(statement, 3, event->actor_user_id);
	sqlite3_bind_text(statement, 4, event->actor_label, -1, SQLITE_STATIC);
	sqlite3_bind_text(statement, 5, event->client_address ? event->client_address : "", -1, SQLITE_STATIC);
	sqlite3_bind_text(statement, 6, event->action, -1, SQLITE_STATIC);
	sqlite3_bind_text(statement, 7, event->target_type ? event->target_type : "", -1, SQLITE_STATIC);
	sqlite3_bind_text(statement, 8, event->target_id ? event->target_id : "", -1, SQLITE_STATIC);
	sqlite3_bind_text(statement, 9, event->summary ? event->summary : "", -1, SQLITE_STATIC);
	return store_run(store, STMT_AUDIT_INSERT);
}

enum store_status store_signin_failure_add(struct store *store, const char *subject, int64_t now_ms, int64_t *id)
{
	sqlite3_stmt *statement = store_statement(store, STMT_SIGNIN_FAILURE_INSERT);
	sqlite3_bind_text(statement, 1, subject, -1, SQLITE_STATIC);
	sqlite3_bind_int64(statement, 2, now_ms);
	enum store_status status = store_run(store, STMT_SIGNIN_FAILURE_INSERT);
	if (status == STORE_OK && id != NULL)
		*id = sqlite3_last_insert_rowid(store->db);
	return status;
}

enum store_status store_signin_failure_count(struct store *store, const char *subject, int64_t since, int64_t *count,
					     int64_t *latest_ms)
{
	sqlite3_stmt *statement = store_statement(store, STMT_SIGNIN_FAILURE_COUNT);
	sqlite3_bind_text(statement, 1, subject, -1, SQLITE_STATIC);
	sqlite3_bind_int64(statement, 2, since);
	int code = store_step(store, STMT_SIGNIN_FAILURE_COUNT);
	if (code == SQLITE_ROW) {
		*count = sqlite3_column_int64(statement, 0);
		*latest_ms = sqlite3_column_int64(statement, 1);
	}
	sqlite3_reset(statement);
	return code == SQLITE_ROW ? STORE_OK : store_status_from(code == SQLITE_DONE ? SQLITE_ERROR : code);
}

enum store_status store_signin_failure_delete(struct store *store, int64_t id)
{
	sqlite3_stmt *statement = store_statement(store, STMT_SIGNIN_FAILURE_DELETE);
	sqlite3_bind_int64(statement, 1, id);
	return store_run(store, STMT_SIGNIN_FAILURE_DELETE);
}

enum store_status store_signin_failure_clear(struct store *store, const char *subject)
{
	sqlite3_stmt *statement = store_statement(store, STMT_SIGNIN_FAILURE_CLEAR);
	sqlite3_bind_text(statement, 1, subject, -1, SQLITE_STATIC);
	return store_run(store, STMT_SIGNIN_FAILURE_CLEAR);
}

enum store_status store_signin_failure_clear_prefix(struct store *store, const char *prefix)
{
	sqlite3_stmt *statement = store_statement(store, STMT_SIGNIN_FAILURE_CLEAR_PREFIX);
	sqlite3_bind_text(statement, 1, prefix, -1, SQLITE_STATIC);
	return store_run(store, STMT_SIGNIN_FAILURE_CLEAR_PREFIX);
}

enum store_status store_signin_failure_forget(struct store *store, int64_t before)
{
	sqlite3_stmt *statement = store_statement(store, STMT_SIGNIN_FAILURE_DELETE_OLD);
	sqlite3_bind_int64(statement, 1, before);
	return store_run(store, STMT_SIGNIN_FAILURE_DELETE_OLD);
}

/* Run a write that names one user; STORE_NOT_FOUND when it changed no row. */
static enum store_status run_for_one(struct store *store, enum store_statement which)
{
	enum store_status status = store_run(store, which);
	if (status == STORE_OK && sqlite3_changes(store->db) == 0)
		status = STORE_NOT_FOUND;
	return status;
}

enum store_status store_user_set_disabled(struct store *store, int64_t user_id, int64_t disabled_at, int64_t now)
{
	sqlite3_stmt *statement = store_statement(store, STMT_USER_SET_DISABLED);
	sqlite3_bind_int64(statement, 1, user_id);
	if (disabled_at != 0)
		sqlite3_bind_int64(statement, 2, disabled_at);
	sqlite3_bind_int64(statement, 3, now);
	return run_for_one(store, STMT_USER_SET_DISABLED);
}

enum store_status store_user_set_password(struct store *store, int64_t user_id, const char *password_hash,
					  int64_t now)
{
	sqlite3_stmt *statement = store_statement(store, STMT_USER_SET_PASSWORD);
	sqlite3_bind_int64(statement, 1, user_id);
	sqlite3_bind_text(statement, 2, password_hash, -1, SQLITE_STATIC);
	sqlite3_bind_int64(statement, 3, now);
	return run_for_one(store, STMT_USER_SET_PASSWORD);
}

enum store_status store_user_delete(struct store *store, int64_t user_id)
{
	sqlite3_stmt *statement = store_statement(store, STMT_USER_DELETE);
	sqlite3_bind_int64(statement, 1, user_id);
	return run_for_one(store, STMT_USER_DELETE);
}

enum store_status store_session_delete_for_user(struct store *store, int64_t user_id, int64_t keep_session_id,
						int64_t *ended)
{
	sqlite3_stmt *statement = store_statement(store, STMT_SESSION_DELETE_FOR_USER);
	sqlite3_bind_int64(statement, 1, user_id);
	sqlite3_bind_int64(statement, 2, keep_session_id);
	enum store_status status = store_run(store, STMT_SESSION_DELETE_FOR_USER);
	if (status == STORE_OK && ended != NULL)
		*ended = sqlite3_changes(store->db);
	return status;
}

enum store_status store_session_count_for_user(struct store *store, int64_t user_id, int64_t now, int64_t idle_since,
					       int64_t *count)
{
	sqlite3_stmt *statement = store_statement(store, STMT_SESSION_COUNT_FOR_USER);
	sqlite3_bind_int64(statement, 1, user_id);
	sqlite3_bind_int64(statement, 2, now);
	sqlite3_bind_int64(statement, 3, idle_since);
	int code = store_step(store, STMT_SESSION_COUNT_FOR_USER);
	if (code == SQLITE_ROW)
		*count = sqlite3_column_int64(statement, 0);
	sqlite3_reset(statement);
	return code == SQLITE_ROW ? STORE_OK : store_status_from(code == SQLITE_DONE ? SQLITE_ERROR : code);
}

enum store_status store_sole_owner_workspaces(struct store *store, struct arena *arena, int64_t user_id,
					      struct store_membership **workspaces, size_t *count)
{
	sqlite3_stmt *statement = store_statement(store, STMT_SOLE_OWNER_WORKSPACES);
	sqlite3_bind_int64(statement, 1, user_id);
	size_t capacity = 4;
	*workspaces = arena_alloc(arena, capacity * sizeof **workspaces);
	*count = 0;
	int code;
	while ((code = store_step(store, STMT_SOLE_OWNER_WORKSPACES)) == SQLITE_ROW) {
		if (*count == capacity) {
			struct store_membership *grown = arena_alloc(arena, 2 * capacity * sizeof *grown);
			memcpy(grown, *workspaces, capacity * sizeof *grown);
			*workspaces = grown;
			capacity *= 2;
		}
		struct store_membership *row = &(*workspaces)[(*count)++];
		row->workspace_id = sqlite3_column_int64(statement, 0);
		row->workspace_name = store_column_text(arena, statement, 1);
		row->console_role = store_column_text(arena, statement, 2);
	}
	sqlite3_reset(statement);
	return store_status_from(code);
}
