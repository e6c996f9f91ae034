/* users.c: disabling, enabling, removing a person, new passwords, unlocking, signing out everywhere. */
#include "domain/users.h"

#include <stdio.h>
#include <string.h>

#include "core/alloc.h"
#include "domain/accounts.h"
#include "domain/sessions.h"

/* Inside a transaction: STORE_CONFLICT, with *blocking, when `user_id` is a workspace's only owner who can sign in. */
static enum store_status keeps_every_owner(struct store *store, struct arena *arena, int64_t user_id,
					   const char **blocking)
{
	struct store_membership *sole = NULL;
	size_t count = 0;
	enum store_status status = store_owners_lock(store);
	if (status == STORE_OK)
		status = store_sole_owner_workspaces(store, arena, user_id, &sole, &count);
	if (status == STORE_OK && count > 0) {
		*blocking = sole[0].workspace_name;
		status = STORE_CONFLICT;
	}
	return status;
}

/* Inside a transaction: forget the failures of the account `email` and of its devices. */
static enum store_status forget_failures(struct store *store, const char *email)
{
	char folded[ACCOUNT_EMAIL_MAX + 1], subject[SIGNIN_SUBJECT_MAX];
	if (account_email_problem(email, folded) != NULL) /* stored addresses passed the same check */
		snprintf(folded, sizeof folded, "%s", email);
	signin_account_subject(folded, subject);
	enum store_status status = store_signin_failure_clear(store, subject);
	signin_device_prefix(folded, subject);
	if (status == STORE_OK)
		status = store_signin_failure_clear_prefix(store, subject);
	return status;
}

/* "; N sessions ended" for a summary ("" when none). */
static const char *sessions_text(struct arena *arena, int64_t ended)
{
	if (ended == 0)
		return "";
	return arena_printf(arena, "; %lld session%s ended", (long long)ended, ended == 1 ? "" : "s");
}

enum store_status users_disable(struct store *store, struct arena *arena, const struct audit_actor *actor,
				int64_t user_id, int64_t now, const char **blocking, int64_t *sessions_ended, bool *changed)
{
	*blocking = NULL;
	*sessions_ended = 0;
	*changed = false;
	enum store_status status = store_transaction_begin(store);
	if (status != STORE_OK)
		return status;
	struct store_user user;
	status = store_user_get(store, arena, user_id, &user);
	if (status == STORE_OK && user.disabled_at != 0)
		return store_transaction_finish(store, STORE_OK);
	if (status == STORE_OK)
		status = keeps_every_owner(store, arena, user_id, blocking);
	if (status == STORE_OK)
		status = store_user_set_disabled(store, user_id, now, now);
	if (status == STORE_OK)
		status = store_session_delete_for_user(store, user_id, 0, sessions_ended);
	if (status == STORE_OK)
		status = audit_record_everywhere(store, arena, user_id, actor, "user.disable", user.email,
						 arena_printf(arena, "account disabled: cannot sign in%s",
							      sessions_text(arena, *sessions_ended)),
						 now);
	status = store_transaction_finish(store, status);
	*changed = status == STORE_OK;
	if (status != STORE_OK)
		*sessions_ended = 0;
	return status;
}

enum store_status users_enable(struct store *store, struct arena *arena, const struct audit_actor *actor,
			       int64_t user_id, int64_t now, bool *changed)
{
	*changed = false;
	enum store_status status = store_transaction_begin(store);
	if (status != STORE_OK)
		return status;
	struct store_user user;
	status = store_user_get(store, arena, user_id, &user);
	if (status == STORE_OK && user.disabled_at == 0)
		return store_transaction_finish(store, STORE_OK);
	if (status == STORE_OK)
		status = store_user_set_disabled(store, user_id, 0, now);
	if (status == STORE_OK)
		status = audit_record_everywhere(store, arena, user_id, actor, "user.enable", user.email,
						 "account enabled: can sign in again", now);
	status = store_transaction_finish(store, status);
	*changed = status == STORE_OK;
	return status;
}

enum store_status users_remove(struct store *store, struct arena *arena, const struct audit_actor *actor,
			       int64_t user_id, int64_t now, const char **blocking)
{
	*blocking = NULL;
	enum store_status status = store_transaction_begin(store);
	if (status != STORE_OK)
		return status;
	struct store_user user;
	status = store_user_get(store, arena, user_id, &user);
	if (status == STORE_OK)
		status = keeps_every_owner(store, arena, user_id, blocking);
	/* The lines first: once the account is gone, so are the memberships that say where to write them. */
	if (status == STORE_OK)
		status = audit_record_everywhere(store, arena, user_id, actor, "user.remove", user.email,
						 "account removed: memberships and sessions ended", now);
	if (status == STORE_OK)
		status = forget_failures(store, user.email);
	if (status == STORE_OK)
		status = store_user_delete(store, user_id);
	return store_transaction_finish(store, status);
}

enum store_status users_reset_password(struct store *store, struct arena *arena, const struct audit_actor *actor,
				       int64_t user_id, const char *password_hash, int64_t now, int64_t *sessions_ended)
{
	*sessions_ended = 0;
	enum store_status status = store_transaction_begin(store);
	if (status != STORE_OK)
		return status;
	struct store_user user;
	status = store_user_get(store, arena, user_id, &user);
	if (status == STORE_OK)
		status = store_user_set_password(store, user_id, password_hash, now);
	if (status == STORE_OK)
		status = store_session_delete_for_user(store, user_id, 0, sessions_ended);
	if (status == STORE_OK)
		status = forget_failures(store, user.email);
	if (status == STORE_OK)
		status = audit_record_everywhere(store, arena, user_id, actor, "user.password", user.email,
						 arena_printf(arena, "password reset; sign-in unlocked%s",
							      sessions_text(arena, *sessions_ended)),
						 now);
	status = store_transaction_finish(store, status);
	if (status != STORE_OK)
		*sessions_ended = 0;
	return status;
}

enum store_status users_change_password(struct store *store, struct arena *arena, const struct audit_actor *actor,
					const struct signin_attempt *attempt, const char *checked_hash,
					const char *password_hash, int64_t keep_session_id, int64_t now,
					int64_t *sessions_ended)
{
	*sessions_ended = 0;
	enum store_status status = store_transaction_begin(store);
	if (status != STORE_OK)
		return status;
	struct store_user user;
	status = store_user_get(store, arena, actor->user_id, &user);
	if (status == STORE_OK && (user.disabled_at != 0 || strcmp(user.password_hash, checked_hash) != 0))
		status = STORE_CONFLICT;
	if (status == STORE_OK)
		status = store_user_set_password(store, actor->user_id, password_hash, now);
	if (status == STORE_OK)
		status = store_session_delete_for_user(store, actor->user_id, keep_session_id, sessions_ended);
	if (status == STORE_OK)
		status = forget_failures(store, user.email);
	if (status == STORE_OK && attempt != NULL)
		status = store_signin_failure_delete(store, attempt->address_row);
	if (status == STORE_OK)
		status = audit_record_everywhere(store, arena, actor->user_id, actor, "user.password", user.email,
						 *sessions_ended == 0
							 ? "password changed"
							 : arena_printf(arena, "password changed; %lld other session%s ended",
									(long long)*sessions_ended,
									*sessions_ended == 1 ? "" : "s"),
						 now);
	status = store_transaction_finish(store, status);
	if (status != STORE_OK)
		*sessions_ended = 0;
	return status;
}

enum store_status users_unlock(struct store *store, struct arena *arena, const struct audit_actor *actor,
			       int64_t user_id, const char *email_folded, int64_t now)
{
	enum store_status status = store_transaction_begin(store);
	if (status != STORE_OK)
		return status;
	struct store_user user;
	status = store_user_get(store, arena, user_id, &user);
	if (status == STORE_OK)
		status = forget_failures(store, email_folded);
	if (status == STORE_OK)
		status = audit_record_everywhere(store, arena, user_id, actor, "user.unlock", user.email,
						 "sign-in unlocked: failed attempts of the account and its browsers forgotten",
						 now);
	return store_transaction_finish(store, status);
}

enum store_status users_sign_out_everywhere(struct store *store, struct arena *arena, const struct audit_actor *actor,
					    int64_t now, int64_t *sessions_ended)
{
	*sessions_ended = 0;
	enum store_status status = store_transaction_begin(store);
	if (status != STORE_OK)
		return status;
	status = store_session_delete_for_user(store, actor->user_id, 0, sessions_ended);
	if (status == STORE_OK)
		status = audit_record_everywhere(store, arena, actor->user_id, actor, "signout.everywhere", actor->label,
						 arena_printf(arena, "signed out everywhere (%lld session%s)",
							      (long long)*sessions_ended, *sessions_ended == 1 ? "" : "s"),
						 now);
	status = store_transaction_finish(store, status);
	if (status != STORE_OK)
		*sessions_ended = 0;
	return status;
}
