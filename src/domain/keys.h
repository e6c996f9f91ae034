/*
 * keys.h: every change to a key, one function per action, and showing a new secret exactly once.
 *
 * Each action is one transaction: the change, its audit line and (for a new secret) the sealed
 * copy kept for its one showing are written together or not at all, so an answer that says
 * "nothing was changed" is true. The console, the command line and any future API call these.
 *
 * A new or regenerated secret exists in clear only in memory: the database gets its keyed hash.
 * To show it once after a redirect, it is sealed (crypto_secretbox) with a one-off key that only
 * the browser receives, as a cookie; the sealed copy is deleted when shown or after ten minutes.
 *
 * Statuses: STORE_OK, everything saved; STORE_NOT_FOUND, no such key in the workspace;
 * STORE_CONFLICT, the key is revoked (nothing more may change); STORE_LIMIT (create), no room for
 * another active key; anything else, a store failure. In every case but STORE_OK nothing changed.
 */
#ifndef KEYWARD_DOMAIN_KEYS_H
#define KEYWARD_DOMAIN_KEYS_H

#include <stdbool.h>
#include <stdint.h>

#include "domain/audit.h"
#include "domain/token.h"
#include "store/store.h"

struct arena;
struct config;

#define KEYS_REVEAL_MAX_AGE 600 /* seconds a sealed secret waits to be shown */
#define KEYS_REVEAL_COOKIE_LENGTH 44 /* base64url of 32 bytes, no padding: 43, plus NUL */

/* A secret just made: wipe it (keys_secret_wipe) as soon as it was handed on. */
struct keys_secret {
	char key_id[TOKEN_KEY_ID_LENGTH + 1];
	char token[TOKEN_MAX_LENGTH + 1];
	int64_t row_id;
	char reveal_cookie[KEYS_REVEAL_COOKIE_LENGTH]; /* the browser's half of the seal; "" when not sealed */
};

void keys_secret_wipe(struct keys_secret *secret);

/*
 * Make a key with `fields` (checked by key_input_check) and a fresh key ID and secret, with its
 * "key.create" audit line; the key records actor->label as who made it; with `seal`, also keep the secret sealed for one showing. *secret gets
 * the new values (wiped unless STORE_OK).
 */
enum store_status keys_create(struct store *store, const struct config *config, struct arena *arena,
			      const struct audit_actor *actor, int64_t workspace_id, const struct store_key_fields *fields,
			      int64_t now, bool seal, struct keys_secret *secret);

/*
 * Replace the editable fields of key `key_id`, with a "key.update" line saying what changed.
 * Fields equal to the key's as they are change nothing: no write, no line, and *changed (when not
 * NULL) false, so that the caller can say "nothing was changed" truthfully.
 */
enum store_status keys_update(struct store *store, struct arena *arena, const struct audit_actor *actor,
			      int64_t workspace_id, const char *key_id, const struct store_key_fields *fields, int64_t now,
			      bool *changed);

/* Switch key `key_id` on or off; a line ("key.enable", "key.disable") only when it changes. */
enum store_status keys_set_enabled(struct store *store, struct arena *arena, const struct audit_actor *actor,
				   int64_t workspace_id, const char *key_id, bool enabled, int64_t now);

/* Keys that expire this soon are listed as Expiring soon, and the dashboard warns about them. */
#define KEYS_EXPIRY_WARNING (7 * 24 * 3600)

/* How long a rolled secret may keep working beside its successor: up to 7 days. */
#define KEYS_OVERLAP_MAX (7 * 24 * 3600)

/* The overlaps the console and the command line offer, shortest first. */
struct keys_overlap {
	const char *name;  /* "0", "1h", "24h", "7d": the form's value and the --overlap argument */
	const char *label; /* "None: the old secret stops at once", ... */
	int64_t seconds;
};
extern const struct keys_overlap keys_overlaps[];
extern const size_t keys_overlap_count;

/* The overlap named `name` ("0", "1h", "24h", "7d"); NULL when it is none of them. */
const struct keys_overlap *keys_overlap_find(const char *name);

/*
 * Give key `key_id` a fresh secret, with its "key.regenerate" line and, with `seal`, the sealed
 * copy for its one showing. With `overlap_seconds` 0 the old secret stops working at once; with
 * 1 to KEYS_OVERLAP_MAX it keeps working that much longer (the key's previous secret: any
 * previous secret it had from an earlier roll stops at once), and the line says until when.
 * Other overlaps are refused with STORE_ERROR and nothing changes: the caller checks them.
 */
enum store_status keys_regenerate(struct store *store, const struct config *config, struct arena *arena,
				  const struct audit_actor *actor, int64_t workspace_id, const char *key_id, int64_t now,
				  int64_t overlap_seconds, bool seal, struct keys_secret *secret);

/*
 * Stop the previous secret of key `key_id` now, with its "key.overlap_end" line; *ended says
 * whether there was one to stop. STORE_OK, *ended false and no line when no overlap is running
 * (never was, ran out, or someone else ended it).
 */
enum store_status keys_end_overlap(struct store *store, struct arena *arena, const struct audit_actor *actor,
				   int64_t workspace_id, const char *key_id, int64_t now, bool *ended);

/* Revoke key `key_id` for good, with its "key.revoke" line; its waiting secret, if any, is dropped. */
enum store_status keys_revoke(struct store *store, struct arena *arena, const struct audit_actor *actor,
			      int64_t workspace_id, const char *key_id, int64_t now);

/*
 * Find the key of workspace `workspace_id` whose secret is the token `text` (as pasted; the
 * caller trims it), by the token's keyed hash: STORE_OK with its key ID in key_id; STORE_NOT_FOUND
 * when no key of this workspace has it (a key of another workspace included: it is never named).
 * A key's previous secret finds it while its overlap lasts at `now`, as the gatekeeper takes it,
 * and not after (its hash may still be kept until the next roll).
 * *shape gets the token's check: anything but TOKEN_OK is STORE_NOT_FOUND without a lookup.
 * Reads only: no audit line, and the token is copied nowhere.
 */
enum store_status keys_find_by_secret(struct store *store, const struct config *config, struct arena *arena,
				      int64_t workspace_id, const char *text, int64_t now, enum token_status *shape,
				      char key_id[TOKEN_KEY_ID_LENGTH + 1]);

/*
 * Open the sealed secret of key row `row_id` with `cookie` and delete it, so that it is shown
 * once. Returns STORE_NOT_FOUND when nothing waits (already shown, expired) or the cookie does
 * not open it; a wrong or missing cookie leaves it waiting for the browser that holds the right one.
 */
enum store_status keys_reveal_open(struct store *store, struct arena *arena, int64_t workspace_id, int64_t row_id,
				   const char *cookie, int64_t now, char token[TOKEN_MAX_LENGTH + 1]);

#endif
