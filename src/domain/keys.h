/*
 * keys.h: making keys and secrets, and showing a new secret exactly once.
 *
 * A new or regenerated secret exists in clear only in memory: the database gets its keyed hash.
 * To show it once after a redirect, it is sealed (crypto_secretbox) with a one-off key that only
 * the browser receives, as a cookie; the sealed copy is deleted when shown or after ten minutes.
 */
#ifndef KEYWARD_DOMAIN_KEYS_H
#define KEYWARD_DOMAIN_KEYS_H

#include <stdbool.h>
#include <stdint.h>

#include "domain/token.h"
#include "store/store.h"

struct arena;
struct config;

#define KEYS_REVEAL_MAX_AGE 600 /* seconds a sealed secret waits to be shown */
#define KEYS_REVEAL_COOKIE_LENGTH 44 /* base64url of 32 bytes, no padding: 43, plus NUL */

/*
 * Make a key with `fields`: a fresh key ID and secret; stores the hash. On STORE_OK, key_id and
 * token hold the new values and *row_id the row; the caller wipes `token` after use. STORE_LIMIT
 * when the workspace has no room for another active key (config->key_limit or its own limit).
 */
enum store_status keys_create(struct store *store, const struct config *config, int64_t workspace_id,
			      const struct store_key_fields *fields, int64_t now, char key_id[TOKEN_KEY_ID_LENGTH + 1],
			      char token[TOKEN_MAX_LENGTH + 1], int64_t *row_id);

/* Give key `key_id` a fresh secret; the old one stops working at once. */
enum store_status keys_regenerate(struct store *store, const struct config *config, int64_t workspace_id,
				  const char *key_id, int64_t now, char token[TOKEN_MAX_LENGTH + 1]);

/*
 * Seal `token` for one showing of key row `row_id`; cookie[] gets the browser's half (base64url).
 */
enum store_status keys_reveal_seal(struct store *store, int64_t workspace_id, int64_t row_id, const char *token,
				   int64_t now, char cookie[KEYS_REVEAL_COOKIE_LENGTH]);

/*
 * Open the sealed secret of key row `row_id` with `cookie` and delete it, so that it is shown
 * once. Returns STORE_NOT_FOUND when nothing waits (already shown, expired) or the cookie does
 * not open it; a wrong or missing cookie leaves it waiting for the browser that holds the right one.
 */
enum store_status keys_reveal_open(struct store *store, struct arena *arena, int64_t workspace_id, int64_t row_id,
				   const char *cookie, int64_t now, char token[TOKEN_MAX_LENGTH + 1]);

#endif
