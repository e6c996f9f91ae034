/*
 * key_filter.h: the key list's filters as the console and the management API take them (a text,
 * a state by name), turned into what the store matches (store_key_filter).
 */
#ifndef KEYWARD_DOMAIN_KEY_FILTER_H
#define KEYWARD_DOMAIN_KEY_FILTER_H

#include <stdbool.h>

#include "store/store.h"

struct arena;

#define KEY_FILTER_TEXT_MAX 100 /* characters of the filter's text */

/*
 * The state named `name` ("" or "active", "enabled", "disabled", "revoked", "expiring",
 * "expired") into *state; false (and *state STORE_FILTER_ACTIVE) for any other name.
 */
bool key_filter_state(const char *name, enum store_key_filter_state *state);

/*
 * The filter's text `q` (trimmed) as the store matches it: the name or note holding it
 * (case-folded), the key ID holding it once it has 4 characters or more (fewer would match most
 * random key IDs), and the secret's last 4 characters when it is just those (as the key page shows
 * them, "…" before or not). Strings in `arena`.
 */
void key_filter_text(struct arena *arena, const char *q, struct store_key_filter *filter);

#endif
