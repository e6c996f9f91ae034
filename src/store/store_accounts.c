/* store_accounts.c: console users (disabled, removed, new passwords), sessions, sign-in attempts, the audit log. */
#include "store/store_private.h"

#include <string.h>

#include "core/alloc.h"

enum store_status store_user_insert(struct store *store, const char *email, const char *email_folded,
				    const char *name, const char *password_hash, int64_t now, int64_t *user_id)
{
	struct store_query *statement = store_query(store, STMT_USER_INSERT);
	store_bind_text(statement, 1, email);
	store_bind_text(statement, 2, email_folded);
	store_bind_text(statement, 3, name);
	store_bind_text(statement, 4, password_hash);
	store_bind_int(statement, 5, now);
	enum store_status status = store_run(store, STMT_USER_INSERT);
	if (status == STORE_OK && user_id != NULL)
		*user_id = store_last_insert_id(store);
	return status;
}

static enum store_status read_user(struct store *store, struct arena *arena, enum store_statement which,
				   struct store_user *user)
{
	struct store_query *statement = &store->queries[which];
	int code = store_step(store, which);
	if (code == STORE_ROW) {
		user->id = store_column_int(statement, 0);
		user->email = store_column_text(arena, statement, 1);
		user->name = store_column_text(arena, statement, 2);
		user->password_hash = store_column_text(arena, statement, 3);
		user->disabled_at = store_column_int(statement, 4);
	}
	store_query_reset(statement);
	if (code == STORE_ROW)
		return STORE_OK;
	return code == STORE_DONE ? STORE_NOT_FOUND : store_status_from(code);
}

enum store_status store_user_find_by_email(struct store *store, struct arena *arena, const char *email_folded,
					   struct store_user *user)
{
	struct store_query *statement = store_query(store, STMT_USER_FIND_BY_EMAIL);
	store_bind_text(statement, 1, email_folded);
	return read_user(store, arena, STMT_USER_FIND_BY_EMAIL, user);
}

enum store_status store_user_get(struct store *store, struct arena *arena, int64_t user_id, struct store_user *user)
{
	struct store_query *statement = store_query(store, STMT_USER_GET);
	store_bind_int(statement, 1, user_id);
	return read_user(store, arena, STMT_USER_GET, user);
}

enum store_status store_user_count(struct store *store, int64_t *count)
{
	struct store_query *statement = store_query(store, STMT_USER_COUNT);
	int code = store_step(store, STMT_USER_COUNT);
	if (code == STORE_ROW)
		*count = store_column_int(statement, 0);
	store_query_reset(statement);
	return code == STORE_ROW ? STORE_OK : store_status_from(code == STORE_DONE ? STORE_ERROR : code);
}

enum store_status store_session_insert(struct store *store, const unsigned char *token_hash, size_t hash_length,
				       int64_t user_id, int64_t now, int64_t expires_at, const char *client_address)
{
	struct store_query *statement = store_query(store, STMT_SESSION_INSERT);
	store_bind_blob(statement, 1, token_hash, hash_length);
	store_bind_int(statement, 2, user_id);
	store_bind_int(statement, 3, now);
	store_bind_int(statement, 4, expires_at);
	store_bind_text(statement, 5, client_address ? client_address : "");
	return store_run(store, STMT_SESSION_INSERT);
}

enum store_status store_session_find(struct store *store, struct arena *arena, const unsigned char *token_hash,
				     size_t hash_length, struct store_session *session)
{
	struct store_query *statement = store_query(store, STMT_SESSION_FIND);
	store_bind_blob(statement, 1, token_hash, hash_length);
	int code = store_step(store, STMT_SESSION_FIND);
	if (code == STORE_ROW) {
		session->id = store_column_int(statement, 0);
		session->user_id = store_column_int(statement, 1);
		session->created_at = store_column_int(statement, 2);
		session->last_seen_at = store_column_int(statement, 3);
		session->expires_at = store_column_int(statement, 4);
		session->email = store_column_text(arena, statement, 5);
		session->user_name = store_column_text(arena, statement, 6);
	}
	store_query_reset(statement);
	if (code == STORE_ROW)
		return STORE_OK;
	return code == STORE_DONE ? STORE_NOT_FOUND : store_status_from(code);
}

enum store_status store_session_touch(struct store *store, int64_t session_id, int64_t now)
{
	struct store_query *statement = store_query(store, STMT_SESSION_TOUCH);
	store_bind_int(statement, 1, session_id);
	store_bind_int(statement, 2, now);
	return store_run(store, STMT_SESSION_TOUCH);
}

enum store_status store_session_delete(struct store *store, const unsigned char *token_hash, size_t hash_length)
{
	struct store_query *statement = store_query(store, STMT_SESSION_DELETE);
	store_bind_blob(statement, 1, token_hash, hash_length);
	return store_run(store, STMT_SESSION_DELETE);
}

enum store_status store_session_delete_expired(struct store *store, int64_t now, int64_t idle_since)
{
	struct store_query *statement = store_query(store, STMT_SESSION_DELETE_EXPIRED);
	store_bind_int(statement, 1, now);
	store_bind_int(statement, 2, idle_since);
	return store_run(store, STMT_SESSION_DELETE_EXPIRED);
}

enum store_status store_audit_insert(struct store *store, const struct store_audit_event *event)
{
	struct store_query *statement = store_query(store, STMT_AUDIT_INSERT);
	store_bind_int(statement, 1, event->workspace_id);
	store_bind_int(statement, 2, event->at);
	if (event->actor_user_id > 0)
		store_bind_int(statement, 3, event->actor_user_id);
	store_bind_text(statement, 4, event->actor_label);
	store_bind_text(statement, 5, event->client_address ? event->client_address : "");
	store_bind_text(statement, 6, event->action);
	store_bind_text(statement, 7, event->target_type ? event->target_type : "");
	store_bind_text(statement, 8, event->target_id ? event->target_id : "");
	store_bind_text(statement, 9, event->summary ? event->summary : "");
	return store_run(store, STMT_AUDIT_INSERT);
}

enum store_status store_signin_failure_add(struct store *store, const char *subject, int64_t now_ms, int64_t *id)
{
	struct store_query *statement = store_query(store, STMT_SIGNIN_FAILURE_INSERT);
	store_bind_text(statement, 1, subject);
	store_bind_int(statement, 2, now_ms);
	enum store_status status = store_run(store, STMT_SIGNIN_FAILURE_INSERT);
	if (status == STORE_OK && id != NULL)
		*id = store_last_insert_id(store);
	return status;
}

enum store_status store_signin_attempts_lock(struct store *store)
{
	store_query(store, STMT_SIGNIN_ATTEMPTS_LOCK);
	return store_run(store, STMT_SIGNIN_ATTEMPTS_LOCK);
}

enum store_status store_signin_failure_count(struct store *store, const char *subject, int64_t since, int64_t *count,
					     int64_t *latest_ms)
{
	struct store_query *statement = store_query(store, STMT_SIGNIN_FAILURE_COUNT);
	store_bind_text(statement, 1, subject);
	store_bind_int(statement, 2, since);
	int code = store_step(store, STMT_SIGNIN_FAILURE_COUNT);
	if (code == STORE_ROW) {
		*count = store_column_int(statement, 0);
		*latest_ms = store_column_int(statement, 1);
	}
	store_query_reset(statement);
	return code == STORE_ROW ? STORE_OK : store_status_from(code == STORE_DONE ? STORE_ERROR : code);
}

enum store_status store_signin_failure_delete(struct store *store, int64_t id)
{
	struct store_query *statement = store_query(store, STMT_SIGNIN_FAILURE_DELETE);
	store_bind_int(statement, 1, id);
	return store_run(store, STMT_SIGNIN_FAILURE_DELETE);
}

enum store_status store_signin_failure_clear(struct store *store, const char *subject)
{
	struct store_query *statement = store_query(store, STMT_SIGNIN_FAILURE_CLEAR);
	store_bind_text(statement, 1, subject);
	return store_run(store, STMT_SIGNIN_FAILURE_CLEAR);
}

enum store_status store_signin_failure_clear_prefix(struct store *store, const char *prefix)
{
	struct store_query *statement = store_query(store, STMT_SIGNIN_FAILURE_CLEAR_PREFIX);
	store_bind_text(statement, 1, prefix);
	return store_run(store, STMT_SIGNIN_FAILURE_CLEAR_PREFIX);
}

enum store_status store_signin_failure_forget(struct store *store, int64_t before)
{
	struct store_query *statement = store_query(store, STMT_SIGNIN_FAILURE_DELETE_OLD);
	store_bind_int(statement, 1, before);
	return store_run(store, STMT_SIGNIN_FAILURE_DELETE_OLD);
}

/* Run a write that names one user; STORE_NOT_FOUND when it changed no row. */
static enum store_status run_for_one(struct store *store, enum store_statement which)
{
	enum store_status status = store_run(store, which);
	if (status == STORE_OK && store_changes(store) == 0)
		status = STORE_NOT_FOUND;
	return status;
}

enum store_status store_user_set_disabled(struct store *store, int64_t user_id, int64_t disabled_at, int64_t now)
{
	struct store_query *statement = store_query(store, STMT_USER_SET_DISABLED);
	store_bind_int(statement, 1, user_id);
	if (disabled_at != 0)
		store_bind_int(statement, 2, disabled_at);
	store_bind_int(statement, 3, now);
	return run_for_one(store, STMT_USER_SET_DISABLED);
}

enum store_status store_user_set_password(struct store *store, int64_t user_id, const char *password_hash,
					  int64_t now)
{
	struct store_query *statement = store_query(store, STMT_USER_SET_PASSWORD);
	store_bind_int(statement, 1, user_id);
	store_bind_text(statement, 2, password_hash);
	store_bind_int(statement, 3, now);
	return run_for_one(store, STMT_USER_SET_PASSWORD);
}

enum store_status store_user_delete(struct store *store, int64_t user_id)
{
	struct store_query *statement = store_query(store, STMT_USER_DELETE);
	store_bind_int(statement, 1, user_id);
	return run_for_one(store, STMT_USER_DELETE);
}

enum store_status store_session_delete_for_user(struct store *store, int64_t user_id, int64_t keep_session_id,
						int64_t *ended)
{
	struct store_query *statement = store_query(store, STMT_SESSION_DELETE_FOR_USER);
	store_bind_int(statement, 1, user_id);
	store_bind_int(statement, 2, keep_session_id);
	enum store_status status = store_run(store, STMT_SESSION_DELETE_FOR_USER);
	if (status == STORE_OK && ended != NULL)
		*ended = store_changes(store);
	return status;
}

enum store_status store_session_count_for_user(struct store *store, int64_t user_id, int64_t now, int64_t idle_since,
					       int64_t *count)
{
	struct store_query *statement = store_query(store, STMT_SESSION_COUNT_FOR_USER);
	store_bind_int(statement, 1, user_id);
	store_bind_int(statement, 2, now);
	store_bind_int(statement, 3, idle_since);
	int code = store_step(store, STMT_SESSION_COUNT_FOR_USER);
	if (code == STORE_ROW)
		*count = store_column_int(statement, 0);
	store_query_reset(statement);
	return code == STORE_ROW ? STORE_OK : store_status_from(code == STORE_DONE ? STORE_ERROR : code);
}

enum store_status store_owners_lock(struct store *store)
{
	store_query(store, STMT_OWNERS_LOCK);
	return store_run(store, STMT_OWNERS_LOCK);
}

enum store_status store_sole_owner_workspaces(struct store *store, struct arena *arena, int64_t user_id,
					      struct store_membership **workspaces, size_t *count)
{
	struct store_query *statement = store_query(store, STMT_SOLE_OWNER_WORKSPACES);
	store_bind_int(statement, 1, user_id);
	size_t capacity = 4;
	*workspaces = arena_alloc(arena, capacity * sizeof **workspaces);
	*count = 0;
	int code;
	while ((code = store_step(store, STMT_SOLE_OWNER_WORKSPACES)) == STORE_ROW) {
		if (*count == capacity) {
			struct store_membership *grown = arena_alloc(arena, 2 * capacity * sizeof *grown);
			memcpy(grown, *workspaces, capacity * sizeof *grown);
			*workspaces = grown;
			capacity *= 2;
		}
		struct store_membership *row = &(*workspaces)[(*count)++];
		row->workspace_id = store_column_int(statement, 0);
		row->workspace_name = store_column_text(arena, statement, 1);
		row->console_role = store_column_text(arena, statement, 2);
	}
	store_query_reset(statement);
	return store_status_from(code);
}
