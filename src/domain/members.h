/*
 * members.h: workspaces and the people in them: who may change whose console role, each change
 * to members (one function per action, in one transaction with its audit line), and invitations:
 * one-time links that let the person they name join a workspace (or, for a setup link, make the
 * first owner).
 *
 * An invitation's token is a random 32-byte value shown once as a link; the store keeps only its
 * keyed hash, so the database alone opens nothing.
 *
 * Statuses of the actions: STORE_OK, saved; STORE_NOT_FOUND, no such member (invitation: used
 * up, expired or cancelled meanwhile); STORE_CONFLICT, the workspace would be left without an
 * owner (or, for a new account, the address has one already); anything else, a store failure.
 * In every case but STORE_OK nothing changed.
 */
#ifndef KEYWARD_DOMAIN_MEMBERS_H
#define KEYWARD_DOMAIN_MEMBERS_H

#include <stdbool.h>
#include <stdint.h>

#include "domain/accounts.h"
#include "domain/audit.h"
#include "domain/sessions.h"
#include "store/store.h"

struct arena;
struct config;

#define INVITATION_SECONDS (7 * 24 * 3600) /* an invitation link works for a week */
#define SETUP_LINK_SECONDS (24 * 3600)     /* the first owner's setup link, for a day */
#define WORKSPACE_NAME_MAX 100              /* characters */

/*
 * NULL when a member whose role is `actor` may give `wanted` to someone whose role is now
 * `current` (NULL: a newcomer, i.e. an invitation), or a sentence saying why not. Owners may do
 * anything; admins manage everyone but owners and cannot make owners; other roles nothing.
 */
const char *member_change_problem(enum console_role actor, const enum console_role *current, enum console_role wanted);

/* NULL when `name` will do as a workspace's name (text, 1 to WORKSPACE_NAME_MAX characters). */
const char *workspace_name_problem(const char *name);

/*
 * Whether console user `user_id` may make a new workspace: only owners of a workspace may (the
 * command line may too), so that no member, and no one left without a workspace, can make a
 * place of their own to mint keys in.
 */
enum store_status workspaces_may_create(struct store *store, struct arena *arena, int64_t user_id, bool *allowed);

/*
 * A new workspace called `name` (workspace_name_problem() said it will do) with the default key
 * roles, `owner_user_id` its owner, and its "workspace.create" line. When the actor is a console
 * user (actor->user_id not 0), they must be allowed (workspaces_may_create): STORE_CONFLICT if not.
 */
enum store_status workspaces_create(struct store *store, struct arena *arena, const struct audit_actor *actor,
				    const char *name, int64_t owner_user_id, int64_t now, int64_t *workspace_id);

/*
 * A new console user `email` (checked; `email_folded` its folded form) with `password_hash`, a
 * member of `workspace_id` with `role`, and the "member.add" line. STORE_CONFLICT when the
 * address has an account; STORE_NOT_FOUND when there is no such workspace.
 */
enum store_status members_add_user(struct store *store, struct arena *arena, const struct audit_actor *actor,
				   int64_t workspace_id, const char *email, const char *email_folded, const char *name,
				   const char *password_hash, enum console_role role, int64_t now, int64_t *user_id);

/* Give member `user_id` the console role `role` ("member.role"; nothing is written when it is the same). */
enum store_status members_set_role(struct store *store, struct arena *arena, const struct audit_actor *actor,
				   int64_t workspace_id, int64_t user_id, enum console_role role, int64_t now);

/* Take member `user_id` out of the workspace ("member.remove"): their access ends at once. */
enum store_status members_remove(struct store *store, struct arena *arena, const struct audit_actor *actor,
				 int64_t workspace_id, int64_t user_id, int64_t now);

/*
 * Store `invitation` (its created_at and expires_at are set here from `now`) with its audit line
 * ("member.invite", or "member.setup-link" for a setup link) and write the link's token into
 * token[]. `email_folded` is "" for a setup link. A pending invitation of the same address to the
 * same workspace is replaced.
 */
enum store_status invitation_create(struct store *store, const struct config *config, struct arena *arena,
				    const struct audit_actor *actor, struct store_invitation *invitation,
				    const char *email_folded, int64_t now, char token[SESSION_TOKEN_LENGTH + 1]);

/* Withdraw pending invitation `invitation_id` ("invitation.cancel"); *cancelled gets what it was. */
enum store_status invitation_cancel(struct store *store, struct arena *arena, const struct audit_actor *actor,
				    int64_t workspace_id, int64_t invitation_id, int64_t now,
				    struct store_invitation *cancelled);

/* Accept `invitation` as the signed-in `actor` ("member.join"). */
enum store_status invitation_accept(struct store *store, struct arena *arena, const struct audit_actor *actor,
				    const struct store_invitation *invitation, int64_t now);

/*
 * Make the account `email` with `password_hash` and accept `invitation` with it ("member.join",
 * or "member.setup" for the setup link), from `client_address`; *user_id gets the new account.
 */
enum store_status invitation_accept_new_user(struct store *store, struct arena *arena,
					     const struct store_invitation *invitation, const char *email,
					     const char *email_folded, const char *password_hash,
					     const char *client_address, int64_t now, int64_t *user_id);

enum invitation_state {
	INVITATION_OPEN,
	INVITATION_UNKNOWN, /* no such link (never made, replaced or cancelled) */
	INVITATION_USED,    /* accepted already, or expired */
	INVITATION_UNAVAILABLE, /* the store could not be read */
};

/* Look up the invitation of link token `token` at `now`. */
enum invitation_state invitation_find(struct store *store, const struct config *config, struct arena *arena,
				      const char *token, int64_t now, struct store_invitation *invitation);

#endif
