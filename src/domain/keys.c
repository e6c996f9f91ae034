/* keys.c: each change to a key in one transaction with its audit line, and the sealed one-time showing of a new secret. */
#include "domain/keys.h"

#include <sodium.h>
#include <stdio.h>
#include <string.h>

#include "core/alloc.h"
#include "core/config.h"
#include "core/text.h"

_Static_assert(CONFIG_TOKEN_PREFIX_MAX == TOKEN_PREFIX_MAX, "config holds a token prefix");
_Static_assert(CONFIG_SERVER_KEY_BYTES == TOKEN_SERVER_KEY_BYTES, "config holds the token hashing key");

#define KEYS_CREATE_ATTEMPTS 4 /* key ID collisions are astronomically rare; retry a few times */

static void hash_token(const struct config *config, const char *token, unsigned char hash[TOKEN_HASH_BYTES],
		       char hint[TOKEN_HINT_LENGTH + 1])
{
	token_hash(config->server_key, token, strlen(token), hash);
	token_hint(token, hint);
}

void keys_secret_wipe(struct keys_secret *secret)
{
	sodium_memzero(secret, sizeof *secret);
}

/* Seal secret->token for one showing of key row secret->row_id; secret->reveal_cookie gets the browser's half. */
static enum store_status seal(struct store *store, int64_t workspace_id, struct keys_secret *secret, int64_t now)
{
	unsigned char key[crypto_secretbox_KEYBYTES];
	size_t length = strlen(secret->token);
	unsigned char sealed[crypto_secretbox_NONCEBYTES + crypto_secretbox_MACBYTES + TOKEN_MAX_LENGTH];
	crypto_secretbox_keygen(key);
	randombytes_buf(sealed, crypto_secretbox_NONCEBYTES);
	crypto_secretbox_easy(sealed + crypto_secretbox_NONCEBYTES, (const unsigned char *)secret->token, length, sealed,
			      key);
	sodium_bin2base64(secret->reveal_cookie, sizeof secret->reveal_cookie, key, sizeof key,
			  sodium_base64_VARIANT_URLSAFE_NO_PADDING);
	sodium_memzero(key, sizeof key);
	return store_reveal_put(store, workspace_id, secret->row_id, sealed,
				crypto_secretbox_NONCEBYTES + crypto_secretbox_MACBYTES + length, now, KEYS_REVEAL_MAX_AGE);
}

/*
 * Inside a transaction: key `key_id` as it is now into *key; STORE_CONFLICT when it is revoked
 * (nothing more may change), STORE_NOT_FOUND when the workspace has no such key.
 */
static enum store_status load_changeable(struct store *store, struct arena *arena, int64_t workspace_id,
					 const char *key_id, struct store_key *key)
{
	enum store_status status = store_key_get(store, arena, workspace_id, key_id, key);
	if (status == STORE_OK && key->revoked_at != 0)
		return STORE_CONFLICT;
	return status;
}

/* The name of role `role_id` of the workspace into *name; STORE_NOT_FOUND when it is gone. */
static enum store_status role_name(struct store *store, struct arena *arena, int64_t workspace_id, int64_t role_id,
				   const char **name)
{
	struct store_role role;
	enum store_status status = store_role_get(store, arena, workspace_id, role_id, &role);
	*name = status == STORE_OK ? role.name : "";
	return status;
}

enum store_status keys_create(struct store *store, const struct config *config, struct arena *arena,
			      const struct audit_actor *actor, int64_t workspace_id, const struct store_key_fields *fields,
			      int64_t now, bool sealed, struct keys_secret *secret)
{
	memset(secret, 0, sizeof *secret);
	enum store_status status = store_transaction_begin(store);
	if (status != STORE_OK)
		return status;
	const char *role = "";
	status = role_name(store, arena, workspace_id, fields->role_id, &role);
	/* A key ID or secret that exists already fails the insert alone (a savepoint): try another. */
	for (int attempts = 0; status == STORE_OK;) {
		unsigned char hash[TOKEN_HASH_BYTES];
		char hint[TOKEN_HINT_LENGTH + 1];
		token_generate_key_id(secret->key_id);
		token_generate(config->token_prefix, secret->key_id, secret->token);
		hash_token(config, secret->token, hash, hint);
		status = store_key_insert(store, workspace_id, secret->key_id, hash, sizeof hash, hint, fields,
					  actor->label, now, config->key_limit, &secret->row_id);
		if (status != STORE_CONFLICT)
			break;
		status = ++attempts < KEYS_CREATE_ATTEMPTS ? STORE_OK : STORE_ERROR;
	}
	if (status == STORE_OK && sealed)
		status = seal(store, workspace_id, secret, now);
	if (status == STORE_OK)
		status = audit_record(store, workspace_id, actor, "key.create", "key", secret->key_id,
				      audit_key_summary(arena, fields, role), now);
	status = store_transaction_finish(store, status);
	if (status != STORE_OK)
		keys_secret_wipe(secret);
	return status;
}

enum store_status keys_update(struct store *store, struct arena *arena, const struct audit_actor *actor,
			      int64_t workspace_id, const char *key_id, const struct store_key_fields *fields, int64_t now,
			      bool *changed)
{
	if (changed != NULL)
		*changed = false;
	enum store_status status = store_transaction_begin(store);
	if (status != STORE_OK)
		return status;
	struct store_key before;
	const char *role = "";
	const char *changes = NULL;
	status = load_changeable(store, arena, workspace_id, key_id, &before);
	if (status == STORE_OK)
		status = role_name(store, arena, workspace_id, fields->role_id, &role);
	if (status == STORE_OK)
		changes = audit_key_changes(arena, &before, fields, role);
	if (status == STORE_OK && changes != NULL)
		status = store_key_update(store, workspace_id, key_id, fields, now);
	if (status == STORE_OK && changes != NULL)
		status = audit_record(store, workspace_id, actor, "key.update", "key", key_id, changes, now);
	status = store_transaction_finish(store, status);
	if (status == STORE_OK && changed != NULL)
		*changed = changes != NULL;
	return status;
}

enum store_status keys_set_enabled(struct store *store, struct arena *arena, const struct audit_actor *actor,
				   int64_t workspace_id, const char *key_id, bool enabled, int64_t now)
{
	enum store_status status = store_transaction_begin(store);
	if (status != STORE_OK)
		return status;
	struct store_key before;
	status = load_changeable(store, arena, workspace_id, key_id, &before);
	if (status == STORE_OK && before.enabled != enabled) {
		status = store_key_set_enabled(store, workspace_id, key_id, enabled, now);
		if (status == STORE_OK)
			status = audit_record(store, workspace_id, actor, enabled ? "key.enable" : "key.disable", "key",
					      key_id, enabled ? "state: disabled → enabled" : "state: enabled → disabled",
					      now);
	}
	return store_transaction_finish(store, status);
}

const struct keys_overlap keys_overlaps[] = {
	{ "0", "None: the old secret stops working at once", 0 },
	{ "1h", "1 hour", 3600 },
	{ "24h", "24 hours", 24 * 3600 },
	{ "7d", "7 days", KEYS_OVERLAP_MAX },
};
const size_t keys_overlap_count = sizeof keys_overlaps / sizeof keys_overlaps[0];

const struct keys_overlap *keys_overlap_find(const char *name)
{
	for (size_t i = 0; name != NULL && i < keys_overlap_count; i++)
		if (strcmp(name, keys_overlaps[i].name) == 0)
			return &keys_overlaps[i];
	return NULL;
}

/* The "key.regenerate" line: what happened to the secret the key had. */
static const char *regenerate_summary(struct arena *arena, const struct store_key *before, int64_t now,
				      int64_t overlap_seconds)
{
	const char *ended = before->previous_secret_until > now
				    ? arena_printf(arena, "; the earlier previous secret …%s stopped at once",
						   before->previous_secret_hint)
				    : "";
	if (overlap_seconds == 0)
		return arena_printf(arena, "secret regenerated: the old one no longer works%s", ended);
	char until[TEXT_TIME_MAX];
	text_utc_time(until, now + overlap_seconds);
	return arena_printf(arena, "secret rolled with an overlap of %s: the old one (…%s) works until %s%s",
			    text_span(arena, overlap_seconds), before->secret_hint, until, ended);
}

enum store_status keys_regenerate(struct store *store, const struct config *config, struct arena *arena,
				  const struct audit_actor *actor, int64_t workspace_id, const char *key_id, int64_t now,
				  int64_t overlap_seconds, bool sealed, struct keys_secret *secret)
{
	memset(secret, 0, sizeof *secret);
	if (overlap_seconds < 0 || overlap_seconds > KEYS_OVERLAP_MAX)
		return STORE_ERROR;
	enum store_status status = store_transaction_begin(store);
	if (status != STORE_OK)
		return status;
	struct store_key before;
	status = load_changeable(store, arena, workspace_id, key_id, &before);
	if (status == STORE_OK) {
		unsigned char hash[TOKEN_HASH_BYTES];
		char hint[TOKEN_HINT_LENGTH + 1];
		snprintf(secret->key_id, sizeof secret->key_id, "%s", before.key_id);
		secret->row_id = before.id;
		token_generate(config->token_prefix, secret->key_id, secret->token);
		hash_token(config, secret->token, hash, hint);
		status = store_key_set_secret(store, workspace_id, key_id, hash, sizeof hash, hint, now,
					      overlap_seconds > 0 ? now + overlap_seconds : 0);
	}
	if (status == STORE_OK && sealed)
		status = seal(store, workspace_id, secret, now);
	if (status == STORE_OK)
		status = audit_record(store, workspace_id, actor, "key.regenerate", "key", key_id,
				      regenerate_summary(arena, &before, now, overlap_seconds), now);
	status = store_transaction_finish(store, status);
	if (status != STORE_OK)
		keys_secret_wipe(secret);
	return status;
}

enum store_status keys_end_overlap(struct store *store, struct arena *arena, const struct audit_actor *actor,
				   int64_t workspace_id, const char *key_id, int64_t now, bool *ended)
{
	*ended = false;
	enum store_status status = store_transaction_begin(store);
	if (status != STORE_OK)
		return status;
	struct store_key before;
	status = load_changeable(store, arena, workspace_id, key_id, &before);
	if (status == STORE_OK && before.previous_secret_until > now) {
		status = store_key_end_overlap(store, workspace_id, key_id, now);
		if (status == STORE_OK)
			status = audit_record(store, workspace_id, actor, "key.overlap_end", "key", key_id,
					      arena_printf(arena,
							   "overlap ended by hand: the previous secret …%s no longer works",
							   before.previous_secret_hint),
					      now);
		*ended = status == STORE_OK;
	}
	status = store_transaction_finish(store, status);
	if (status != STORE_OK)
		*ended = false;
	return status;
}

enum store_status keys_revoke(struct store *store, struct arena *arena, const struct audit_actor *actor,
			      int64_t workspace_id, const char *key_id, int64_t now)
{
	enum store_status status = store_transaction_begin(store);
	if (status != STORE_OK)
		return status;
	struct store_key before;
	status = load_changeable(store, arena, workspace_id, key_id, &before);
	if (status == STORE_OK)
		status = store_key_revoke(store, workspace_id, key_id, now);
	if (status == STORE_OK)
		status = audit_record(store, workspace_id, actor, "key.revoke", "key", key_id,
				      "revoked: the key no longer works, for good", now);
	return store_transaction_finish(store, status);
}

enum store_status keys_find_by_secret(struct store *store, const struct config *config, struct arena *arena,
				      int64_t workspace_id, const char *text, int64_t now, enum token_status *shape,
				      char key_id[TOKEN_KEY_ID_LENGTH + 1])
{
	key_id[0] = '\0';
	*shape = token_parse(config->token_prefix, text, strlen(text), NULL);
	if (*shape != TOKEN_OK)
		return STORE_NOT_FOUND;
	unsigned char hash[TOKEN_HASH_BYTES];
	token_hash(config->server_key, text, strlen(text), hash);
	struct store_key_auth key;
	enum store_status status = store_key_find_by_hash(store, arena, hash, sizeof hash, &key);
	sodium_memzero(hash, sizeof hash);
	if (status == STORE_OK && (key.workspace_id != workspace_id || (key.previous_secret && now >= key.previous_until)))
		status = STORE_NOT_FOUND;
	if (status == STORE_OK)
		snprintf(key_id, TOKEN_KEY_ID_LENGTH + 1, "%s", key.key_id);
	return status;
}

enum store_status keys_reveal_open(struct store *store, struct arena *arena, int64_t workspace_id, int64_t row_id,
				   const char *cookie, int64_t now, char token[TOKEN_MAX_LENGTH + 1])
{
	int64_t reveal_id = 0;
	unsigned char *sealed = NULL;
	size_t sealed_length = 0;
	enum store_status status = store_reveal_get(store, arena, workspace_id, row_id, now, KEYS_REVEAL_MAX_AGE,
						    &reveal_id, &sealed, &sealed_length);
	if (status != STORE_OK)
		return status;
	unsigned char key[crypto_secretbox_KEYBYTES];
	size_t key_length = 0;
	size_t overhead = crypto_secretbox_NONCEBYTES + crypto_secretbox_MACBYTES;
	bool opened = cookie != NULL && sealed_length > overhead && sealed_length - overhead <= TOKEN_MAX_LENGTH &&
		      sodium_base642bin(key, sizeof key, cookie, strlen(cookie), NULL, &key_length, NULL,
					sodium_base64_VARIANT_URLSAFE_NO_PADDING) == 0 &&
		      key_length == sizeof key &&
		      crypto_secretbox_open_easy((unsigned char *)token, sealed + crypto_secretbox_NONCEBYTES,
						 sealed_length - crypto_secretbox_NONCEBYTES, sealed, key) == 0;
	sodium_memzero(key, sizeof key);
	/* Only the holder of the cookie uses the reveal up; deleting decides who showed it first. */
	if (opened)
		status = store_reveal_delete(store, workspace_id, reveal_id);
	if (!opened || status != STORE_OK) {
		sodium_memzero(token, TOKEN_MAX_LENGTH + 1);
		return opened ? status : STORE_NOT_FOUND;
	}
	token[sealed_length - overhead] = '\0';
	return STORE_OK;
}
