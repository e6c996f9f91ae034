/*
 * members.h: who may change whose console role, and invitations: one-time links that let the
 * person they name join a workspace (or, for a setup link, make the first owner).
 *
 * An invitation's token is a random 32-byte value shown once as a link; the store keeps only its
 * keyed hash, so the database alone opens nothing.
 */
#ifndef KEYWARD_DOMAIN_MEMBERS_H
#define KEYWARD_DOMAIN_MEMBERS_H

#include <stdint.h>

#include "domain/accounts.h"
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
 * Store `invitation` (its created_at and expires_at are set here from `now`) and write the
 * link's token into token[]. `email_folded` is "" for a setup link.
 */
enum store_status invitation_create(struct store *store, const struct config *config,
				    struct store_invitation *invitation, const char *email_folded, int64_t created_by,
				    int64_t now, char token[SESSION_TOKEN_LENGTH + 1]);

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
