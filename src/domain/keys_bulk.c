/* keys_bulk.c: disable, enable or revoke a selection of keys in one transaction, one audit line per key changed. */
#include "domain/keys_bulk.h"

#include <string.h>

#include "core/alloc.h"

enum keys_bulk_effect keys_bulk_effect(enum keys_bulk_action action, const struct store_key *key)
{
	if (action == KEYS_BULK_REVOKE)
		return key->revoked_at ? KEYS_BULK_UNCHANGED : KEYS_BULK_CHANGES;
	if (key->revoked_at)
		return KEYS_BULK_REFUSED;
	return key->enabled == (action == KEYS_BULK_ENABLE) ? KEYS_BULK_UNCHANGED : KEYS_BULK_CHANGES;
}

const char *keys_bulk_action_name(enum keys_bulk_action action)
{
	return action == KEYS_BULK_REVOKE ? "revoke" : action == KEYS_BULK_ENABLE ? "enable" : "disable";
}

const char *keys_bulk_action_done(enum keys_bulk_action action)
{
	return action == KEYS_BULK_REVOKE ? "revoked" : action == KEYS_BULK_ENABLE ? "enabled" : "disabled";
}

void keys_bulk_unique(struct arena *arena, const char *const *key_ids, size_t count, const char ***unique,
		      size_t *unique_count)
{
	const char **list = arena_alloc(arena, (count ? count : 1) * sizeof *list);
	size_t used = 0;
	for (size_t i = 0; i < count; i++) {
		size_t seen = 0;
		while (seen < used && strcmp(list[seen], key_ids[i]) != 0)
			seen++;
		if (seen == used)
			list[used++] = key_ids[i];
	}
	*unique = list;
	*unique_count = used;
}

/* The audit line's summary: the one a change of this key alone writes, and how many changed with it. */
static const char *summary(struct arena *arena, enum keys_bulk_action action, size_t changed)
{
	const char *alone = action == KEYS_BULK_REVOKE	? "revoked: the key no longer works, for good"
			    : action == KEYS_BULK_ENABLE ? "state: disabled → enabled"
							 : "state: enabled → disabled";
	if (changed < 2)
		return alone;
	return arena_printf(arena, "%s (one of %zu keys %s together)", alone, changed, keys_bulk_action_done(action));
}

static const char *audit_action(enum keys_bulk_action action)
{
	return action == KEYS_BULK_REVOKE ? "key.revoke" : action == KEYS_BULK_ENABLE ? "key.enable" : "key.disable";
}

/* Change key `key_id` (checked: it changes) as `action` asks. */
static enum store_status change(struct store *store, int64_t workspace_id, enum keys_bulk_action action,
				const char *key_id, int64_t now)
{
	if (action == KEYS_BULK_REVOKE)
		return store_key_revoke(store, workspace_id, key_id, now);
	return store_key_set_enabled(store, workspace_id, key_id, action == KEYS_BULK_ENABLE, now);
}

enum store_status keys_bulk_apply(struct store *store, struct arena *arena, const struct audit_actor *actor,
				  int64_t workspace_id, enum keys_bulk_action action, const char *const *key_ids,
				  size_t count, int64_t now, struct keys_bulk_result *result)
{
	memset(result, 0, sizeof *result);
	const char **unique = NULL;
	size_t unique_count = 0;
	keys_bulk_unique(arena, key_ids, count, &unique, &unique_count);
	if (unique_count > KEYS_BULK_MAX)
		return STORE_LIMIT;
	if (unique_count == 0)
		return STORE_OK;
	enum store_status status = store_transaction_begin(store);
	if (status != STORE_OK)
		return status;
	/* First every key as it is now: one that refuses the lot stops it before anything is written. */
	bool *changes = arena_alloc(arena, unique_count * sizeof *changes);
	size_t changed = 0, unchanged = 0;
	for (size_t i = 0; status == STORE_OK && i < unique_count; i++) {
		struct store_key key;
		status = store_key_get(store, arena, workspace_id, unique[i], &key);
		enum keys_bulk_effect effect = status == STORE_OK ? keys_bulk_effect(action, &key) : KEYS_BULK_REFUSED;
		if (status == STORE_OK && effect == KEYS_BULK_REFUSED)
			status = STORE_CONFLICT;
		if (status == STORE_NOT_FOUND || status == STORE_CONFLICT)
			result->refused_key_id = unique[i];
		changes[i] = status == STORE_OK && effect == KEYS_BULK_CHANGES;
		changed += changes[i];
		unchanged += status == STORE_OK && effect == KEYS_BULK_UNCHANGED;
	}
	const char *line = summary(arena, action, changed);
	for (size_t i = 0; status == STORE_OK && i < unique_count; i++) {
		if (!changes[i])
			continue;
		status = change(store, workspace_id, action, unique[i], now);
		if (status == STORE_NOT_FOUND) { /* revoked by someone else since it was read (PostgreSQL) */
			status = STORE_CONFLICT;
			result->refused_key_id = unique[i];
		}
		if (status == STORE_OK)
			status = audit_record(store, workspace_id, actor, audit_action(action), "key", unique[i], line, now);
	}
	status = store_transaction_finish(store, status);
	if (status == STORE_OK) {
		result->changed = changed;
		result->unchanged = unchanged;
	}
	return status;
}
