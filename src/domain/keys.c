/* keys.c: key creation, regeneration, and the sealed one-time showing of a new secret. */
#include "domain/keys.h"

#include <sodium.h>
#include <string.h>

#include "core/config.h"

_Static_assert(CONFIG_TOKEN_PREFIX_MAX == TOKEN_PREFIX_MAX, "config holds a token prefix");
_Static_assert(CONFIG_SERVER_KEY_BYTES == TOKEN_SERVER_KEY_BYTES, "config holds the token hashing key");

#define KEYS_CREATE_ATTEMPTS 4 /* key ID collisions are astronomically rare; retry a few times */

static void hash_token(const struct config *config, const char *token, unsigned char hash[TOKEN_HASH_BYTES],
		       char hint[TOKEN_HINT_LENGTH + 1])
{
	token_hash(config->server_key, token, strlen(token), hash);
	token_hint(token, hint);
}

enum store_status keys_create(struct store *store, const struct config *config, int64_t workspace_id,
			      const struct store_key_fields *fields, int64_t now, char key_id[TOKEN_KEY_ID_LENGTH + 1],
			      char token[TOKEN_MAX_LENGTH + 1], int64_t *row_id)
{
	enum store_status status = STORE_CONFLICT;
	for (int attempt = 0; attempt < KEYS_CREATE_ATTEMPTS && status == STORE_CONFLICT; attempt++) {
		unsigned char hash[TOKEN_HASH_BYTES];
		char hint[TOKEN_HINT_LENGTH + 1];
		token_generate_key_id(key_id);
		token_generate(config->token_prefix, key_id, token);
		hash_token(config, token, hash, hint);
		status = store_key_insert(store, workspace_id, key_id, hash, sizeof hash, hint, fields, now,
					  config->key_limit, row_id);
	}
	if (status != STORE_OK)
		sodium_memzero(token, TOKEN_MAX_LENGTH + 1);
	return status;
}

enum store_status keys_regenerate(struct store *store, const struct config *config, int64_t workspace_id,
				  const char *key_id, int64_t now, char token[TOKEN_MAX_LENGTH + 1])
{
	unsigned char hash[TOKEN_HASH_BYTES];
	char hint[TOKEN_HINT_LENGTH + 1];
	token_generate(config->token_prefix, key_id, token);
	hash_token(config, token, hash, hint);
	enum store_status status = store_key_set_secret(store, workspace_id, key_id, hash, sizeof hash, hint, now);
	if (status != STORE_OK)
		sodium_memzero(token, TOKEN_MAX_LENGTH + 1);
	return status;
}

enum store_status keys_reveal_seal(struct store *store, int64_t workspace_id, int64_t row_id, const char *token,
				   int64_t now, char cookie[KEYS_REVEAL_COOKIE_LENGTH])
{
	unsigned char key[crypto_secretbox_KEYBYTES];
	size_t length = strlen(token);
	unsigned char sealed[crypto_secretbox_NONCEBYTES + crypto_secretbox_MACBYTES + TOKEN_MAX_LENGTH];
	crypto_secretbox_keygen(key);
	randombytes_buf(sealed, crypto_secretbox_NONCEBYTES);
	crypto_secretbox_easy(sealed + crypto_secretbox_NONCEBYTES, (const unsigned char *)token, length, sealed, key);
	sodium_bin2base64(cookie, KEYS_REVEAL_COOKIE_LENGTH, key, sizeof key, sodium_base64_VARIANT_URLSAFE_NO_PADDING);
	sodium_memzero(key, sizeof key);
	return store_reveal_put(store, workspace_id, row_id, sealed,
				crypto_secretbox_NONCEBYTES + crypto_secretbox_MACBYTES + length, now,
				KEYS_REVEAL_MAX_AGE);
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
