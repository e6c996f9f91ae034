/* allowlist.c: a key's allowlist switched off and on, and one network added or removed, each with its audit line. */
#include "domain/allowlist.h"

#include <string.h>

#include "core/alloc.h"
#include "domain/key_input.h"
#include "domain/keys.h"

/*
 * Open a transaction and read key `key_id` into *key once no other transaction is changing it:
 * STORE_CONFLICT when it is revoked, STORE_NOT_FOUND when the workspace has no such key (the
 * transaction is open in every case: the caller finishes it).
 */
static enum store_status begin_with_key(struct store *store, struct arena *arena, int64_t workspace_id,
					const char *key_id, struct store_key *key, bool *begun)
{
	enum store_status status = store_transaction_begin(store);
	*begun = status == STORE_OK;
	if (status == STORE_OK)
		status = store_key_lock(store, workspace_id, key_id);
	if (status == STORE_OK)
		status = store_key_get(store, arena, workspace_id, key_id, key);
	if (status == STORE_OK && key->revoked_at != 0)
		status = STORE_CONFLICT;
	return status;
}

/* Commit when `status` is STORE_OK and something changed; else roll back, so that nothing (not even updated_at) moved. */
static enum store_status finish(struct store *store, bool begun, enum store_status status, bool changed)
{
	if (!begun)
		return status;
	if (status == STORE_OK && !changed) {
		store_transaction_rollback(store);
		return STORE_OK;
	}
	return store_transaction_finish(store, status);
}

/* "1 network", "2 networks". */
static const char *networks(struct arena *arena, size_t count)
{
	return arena_printf(arena, "%zu network%s", count, count == 1 ? "" : "s");
}

/* "203.0.113.0/24 (office)", or the network alone without a label. */
static const char *network_text(struct arena *arena, const char *cidr, const char *label)
{
	if (label == NULL || label[0] == '\0')
		return cidr;
	return arena_printf(arena, "%s (%s)", cidr, label);
}

static const char *switch_summary(struct arena *arena, bool enabled, size_t count)
{
	if (enabled && count == 0)
		return "allowlist switched on; it holds no networks, so any address may still use the key";
	if (enabled)
		return arena_printf(arena, "allowlist switched on: only addresses in its %s may use the key",
				    networks(arena, count));
	if (count == 0)
		return "allowlist switched off; it holds no networks, so any address could use the key already";
	return arena_printf(arena, "allowlist switched off: any address may use the key; its %s %s kept",
			    networks(arena, count), count == 1 ? "is" : "are");
}

enum store_status allowlist_switch(struct store *store, struct arena *arena, const struct audit_actor *actor,
				   int64_t workspace_id, const char *key_id, bool enabled, int64_t now,
				   enum allowlist_outcome *outcome)
{
	*outcome = ALLOWLIST_UNCHANGED;
	struct store_key before;
	bool begun = false, changed = false;
	enum store_status status = begin_with_key(store, arena, workspace_id, key_id, &before, &begun);
	if (status == STORE_OK && before.allowlist_enabled != enabled)
		status = store_key_set_allowlist(store, workspace_id, key_id, enabled, now, &changed);
	if (status == STORE_OK && changed)
		status = audit_record(store, workspace_id, actor, enabled ? "key.allowlist_on" : "key.allowlist_off", "key",
				      key_id, switch_summary(arena, enabled, before.cidr_count), now);
	status = finish(store, begun, status, changed);
	if (status == STORE_OK && changed)
		*outcome = ALLOWLIST_CHANGED;
	return status;
}

enum store_status allowlist_add(struct store *store, struct arena *arena, const struct audit_actor *actor,
				int64_t workspace_id, const char *key_id, const struct store_cidr *network, int64_t now,
				enum allowlist_outcome *outcome)
{
	*outcome = ALLOWLIST_UNCHANGED;
	struct store_key before;
	bool begun = false;
	enum allowlist_outcome found = ALLOWLIST_CHANGED;
	enum store_status status = begin_with_key(store, arena, workspace_id, key_id, &before, &begun);
	for (size_t i = 0; status == STORE_OK && i < before.cidr_count && found == ALLOWLIST_CHANGED; i++)
		if (strcmp(before.cidrs[i].cidr, network->cidr) == 0)
			found = ALLOWLIST_DUPLICATE;
	if (status == STORE_OK && found == ALLOWLIST_CHANGED && before.cidr_count >= KEY_CIDRS_MAX)
		found = ALLOWLIST_FULL;
	bool changed = status == STORE_OK && found == ALLOWLIST_CHANGED;
	if (changed)
		status = store_cidr_append(store, workspace_id, before.id, network, now);
	if (changed && status == STORE_OK) {
		const char *effect = !before.allowlist_enabled ? "; the allowlist is switched off: it applies once switched on"
				     : before.cidr_count == 0 ? "; only addresses in it may use the key now"
							      : "";
		status = audit_record(store, workspace_id, actor, "key.network_add", "key", key_id,
				      arena_printf(arena, "network added: %s%s",
						   network_text(arena, network->cidr, network->label), effect),
				      now);
	}
	status = finish(store, begun, status, changed);
	if (status == STORE_OK)
		*outcome = found;
	return status;
}

enum store_status allowlist_remove(struct store *store, struct arena *arena, const struct audit_actor *actor,
				   int64_t workspace_id, const char *key_id, const char *cidr, int64_t now,
				   enum allowlist_outcome *outcome)
{
	*outcome = ALLOWLIST_UNCHANGED;
	struct store_key before;
	bool begun = false;
	const struct store_cidr *listed = NULL;
	enum store_status status = begin_with_key(store, arena, workspace_id, key_id, &before, &begun);
	for (size_t i = 0; status == STORE_OK && i < before.cidr_count && listed == NULL; i++)
		if (strcmp(before.cidrs[i].cidr, cidr) == 0)
			listed = &before.cidrs[i];
	bool changed = listed != NULL;
	if (changed)
		status = store_cidr_remove(store, workspace_id, before.id, listed->cidr, now);
	if (changed && status == STORE_OK) {
		const char *effect = before.cidr_count == 1 && before.allowlist_enabled
					     ? "; no networks are left: any address may use the key"
					     : "";
		status = audit_record(store, workspace_id, actor, "key.network_remove", "key", key_id,
				      arena_printf(arena, "network removed: %s%s",
						   network_text(arena, listed->cidr, listed->label), effect),
				      now);
	}
	status = finish(store, begun, status, changed);
	if (status == STORE_OK && changed)
		*outcome = ALLOWLIST_CHANGED;
	return status;
}

enum store_status allowlist_update_and_switch(struct store *store, struct arena *arena, const struct audit_actor *actor,
					      int64_t workspace_id, const char *key_id,
					      const struct store_key_fields *fields, bool enabled, int64_t now,
					      enum allowlist_outcome *outcome)
{
	*outcome = ALLOWLIST_UNCHANGED;
	enum allowlist_outcome switched = ALLOWLIST_UNCHANGED;
	enum store_status status = store_transaction_begin(store);
	if (status != STORE_OK)
		return status;
	status = keys_update(store, arena, actor, workspace_id, key_id, fields, now, NULL);
	if (status == STORE_OK)
		status = allowlist_switch(store, arena, actor, workspace_id, key_id, enabled, now, &switched);
	status = store_transaction_finish(store, status);
	if (status == STORE_OK)
		*outcome = switched;
	return status;
}

const char *allowlist_refusal(struct arena *arena, enum allowlist_outcome outcome, const char *cidr)
{
	if (outcome == ALLOWLIST_DUPLICATE)
		return key_input_duplicate_message(arena, cidr);
	if (outcome == ALLOWLIST_FULL)
		return KEY_INPUT_CIDRS_FULL " Remove one before adding another.";
	return NULL;
}
