/*
 * audit.h: who changed what: the before -> after summaries the audit log keeps, and recording.
 * Summaries name fields and values a person can read; they never hold a secret (a regenerated
 * secret is "secret regenerated", nothing more).
 */
#ifndef KEYWARD_DOMAIN_AUDIT_H
#define KEYWARD_DOMAIN_AUDIT_H

#include <stdint.h>

#include "store/store.h"

struct arena;

/* Who acts: a signed-in user, or (user_id 0) the command line or the console before sign-in. */
struct audit_actor {
	int64_t user_id;
	const char *label;
	const char *client_address;
};

/* A new key's fields: name, role, state, record flag, networks, POSTback URL, and its note (shortened) if any. */
const char *audit_key_summary(struct arena *arena, const struct store_key_fields *fields, const char *role_name);

/* What an edit changes, field by field ("name: “A” → “B”; role: admin → read-only"); NULL when nothing. */
const char *audit_key_changes(struct arena *arena, const struct store_key *before, const struct store_key_fields *after,
			      const char *after_role_name);

/* The same for a role: name, description, permissions. `before` NULL: a new role. */
const char *audit_role_changes(struct arena *arena, const struct store_role *before, const char *name,
			       const char *description, const char *permissions);

/*
 * Add a line to the audit log at `now`, inside the transaction of the change it describes: when
 * it cannot be written (not STORE_OK), the caller rolls the change back with it.
 */
enum store_status audit_record(struct store *store, int64_t workspace_id, const struct audit_actor *actor,
			       const char *action, const char *target_type, const char *target_id, const char *summary,
			       int64_t now);

/*
 * The same line in each workspace `user_id` belongs to (sign-ins, and changes to a person, belong
 * to no one workspace), inside the caller's transaction; STORE_OK when every line was written
 * (none when they belong to no workspace).
 */
enum store_status audit_record_everywhere(struct store *store, struct arena *arena, int64_t user_id,
					  const struct audit_actor *actor, const char *action, const char *target_id,
					  const char *summary, int64_t now);

#endif
