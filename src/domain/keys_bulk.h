/*
 * keys_bulk.h: one change to several keys at once (disable, enable or revoke a selection), all or nothing.
 *
 * The whole selection is one transaction: every key that changes gets its own audit line, the same
 * line keys_set_enabled() or keys_revoke() writes for it alone (its summary says how many keys were
 * changed together); a key that is not in the workspace, or a revoked key asked to be enabled or
 * disabled, refuses the whole selection and nothing changes. A key already in the asked state is
 * skipped: counted as unchanged, no line. The console, the command line and any API call this.
 */
#ifndef KEYWARD_DOMAIN_KEYS_BULK_H
#define KEYWARD_DOMAIN_KEYS_BULK_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "domain/audit.h"
#include "store/store.h"

struct arena;

/* Keys one change may take: the most the key list shows on a page. */
#define KEYS_BULK_MAX 100

enum keys_bulk_action { KEYS_BULK_DISABLE, KEYS_BULK_ENABLE, KEYS_BULK_REVOKE };

/* What an action does to one key as it is now. */
enum keys_bulk_effect {
	KEYS_BULK_CHANGES,   /* it changes, with its audit line */
	KEYS_BULK_UNCHANGED, /* it is in the asked state already: skipped, no line */
	KEYS_BULK_REFUSED,   /* revoked, and the action is enable or disable: the whole selection is refused */
};

enum keys_bulk_effect keys_bulk_effect(enum keys_bulk_action action, const struct store_key *key);

/* The words of an action: "disable" (its name in addresses), "disabled" (what a key becomes). */
const char *keys_bulk_action_name(enum keys_bulk_action action);
const char *keys_bulk_action_done(enum keys_bulk_action action);

struct keys_bulk_result {
	size_t changed;             /* keys changed, one audit line each */
	size_t unchanged;           /* keys in the asked state already */
	const char *refused_key_id; /* STORE_NOT_FOUND, STORE_CONFLICT: the first key that stopped the lot */
};

/*
 * Apply `action` to the keys of workspace `workspace_id` named key_ids[0..count-1] (a name given
 * twice counts once), in one transaction with one audit line per key changed. STORE_OK with the
 * counts in *result; STORE_LIMIT when more than KEYS_BULK_MAX different keys are named (nothing is
 * read); STORE_NOT_FOUND when result->refused_key_id is not a key of the workspace, STORE_CONFLICT
 * when it is revoked and the action is enable or disable; anything else, a store failure. In
 * every case but STORE_OK nothing changed and the counts are 0. No keys at all: STORE_OK, nothing done.
 * refused_key_id points into key_ids.
 */
enum store_status keys_bulk_apply(struct store *store, struct arena *arena, const struct audit_actor *actor,
				  int64_t workspace_id, enum keys_bulk_action action, const char *const *key_ids,
				  size_t count, int64_t now, struct keys_bulk_result *result);

/*
 * key_ids[0..count-1] without repeats, in their first order, into *unique (from `arena`) and
 * *unique_count. Used by keys_bulk_apply(), and by pages that show a selection before it is applied.
 */
void keys_bulk_unique(struct arena *arena, const char *const *key_ids, size_t count, const char ***unique,
		      size_t *unique_count);

#endif
