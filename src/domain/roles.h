/*
 * roles.h: each change to a workspace's key roles, one function per action, in one transaction
 * with its audit line. The form's rules are role_input.h's.
 *
 * Statuses: STORE_OK, saved; STORE_NOT_FOUND, no such role; STORE_CONFLICT, another role has
 * the name (create, update) or keys still have the role (delete); anything else, a store
 * failure. In every case but STORE_OK nothing changed.
 */
#ifndef KEYWARD_DOMAIN_ROLES_H
#define KEYWARD_DOMAIN_ROLES_H

#include <stdint.h>

#include "domain/audit.h"
#include "store/store.h"

struct arena;

/* A new role ("role.create"); *role_id gets its id. */
enum store_status roles_create(struct store *store, struct arena *arena, const struct audit_actor *actor,
			       int64_t workspace_id, const char *name, const char *description, const char *permissions,
			       int64_t now, int64_t *role_id);

/* Replace role `role_id`'s name, description and permissions ("role.update", saying what changed). */
enum store_status roles_update(struct store *store, struct arena *arena, const struct audit_actor *actor,
			       int64_t workspace_id, int64_t role_id, const char *name, const char *description,
			       const char *permissions, int64_t now);

/* Delete role `role_id`, which no key may have, revoked ones included ("role.delete"). */
enum store_status roles_delete(struct store *store, struct arena *arena, const struct audit_actor *actor,
			       int64_t workspace_id, int64_t role_id, int64_t now);

#endif
