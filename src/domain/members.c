/* members.c: console role changes allowed to whom, workspace names, invitation links. */
#include "domain/members.h"

#include <string.h>

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

enum store_status invitation_create(struct store *store, const struct config *config,
				    struct store_invitation *invitation, const char *email_folded, int64_t created_by,
				    int64_t now, char token[SESSION_TOKEN_LENGTH + 1])
{
	session_token_new(token);
	unsigned char hash[SESSION_HASH_BYTES];
	session_keyed_hash(config, "invitation", token, hash);
	invitation->created_at = now;
	invitation->expires_at = now + (invitation->setup ? SETUP_LINK_SECONDS : INVITATION_SECONDS);
	return store_invitation_insert(store, invitation, hash, sizeof hash, email_folded, created_by, &invitation->id);
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
