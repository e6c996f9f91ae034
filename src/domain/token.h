/*
 * token.h: API key tokens: generation, checksum, parsing, keyed hashing.
 *
 * A token reads  <prefix><key_id>_<secret><checksum>
 *   prefix    "kw_" by default (configurable; 1 to 16 characters of [a-z0-9_], ending in "_")
 *   key_id    "key_" + 16 base62 characters: the public key ID, safe to log and show
 *   secret    43 base62 characters, each drawn uniformly with randombytes_uniform(62): 256 bits
 *   checksum  6 base62 characters: CRC-32 (zlib) of everything before it, as a big-endian base62
 *             number left-padded with '0'
 * e.g. kw_key_4fT9aZ0pQ2mX8bYc_<43 secret chars><6 checksum chars>  (73 characters with "kw_")
 * base62 alphabet: 0-9 A-Z a-z.
 * A mistyped or truncated token fails the checksum and is refused without a database lookup.
 */
#ifndef KEYWARD_DOMAIN_TOKEN_H
#define KEYWARD_DOMAIN_TOKEN_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define TOKEN_PREFIX_MAX 16
#define TOKEN_KEY_ID_RANDOM_LENGTH 16
#define TOKEN_KEY_ID_LENGTH (4 + TOKEN_KEY_ID_RANDOM_LENGTH) /* "key_" + 16 */
#define TOKEN_SECRET_LENGTH 43
#define TOKEN_CHECKSUM_LENGTH 6
#define TOKEN_MAX_LENGTH (TOKEN_PREFIX_MAX + TOKEN_KEY_ID_LENGTH + 1 + TOKEN_SECRET_LENGTH + TOKEN_CHECKSUM_LENGTH)
#define TOKEN_HASH_BYTES 32     /* crypto_generichash output */
#define TOKEN_SERVER_KEY_BYTES 32 /* crypto_generichash key */
#define TOKEN_HINT_LENGTH 4

/* Why a token text was refused. TOKEN_OK means the shape and checksum are right. */
enum token_status {
	TOKEN_OK,
	TOKEN_EMPTY,        /* zero length */
	TOKEN_TOO_LONG,     /* longer than TOKEN_MAX_LENGTH */
	TOKEN_MALFORMED,    /* wrong prefix, wrong length, or a character outside the alphabet */
	TOKEN_BAD_CHECKSUM, /* right shape, checksum does not match */
};

/* True when `prefix` is a usable token prefix (see above). */
bool token_prefix_valid(const char *prefix);

/*
 * Make a new key ID into key_id[TOKEN_KEY_ID_LENGTH + 1] (NUL-terminated).
 * Needs sodium_init() to have succeeded.
 */
void token_generate_key_id(char key_id[TOKEN_KEY_ID_LENGTH + 1]);

/*
 * Make a full token for `key_id` into token[TOKEN_MAX_LENGTH + 1] (NUL-terminated), with fresh
 * secret randomness. `prefix` must satisfy token_prefix_valid() and `key_id` must be shaped like
 * one from token_generate_key_id(); otherwise it aborts. The caller wipes the token
 * with sodium_memzero() once it has been shown and hashed.
 */
void token_generate(const char *prefix, const char *key_id, char token[TOKEN_MAX_LENGTH + 1]);

/*
 * Check the shape and checksum of `length` bytes of `text` (not NUL-terminated; any bytes).
 * On TOKEN_OK and when key_id is not NULL, copies the key ID into key_id[TOKEN_KEY_ID_LENGTH + 1].
 * An invalid `prefix` makes every non-empty text TOKEN_MALFORMED (or TOKEN_TOO_LONG).
 * Touches no database; constant work per byte; safe on any input.
 */
enum token_status token_parse(const char *prefix, const char *text, size_t length,
			      char key_id[TOKEN_KEY_ID_LENGTH + 1]);

/*
 * True when NUL-terminated `text` holds a key ID ("key_" and its 16 characters) followed by '_'
 * and at least one more base62 character: a whole token or a piece of its secret, whatever the
 * prefix, which must never be put in an address, a log or an audit line. A key ID alone is not.
 */
bool token_text_holds_secret(const char *text);

/* The keyed hash stored instead of the token: crypto_generichash(token, server_key). */
void token_hash(const unsigned char server_key[TOKEN_SERVER_KEY_BYTES], const char *token, size_t length,
		unsigned char hash[TOKEN_HASH_BYTES]);

/* The last TOKEN_HINT_LENGTH characters of a token, shown later to help recognise it. */
void token_hint(const char *token, char hint[TOKEN_HINT_LENGTH + 1]);

/* A short human sentence for a status, e.g. "The key's checksum does not match (mistyped or truncated?)". */
const char *token_status_message(enum token_status status);

#endif
