/* token.c: API key tokens: random key IDs and secrets, the CRC-32 checksum, parsing and keyed hashing. */
#include "domain/token.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <sodium.h>
#include <zlib.h>

#define TOKEN_KEY_ID_TAG "key_"
#define TOKEN_KEY_ID_TAG_LENGTH 4
#define TOKEN_BASE 62

/* Length of everything after the prefix: key ID, '_', secret, checksum. */
#define TOKEN_BODY_LENGTH (TOKEN_KEY_ID_LENGTH + 1 + TOKEN_SECRET_LENGTH + TOKEN_CHECKSUM_LENGTH)

static const char token_alphabet[TOKEN_BASE + 1] =
	"0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz";

static bool token_is_base62(unsigned char c)
{
	return (c >= '0' && c <= '9') || (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z');
}

/* True when `length` bytes at `text` are all base62 characters. Looks at every byte. */
static bool token_all_base62(const char *text, size_t length)
{
	bool ok = true;
	for (size_t i = 0; i < length; i++)
		ok &= token_is_base62((unsigned char)text[i]);
	return ok;
}

/* Fill `length` characters of `out` with base62 characters drawn uniformly from libsodium. */
static void token_fill_random(char *out, size_t length)
{
	for (size_t i = 0; i < length; i++)
		out[i] = token_alphabet[randombytes_uniform(TOKEN_BASE)];
}

/* Write the CRC-32 of `length` bytes at `text` as exactly TOKEN_CHECKSUM_LENGTH base62 digits (no NUL). */
static void token_checksum(const char *text, size_t length, char out[TOKEN_CHECKSUM_LENGTH])
{
	uint32_t value = (uint32_t)crc32(0L, (const Bytef *)text, (uInt)length);
	for (size_t i = TOKEN_CHECKSUM_LENGTH; i > 0; i--) {
		out[i - 1] = token_alphabet[value % TOKEN_BASE];
		value /= TOKEN_BASE;
	}
}

/* A programmer error: the caller broke a documented precondition. Never returns. */
static void token_contract_broken(const char *what)
{
	fprintf(stderr, "keyward: token: %s\n", what);
	abort();
}

bool token_prefix_valid(const char *prefix)
{
	if (prefix == NULL)
		return false;
	size_t length = strnlen(prefix, TOKEN_PREFIX_MAX + 1);
	if (length == 0 || length > TOKEN_PREFIX_MAX || prefix[length - 1] != '_')
		return false;
	for (size_t i = 0; i < length; i++) {
		char c = prefix[i];
		if (!((c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '_'))
			return false;
	}
	return true;
}

void token_generate_key_id(char key_id[TOKEN_KEY_ID_LENGTH + 1])
{
	memcpy(key_id, TOKEN_KEY_ID_TAG, TOKEN_KEY_ID_TAG_LENGTH);
	token_fill_random(key_id + TOKEN_KEY_ID_TAG_LENGTH, TOKEN_KEY_ID_RANDOM_LENGTH);
	key_id[TOKEN_KEY_ID_LENGTH] = '\0';
}

/* True when `key_id` is NUL-terminated "key_" + TOKEN_KEY_ID_RANDOM_LENGTH base62 characters. */
static bool token_key_id_valid(const char *key_id)
{
	return key_id != NULL && strnlen(key_id, TOKEN_KEY_ID_LENGTH + 1) == TOKEN_KEY_ID_LENGTH &&
	       memcmp(key_id, TOKEN_KEY_ID_TAG, TOKEN_KEY_ID_TAG_LENGTH) == 0 &&
	       token_all_base62(key_id + TOKEN_KEY_ID_TAG_LENGTH, TOKEN_KEY_ID_RANDOM_LENGTH);
}

/*
 * Aborts when `prefix` is not valid or `key_id` is not shaped like one from token_generate_key_id():
 * either would make a token that token_parse() refuses.
 */
void token_generate(const char *prefix, const char *key_id, char token[TOKEN_MAX_LENGTH + 1])
{
	if (!token_prefix_valid(prefix))
		token_contract_broken("token_generate() called with an invalid prefix");
	if (!token_key_id_valid(key_id))
		token_contract_broken("token_generate() called with an invalid key ID");
	size_t prefix_length = strlen(prefix);
	char *cursor = token;
	memcpy(cursor, prefix, prefix_length);
	cursor += prefix_length;
	memcpy(cursor, key_id, TOKEN_KEY_ID_LENGTH);
	cursor += TOKEN_KEY_ID_LENGTH;
	*cursor++ = '_';
	token_fill_random(cursor, TOKEN_SECRET_LENGTH);
	cursor += TOKEN_SECRET_LENGTH;
	token_checksum(token, (size_t)(cursor - token), cursor);
	cursor += TOKEN_CHECKSUM_LENGTH;
	*cursor = '\0';
}

/*
 * Order of checks: empty, too long, then shape (prefix, length, "key_", '_', alphabet), then the
 * checksum, so a status names the first thing wrong. An invalid `prefix` makes every text malformed.
 * The checksum is recomputed and compared as text, so only the one canonical encoding is accepted.
 */
enum token_status token_parse(const char *prefix, const char *text, size_t length,
			      char key_id[TOKEN_KEY_ID_LENGTH + 1])
{
	if (length == 0)
		return TOKEN_EMPTY;
	if (length > TOKEN_MAX_LENGTH)
		return TOKEN_TOO_LONG;
	if (!token_prefix_valid(prefix))
		return TOKEN_MALFORMED;
	size_t prefix_length = strlen(prefix);
	if (length != prefix_length + TOKEN_BODY_LENGTH || memcmp(text, prefix, prefix_length) != 0)
		return TOKEN_MALFORMED;

	const char *id = text + prefix_length;
	const char *separator = id + TOKEN_KEY_ID_LENGTH;
	const char *secret = separator + 1;
	const char *checksum = secret + TOKEN_SECRET_LENGTH;
	if (memcmp(id, TOKEN_KEY_ID_TAG, TOKEN_KEY_ID_TAG_LENGTH) != 0 || *separator != '_' ||
	    !token_all_base62(id + TOKEN_KEY_ID_TAG_LENGTH, TOKEN_KEY_ID_RANDOM_LENGTH) ||
	    !token_all_base62(secret, TOKEN_SECRET_LENGTH) || !token_all_base62(checksum, TOKEN_CHECKSUM_LENGTH))
		return TOKEN_MALFORMED;

	char expected[TOKEN_CHECKSUM_LENGTH];
	token_checksum(text, (size_t)(checksum - text), expected);
	if (memcmp(expected, checksum, TOKEN_CHECKSUM_LENGTH) != 0)
		return TOKEN_BAD_CHECKSUM;

	if (key_id != NULL) {
		memcpy(key_id, id, TOKEN_KEY_ID_LENGTH);
		key_id[TOKEN_KEY_ID_LENGTH] = '\0';
	}
	return TOKEN_OK;
}

bool token_text_holds_secret(const char *text)
{
	for (const char *at = strstr(text, TOKEN_KEY_ID_TAG); at != NULL; at = strstr(at + 1, TOKEN_KEY_ID_TAG)) {
		const char *after = at + TOKEN_KEY_ID_LENGTH;
		if (strnlen(at, TOKEN_KEY_ID_LENGTH + 2) == TOKEN_KEY_ID_LENGTH + 2 &&
		    token_all_base62(at + TOKEN_KEY_ID_TAG_LENGTH, TOKEN_KEY_ID_RANDOM_LENGTH) && after[0] == '_' &&
		    token_is_base62((unsigned char)after[1]))
			return true;
	}
	return false;
}

void token_hash(const unsigned char server_key[TOKEN_SERVER_KEY_BYTES], const char *token, size_t length,
		unsigned char hash[TOKEN_HASH_BYTES])
{
	/* Cannot fail with these fixed, in-range output and key lengths. */
	crypto_generichash(hash, TOKEN_HASH_BYTES, (const unsigned char *)token, length, server_key,
			   TOKEN_SERVER_KEY_BYTES);
}

/* A token shorter than TOKEN_HINT_LENGTH gives itself whole. */
void token_hint(const char *token, char hint[TOKEN_HINT_LENGTH + 1])
{
	size_t length = strlen(token);
	size_t start = length > TOKEN_HINT_LENGTH ? length - TOKEN_HINT_LENGTH : 0;
	memcpy(hint, token + start, length - start);
	hint[length - start] = '\0';
}

const char *token_status_message(enum token_status status)
{
	switch (status) {
	case TOKEN_OK:
		return "The key is well formed.";
	case TOKEN_EMPTY:
		return "No API key was given.";
	case TOKEN_TOO_LONG:
		return "The key is too long to be an API key.";
	case TOKEN_MALFORMED:
		return "The key does not have the shape of an API key for this server.";
	case TOKEN_BAD_CHECKSUM:
		return "The key's checksum does not match (mistyped or truncated?).";
	}
	return "The key was refused.";
}
