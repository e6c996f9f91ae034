/* store_members.c: workspaces, who belongs to them with which console role, and invitations. */
#include "store/store_private.h"

#include <string.h>

#include "core/alloc.h"

/* Room for one more row in an arena array that doubles when full. */
static void *grow(struct arena *arena, void *rows, size_t size, size_t count, size_t *capacity)
{
	if (count < *capacity)
		return rows;
	void *grown = arena_alloc(arena, 2 * *capacity * size);
	memcpy(grown, rows, *capacity * size);
	*capacity *= 2;
	return grown;
}

/* Run a statement with a transaction's status: nothing when an earlier step failed. */
static enum store_status then_run(struct store *store, enum store_status status, enum store_statement which)
{
	return status == STORE_OK ? store_run(store, which) : status;
}

enum store_status store_workspace_create(struct store *store, const char *name, int64_t owner_user_id, int64_t now,
					 int64_t *workspace_id)
{
	enum store_status status = store_transaction_begin(store);
	if (status != STORE_OK)
		return status;
	struct store_query *statement = store_query(store, STMT_WORKSPACE_INSERT);
	store_bind_text(statement, 1, name);
	store_bind_int(statement, 2, now);
	status = store_run(store, STMT_WORKSPACE_INSERT);
	int64_t id = store_last_insert_id(store);
	statement = store_query(store, STMT_WORKSPACE_DEFAULT_ROLES);
	store_bind_int(statement, 1, id);
	status = then_run(store, status, STMT_WORKSPACE_DEFAULT_ROLES);
	if (status == STORE_OK)
		status = store_membership_set(store, id, owner_user_id, "owner", now);
	status = store_transaction_finish(store, status);
	if (status == STORE_OK)
		*workspace_id = id;
	return status;
}

enum store_status store_membership_set(struct store *store, int64_t workspace_id, int64_t user_id,
				       const char *console_role, int64_t now)
{
	struct store_query *statement = store_query(store, STMT_MEMBERSHIP_SET);
	store_bind_int(statement, 1, workspace_id);
	store_bind_int(statement, 2, user_id);
	store_bind_text(statement, 3, console_role);
	store_bind_int(statement, 4, now);
	return store_run(store, STMT_MEMBERSHIP_SET);
}

enum store_status store_membership_get(struct store *store, struct arena *arena, int64_t workspace_id, int64_t user_id,
				       struct store_membership *membership)
{
	struct store_query *statement = store_query(store, STMT_MEMBERSHIP_GET);
	store_bind_int(statement, 1, workspace_id);
	store_bind_int(statement, 2, user_id);
	int code = store_step(store, STMT_MEMBERSHIP_GET);
	if (code == STORE_ROW) {
		membership->workspace_id = workspace_id;
		membership->workspace_name = store_column_text(arena, statement, 0);
		membership->console_role = store_column_text(arena, statement, 1);
	}
	store_query_reset(statement);
	if (code == STORE_ROW)
		return STORE_OK;
	return code == STORE_DONE ? STORE_NOT_FOUND : store_status_from(code);
}

enum store_status store_membership_list_for_user(struct store *store, struct arena *arena, int64_t user_id,
						 struct store_membership **memberships, size_t *count)
{
	struct store_query *statement = store_query(store, STMT_MEMBERSHIP_LIST_FOR_USER);
	store_bind_int(statement, 1, user_id);
	size_t capacity = 8;
	*memberships = arena_alloc(arena, capacity * sizeof **memberships);
	*count = 0;
	int code;
	while ((code = store_step(store, STMT_MEMBERSHIP_LIST_FOR_USER)) == STORE_ROW) {
		*memberships = grow(arena, *memberships, sizeof **memberships, *count, &capacity);
		struct store_membership *row = &(*memberships)[(*count)++];
		row->workspace_id = store_column_int(statement, 0);
		row->workspace_name = store_column_text(arena, statement, 1);
		row->console_role = store_column_text(arena, statement, 2);
	}
	store_query_reset(statement);
	return store_status_from(code);
}

static void read_member(struct arena *arena, struct store_query *statement, struct store_member *member)
{
	member->user_id = store_column_int(statement, 0);
	member->email = store_column_text(arena, statement, 1);
	member->name = store_column_text(arena, statement, 2);
	member->console_role = store_column_text(arena, statement, 3);
	member->joined_at = store_column_int(statement, 4);
	member->disabled = store_column_int(statement, 5) != 0;
}

enum store_status store_member_list(struct store *store, struct arena *arena, int64_t workspace_id,
				    struct store_member **members, size_t *count)
{
	struct store_query *statement = store_query(store, STMT_MEMBER_LIST);
	store_bind_int(statement, 1, workspace_id);
	size_t capacity = 16;
	*members = arena_alloc(arena, capacity * sizeof **members);
	*count = 0;
	int code;
	while ((code = store_step(store, STMT_MEMBER_LIST)) == STORE_ROW) {
		*members = grow(arena, *members, sizeof **members, *count, &capacity);
		read_member(arena, statement, &(*members)[(*count)++]);
	}
	store_query_reset(statement);
	return store_status_from(code);
}

enum store_status store_member_get(struct store *store, struct arena *arena, int64_t workspace_id, int64_t user_id,
				   struct store_member *member)
{
	struct store_query *statement = store_query(store, STMT_MEMBER_GET);
	store_bind_int(statement, 1, workspace_id);
	store_bind_int(statement, 2, user_id);
	int code = store_step(store, STMT_MEMBER_GET);
	if (code == STORE_ROW)
		read_member(arena, statement, member);
	store_query_reset(statement);
	if (code == STORE_ROW)
		return STORE_OK;
	return code == STORE_DONE ? STORE_NOT_FOUND : store_status_from(code);
}

/*
 * Inside a transaction: STORE_CONFLICT when the workspace has no owner left who can sign in (not
 * disabled). Takes the owners' lock first, held until the transaction ends, so that two changes
 * each leaving one owner cannot both pass (PostgreSQL: each would count the other's owner).
 */
static enum store_status owner_remains(struct store *store, int64_t workspace_id)
{
	enum store_status locked = store_owners_lock(store);
	if (locked != STORE_OK)
		return locked;
	struct store_query *statement = store_query(store, STMT_OWNER_COUNT);
	store_bind_int(statement, 1, workspace_id);
	int code = store_step(store, STMT_OWNER_COUNT);
	int64_t owners = code == STORE_ROW ? store_column_int(statement, 0) : 0;
	store_query_reset(statement);
	if (code != STORE_ROW)
		return store_status_from(code == STORE_DONE ? STORE_ERROR : code);
	return owners > 0 ? STORE_OK : STORE_CONFLICT;
}

enum store_status store_member_set_role(struct store *store, int64_t workspace_id, int64_t user_id,
					const char *console_role)
{
	enum store_status status = store_transaction_begin(store);
	if (status != STORE_OK)
		return status;
	struct store_query *statement = store_query(store, STMT_MEMBER_SET_ROLE);
	store_bind_int(statement, 1, workspace_id);
	store_bind_int(statement, 2, user_id);
	store_bind_text(statement, 3, console_role);
	status = store_run(store, STMT_MEMBER_SET_ROLE);
	if (status == STORE_OK && store_changes(store) == 0)
		status = STORE_NOT_FOUND;
	if (status == STORE_OK)
		status = owner_remains(store, workspace_id);
	return store_transaction_finish(store, status);
}

enum store_status store_member_remove(struct store *store, int64_t workspace_id, int64_t user_id)
{
	enum store_status status = store_transaction_begin(store);
	if (status != STORE_OK)
		return status;
	struct store_query *statement = store_query(store, STMT_MEMBER_DELETE);
	store_bind_int(statement, 1, workspace_id);
	store_bind_int(statement, 2, user_id);
	status = store_run(store, STMT_MEMBER_DELETE);
	if (status == STORE_OK && store_changes(store) == 0)
		status = STORE_NOT_FOUND;
	if (status == STORE_OK)
		status = owner_remains(store, workspace_id);
	return store_transaction_finish(store, status);
}

enum store_status store_invitation_insert(struct store *store, const struct store_invitation *invitation,
					  const unsigned char *token_hash, size_t hash_length, const char *email_folded,
					  int64_t created_by, int64_t *invitation_id)
{
	enum store_status status = store_transaction_begin(store);
	if (status != STORE_OK)
		return status;
	/* One pending invitation per address: inviting again replaces the earlier link. */
	struct store_query *statement = store_query(store, STMT_INVITATION_DELETE_PENDING_FOR_EMAIL);
	store_bind_int(statement, 1, invitation->workspace_id);
	store_bind_text(statement, 2, email_folded);
	status = invitation->setup ? STORE_OK : store_run(store, STMT_INVITATION_DELETE_PENDING_FOR_EMAIL);
	statement = store_query(store, STMT_INVITATION_INSERT);
	store_bind_int(statement, 1, invitation->workspace_id);
	store_bind_blob(statement, 2, token_hash, hash_length);
	store_bind_text(statement, 3, invitation->console_role);
	store_bind_int(statement, 4, invitation->setup ? 1 : 0);
	if (created_by > 0)
		store_bind_int(statement, 5, created_by);
	store_bind_int(statement, 6, invitation->created_at);
	store_bind_int(statement, 7, invitation->expires_at);
	store_bind_text(statement, 8, invitation->email);
	store_bind_text(statement, 9, email_folded);
	status = then_run(store, status, STMT_INVITATION_INSERT);
	if (status == STORE_OK && invitation_id != NULL)
		*invitation_id = store_last_insert_id(store);
	return store_transaction_finish(store, status);
}

/* Columns: id, workspace_id, workspace name, email, console_role, setup, created_at, expires_at, accepted. */
static void read_invitation(struct arena *arena, struct store_query *statement, struct store_invitation *invitation)
{
	invitation->id = store_column_int(statement, 0);
	invitation->workspace_id = store_column_int(statement, 1);
	invitation->workspace_name = store_column_text(arena, statement, 2);
	invitation->email = store_column_text(arena, statement, 3);
	invitation->console_role = store_column_text(arena, statement, 4);
	invitation->setup = store_column_int(statement, 5) != 0;
	invitation->created_at = store_column_int(statement, 6);
	invitation->expires_at = store_column_int(statement, 7);
	invitation->accepted = store_column_int(statement, 8) != 0;
}

enum store_status store_invitation_find(struct store *store, struct arena *arena, const unsigned char *token_hash,
					size_t hash_length, struct store_invitation *invitation)
{
	struct store_query *statement = store_query(store, STMT_INVITATION_FIND);
	store_bind_blob(statement, 1, token_hash, hash_length);
	int code = store_step(store, STMT_INVITATION_FIND);
	if (code == STORE_ROW)
		read_invitation(arena, statement, invitation);
	store_query_reset(statement);
	if (code == STORE_ROW)
		return STORE_OK;
	return code == STORE_DONE ? STORE_NOT_FOUND : store_status_from(code);
}

enum store_status store_invitation_list_pending(struct store *store, struct arena *arena, int64_t workspace_id,
						int64_t now, struct store_invitation **invitations, size_t *count)
{
	struct store_query *statement = store_query(store, STMT_INVITATION_LIST_PENDING);
	store_bind_int(statement, 1, workspace_id);
	store_bind_int(statement, 2, now);
	size_t capacity = 8;
	*invitations = arena_alloc(arena, capacity * sizeof **invitations);
	*count = 0;
	int code;
	while ((code = store_step(store, STMT_INVITATION_LIST_PENDING)) == STORE_ROW) {
		*invitations = grow(arena, *invitations, sizeof **invitations, *count, &capacity);
		read_invitation(arena, statement, &(*invitations)[(*count)++]);
	}
	store_query_reset(statement);
	return store_status_from(code);
}

enum store_status store_invitation_cancel(struct store *store, struct arena *arena, int64_t workspace_id,
					  int64_t invitation_id, struct store_invitation *cancelled)
{
	enum store_status status = store_transaction_begin(store);
	if (status != STORE_OK)
		return status;
	struct store_query *statement = store_query(store, STMT_INVITATION_GET_PENDING);
	store_bind_int(statement, 1, workspace_id);
	store_bind_int(statement, 2, invitation_id);
	int code = store_step(store, STMT_INVITATION_GET_PENDING);
	if (code == STORE_ROW)
		read_invitation(arena, statement, cancelled);
	store_query_reset(statement);
	status = code == STORE_ROW ? STORE_OK : code == STORE_DONE ? STORE_NOT_FOUND : store_status_from(code);
	statement = store_query(store, STMT_INVITATION_DELETE);
	store_bind_int(statement, 1, workspace_id);
	store_bind_int(statement, 2, invitation_id);
	status = then_run(store, status, STMT_INVITATION_DELETE);
	return store_transaction_finish(store, status);
}

/* Inside a transaction: mark the invitation used by `user_id`; STORE_NOT_FOUND when it no longer can be. */
static enum store_status use_invitation(struct store *store, const struct store_invitation *invitation,
					int64_t user_id, int64_t now)
{
	struct store_query *statement = store_query(store, STMT_INVITATION_USE);
	store_bind_int(statement, 1, invitation->id);
	store_bind_int(statement, 2, user_id);
	store_bind_int(statement, 3, now);
	enum store_status status = store_run(store, STMT_INVITATION_USE);
	if (status == STORE_OK && store_changes(store) == 0)
		return STORE_NOT_FOUND;
	if (status == STORE_OK)
		status = store_membership_set(store, invitation->workspace_id, user_id, invitation->console_role, now);
	return status;
}

enum store_status store_invitation_accept(struct store *store, const struct store_invitation *invitation,
					  int64_t user_id, int64_t now)
{
	enum store_status status = store_transaction_begin(store);
	if (status != STORE_OK)
		return status;
	return store_transaction_finish(store, use_invitation(store, invitation, user_id, now));
}

enum store_status store_invitation_accept_new_user(struct store *store, const struct store_invitation *invitation,
						   const char *email, const char *email_folded, const char *name,
						   const char *password_hash, int64_t now, int64_t *user_id)
{
	enum store_status status = store_transaction_begin(store);
	if (status != STORE_OK)
		return status;
	if (invitation->setup) { /* a setup link makes the first account, and only that */
		int64_t users = 0;
		status = store_user_count(store, &users);
		if (status == STORE_OK && users > 0)
			status = STORE_NOT_FOUND;
	}
	if (status == STORE_OK)
		status = store_user_insert(store, email, email_folded, name, password_hash, now, user_id);
	if (status == STORE_OK)
		status = use_invitation(store, invitation, *user_id, now);
	return store_transaction_finish(store, status);
}
