/* fuzz_token.c: libFuzzer target for token_parse(): any bytes, several prefixes, tokens built from the input. */
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <sodium.h>

#include "domain/token.h"

#define FUZZ_ALPHABET "0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static const char *const fuzz_prefixes[] = { "kw_", "_", "acme_live_", "abcdefghijklmno_" };
#define FUZZ_PREFIX_COUNT (sizeof fuzz_prefixes / sizeof fuzz_prefixes[0])

static void fuzz_require(int condition, const char *what)
{
	if (!condition) {
		fprintf(stderr, "fuzz_token: %s\n", what);
		abort();
	}
}

static int fuzz_is_base62(unsigned char c)
{
	return c != '\0' && strchr(FUZZ_ALPHABET, c) != NULL;
}

/* CRC-32 one bit at a time, independent of zlib. */
static uint32_t fuzz_crc32(const char *text, size_t length)
{
	uint32_t crc = 0xffffffffu;
	for (size_t i = 0; i < length; i++) {
		crc ^= (unsigned char)text[i];
		for (int bit = 0; bit < 8; bit++)
			crc = (crc & 1) ? (crc >> 1) ^ 0xedb88320u : crc >> 1;
	}
	return crc ^ 0xffffffffu;
}

/* Parse `size` bytes under `prefix` and check that the answer agrees with the input. */
static void fuzz_parse_raw(const char *prefix, const char *text, size_t size)
{
	char key_id[TOKEN_KEY_ID_LENGTH + 1];
	memset(key_id, 0x5a, sizeof key_id);
	enum token_status status = token_parse(prefix, text, size, key_id);
	fuzz_require(status >= TOKEN_OK && status <= TOKEN_BAD_CHECKSUM, "status out of range");
	fuzz_require((status == TOKEN_EMPTY) == (size == 0), "EMPTY iff zero length");
	fuzz_require((status == TOKEN_TOO_LONG) == (size > TOKEN_MAX_LENGTH), "TOO_LONG iff over the limit");
	if (status != TOKEN_OK)
		return;
	size_t prefix_length = strlen(prefix);
	fuzz_require(size == prefix_length + TOKEN_KEY_ID_LENGTH + 1 + TOKEN_SECRET_LENGTH + TOKEN_CHECKSUM_LENGTH,
		     "accepted a token of the wrong length");
	fuzz_require(memcmp(text, prefix, prefix_length) == 0, "accepted the wrong prefix");
	fuzz_require(key_id[TOKEN_KEY_ID_LENGTH] == '\0', "key ID not terminated");
	fuzz_require(memcmp(key_id, text + prefix_length, TOKEN_KEY_ID_LENGTH) == 0, "key ID not copied");
	fuzz_require(memcmp(key_id, "key_", 4) == 0, "key ID without key_");
	for (size_t i = prefix_length + 4; i < size; i++)
		if (i != prefix_length + TOKEN_KEY_ID_LENGTH)
			fuzz_require(fuzz_is_base62((unsigned char)text[i]), "accepted a byte outside base62");
	uint32_t crc = fuzz_crc32(text, size - TOKEN_CHECKSUM_LENGTH);
	uint64_t written = 0;
	for (size_t i = size - TOKEN_CHECKSUM_LENGTH; i < size; i++)
		written = written * 62 + (uint64_t)(strchr(FUZZ_ALPHABET, text[i]) - FUZZ_ALPHABET);
	fuzz_require(written == crc, "accepted a wrong checksum");

	char copy[TOKEN_MAX_LENGTH + 1], hint[TOKEN_HINT_LENGTH + 1];
	memcpy(copy, text, size);
	copy[size] = '\0';
	token_hint(copy, hint);
	fuzz_require(strcmp(hint, copy + size - TOKEN_HINT_LENGTH) == 0, "hint is not the last characters");
	static const unsigned char server_key[TOKEN_SERVER_KEY_BYTES] = { 1, 2, 3 };
	unsigned char hash[TOKEN_HASH_BYTES];
	token_hash(server_key, copy, size, hash);
}

/*
 * Build a token whose characters come from the input, with the checksum computed here. In mapped
 * mode every byte is turned into a base62 character, and the parser must accept the token, then
 * refuse it once one byte is changed. In raw mode the bytes are used as they are, and the parser
 * must accept the token exactly when they all happen to be base62.
 */
static void fuzz_parse_built(const uint8_t *data, size_t size)
{
	if (size < 3)
		return;
	const char *prefix = fuzz_prefixes[data[0] % FUZZ_PREFIX_COUNT];
	size_t prefix_length = strlen(prefix);
	char token[TOKEN_MAX_LENGTH + 1];
	size_t at = 0;
	memcpy(token, prefix, prefix_length);
	at += prefix_length;
	memcpy(token + at, "key_", 4);
	at += 4;
	bool raw = (data[0] / FUZZ_PREFIX_COUNT) & 1;
	bool all_base62 = true;
	size_t source = 3;
	for (size_t i = 0; i < TOKEN_KEY_ID_RANDOM_LENGTH + 1 + TOKEN_SECRET_LENGTH; i++) {
		if (i == TOKEN_KEY_ID_RANDOM_LENGTH) {
			token[at++] = '_';
			continue;
		}
		uint8_t byte = source < size ? data[source++] : 0;
		token[at++] = raw ? (char)byte : FUZZ_ALPHABET[byte % 62];
		all_base62 = all_base62 && fuzz_is_base62(byte);
	}
	uint32_t crc = fuzz_crc32(token, at);
	for (size_t i = TOKEN_CHECKSUM_LENGTH; i > 0; i--) {
		token[at + i - 1] = FUZZ_ALPHABET[crc % 62];
		crc /= 62;
	}
	at += TOKEN_CHECKSUM_LENGTH;
	token[at] = '\0';

	char key_id[TOKEN_KEY_ID_LENGTH + 1];
	if (raw) {
		enum token_status status = token_parse(prefix, token, at, NULL);
		fuzz_require((status == TOKEN_OK) == all_base62, "raw token: OK exactly when all base62");
		fuzz_require(status == TOKEN_OK || status == TOKEN_MALFORMED, "raw token: right checksum, wrong status");
		return;
	}
	fuzz_require(token_parse(prefix, token, at, key_id) == TOKEN_OK, "refused a well-formed token");
	fuzz_require(memcmp(key_id, token + prefix_length, TOKEN_KEY_ID_LENGTH) == 0, "wrong key ID");

	size_t position = data[1] % at;
	uint8_t replacement = data[2];
	if ((unsigned char)token[position] == replacement)
		replacement ^= 1;
	token[position] = (char)replacement;
	fuzz_require(token_parse(prefix, token, at, NULL) != TOKEN_OK, "accepted a token with one byte changed");
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static int ready;
	if (!ready) {
		fuzz_require(sodium_init() >= 0, "sodium_init failed");
		ready = 1;
	}
	/* A copy of exactly `size` bytes, so ASan sees any read past the end. */
	char *text = malloc(size ? size : 1);
	fuzz_require(text != NULL, "out of memory");
	if (size)
		memcpy(text, data, size);
	for (size_t i = 0; i < FUZZ_PREFIX_COUNT; i++)
		fuzz_parse_raw(fuzz_prefixes[i], text, size);
	free(text);

	fuzz_parse_built(data, size);

	/* The input as a prefix. */
	char prefix[64];
	size_t prefix_length = size < sizeof prefix - 1 ? size : sizeof prefix - 1;
	memcpy(prefix, data, prefix_length);
	prefix[prefix_length] = '\0';
	if (token_prefix_valid(prefix)) {
		size_t length = strlen(prefix);
		fuzz_require(length >= 1 && length <= TOKEN_PREFIX_MAX && prefix[length - 1] == '_', "bad prefix accepted");
		fuzz_require(strspn(prefix, "abcdefghijklmnopqrstuvwxyz0123456789_") == length, "bad prefix accepted");
		fuzz_parse_raw(prefix, (const char *)data, size);
	}
	return 0;
}
