/* roles.c: creating, changing and deleting key roles, each in one transaction with its audit line. */
#include "domain/roles.h"

enum store_status roles_create(struct store *store, struct arena *arena, const struct audit_actor *actor,
			       int64_t workspace_id, const char *name, const char *description, const char *permissions,
			       int64_t now, int64_t *role_id)
{
	enum store_status status = store_transaction_begin(store);
	if (status != STORE_OK)
		return status;
	status = store_role_insert(store, workspace_id, name, description, permissions, role_id);
	if (status == STORE_OK)
		status = audit_record(store, workspace_id, actor, "role.create", "role", name,
				      audit_role_changes(arena, NULL, name, description, permissions), now);
	return store_transaction_finish(store, status);
}

enum store_status roles_update(struct store *store, struct arena *arena, const struct audit_actor *actor,
			       int64_t workspace_id, int64_t role_id, const char *name, const char *description,
			       const char *permissions, int64_t now)
{
	enum store_status status = store_transaction_begin(store);
	if (status != STORE_OK)
		return status;
	struct store_role before;
	status = store_role_get(store, arena, workspace_id, role_id, &before);
	if (status == STORE_OK)
		status = store_role_update(store, workspace_id, role_id, name, description, permissions);
	if (status == STORE_OK)
		status = audit_record(store, workspace_id, actor, "role.update", "role", name,
				      audit_role_changes(arena, &before, name, description, permissions), now);
	return store_transaction_finish(store, status);
}

enum store_status roles_delete(struct store *store, struct arena *arena, const struct audit_actor *actor,
			       int64_t workspace_id, int64_t role_id, int64_t now)
{
	enum store_status status = store_transaction_begin(store);
	if (status != STORE_OK)
		return status;
	struct store_role role;
	status = store_role_get(store, arena, workspace_id, role_id, &role);
	if (status == STORE_OK)
		status = store_role_delete(store, workspace_id, role_id);
	if (status == STORE_OK)
		status = audit_record(store, workspace_id, actor, "role.delete", "role", role.name,
				      audit_role_changes(arena, NULL, role.name, role.description, role.permissions), now);
	return store_transaction_finish(store, status);
}
