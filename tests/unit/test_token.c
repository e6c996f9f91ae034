/* test_token.c: unit tests for API key tokens: shape, checksum, refusal of every small mistake, hashing. */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <sodium.h>
#include <zlib.h>

#include "domain/token.h"

#define TEST_ALPHABET "0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz"
#define TEST_DEFAULT_LENGTH 73 /* "kw_" + 20 + 1 + 43 + 6 */

/* A token worked out by hand (checksum from Python's zlib.crc32, 0xc410c0ae, in base62). */
static const char known_token[] =
	"kw_key_0123456789ABCDEF_abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQ3ac7ag";

/* CRC-32 (IEEE, reflected polynomial 0xEDB88320) one bit at a time: independent of zlib. */
static uint32_t test_crc32_bitwise(const char *text, size_t length)
{
	uint32_t crc = 0xffffffffu;
	for (size_t i = 0; i < length; i++) {
		crc ^= (unsigned char)text[i];
		for (int bit = 0; bit < 8; bit++)
			crc = (crc & 1) ? (crc >> 1) ^ 0xedb88320u : crc >> 1;
	}
	return crc ^ 0xffffffffu;
}

/* The checksum encoding spelled out: digit i (from the left) is value / 62^(5-i) mod 62. */
static void test_encode_checksum(uint32_t value, char out[TOKEN_CHECKSUM_LENGTH + 1])
{
	static const uint64_t powers[TOKEN_CHECKSUM_LENGTH] = {
		916132832ull, /* 62^5 */
		14776336ull,  /* 62^4 */
		238328ull,    /* 62^3 */
		3844ull,      /* 62^2 */
		62ull,        /* 62^1 */
		1ull,         /* 62^0 */
	};
	for (int i = 0; i < TOKEN_CHECKSUM_LENGTH; i++)
		out[i] = TEST_ALPHABET[(value / powers[i]) % 62];
	out[TOKEN_CHECKSUM_LENGTH] = '\0';
}

static int test_is_base62(int c)
{
	return c != '\0' && strchr(TEST_ALPHABET, c) != NULL;
}

/* Make a fresh token with prefix "kw_" (or `prefix`) and return its length. */
static size_t test_new_token(const char *prefix, char token[TOKEN_MAX_LENGTH + 1], char key_id[TOKEN_KEY_ID_LENGTH + 1])
{
	token_generate_key_id(key_id);
	token_generate(prefix, key_id, token);
	return strlen(token);
}

static void test_prefix_validity(void **state)
{
	(void)state;
	assert_true(token_prefix_valid("kw_"));
	assert_true(token_prefix_valid("_"));
	assert_true(token_prefix_valid("acme_live_"));
	assert_true(token_prefix_valid("a1_b2_"));
	assert_true(token_prefix_valid("abcdefghijklmno_")); /* 16 characters */
	assert_false(token_prefix_valid("abcdefghijklmnop_")); /* 17 */
	assert_false(token_prefix_valid(""));
	assert_false(token_prefix_valid("kw"));
	assert_false(token_prefix_valid("KW_"));
	assert_false(token_prefix_valid("k-w_"));
	assert_false(token_prefix_valid("k w_"));
	assert_false(token_prefix_valid("kw_\n"));
	assert_false(token_prefix_valid("\xc3\xa9_"));
	assert_false(token_prefix_valid(NULL));
}

static void test_generated_tokens_parse(void **state)
{
	(void)state;
	for (int round = 0; round < 2000; round++) {
		char token[TOKEN_MAX_LENGTH + 1], key_id[TOKEN_KEY_ID_LENGTH + 1], parsed_id[TOKEN_KEY_ID_LENGTH + 1];
		size_t length = test_new_token("kw_", token, key_id);
		assert_int_equal(length, TEST_DEFAULT_LENGTH);
		assert_memory_equal(token, "kw_key_", 7);
		assert_memory_equal(token + 3, key_id, TOKEN_KEY_ID_LENGTH);
		assert_int_equal(token[3 + TOKEN_KEY_ID_LENGTH], '_');
		for (size_t i = 3 + TOKEN_KEY_ID_LENGTH + 1; i < length; i++)
			assert_true(test_is_base62(token[i]));
		/* The checksum is the CRC-32 of everything before it, computed here without zlib. */
		char checksum[TOKEN_CHECKSUM_LENGTH + 1];
		test_encode_checksum(test_crc32_bitwise(token, length - TOKEN_CHECKSUM_LENGTH), checksum);
		assert_string_equal(token + length - TOKEN_CHECKSUM_LENGTH, checksum);

		memset(parsed_id, 'x', sizeof parsed_id);
		assert_int_equal(token_parse("kw_", token, length, parsed_id), TOKEN_OK);
		assert_string_equal(parsed_id, key_id);
		assert_int_equal(token_parse("kw_", token, length, NULL), TOKEN_OK);
	}
}

/* Status expected when the byte at `position` of a "kw_" token becomes `byte`. */
static enum token_status test_expected_after_substitution(size_t position, int byte)
{
	size_t separator = 3 + TOKEN_KEY_ID_LENGTH;
	if (position < 3 + 4 || position == separator)
		return TOKEN_MALFORMED; /* prefix, "key_" or the '_' between key ID and secret */
	return test_is_base62(byte) ? TOKEN_BAD_CHECKSUM : TOKEN_MALFORMED;
}

static void test_every_substitution_fails(void **state)
{
	(void)state;
	for (int round = 0; round < 4; round++) {
		char token[TOKEN_MAX_LENGTH + 1], key_id[TOKEN_KEY_ID_LENGTH + 1];
		size_t length = test_new_token("kw_", token, key_id);
		for (size_t position = 0; position < length; position++) {
			for (int byte = 0; byte < 256; byte++) {
				if (byte == (unsigned char)token[position])
					continue;
				char changed[TOKEN_MAX_LENGTH + 1];
				memcpy(changed, token, length + 1);
				changed[position] = (char)byte;
				enum token_status status = token_parse("kw_", changed, length, NULL);
				if (status != test_expected_after_substitution(position, byte))
					fail_msg("position %zu byte 0x%02x: status %d", position, byte, (int)status);
			}
		}
	}
}

static void test_truncation_and_other_slips_fail(void **state)
{
	(void)state;
	char token[TOKEN_MAX_LENGTH + 1], key_id[TOKEN_KEY_ID_LENGTH + 1];
	size_t length = test_new_token("kw_", token, key_id);

	assert_int_equal(token_parse("kw_", token, 0, NULL), TOKEN_EMPTY);
	for (size_t cut = 1; cut < length; cut++) {
		assert_int_equal(token_parse("kw_", token, cut, NULL), TOKEN_MALFORMED);           /* tail cut */
		assert_int_not_equal(token_parse("kw_", token + cut, length - cut, NULL), TOKEN_OK); /* head cut */
	}
	/* One character dropped anywhere. */
	for (size_t position = 0; position < length; position++) {
		char shorter[TOKEN_MAX_LENGTH + 1];
		memcpy(shorter, token, position);
		memcpy(shorter + position, token + position + 1, length - position - 1);
		assert_int_equal(token_parse("kw_", shorter, length - 1, NULL), TOKEN_MALFORMED);
	}
	/* One character added anywhere. */
	for (size_t position = 0; position <= length; position++) {
		char longer[TOKEN_MAX_LENGTH + 2];
		memcpy(longer, token, position);
		longer[position] = 'a';
		memcpy(longer + position + 1, token + position, length - position);
		assert_int_equal(token_parse("kw_", longer, length + 1, NULL), TOKEN_MALFORMED);
	}
	/* Two neighbours swapped: a burst of at most 16 bits, which CRC-32 always catches. */
	for (size_t position = 0; position + 1 < length; position++) {
		if (token[position] == token[position + 1])
			continue;
		char swapped[TOKEN_MAX_LENGTH + 1];
		memcpy(swapped, token, length + 1);
		swapped[position] = token[position + 1];
		swapped[position + 1] = token[position];
		assert_int_not_equal(token_parse("kw_", swapped, length, NULL), TOKEN_OK);
	}
	/* A trailing newline or space, as a sloppy header might carry. */
	char padded[TOKEN_MAX_LENGTH + 2];
	memcpy(padded, token, length);
	padded[length] = '\n';
	assert_int_equal(token_parse("kw_", padded, length + 1, NULL), TOKEN_MALFORMED);
}

static void test_lengths(void **state)
{
	(void)state;
	char big[4096];
	memset(big, 'a', sizeof big);
	assert_int_equal(token_parse("kw_", "", 0, NULL), TOKEN_EMPTY);
	assert_int_equal(token_parse("kw_", big, TOKEN_MAX_LENGTH + 1, NULL), TOKEN_TOO_LONG);
	assert_int_equal(token_parse("kw_", big, sizeof big, NULL), TOKEN_TOO_LONG);
	assert_int_equal(token_parse("kw_", big, TOKEN_MAX_LENGTH, NULL), TOKEN_MALFORMED);
	assert_int_equal(token_parse("kw_", big, 1, NULL), TOKEN_MALFORMED);
	/* The longest prefix gives the longest token. */
	char token[TOKEN_MAX_LENGTH + 1], key_id[TOKEN_KEY_ID_LENGTH + 1];
	assert_int_equal(test_new_token("abcdefghijklmno_", token, key_id), TOKEN_MAX_LENGTH);
	assert_int_equal(token_parse("abcdefghijklmno_", token, TOKEN_MAX_LENGTH, NULL), TOKEN_OK);
}

static void test_wrong_prefix_fails(void **state)
{
	(void)state;
	char token[TOKEN_MAX_LENGTH + 1], key_id[TOKEN_KEY_ID_LENGTH + 1];
	size_t length = test_new_token("kw_", token, key_id);
	assert_int_equal(token_parse("kx_", token, length, NULL), TOKEN_MALFORMED);
	assert_int_equal(token_parse("kw2_", token, length, NULL), TOKEN_MALFORMED);
	assert_int_equal(token_parse("k_", token, length, NULL), TOKEN_MALFORMED);
	assert_int_equal(token_parse("_", token, length, NULL), TOKEN_MALFORMED);
	assert_int_equal(token_parse("kw_key_", token, length, NULL), TOKEN_MALFORMED);
	/* A prefix that is not valid itself matches nothing, even the text that starts with it. */
	assert_int_equal(token_parse("kw", token, length, NULL), TOKEN_MALFORMED);
	assert_int_equal(token_parse("", token, length, NULL), TOKEN_MALFORMED);
	assert_int_equal(token_parse(NULL, token, length, NULL), TOKEN_MALFORMED);
	/* Uppercase prefix in the text. */
	token[0] = 'K';
	assert_int_equal(token_parse("kw_", token, length, NULL), TOKEN_MALFORMED);
}

static void test_custom_prefix(void **state)
{
	(void)state;
	char token[TOKEN_MAX_LENGTH + 1], key_id[TOKEN_KEY_ID_LENGTH + 1], parsed_id[TOKEN_KEY_ID_LENGTH + 1];
	size_t length = test_new_token("acme_live_", token, key_id);
	assert_int_equal(length, 10 + TOKEN_KEY_ID_LENGTH + 1 + TOKEN_SECRET_LENGTH + TOKEN_CHECKSUM_LENGTH);
	assert_memory_equal(token, "acme_live_key_", 14);
	assert_int_equal(token_parse("acme_live_", token, length, parsed_id), TOKEN_OK);
	assert_string_equal(parsed_id, key_id);
	assert_int_equal(token_parse("kw_", token, length, NULL), TOKEN_MALFORMED);
	assert_int_equal(token_parse("acme_test_", token, length, NULL), TOKEN_MALFORMED);

	/* A prefix of a single '_'. */
	length = test_new_token("_", token, key_id);
	assert_int_equal(length, TEST_DEFAULT_LENGTH - 2);
	assert_int_equal(token_parse("_", token, length, NULL), TOKEN_OK);

	/* Hand-made: checksum 0x7d775df6 = "2ISG74" (from Python's zlib.crc32). */
	static const char known[] = "acme_live_key_zzzzzzzzzzzzzzzz_0000000000000000000000000000000000000000000" "2ISG74";
	assert_int_equal(token_parse("acme_live_", known, strlen(known), parsed_id), TOKEN_OK);
	assert_string_equal(parsed_id, "key_zzzzzzzzzzzzzzzz");
}

static void test_known_token(void **state)
{
	(void)state;
	size_t length = strlen(known_token);
	assert_int_equal(length, TEST_DEFAULT_LENGTH);

	/* The reference CRC matches the standard check value, and zlib agrees with it. */
	assert_int_equal(test_crc32_bitwise("123456789", 9), 0xcbf43926u);
	size_t body = length - TOKEN_CHECKSUM_LENGTH;
	uint32_t crc = test_crc32_bitwise(known_token, body);
	assert_int_equal(crc, 0xc410c0aeu);
	assert_int_equal((uint32_t)crc32(0L, (const Bytef *)known_token, (uInt)body), crc);

	char checksum[TOKEN_CHECKSUM_LENGTH + 1];
	test_encode_checksum(crc, checksum);
	assert_string_equal(checksum, "3ac7ag");
	test_encode_checksum(0, checksum);
	assert_string_equal(checksum, "000000");
	test_encode_checksum(0xffffffffu, checksum);
	assert_string_equal(checksum, "4gfFC3");

	char key_id[TOKEN_KEY_ID_LENGTH + 1];
	assert_int_equal(token_parse("kw_", known_token, length, key_id), TOKEN_OK);
	assert_string_equal(key_id, "key_0123456789ABCDEF");

	/* Checksums that are well-formed base62 but wrong, including values past 2^32. */
	static const char *const wrong[] = { "3ac7ah", "3ac7aG", "03ac7a", "000000", "zzzzzz", "4gfFC4" };
	for (size_t i = 0; i < sizeof wrong / sizeof wrong[0]; i++) {
		char changed[TEST_DEFAULT_LENGTH + 1];
		memcpy(changed, known_token, length + 1);
		memcpy(changed + body, wrong[i], TOKEN_CHECKSUM_LENGTH);
		assert_int_equal(token_parse("kw_", changed, length, NULL), TOKEN_BAD_CHECKSUM);
	}
	/* Only the given length counts: text past it is ignored. */
	char longer[TEST_DEFAULT_LENGTH + 8];
	memcpy(longer, known_token, length);
	memcpy(longer + length, "garbage", 8);
	assert_int_equal(token_parse("kw_", longer, length, NULL), TOKEN_OK);
}

static void test_hash(void **state)
{
	(void)state;
	unsigned char key[TOKEN_SERVER_KEY_BYTES], other_key[TOKEN_SERVER_KEY_BYTES];
	for (int i = 0; i < TOKEN_SERVER_KEY_BYTES; i++) {
		key[i] = (unsigned char)i;
		other_key[i] = (unsigned char)i;
	}
	other_key[31] ^= 1;
	size_t length = strlen(known_token);
	unsigned char first[TOKEN_HASH_BYTES], second[TOKEN_HASH_BYTES], other[TOKEN_HASH_BYTES];
	token_hash(key, known_token, length, first);
	token_hash(key, known_token, length, second);
	assert_memory_equal(first, second, TOKEN_HASH_BYTES);

	/* Keyed BLAKE2b-256, from Python's hashlib.blake2b(token, digest_size=32, key=bytes(range(32))). */
	static const char expected_hex[] = "4532aa5811168e4cb53917893953fdd34529b9d09dd5f25731fa744fcd195b72";
	char hex[TOKEN_HASH_BYTES * 2 + 1];
	sodium_bin2hex(hex, sizeof hex, first, TOKEN_HASH_BYTES);
	assert_string_equal(hex, expected_hex);

	token_hash(other_key, known_token, length, other);
	assert_memory_not_equal(first, other, TOKEN_HASH_BYTES);
	token_hash(key, known_token, length - 1, other);
	assert_memory_not_equal(first, other, TOKEN_HASH_BYTES);
}

static int test_compare_ids(const void *a, const void *b)
{
	return memcmp(a, b, TOKEN_KEY_ID_LENGTH + 1);
}

static void test_key_ids_unique(void **state)
{
	(void)state;
	enum { COUNT = 10000 };
	char(*ids)[TOKEN_KEY_ID_LENGTH + 1] = calloc(COUNT, sizeof *ids);
	assert_non_null(ids);
	for (int i = 0; i < COUNT; i++) {
		token_generate_key_id(ids[i]);
		assert_int_equal(strlen(ids[i]), TOKEN_KEY_ID_LENGTH);
		assert_memory_equal(ids[i], "key_", 4);
		for (int j = 4; j < TOKEN_KEY_ID_LENGTH; j++)
			assert_true(test_is_base62(ids[i][j]));
	}
	qsort(ids, COUNT, sizeof *ids, test_compare_ids);
	for (int i = 1; i < COUNT; i++)
		assert_string_not_equal(ids[i - 1], ids[i]);
	free(ids);
}

/*
 * Chi-square statistic of `counts` against a uniform spread over 62 symbols. With 61 degrees of
 * freedom the mean is 61; 150 is far out in the tail (p < 1e-8) yet a modulo bias such as
 * byte % 62 scores well over 200 at these sample sizes.
 */
static double test_chi_square(const unsigned long counts[62], unsigned long total)
{
	double expected = (double)total / 62.0, sum = 0;
	for (int i = 0; i < 62; i++) {
		double difference = (double)counts[i] - expected;
		sum += difference * difference / expected;
	}
	return sum;
}

static void test_randomness_spread(void **state)
{
	(void)state;
	unsigned long secret_counts[62] = { 0 }, id_counts[62] = { 0 }, secret_total = 0, id_total = 0;
	for (int round = 0; round < 3000; round++) {
		char token[TOKEN_MAX_LENGTH + 1], key_id[TOKEN_KEY_ID_LENGTH + 1];
		size_t length = test_new_token("kw_", token, key_id);
		const char *secret = token + 3 + TOKEN_KEY_ID_LENGTH + 1;
		for (size_t i = 0; i < TOKEN_SECRET_LENGTH; i++) {
			secret_counts[strchr(TEST_ALPHABET, secret[i]) - TEST_ALPHABET]++;
			secret_total++;
		}
		for (size_t i = 4; i < TOKEN_KEY_ID_LENGTH; i++) {
			id_counts[strchr(TEST_ALPHABET, key_id[i]) - TEST_ALPHABET]++;
			id_total++;
		}
		sodium_memzero(token, length);
	}
	for (int i = 0; i < 62; i++) {
		if (secret_counts[i] == 0)
			fail_msg("secret never used '%c'", TEST_ALPHABET[i]);
		if (id_counts[i] == 0)
			fail_msg("key ID never used '%c'", TEST_ALPHABET[i]);
	}
	double secret_score = test_chi_square(secret_counts, secret_total);
	double id_score = test_chi_square(id_counts, id_total);
	if (secret_score > 150.0 || id_score > 150.0)
		fail_msg("uneven spread: chi-square secret %.1f, key ID %.1f (61 degrees of freedom)", secret_score,
			 id_score);
}

static void test_hint(void **state)
{
	(void)state;
	char hint[TOKEN_HINT_LENGTH + 1];
	token_hint(known_token, hint);
	assert_string_equal(hint, "c7ag");
	token_hint("ab", hint);
	assert_string_equal(hint, "ab");
	token_hint("", hint);
	assert_string_equal(hint, "");
	token_hint("abcd", hint);
	assert_string_equal(hint, "abcd");
}

static void test_status_messages(void **state)
{
	(void)state;
	enum token_status all[] = { TOKEN_OK, TOKEN_EMPTY, TOKEN_TOO_LONG, TOKEN_MALFORMED, TOKEN_BAD_CHECKSUM };
	size_t count = sizeof all / sizeof all[0];
	for (size_t i = 0; i < count; i++) {
		assert_non_null(token_status_message(all[i]));
		assert_true(strlen(token_status_message(all[i])) > 0);
		for (size_t j = 0; j < i; j++)
			assert_string_not_equal(token_status_message(all[i]), token_status_message(all[j]));
	}
	assert_non_null(strstr(token_status_message(TOKEN_BAD_CHECKSUM), "checksum"));
}

/* A secret or a piece of one, anywhere in a text and whatever the prefix; a key ID alone is not one. */
static void test_text_holds_secret(void **state)
{
	(void)state;
	char key_id[TOKEN_KEY_ID_LENGTH + 1];
	char token[TOKEN_MAX_LENGTH + 1];
	token_generate_key_id(key_id);
	token_generate("kw_", key_id, token);
	assert_true(token_text_holds_secret(token));
	char text[200];
	snprintf(text, sizeof text, "Authorization: Bearer %.*s", (int)strlen(token) - 10, token);
	assert_true(token_text_holds_secret(text));
	snprintf(text, sizeof text, "other_%s_A", key_id);
	assert_true(token_text_holds_secret(text));
	assert_false(token_text_holds_secret(key_id));
	snprintf(text, sizeof text, "%s_", key_id);
	assert_false(token_text_holds_secret(text));
	snprintf(text, sizeof text, "key_ %s", key_id);
	assert_false(token_text_holds_secret(text));
	assert_false(token_text_holds_secret("key_short_abc"));
	assert_false(token_text_holds_secret(""));
	assert_false(token_text_holds_secret("billing key_"));
}

int main(void)
{
	if (sodium_init() < 0) {
		fprintf(stderr, "test_token: sodium_init failed\n");
		return 1;
	}
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_prefix_validity),
		cmocka_unit_test(test_generated_tokens_parse),
		cmocka_unit_test(test_every_substitution_fails),
		cmocka_unit_test(test_truncation_and_other_slips_fail),
		cmocka_unit_test(test_lengths),
		cmocka_unit_test(test_wrong_prefix_fails),
		cmocka_unit_test(test_custom_prefix),
		cmocka_unit_test(test_known_token),
		cmocka_unit_test(test_hash),
		cmocka_unit_test(test_key_ids_unique),
		cmocka_unit_test(test_randomness_spread),
		cmocka_unit_test(test_hint),
		cmocka_unit_test(test_status_messages),
		cmocka_unit_test(test_text_holds_secret),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
