/* members.c: who may change whose console role, workspaces, each change to members with its audit line, invitation links. */
#include "domain/members.h"

#include <sodium.h>
#include <string.h>

#include "core/alloc.h"
#include "core/text.h"

const char *member_change_problem(enum console_role actor, const enum console_role *current, enum console_role wanted)
{
	if (actor == CONSOLE_OWNER)
		return NULL;
	if (!(console_role_permissions(actor) & PERMISSION_MEMBER_MANAGE))
		return "Your role does not allow managing members.";
	if (current != NULL && *current == CONSOLE_OWNER)
		return "Only an owner can change or remove an owner.";
	if (wanted == CONSOLE_OWNER)
		return "Only an owner can make someone an owner.";
	return NULL;
}

const char *workspace_name_problem(const char *name)
{
	size_t length = name ? strlen(name) : 0;
	if (length == 0)
		return "Enter a name for the workspace.";
	if (!utf8_valid(name, length) || text_has_control(name, NULL))
		return "The name must be plain text, without control characters.";
	if (utf8_length(name, length) > WORKSPACE_NAME_MAX)
		return "The name can be at most 100 characters long.";
	return NULL;
}

enum store_status workspaces_may_create(struct store *store, struct arena *arena, int64_t user_id, bool *allowed)
{
	struct store_membership *memberships = NULL;
	size_t count = 0;
	*allowed = false;
	enum store_status status = store_membership_list_for_user(store, arena, user_id, &memberships, &count);
	for (size_t i = 0; status == STORE_OK && i < count; i++)
		if (strcmp(memberships[i].console_role, console_role_name(CONSOLE_OWNER)) == 0)
			*allowed = true;
	return status;
}

enum store_status workspaces_create(struct store *store, struct arena *arena, const struct audit_actor *actor,
				    const char *name, int64_t owner_user_id, int64_t now, int64_t *workspace_id)
{
	enum store_status status = store_transaction_begin(store);
	if (status != STORE_OK)
		return status;
	bool allowed = actor->user_id == 0;
	if (!allowed)
		status = workspaces_may_create(store, arena, actor->user_id, &allowed);
	if (status == STORE_OK && !allowed)
		status = STORE_CONFLICT;
	if (status == STORE_OK)
		status = store_workspace_create(store, name, owner_user_id, now, workspace_id);
	if (status == STORE_OK)
		status = audit_record(store, *workspace_id, actor, "workspace.create", "workspace", name,
				      arena_printf(arena, "workspace “%s” created; %s is its owner", name, actor->label),
				      now);
	return store_transaction_finish(store, status);
}

enum store_status members_add_user(struct store *store, struct arena *arena, const struct audit_actor *actor,
				   int64_t workspace_id, const char *email, const char *email_folded, const char *name,
				   const char *password_hash, enum console_role role, int64_t now, int64_t *user_id)
{
	enum store_status status = store_transaction_begin(store);
	if (status != STORE_OK)
		return status;
	status = store_user_insert(store, email, email_folded, name, password_hash, now, user_id);
	if (status == STORE_OK) {
		status = store_membership_set(store, workspace_id, *user_id, console_role_name(role), now);
		if (status == STORE_CONFLICT) /* the account is new: only the workspace can be missing */
			status = STORE_NOT_FOUND;
	}
	if (status == STORE_OK)
		status = audit_record(store, workspace_id, actor, "member.add", "member", email,
				      arena_printf(arena, "added as %s", console_role_name(role)), now);
	return store_transaction_finish(store, status);
}

enum store_status members_set_role(struct store *store, struct arena *arena, const struct audit_actor *actor,
				   int64_t workspace_id, int64_t user_id, enum console_role role, int64_t now)
{
	enum store_status status = store_transaction_begin(store);
	if (status != STORE_OK)
		return status;
	struct store_member member;
	status = store_member_get(store, arena, workspace_id, user_id, &member);
	const char *wanted = console_role_name(role);
	if (status == STORE_OK && strcmp(member.console_role, wanted) != 0) {
		status = store_member_set_role(store, workspace_id, user_id, wanted);
		if (status == STORE_OK)
			status = audit_record(store, workspace_id, actor, "member.role", "member", member.email,
					      arena_printf(arena, "role: %s → %s", member.console_role, wanted), now);
	}
	return store_transaction_finish(store, status);
}

enum store_status members_remove(struct store *store, struct arena *arena, const struct audit_actor *actor,
				 int64_t workspace_id, int64_t user_id, int64_t now)
{
	enum store_status status = store_transaction_begin(store);
	if (status != STORE_OK)
		return status;
	struct store_member member;
	status = store_member_get(store, arena, workspace_id, user_id, &member);
	if (status == STORE_OK)
		status = store_member_remove(store, workspace_id, user_id);
	if (status == STORE_OK)
		status = audit_record(store, workspace_id, actor, "member.remove", "member", member.email,
				      arena_printf(arena, "removed (was %s)", member.console_role), now);
	return store_transaction_finish(store, status);
}

enum store_status invitation_create(struct store *store, const struct config *config, struct arena *arena,
				    const struct audit_actor *actor, struct store_invitation *invitation,
				    const char *email_folded, int64_t now, char token[SESSION_TOKEN_LENGTH + 1])
{
	session_token_new(token);
	unsigned char hash[SESSION_HASH_BYTES];
	session_keyed_hash(config, "invitation", token, hash);
	invitation->created_at = now;
	invitation->expires_at = now + (invitation->setup ? SETUP_LINK_SECONDS : INVITATION_SECONDS);
	enum store_status status = store_transaction_begin(store);
	if (status == STORE_OK)
		status = store_invitation_insert(store, invitation, hash, sizeof hash, email_folded, actor->user_id,
						 &invitation->id);
	if (status == STORE_OK && invitation->setup)
		status = audit_record(store, invitation->workspace_id, actor, "member.setup-link", "member", "first owner",
				      "a one-time link to make the first owner (valid 24 hours)", now);
	else if (status == STORE_OK)
		status = audit_record(store, invitation->workspace_id, actor, "member.invite", "member", invitation->email,
				      arena_printf(arena, "invited as %s", invitation->console_role), now);
	status = store_transaction_finish(store, status);
	if (status != STORE_OK)
		sodium_memzero(token, SESSION_TOKEN_LENGTH + 1);
	return status;
}

enum store_status invitation_cancel(struct store *store, struct arena *arena, const struct audit_actor *actor,
				    int64_t workspace_id, int64_t invitation_id, int64_t now,
				    struct store_invitation *cancelled)
{
	enum store_status status = store_transaction_begin(store);
	if (status != STORE_OK)
		return status;
	status = store_invitation_cancel(store, arena, workspace_id, invitation_id, cancelled);
	if (status == STORE_OK)
		status = audit_record(store, workspace_id, actor, "invitation.cancel", "member", cancelled->email,
				      arena_printf(arena, "invitation as %s cancelled", cancelled->console_role), now);
	return store_transaction_finish(store, status);
}

enum store_status invitation_accept(struct store *store, struct arena *arena, const struct audit_actor *actor,
				    const struct store_invitation *invitation, int64_t now)
{
	enum store_status status = store_transaction_begin(store);
	if (status != STORE_OK)
		return status;
	status = store_invitation_accept(store, invitation, actor->user_id, now);
	if (status == STORE_OK)
		status = audit_record(store, invitation->workspace_id, actor, "member.join", "member", actor->label,
				      arena_printf(arena, "joined as %s", invitation->console_role), now);
	return store_transaction_finish(store, status);
}

enum store_status invitation_accept_new_user(struct store *store, struct arena *arena,
					     const struct store_invitation *invitation, const char *email,
					     const char *email_folded, const char *password_hash,
					     const char *client_address, int64_t now, int64_t *user_id)
{
	enum store_status status = store_transaction_begin(store);
	if (status != STORE_OK)
		return status;
	status = store_invitation_accept_new_user(store, invitation, email, email_folded, "", password_hash, now,
						  user_id);
	struct audit_actor actor = { status == STORE_OK ? *user_id : 0, email, client_address };
	if (status == STORE_OK)
		status = audit_record(store, invitation->workspace_id, &actor,
				      invitation->setup ? "member.setup" : "member.join", "member", email,
				      invitation->setup ? "first owner, made with the setup link"
							: arena_printf(arena, "joined as %s (new account)",
								       invitation->console_role),
				      now);
	return store_transaction_finish(store, status);
}

enum invitation_state invitation_find(struct store *store, const struct config *config, struct arena *arena,
				      const char *token, int64_t now, struct store_invitation *invitation)
{
	if (!session_token_shaped(token))
		return INVITATION_UNKNOWN;
	unsigned char hash[SESSION_HASH_BYTES];
	session_keyed_hash(config, "invitation", token, hash);
	enum store_status status = store_invitation_find(store, arena, hash, sizeof hash, invitation);
	if (status == STORE_NOT_FOUND)
		return INVITATION_UNKNOWN;
	if (status != STORE_OK)
		return INVITATION_UNAVAILABLE;
	if (invitation->accepted || now >= invitation->expires_at)
		return INVITATION_USED;
	return INVITATION_OPEN;
}
