/*
 * allowlist.h: a key's allowlist changed one step at a time, as the key page's Allowlist tab and
 * `keyward key edit --allowlist on|off` do: switch it off (its networks are kept, any address may
 * use the key) and on again, add one network, remove one.
 *
 * Each action is one transaction with its audit line ("key.allowlist_on", "key.allowlist_off",
 * "key.network_add", "key.network_remove"), or, when it changes nothing (the switch was so
 * already, the network was listed already or is gone already), no write and no line at all. The
 * gatekeeper sees the change on its next request (the gate generation, 015_allowlist.sql).
 *
 * Statuses as keys.h: STORE_OK (see *outcome for what happened), STORE_NOT_FOUND (no such key in
 * the workspace), STORE_CONFLICT (the key is revoked: nothing more may change), else a store
 * failure. In every case but STORE_OK with ALLOWLIST_CHANGED, nothing changed.
 */
#ifndef KEYWARD_DOMAIN_ALLOWLIST_H
#define KEYWARD_DOMAIN_ALLOWLIST_H

#include <stdbool.h>
#include <stdint.h>

#include "domain/audit.h"
#include "store/store.h"

struct arena;

enum allowlist_outcome {
	ALLOWLIST_CHANGED,
	ALLOWLIST_UNCHANGED, /* the switch was so already; the network to remove is not in the list */
	ALLOWLIST_DUPLICATE, /* the network to add is in the list already */
	ALLOWLIST_FULL,      /* the list holds KEY_CIDRS_MAX networks already */
};

/* Turn the allowlist of key `key_id` on (`enabled`) or off, keeping its networks. */
enum store_status allowlist_switch(struct store *store, struct arena *arena, const struct audit_actor *actor,
				   int64_t workspace_id, const char *key_id, bool enabled, int64_t now,
				   enum allowlist_outcome *outcome);

/*
 * Add `network` (canonical text and label, as key_input_check_cidr() gives them) after the key's
 * last network. Refused (nothing changed) when the list holds it already or is full.
 */
enum store_status allowlist_add(struct store *store, struct arena *arena, const struct audit_actor *actor,
				int64_t workspace_id, const char *key_id, const struct store_cidr *network, int64_t now,
				enum allowlist_outcome *outcome);

/* Remove network `cidr` (its text as the key page lists it) from the key's allowlist. */
enum store_status allowlist_remove(struct store *store, struct arena *arena, const struct audit_actor *actor,
				   int64_t workspace_id, const char *key_id, const char *cidr, int64_t now,
				   enum allowlist_outcome *outcome);

/*
 * keys_update() of key `key_id` with `fields`, then allowlist_switch() to `enabled`, in one
 * transaction: both are saved, or neither (`keyward key edit` with --allowlist and other options).
 * *outcome says what the switch did; statuses as keys_update()'s (STORE_NOT_FOUND also when the
 * role of `fields` is gone).
 */
enum store_status allowlist_update_and_switch(struct store *store, struct arena *arena, const struct audit_actor *actor,
					      int64_t workspace_id, const char *key_id,
					      const struct store_key_fields *fields, bool enabled, int64_t now,
					      enum allowlist_outcome *outcome);

/*
 * The message for an add that was refused (ALLOWLIST_DUPLICATE, ALLOWLIST_FULL: the edit form's
 * words, key_input.h), in `arena`; NULL for the other outcomes.
 */
const char *allowlist_refusal(struct arena *arena, enum allowlist_outcome outcome, const char *cidr);

#endif
