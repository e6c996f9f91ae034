/* idempotency.c: recorded answers of the management API's POSTs (see idempotency.h). */
#include "domain/idempotency.h"

#include <sodium.h>
#include <stdlib.h>
#include <string.h>

#include "core/alloc.h"
#include "core/config.h"

bool idempotency_key_valid(const char *value)
{
	size_t length = value ? strlen(value) : 0;
	if (length == 0 || length > IDEMPOTENCY_KEY_MAX)
		return false;
	for (size_t i = 0; i < length; i++)
		if (value[i] < 0x20 || value[i] > 0x7e)
			return false;
	return true;
}

/* BLAKE2b keyed with the server key of `label`, the calling key's row id and the header's value. */
static void derive(const struct config *config, const char *label, int64_t api_key_row_id, const char *value,
		   unsigned char *out, size_t out_length)
{
	crypto_generichash_state state;
	unsigned char row[8];
	for (int i = 0; i < 8; i++)
		row[i] = (unsigned char)((uint64_t)api_key_row_id >> (8 * i));
	crypto_generichash_init(&state, config->server_key, sizeof config->server_key, out_length);
	crypto_generichash_update(&state, (const unsigned char *)label, strlen(label) + 1);
	crypto_generichash_update(&state, row, sizeof row);
	crypto_generichash_update(&state, (const unsigned char *)value, strlen(value));
	crypto_generichash_final(&state, out, out_length);
}

/* The request's fingerprint: method, path and body, each ended so that no two requests share one. */
static void request_hash(const char *method, const char *path, const char *body, size_t body_length,
			 unsigned char out[IDEMPOTENCY_HASH_BYTES])
{
	crypto_generichash_state state;
	crypto_generichash_init(&state, NULL, 0, IDEMPOTENCY_HASH_BYTES);
	crypto_generichash_update(&state, (const unsigned char *)method, strlen(method) + 1);
	crypto_generichash_update(&state, (const unsigned char *)path, strlen(path) + 1);
	if (body_length > 0)
		crypto_generichash_update(&state, (const unsigned char *)body, body_length);
	crypto_generichash_final(&state, out, IDEMPOTENCY_HASH_BYTES);
}

enum store_status idempotency_begin(struct store *store, const struct config *config, struct arena *arena,
				    int64_t workspace_id, int64_t api_key_row_id, const char *value, const char *method,
				    const char *path, const char *body, size_t body_length, int64_t now,
				    struct idempotency *state, enum idempotency_outcome *outcome, int *status,
				    const char **answer)
{
	unsigned char key_hash[IDEMPOTENCY_HASH_BYTES];
	unsigned char fingerprint[IDEMPOTENCY_HASH_BYTES];
	derive(config, "keyward idempotency key", api_key_row_id, value, key_hash, sizeof key_hash);
	derive(config, "keyward idempotency answer", api_key_row_id, value, state->seal_key, sizeof state->seal_key);
	request_hash(method, path, body, body_length, fingerprint);
	*outcome = IDEMPOTENCY_NEW;
	*status = 0;
	*answer = NULL;
	struct store_idempotency_key key = { workspace_id, api_key_row_id, key_hash, sizeof key_hash };
	bool claimed = false;
	enum store_status result = store_idempotency_claim(store, &key, fingerprint, sizeof fingerprint, now,
							   IDEMPOTENCY_MAX_AGE, &claimed, &state->row_id);
	if (result != STORE_OK || claimed)
		return result;

	struct store_idempotency found;
	result = store_idempotency_get(store, arena, &key, &found);
	if (result != STORE_OK)
		return result == STORE_NOT_FOUND ? STORE_ERROR : result; /* claimed by no one, yet taken: not expected */
	if (found.request_hash_length != sizeof fingerprint ||
	    sodium_memcmp(found.request_hash, fingerprint, sizeof fingerprint) != 0) {
		*outcome = IDEMPOTENCY_MISMATCH;
		return STORE_OK;
	}
	size_t nonce = crypto_secretbox_NONCEBYTES, mac = crypto_secretbox_MACBYTES;
	if (found.answer_length < nonce + mac)
		return STORE_ERROR;
	size_t length = found.answer_length - nonce - mac;
	char *opened = arena_alloc(arena, length + 1);
	/* A key that opens nothing: the row was written with another server key (a restored copy). */
	if (crypto_secretbox_open_easy((unsigned char *)opened, found.answer + nonce, found.answer_length - nonce,
				       found.answer, state->seal_key) != 0)
		return STORE_ERROR;
	sodium_memzero(state->seal_key, sizeof state->seal_key);
	opened[length] = '\0';
	*outcome = IDEMPOTENCY_REPLAY;
	*status = (int)found.status;
	*answer = opened;
	return STORE_OK;
}

enum store_status idempotency_finish(struct store *store, struct idempotency *state, int status, const char *answer,
				     size_t length)
{
	size_t nonce = crypto_secretbox_NONCEBYTES;
	size_t sealed_length = nonce + crypto_secretbox_MACBYTES + length;
	unsigned char *sealed = xmalloc(sealed_length);
	randombytes_buf(sealed, nonce);
	crypto_secretbox_easy(sealed + nonce, (const unsigned char *)answer, length, sealed, state->seal_key);
	sodium_memzero(state->seal_key, sizeof state->seal_key);
	enum store_status result = store_idempotency_finish(store, state->row_id, status, sealed, sealed_length);
	free(sealed);
	return result;
}
