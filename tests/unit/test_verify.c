/* test_verify.c: unit tests for verify_decide(), the gatekeeper's decision, against real SQLite files and real keys. */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include <sodium.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "support.h"

#include "core/alloc.h"
#include "core/config.h"
#include "domain/key_cache.h"
#include "domain/keys.h"
#include "domain/token.h"
#include "domain/verify.h"
#include "store/store.h"

#define NOW 1700000000

/* A database of its own (support.h) with both seeded roles found, and a key cache. */
struct fixture {
	struct test_db *db;
	struct key_cache *cache; /* decisions go through it, as in the server */
};

/* A key made through keys_create(): its public ID, its row, and the token a client would send. */
struct test_key {
	char key_id[TOKEN_KEY_ID_LENGTH + 1];
	char token[TOKEN_MAX_LENGTH + 1];
	int64_t row_id;
};

static int setup(void **state)
{
	struct fixture *fixture = xcalloc(1, sizeof *fixture);
	fixture->db = test_db_open("verify");
	if (fixture->db == NULL || fixture->db->admin_role == 0 || fixture->db->read_only_role == 0) {
		test_db_close(fixture->db);
		free(fixture);
		return -1;
	}
	fixture->cache = key_cache_new();
	*state = fixture;
	return 0;
}

static int teardown(void **state)
{
	struct fixture *fixture = *state;
	key_cache_free(fixture->cache);
	int removed = test_db_close(fixture->db);
	free(fixture);
	return removed;
}

/* Make a key in `workspace_id`; `cidrs` is a NULL-terminated list of canonical networks (or NULL). */
static struct test_key make_key_in(struct fixture *fixture, int64_t workspace_id, const char *name, int64_t role_id,
				   bool enabled, bool off_record, const char *const *cidrs)
{
	struct store_cidr list[8];
	size_t count = 0;
	for (; cidrs != NULL && cidrs[count] != NULL; count++)
		list[count] = (struct store_cidr){ cidrs[count], "" };
	struct store_key_fields fields = {
		.name = name,
		.name_folded = name,
		.postback_url = "",
		.off_record = off_record,
		.enabled = enabled,
		.role_id = role_id,
		.cidrs = list,
		.cidr_count = count,
	};
	struct test_key key;
	memset(&key, 0, sizeof key);
	test_key_create_in(fixture->db, workspace_id, &fields, NOW, key.key_id, key.token, &key.row_id);
	assert_int_equal(token_parse("kw_", key.token, strlen(key.token), NULL), TOKEN_OK);
	return key;
}

/* Make a key in the default workspace (1). */
static struct test_key make_key(struct fixture *fixture, const char *name, int64_t role_id, bool enabled,
				bool off_record, const char *const *cidrs)
{
	return make_key_in(fixture, STORE_DEFAULT_WORKSPACE, name, role_id, enabled, off_record, cidrs);
}

/* Ask about `key` (NUL-terminated; NULL for none) from `address` needing `permission`. */
static enum verify_code decide(struct fixture *fixture, const char *key, const char *address, const char *permission,
			       struct verify_result *result)
{
	struct verify_request request = {
		.key = key,
		.key_length = key ? strlen(key) : 0,
		.client_address = address,
		.endpoint = "/v1/things",
		.permission = permission,
	};
	verify_decide(fixture->db->store, fixture->cache, &fixture->db->config, fixture->db->arena, &request, result);
	return result->code;
}

static enum verify_code code_of(struct fixture *fixture, const char *key, const char *address, const char *permission)
{
	struct verify_result result;
	return decide(fixture, key, address, permission, &result);
}

/* A token for `key_id` whose checksum is wrong in its last character. */
static void break_checksum(char *token)
{
	size_t length = strlen(token);
	token[length - 1] = token[length - 1] == 'A' ? 'B' : 'A';
}

/* ---- codes, messages, statuses ------------------------------------------------------------------ */

static void test_code_vocabulary(void **state)
{
	(void)state;
	static const struct {
		enum verify_code code;
		const char *name;
		int status;
	} expected[] = {
		{ VERIFY_GRANTED, "granted", 200 },
		{ VERIFY_MISSING_KEY, "missing_key", 401 },
		{ VERIFY_INVALID_KEY, "invalid_key", 401 },
		{ VERIFY_DISABLED, "disabled", 401 },
		{ VERIFY_REVOKED, "revoked", 401 },
		{ VERIFY_IP_NOT_ALLOWED, "ip_not_allowed", 403 },
		{ VERIFY_INSUFFICIENT_PERMISSIONS, "insufficient_permissions", 403 },
		{ VERIFY_UNAVAILABLE, "unavailable", 503 },
		{ VERIFY_DAMAGED, "unavailable", 503 },
	};
	for (size_t i = 0; i < sizeof expected / sizeof expected[0]; i++) {
		assert_string_equal(verify_code_name(expected[i].code), expected[i].name);
		assert_int_equal(verify_code_status(expected[i].code), expected[i].status);
		assert_non_null(verify_code_message(expected[i].code));
		assert_true(strlen(verify_code_message(expected[i].code)) > 5);
	}
	assert_string_equal(verify_code_message(VERIFY_REVOKED), "Key was revoked");
	assert_string_equal(verify_code_message(VERIFY_IP_NOT_ALLOWED), "Your IP address is not on this key's allowlist");
	/* The unknown-key sentence must not hint at existence elsewhere. */
	const char *invalid = verify_code_message(VERIFY_INVALID_KEY);
	assert_null(strstr(invalid, "exist"));
	assert_null(strstr(invalid, "found"));
	assert_null(strstr(invalid, "workspace"));
}

/* ---- the order of the checks -------------------------------------------------------------------- */

static void test_missing_key(void **state)
{
	struct fixture *fixture = *state;
	struct verify_result result;
	assert_int_equal(decide(fixture, NULL, "192.0.2.1", NULL, &result), VERIFY_MISSING_KEY);
	assert_false(result.key_known);
	assert_int_equal(decide(fixture, "", "192.0.2.1", NULL, &result), VERIFY_MISSING_KEY);
	/* A pointer with zero length is no key either. */
	struct test_key key = make_key(fixture, "Present", fixture->db->admin_role, true, false, NULL);
	struct verify_request request = { .key = key.token, .key_length = 0, .client_address = "192.0.2.1" };
	verify_decide(fixture->db->store, fixture->cache, &fixture->db->config, fixture->db->arena, &request, &result);
	assert_int_equal(result.code, VERIFY_MISSING_KEY);
}

static void test_several_keys_come_first(void **state)
{
	struct fixture *fixture = *state;
	struct test_key key = make_key(fixture, "Good key", fixture->db->admin_role, true, false, NULL);
	struct verify_result result;
	/* Even a valid key, or no key at all, is refused as invalid when several were sent. */
	struct verify_request request = {
		.key = key.token, .key_length = strlen(key.token), .several_keys = true, .client_address = "192.0.2.1"
	};
	verify_decide(fixture->db->store, fixture->cache, &fixture->db->config, fixture->db->arena, &request, &result);
	assert_int_equal(result.code, VERIFY_INVALID_KEY);
	assert_false(result.key_known);
	assert_null(result.key_id);
	request.key = NULL;
	request.key_length = 0;
	verify_decide(fixture->db->store, fixture->cache, &fixture->db->config, fixture->db->arena, &request, &result);
	assert_int_equal(result.code, VERIFY_INVALID_KEY);
}

/*
 * A key that fails its shape or checksum is refused before any database access: with the key
 * table gone, such keys still get invalid_key, whereas a well-formed key (which does reach the
 * database) gets unavailable.
 */
static void test_malformed_keys_never_reach_the_database(void **state)
{
	struct fixture *fixture = *state;
	struct test_key key = make_key(fixture, "Soon without a table", fixture->db->admin_role, true, false, NULL);
	assert_int_equal(code_of(fixture, key.token, "192.0.2.1", NULL), VERIFY_GRANTED);

	test_db_execute(fixture->db,
			test_sql(fixture->db,
				 "PRAGMA foreign_keys = OFF; DROP TABLE api_key_cidr; DROP TABLE secret_reveal; "
				 "DROP TABLE usage_event; DROP TABLE usage_anonymous_hourly; DROP TABLE api_key_last_used; "
				 "DROP TABLE api_key; DROP TABLE gate_state;",
				 "DROP TABLE api_key_cidr, secret_reveal, usage_event, usage_anonymous_hourly, "
				 "api_key_last_used, api_key, gate_state CASCADE"));

	/* A well-formed key now cannot be looked up: the database was consulted. */
	assert_int_equal(code_of(fixture, key.token, "192.0.2.1", NULL), VERIFY_UNAVAILABLE);

	char bad_checksum[TOKEN_MAX_LENGTH + 1];
	memcpy(bad_checksum, key.token, sizeof bad_checksum);
	break_checksum(bad_checksum);
	assert_int_equal(code_of(fixture, bad_checksum, "192.0.2.1", NULL), VERIFY_INVALID_KEY);

	/* Over 512 bytes: a valid token followed by filler. */
	char long_key[VERIFY_KEY_MAX + 2];
	memset(long_key, 'a', sizeof long_key - 1);
	long_key[sizeof long_key - 1] = '\0';
	memcpy(long_key, key.token, strlen(key.token));
	assert_int_equal(strlen(long_key), VERIFY_KEY_MAX + 1);
	assert_int_equal(code_of(fixture, long_key, "192.0.2.1", NULL), VERIFY_INVALID_KEY);
	/* Far over: a megabyte. */
	size_t huge_length = 1 << 20;
	char *huge = xmalloc(huge_length + 1);
	memset(huge, 'A', huge_length);
	huge[huge_length] = '\0';
	assert_int_equal(code_of(fixture, huge, "192.0.2.1", NULL), VERIFY_INVALID_KEY);
	free(huge);

	static const char *const malformed[] = {
		"kw_",
		"not a key at all",
		"kw_key_AAAAAAAAAAAAAAAA",
		"Bearer kw_key_AAAAAAAAAAAAAAAA_",
		"\xff\xfe\xfd",
		"kw_key_\xc3\xa4\xc3\xa4\xc3\xa4\xc3\xa4\xc3\xa4\xc3\xa4\xc3\xa4\xc3\xa4",
	};
	for (size_t i = 0; i < sizeof malformed / sizeof malformed[0]; i++)
		assert_int_equal(code_of(fixture, malformed[i], "192.0.2.1", NULL), VERIFY_INVALID_KEY);

	/* Another prefix than the configured one: malformed for this server. */
	char other_prefix[TOKEN_MAX_LENGTH + 1];
	token_generate("zz_", key.key_id, other_prefix);
	assert_int_equal(code_of(fixture, other_prefix, "192.0.2.1", NULL), VERIFY_INVALID_KEY);
	/* Non-ASCII in place of one character of a valid token. */
	char non_ascii[TOKEN_MAX_LENGTH + 1];
	memcpy(non_ascii, key.token, sizeof non_ascii);
	non_ascii[20] = (char)0xe9;
	assert_int_equal(code_of(fixture, non_ascii, "192.0.2.1", NULL), VERIFY_INVALID_KEY);
	sodium_memzero(key.token, sizeof key.token);
}

/* Only key_length bytes count: a key handed over inside a longer header value is read exactly. */
static void test_key_length_is_respected(void **state)
{
	struct fixture *fixture = *state;
	struct test_key key = make_key(fixture, "Embedded", fixture->db->admin_role, true, false, NULL);
	char header[256];
	snprintf(header, sizeof header, "%s, and more", key.token);
	struct verify_request request = { .key = header, .key_length = strlen(key.token), .client_address = "192.0.2.1" };
	struct verify_result result;
	verify_decide(fixture->db->store, fixture->cache, &fixture->db->config, fixture->db->arena, &request, &result);
	assert_int_equal(result.code, VERIFY_GRANTED);
	assert_string_equal(result.key_id, key.key_id);
	/* One byte short, or one byte of the tail included: refused. */
	request.key_length = strlen(key.token) - 1;
	verify_decide(fixture->db->store, fixture->cache, &fixture->db->config, fixture->db->arena, &request, &result);
	assert_int_equal(result.code, VERIFY_INVALID_KEY);
	request.key_length = strlen(key.token) + 1;
	verify_decide(fixture->db->store, fixture->cache, &fixture->db->config, fixture->db->arena, &request, &result);
	assert_int_equal(result.code, VERIFY_INVALID_KEY);
	/* A NUL inside the counted bytes. */
	char with_nul[TOKEN_MAX_LENGTH + 2];
	memcpy(with_nul, key.token, strlen(key.token));
	with_nul[strlen(key.token)] = '\0';
	request.key = with_nul;
	request.key_length = strlen(key.token) + 1;
	verify_decide(fixture->db->store, fixture->cache, &fixture->db->config, fixture->db->arena, &request, &result);
	assert_int_equal(result.code, VERIFY_INVALID_KEY);
}

static void test_unknown_key(void **state)
{
	struct fixture *fixture = *state;
	make_key(fixture, "Someone else", fixture->db->admin_role, true, false, NULL);
	char key_id[TOKEN_KEY_ID_LENGTH + 1];
	char token[TOKEN_MAX_LENGTH + 1];
	token_generate_key_id(key_id);
	token_generate("kw_", key_id, token);
	struct verify_result result;
	assert_int_equal(decide(fixture, token, "192.0.2.1", NULL, &result), VERIFY_INVALID_KEY);
	assert_false(result.key_known);
	assert_null(result.key_id);
	assert_null(result.name);
	assert_int_equal(result.key_row_id, 0);
}

/* A real key's ID with a fresh secret (what a regenerated or guessed secret looks like): unknown. */
static void test_known_key_id_with_another_secret(void **state)
{
	struct fixture *fixture = *state;
	struct test_key key = make_key(fixture, "Known ID", fixture->db->admin_role, true, false, NULL);
	char guess[TOKEN_MAX_LENGTH + 1];
	token_generate("kw_", key.key_id, guess);
	assert_int_equal(code_of(fixture, guess, "192.0.2.1", NULL), VERIFY_INVALID_KEY);
	assert_int_equal(code_of(fixture, key.token, "192.0.2.1", NULL), VERIFY_GRANTED);
	/* After regeneration, the old secret is unknown and the new one works. */
	struct audit_actor actor = { 0, "test", "" };
	struct keys_secret fresh;
	assert_int_equal(keys_regenerate(fixture->db->store, &fixture->db->config, fixture->db->arena, &actor,
					 STORE_DEFAULT_WORKSPACE, key.key_id, NOW + 1, 0, false, &fresh),
			 STORE_OK);
	assert_int_equal(code_of(fixture, key.token, "192.0.2.1", NULL), VERIFY_INVALID_KEY);
	assert_int_equal(code_of(fixture, fresh.token, "192.0.2.1", NULL), VERIFY_GRANTED);
	keys_secret_wipe(&fresh);
}

static void test_wrong_server_key(void **state)
{
	struct fixture *fixture = *state;
	struct test_key key =
		make_key(fixture, "Hashed with the first key", fixture->db->admin_role, true, false, NULL);
	struct config other = fixture->db->config;
	randombytes_buf(other.server_key, sizeof other.server_key);
	struct verify_request request = { .key = key.token, .key_length = strlen(key.token), .client_address = "192.0.2.1" };
	struct verify_result result;
	verify_decide(fixture->db->store, fixture->cache, &other, fixture->db->arena, &request, &result);
	assert_int_equal(result.code, VERIFY_INVALID_KEY);
	assert_false(result.key_known);
	verify_decide(fixture->db->store, fixture->cache, &fixture->db->config, fixture->db->arena, &request, &result);
	assert_int_equal(result.code, VERIFY_GRANTED);
}

static void test_granted_result_describes_the_key(void **state)
{
	struct fixture *fixture = *state;
	struct test_key key = make_key(fixture, "Payments", fixture->db->admin_role, true, false, NULL);
	struct verify_result result;
	assert_int_equal(decide(fixture, key.token, "192.0.2.1", "api.key.verify", &result), VERIFY_GRANTED);
	assert_true(result.key_known);
	assert_int_equal(result.key_row_id, key.row_id);
	assert_int_equal(result.workspace_id, STORE_DEFAULT_WORKSPACE);
	assert_string_equal(result.key_id, key.key_id);
	assert_string_equal(result.name, "Payments");
	assert_string_equal(result.role, "admin");
	assert_string_equal(result.permissions, "api.key.view api.key.create api.key.update api.key.delete api.key.verify");
	assert_false(result.off_record);

	struct test_key quiet = make_key(fixture, "Quiet", fixture->db->read_only_role, true, true, NULL);
	assert_int_equal(decide(fixture, quiet.token, "192.0.2.1", NULL, &result), VERIFY_GRANTED);
	assert_true(result.off_record);
	assert_string_equal(result.role, "read-only");
	assert_string_equal(result.permissions, "api.key.view");
}

static void test_revoked_beats_disabled_beats_the_rest(void **state)
{
	struct fixture *fixture = *state;
	static const char *const office[] = { "198.51.100.0/24", NULL };

	struct test_key disabled = make_key(fixture, "Disabled", fixture->db->read_only_role, false, false, office);
	struct verify_result result;
	/* Disabled, from the wrong address, lacking the permission: disabled is what it is told. */
	assert_int_equal(decide(fixture, disabled.token, "192.0.2.1", "api.key.delete", &result), VERIFY_DISABLED);
	assert_true(result.key_known);
	assert_string_equal(result.key_id, disabled.key_id);
	assert_int_equal(code_of(fixture, disabled.token, "198.51.100.7", NULL), VERIFY_DISABLED);

	/* Revoke it while disabled: revoked wins. */
	assert_int_equal(store_key_revoke(fixture->db->store, STORE_DEFAULT_WORKSPACE, disabled.key_id, NOW + 5),
			 STORE_OK);
	assert_int_equal(decide(fixture, disabled.token, "192.0.2.1", "api.key.delete", &result), VERIFY_REVOKED);
	assert_true(result.key_known);
	assert_int_equal(code_of(fixture, disabled.token, "198.51.100.7", NULL), VERIFY_REVOKED);

	/* An enabled key, revoked. */
	struct test_key enabled = make_key(fixture, "Enabled then revoked", fixture->db->admin_role, true, false, NULL);
	assert_int_equal(code_of(fixture, enabled.token, "192.0.2.1", NULL), VERIFY_GRANTED);
	assert_int_equal(store_key_revoke(fixture->db->store, STORE_DEFAULT_WORKSPACE, enabled.key_id, NOW + 6),
			 STORE_OK);
	assert_int_equal(code_of(fixture, enabled.token, "192.0.2.1", NULL), VERIFY_REVOKED);

	/* Disable, then enable again. */
	struct test_key toggled = make_key(fixture, "Toggled", fixture->db->admin_role, true, false, office);
	assert_int_equal(
		store_key_set_enabled(fixture->db->store, STORE_DEFAULT_WORKSPACE, toggled.key_id, false, NOW + 7),
		STORE_OK);
	assert_int_equal(code_of(fixture, toggled.token, "198.51.100.7", NULL), VERIFY_DISABLED);
	assert_int_equal(
		store_key_set_enabled(fixture->db->store, STORE_DEFAULT_WORKSPACE, toggled.key_id, true, NOW + 8),
		STORE_OK);
	assert_int_equal(code_of(fixture, toggled.token, "198.51.100.7", NULL), VERIFY_GRANTED);
	/* Enabled, wrong address and lacking a permission: the address is named first. */
	assert_int_equal(code_of(fixture, toggled.token, "192.0.2.1", "no.such.permission"), VERIFY_IP_NOT_ALLOWED);
	assert_int_equal(code_of(fixture, toggled.token, "198.51.100.7", "no.such.permission"),
			 VERIFY_INSUFFICIENT_PERMISSIONS);
}

/* ---- the client address ------------------------------------------------------------------------- */

static void test_ipv4_allowlist(void **state)
{
	struct fixture *fixture = *state;
	static const char *const networks[] = { "10.0.0.0/8", "192.0.2.17/32", NULL };
	struct test_key key = make_key(fixture, "IPv4 only", fixture->db->admin_role, true, false, networks);
	static const char *const inside[] = { "10.0.0.0", "10.1.2.3", "10.255.255.255", "192.0.2.17" };
	static const char *const outside[] = { "11.0.0.0", "9.255.255.255", "192.0.2.16", "192.0.2.18", "127.0.0.1",
					       "::1", "2001:db8::1", "::ffff:11.1.2.3", "::" };
	for (size_t i = 0; i < sizeof inside / sizeof inside[0]; i++)
		assert_int_equal(code_of(fixture, key.token, inside[i], NULL), VERIFY_GRANTED);
	for (size_t i = 0; i < sizeof outside / sizeof outside[0]; i++) {
		struct verify_result result;
		assert_int_equal(decide(fixture, key.token, outside[i], NULL, &result), VERIFY_IP_NOT_ALLOWED);
		assert_true(result.key_known); /* the caller may record which key tried */
	}
}

static void test_ipv6_allowlist(void **state)
{
	struct fixture *fixture = *state;
	static const char *const networks[] = { "2001:db8::/32", "fe80::1/128", NULL };
	struct test_key key = make_key(fixture, "IPv6 only", fixture->db->admin_role, true, false, networks);
	static const char *const inside[] = { "2001:db8::1", "2001:db8:ffff:ffff:ffff:ffff:ffff:ffff", "2001:DB8::abcd",
					      "fe80::1", "2001:0db8:0000:0000:0000:0000:0000:0001" };
	static const char *const outside[] = { "2001:db9::1", "2001:db7:ffff::1", "fe80::2", "::1", "10.1.2.3",
					       "::ffff:10.1.2.3" };
	for (size_t i = 0; i < sizeof inside / sizeof inside[0]; i++)
		assert_int_equal(code_of(fixture, key.token, inside[i], NULL), VERIFY_GRANTED);
	for (size_t i = 0; i < sizeof outside / sizeof outside[0]; i++)
		assert_int_equal(code_of(fixture, key.token, outside[i], NULL), VERIFY_IP_NOT_ALLOWED);
}

/* An IPv4-mapped IPv6 client address (what a dual-stack socket reports) is matched as IPv4. */
static void test_ipv4_mapped_clients(void **state)
{
	struct fixture *fixture = *state;
	static const char *const networks[] = { "10.0.0.0/8", NULL };
	struct test_key key = make_key(fixture, "Mapped", fixture->db->admin_role, true, false, networks);
	assert_int_equal(code_of(fixture, key.token, "::ffff:10.1.2.3", NULL), VERIFY_GRANTED);
	assert_int_equal(code_of(fixture, key.token, "::FFFF:10.1.2.3", NULL), VERIFY_GRANTED);
	assert_int_equal(code_of(fixture, key.token, "::ffff:a01:203", NULL), VERIFY_GRANTED);
	assert_int_equal(code_of(fixture, key.token, "::ffff:11.1.2.3", NULL), VERIFY_IP_NOT_ALLOWED);
	/* Not mapped: the IPv4-compatible form and NAT64 are other addresses. */
	assert_int_equal(code_of(fixture, key.token, "64:ff9b::10.1.2.3", NULL), VERIFY_IP_NOT_ALLOWED);

	/* An IPv6 network never holds an IPv4 client, not even ::/0. */
	static const char *const everything_v6[] = { "::/0", NULL };
	struct test_key v6 = make_key(fixture, "All of IPv6", fixture->db->admin_role, true, false, everything_v6);
	assert_int_equal(code_of(fixture, v6.token, "2001:db8::1", NULL), VERIFY_GRANTED);
	assert_int_equal(code_of(fixture, v6.token, "10.1.2.3", NULL), VERIFY_IP_NOT_ALLOWED);
	assert_int_equal(code_of(fixture, v6.token, "::ffff:10.1.2.3", NULL), VERIFY_IP_NOT_ALLOWED);

	static const char *const everything_v4[] = { "0.0.0.0/0", NULL };
	struct test_key v4 = make_key(fixture, "All of IPv4", fixture->db->admin_role, true, false, everything_v4);
	assert_int_equal(code_of(fixture, v4.token, "::ffff:203.0.113.9", NULL), VERIFY_GRANTED);
	assert_int_equal(code_of(fixture, v4.token, "2001:db8::1", NULL), VERIFY_IP_NOT_ALLOWED);
}

/* A given address that is not one is always refused, with or without an allowlist. */
static void test_garbage_address_is_always_refused(void **state)
{
	struct fixture *fixture = *state;
	static const char *const networks[] = { "0.0.0.0/0", "::/0", NULL };
	struct test_key open = make_key(fixture, "No allowlist", fixture->db->admin_role, true, false, NULL);
	struct test_key wide = make_key(fixture, "Everything", fixture->db->admin_role, true, false, networks);
	static const char *const garbage[] = {
		"", " ", "garbage", "10.1.2.3/8", "10.1.2", "10.1.2.3.4", "256.1.1.1", "10.1.2.3\n10.1.2.4",
		"fe80::1%eth0", "2001:db8::1::2", "::ffff:10.1.2", "[::1]", "10.1.2.3:8080", "\xff", "unix:/tmp/sock",
	};
	for (size_t i = 0; i < sizeof garbage / sizeof garbage[0]; i++) {
		assert_int_equal(code_of(fixture, open.token, garbage[i], NULL), VERIFY_IP_NOT_ALLOWED);
		assert_int_equal(code_of(fixture, wide.token, garbage[i], NULL), VERIFY_IP_NOT_ALLOWED);
	}
	assert_int_equal(code_of(fixture, wide.token, "10.1.2.3", NULL), VERIFY_GRANTED);
	assert_int_equal(code_of(fixture, wide.token, "2001:db8::1", NULL), VERIFY_GRANTED);
}

/* No address at all passes a key without an allowlist, and no key with one. */
static void test_no_address(void **state)
{
	struct fixture *fixture = *state;
	static const char *const networks[] = { "0.0.0.0/0", "::/0", NULL };
	struct test_key open = make_key(fixture, "No allowlist", fixture->db->admin_role, true, false, NULL);
	struct test_key wide = make_key(fixture, "Everything", fixture->db->admin_role, true, false, networks);
	assert_int_equal(code_of(fixture, open.token, NULL, NULL), VERIFY_GRANTED);
	assert_int_equal(code_of(fixture, wide.token, NULL, NULL), VERIFY_IP_NOT_ALLOWED);
	assert_int_equal(code_of(fixture, open.token, "203.0.113.1", NULL), VERIFY_GRANTED);
	assert_int_equal(code_of(fixture, open.token, "2001:db8::5", NULL), VERIFY_GRANTED);
}

/* ---- permissions -------------------------------------------------------------------------------- */

static void test_permission_is_a_whole_word(void **state)
{
	struct fixture *fixture = *state;
	struct test_key reader = make_key(fixture, "Reader", fixture->db->read_only_role, true, false, NULL);
	struct test_key admin = make_key(fixture, "Admin", fixture->db->admin_role, true, false, NULL);
	assert_int_equal(code_of(fixture, reader.token, "192.0.2.1", "api.key.view"), VERIFY_GRANTED);
	assert_int_equal(code_of(fixture, reader.token, "192.0.2.1", NULL), VERIFY_GRANTED);
	assert_int_equal(code_of(fixture, reader.token, "192.0.2.1", ""), VERIFY_GRANTED);
	static const char *const not_held[] = { "api.key", "api", "api.key.vie", "api.key.view2", "pi.key.view",
						"API.KEY.VIEW", "api.key.view ", " api.key.view", "api.key.verify",
						"api.key.view api.key.verify" };
	for (size_t i = 0; i < sizeof not_held / sizeof not_held[0]; i++) {
		struct verify_result result;
		assert_int_equal(decide(fixture, reader.token, "192.0.2.1", not_held[i], &result),
				 VERIFY_INSUFFICIENT_PERMISSIONS);
		assert_true(result.key_known);
		assert_string_equal(result.role, "read-only");
	}
	static const char *const admin_holds[] = { "api.key.view", "api.key.create", "api.key.update", "api.key.delete",
						   "api.key.verify" };
	for (size_t i = 0; i < sizeof admin_holds / sizeof admin_holds[0]; i++)
		assert_int_equal(code_of(fixture, admin.token, "192.0.2.1", admin_holds[i]), VERIFY_GRANTED);
	assert_int_equal(code_of(fixture, admin.token, "192.0.2.1", "api.key"), VERIFY_INSUFFICIENT_PERMISSIONS);
	assert_int_equal(code_of(fixture, admin.token, "192.0.2.1", "api.key.verif"), VERIFY_INSUFFICIENT_PERMISSIONS);
}

/* Both the rules file's permission and the one asked about must be held; either alone may be absent. */
static void test_rule_and_asked_permissions_are_both_required(void **state)
{
	struct fixture *fixture = *state;
	struct test_key reader = make_key(fixture, "Reader", fixture->db->read_only_role, true, false, NULL);
	struct test_key admin = make_key(fixture, "Admin", fixture->db->admin_role, true, false, NULL);
	static const struct {
		const char *rule, *asked;
		enum verify_code reader, admin;
	} cases[] = {
		{ NULL, NULL, VERIFY_GRANTED, VERIFY_GRANTED },
		{ "", "", VERIFY_GRANTED, VERIFY_GRANTED },
		{ "api.key.view", NULL, VERIFY_GRANTED, VERIFY_GRANTED },
		{ "api.key.create", NULL, VERIFY_INSUFFICIENT_PERMISSIONS, VERIFY_GRANTED },
		{ NULL, "api.key.create", VERIFY_INSUFFICIENT_PERMISSIONS, VERIFY_GRANTED },
		{ "api.key.view", "api.key.create", VERIFY_INSUFFICIENT_PERMISSIONS, VERIFY_GRANTED },
		{ "api.key.create", "api.key.view", VERIFY_INSUFFICIENT_PERMISSIONS, VERIFY_GRANTED },
		{ "api.key.create", "", VERIFY_INSUFFICIENT_PERMISSIONS, VERIFY_GRANTED },
		{ "api.key.view", "reports.read", VERIFY_INSUFFICIENT_PERMISSIONS, VERIFY_INSUFFICIENT_PERMISSIONS },
		{ "reports.read", "api.key.view", VERIFY_INSUFFICIENT_PERMISSIONS, VERIFY_INSUFFICIENT_PERMISSIONS },
	};
	for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
		const struct test_key *keys[] = { &reader, &admin };
		enum verify_code expected[] = { cases[i].reader, cases[i].admin };
		for (size_t k = 0; k < 2; k++) {
			struct verify_request request = {
				.key = keys[k]->token,
				.key_length = strlen(keys[k]->token),
				.client_address = "192.0.2.1",
				.endpoint = "/v1/admin/x",
				.rule_permission = cases[i].rule,
				.permission = cases[i].asked,
			};
			struct verify_result result;
			verify_decide(fixture->db->store, fixture->cache, &fixture->db->config, fixture->db->arena, &request,
				      &result);
			assert_int_equal(result.code, expected[k]);
			assert_true(result.key_known);
		}
	}
}

static void test_has_permission(void **state)
{
	(void)state;
	assert_true(verify_has_permission("a", "a"));
	assert_true(verify_has_permission("a b c", "b"));
	assert_true(verify_has_permission("a b c", "c"));
	assert_true(verify_has_permission("  a   b  ", "b"));
	assert_true(verify_has_permission("api.key.view api.key.verify", "api.key.verify"));
	assert_false(verify_has_permission("api.key.view", "api.key"));
	assert_false(verify_has_permission("api.key", "api.key.view"));
	assert_false(verify_has_permission("ab", "a"));
	assert_false(verify_has_permission("ba", "a"));
	assert_false(verify_has_permission("", "a"));
	assert_false(verify_has_permission("   ", "a"));
	assert_false(verify_has_permission("a b", ""));
	assert_false(verify_has_permission("a b", "a b"));
	assert_false(verify_has_permission("a b", " "));
}

/* ---- the workspaces the gatekeeper serves -------------------------------------------------------- */

/* A second workspace (made as the console makes one, with its own admin role); returns its id and that role. */
static int64_t second_workspace(struct fixture *fixture, int64_t *admin_role)
{
	int64_t owner = 0, workspace = 0;
	assert_int_equal(store_user_insert(fixture->db->store, "o@example.com", "o@example.com", "", "h", NOW, &owner),
			 STORE_OK);
	assert_int_equal(store_workspace_create(fixture->db->store, "Second", owner, NOW, &workspace), STORE_OK);
	assert_true(workspace > STORE_DEFAULT_WORKSPACE);
	struct store_role role;
	assert_int_equal(store_role_find_by_name(fixture->db->store, fixture->db->arena, workspace, "admin", &role),
			 STORE_OK);
	*admin_role = role.id;
	return workspace;
}

/* Decide about `token` under a config that serves `workspaces` (count of them), for request scope `scope`. */
static enum verify_code decide_served(struct fixture *fixture, const char *token, const long long *workspaces,
				      size_t count, int64_t scope, struct verify_result *result)
{
	struct config config = fixture->db->config;
	memcpy(config.workspaces, workspaces, count * sizeof *workspaces);
	config.workspace_count = count;
	config.workspaces_named = true;
	struct verify_request request = { .key = token, .key_length = strlen(token), .client_address = "192.0.2.1",
					  .endpoint = "/v1/things", .workspace_id = scope };
	verify_decide(fixture->db->store, fixture->cache, &config, fixture->db->arena, &request, result);
	return result->code;
}

/* Two results that say exactly the same: code, nothing known, the same workspace to count them in. */
static void assert_same_result(const struct verify_result *a, const struct verify_result *b)
{
	assert_int_equal(a->code, b->code);
	assert_int_equal(a->key_known, b->key_known);
	assert_int_equal(a->key_row_id, b->key_row_id);
	assert_int_equal(a->workspace_id, b->workspace_id);
	assert_true(a->key_id == b->key_id && a->name == b->name && a->role == b->role &&
		    a->permissions == b->permissions); /* all NULL */
	assert_int_equal(a->off_record, b->off_record);
}

/*
 * By default the gatekeeper serves workspace 1: a key of any other workspace, valid in every
 * other way, gets exactly what an unknown key gets, whatever its state (a disabled or revoked
 * key of another workspace must not say so either).
 */
static void test_a_key_of_another_workspace_reads_as_unknown(void **state)
{
	struct fixture *fixture = *state;
	int64_t other_admin = 0;
	int64_t other = second_workspace(fixture, &other_admin);
	struct test_key here = make_key(fixture, "Here", fixture->db->admin_role, true, false, NULL);
	struct test_key there = make_key_in(fixture, other, "There", other_admin, true, false, NULL);
	struct test_key there_off = make_key_in(fixture, other, "There, disabled", other_admin, false, false, NULL);
	struct test_key there_revoked = make_key_in(fixture, other, "There, revoked", other_admin, true, false, NULL);
	assert_int_equal(store_key_revoke(fixture->db->store, other, there_revoked.key_id, NOW + 1), STORE_OK);
	char unknown_id[TOKEN_KEY_ID_LENGTH + 1];
	char unknown[TOKEN_MAX_LENGTH + 1];
	token_generate_key_id(unknown_id);
	token_generate("kw_", unknown_id, unknown);

	struct verify_result never, result;
	assert_int_equal(decide(fixture, unknown, "192.0.2.1", NULL, &never), VERIFY_INVALID_KEY);
	assert_false(never.key_known);
	assert_int_equal(never.workspace_id, STORE_DEFAULT_WORKSPACE); /* counted in the first served workspace */
	const char *const tokens[] = { there.token, there_off.token, there_revoked.token };
	for (size_t i = 0; i < 3; i++) {
		/* Twice: the second answer comes from the key cache, which keeps the key but not the verdict. */
		for (int round = 0; round < 2; round++) {
			assert_int_equal(decide(fixture, tokens[i], "192.0.2.1", "api.key.view", &result), VERIFY_INVALID_KEY);
			assert_same_result(&result, &never);
		}
	}
	assert_int_equal(decide(fixture, here.token, "192.0.2.1", NULL, &result), VERIFY_GRANTED);
	assert_int_equal(result.workspace_id, STORE_DEFAULT_WORKSPACE);
}

/* "workspace 2" serves 2 and refuses 1; two lines serve both; the first named is where strangers count. */
static void test_served_workspaces_follow_the_rules_file(void **state)
{
	struct fixture *fixture = *state;
	int64_t other_admin = 0;
	int64_t other = second_workspace(fixture, &other_admin);
	struct test_key one = make_key(fixture, "One", fixture->db->admin_role, true, false, NULL);
	struct test_key two = make_key_in(fixture, other, "Two", other_admin, true, false, NULL);
	char unknown_id[TOKEN_KEY_ID_LENGTH + 1];
	char unknown[TOKEN_MAX_LENGTH + 1];
	token_generate_key_id(unknown_id);
	token_generate("kw_", unknown_id, unknown);
	struct verify_result result, never;

	const long long only_two[] = { other };
	assert_int_equal(decide_served(fixture, two.token, only_two, 1, VERIFY_SERVED_WORKSPACES, &result), VERIFY_GRANTED);
	assert_true(result.key_known);
	assert_int_equal(result.workspace_id, other);
	assert_string_equal(result.key_id, two.key_id);
	assert_int_equal(decide_served(fixture, unknown, only_two, 1, VERIFY_SERVED_WORKSPACES, &never), VERIFY_INVALID_KEY);
	assert_int_equal(never.workspace_id, other);
	assert_int_equal(decide_served(fixture, one.token, only_two, 1, VERIFY_SERVED_WORKSPACES, &result),
			 VERIFY_INVALID_KEY);
	assert_same_result(&result, &never);

	const long long both[] = { STORE_DEFAULT_WORKSPACE, other };
	assert_int_equal(decide_served(fixture, one.token, both, 2, VERIFY_SERVED_WORKSPACES, &result), VERIFY_GRANTED);
	assert_int_equal(result.workspace_id, STORE_DEFAULT_WORKSPACE);
	assert_int_equal(decide_served(fixture, two.token, both, 2, VERIFY_SERVED_WORKSPACES, &result), VERIFY_GRANTED);
	assert_int_equal(result.workspace_id, other);
	assert_int_equal(decide_served(fixture, unknown, both, 2, VERIFY_SERVED_WORKSPACES, &result), VERIFY_INVALID_KEY);
	assert_int_equal(result.workspace_id, STORE_DEFAULT_WORKSPACE);

	/* Missing and malformed keys are counted in the first served workspace too. */
	const long long two_first[] = { other, STORE_DEFAULT_WORKSPACE };
	struct config config = fixture->db->config;
	memcpy(config.workspaces, two_first, sizeof two_first);
	config.workspace_count = 2;
	struct verify_request request = { .client_address = "192.0.2.1" };
	verify_decide(fixture->db->store, fixture->cache, &config, fixture->db->arena, &request, &result);
	assert_int_equal(result.code, VERIFY_MISSING_KEY);
	assert_int_equal(result.workspace_id, other);
	request.key = "kw_nonsense";
	request.key_length = strlen(request.key);
	verify_decide(fixture->db->store, fixture->cache, &config, fixture->db->arena, &request, &result);
	assert_int_equal(result.code, VERIFY_INVALID_KEY);
	assert_int_equal(result.workspace_id, other);

	/* A config that serves nothing (never made by config_load) accepts no key at all. */
	config.workspace_count = 0;
	request.key = one.token;
	request.key_length = strlen(one.token);
	verify_decide(fixture->db->store, fixture->cache, &config, fixture->db->arena, &request, &result);
	assert_int_equal(result.code, VERIFY_INVALID_KEY);
	assert_false(result.key_known);
}

/* The verify endpoint's scopes: its caller from any workspace, then the keys of the caller's workspace only. */
static void test_request_scopes(void **state)
{
	struct fixture *fixture = *state;
	int64_t other_admin = 0;
	int64_t other = second_workspace(fixture, &other_admin);
	struct test_key one = make_key(fixture, "One", fixture->db->admin_role, true, false, NULL);
	struct test_key two = make_key_in(fixture, other, "Two", other_admin, true, false, NULL);
	const long long default_scope[] = { STORE_DEFAULT_WORKSPACE };
	struct verify_result result, never;

	assert_int_equal(decide_served(fixture, two.token, default_scope, 1, VERIFY_ANY_WORKSPACE, &result), VERIFY_GRANTED);
	assert_int_equal(result.workspace_id, other);
	assert_int_equal(decide_served(fixture, one.token, default_scope, 1, VERIFY_ANY_WORKSPACE, &result), VERIFY_GRANTED);

	/* Scoped to workspace 2: its key passes, workspace 1's reads as unknown, counted in 2. */
	assert_int_equal(decide_served(fixture, two.token, default_scope, 1, other, &result), VERIFY_GRANTED);
	char unknown_id[TOKEN_KEY_ID_LENGTH + 1];
	char unknown[TOKEN_MAX_LENGTH + 1];
	token_generate_key_id(unknown_id);
	token_generate("kw_", unknown_id, unknown);
	assert_int_equal(decide_served(fixture, unknown, default_scope, 1, other, &never), VERIFY_INVALID_KEY);
	assert_int_equal(never.workspace_id, other);
	assert_int_equal(decide_served(fixture, one.token, default_scope, 1, other, &result), VERIFY_INVALID_KEY);
	assert_same_result(&result, &never);
	/* Scoped to workspace 1: the reverse. */
	assert_int_equal(decide_served(fixture, one.token, default_scope, 1, STORE_DEFAULT_WORKSPACE, &result),
			 VERIFY_GRANTED);
	assert_int_equal(decide_served(fixture, two.token, default_scope, 1, STORE_DEFAULT_WORKSPACE, &result),
			 VERIFY_INVALID_KEY);
	assert_false(result.key_known);
}

/* Ask about `token` from 192.0.2.1 as if it were `now`. */
static enum verify_code decide_at(struct fixture *fixture, const char *token, int64_t now, struct verify_result *result)
{
	struct verify_request request = {
		.key = token, .key_length = strlen(token), .client_address = "192.0.2.1", .endpoint = "/v1/things", .now = now,
	};
	verify_decide(fixture->db->store, fixture->cache, &fixture->db->config, fixture->db->arena, &request, result);
	return result->code;
}

/*
 * A roll with an overlap: both secrets work, the result says which one came, and the previous one
 * stops at the end of the overlap from the cached copy, with no write and no new read of the key.
 */
static void test_a_rolled_secret_works_until_its_overlap_ends(void **state)
{
	struct fixture *fixture = *state;
	struct test_key key = make_key(fixture, "Rolled", fixture->db->admin_role, true, false, NULL);
	struct audit_actor actor = { 0, "test", "" };
	struct keys_secret fresh;
	assert_int_equal(keys_regenerate(fixture->db->store, &fixture->db->config, fixture->db->arena, &actor,
					 STORE_DEFAULT_WORKSPACE, key.key_id, NOW, 3600, false, &fresh),
			 STORE_OK);
	struct verify_result result;
	assert_int_equal(decide_at(fixture, key.token, NOW + 10, &result), VERIFY_GRANTED);
	assert_true(result.previous_secret);
	assert_string_equal(result.key_id, key.key_id);
	assert_int_equal(decide_at(fixture, fresh.token, NOW + 10, &result), VERIFY_GRANTED);
	assert_false(result.previous_secret);

	struct key_cache_counts before = key_cache_counts(fixture->cache);
	assert_int_equal(decide_at(fixture, key.token, NOW + 3599, &result), VERIFY_GRANTED);
	assert_int_equal(decide_at(fixture, key.token, NOW + 3600, &result), VERIFY_INVALID_KEY);
	assert_false(result.key_known); /* as unknown: nothing of the key is told */
	assert_null(result.key_id);
	assert_int_equal(decide_at(fixture, fresh.token, NOW + 3600, &result), VERIFY_GRANTED);
	struct key_cache_counts after = key_cache_counts(fixture->cache);
	assert_int_equal(after.misses, before.misses);
	assert_int_equal(after.resets, before.resets);

	/* Rolling again ends the older previous secret at once; ending the overlap by hand ends the newer one. */
	struct keys_secret third;
	assert_int_equal(keys_regenerate(fixture->db->store, &fixture->db->config, fixture->db->arena, &actor,
					 STORE_DEFAULT_WORKSPACE, key.key_id, NOW + 20, KEYS_OVERLAP_MAX, false, &third),
			 STORE_OK);
	assert_int_equal(decide_at(fixture, key.token, NOW + 30, &result), VERIFY_INVALID_KEY);
	assert_int_equal(decide_at(fixture, fresh.token, NOW + 30, &result), VERIFY_GRANTED);
	assert_true(result.previous_secret);
	bool ended = false;
	assert_int_equal(keys_end_overlap(fixture->db->store, fixture->db->arena, &actor, STORE_DEFAULT_WORKSPACE,
					  key.key_id, NOW + 40, &ended),
			 STORE_OK);
	assert_true(ended);
	assert_int_equal(keys_end_overlap(fixture->db->store, fixture->db->arena, &actor, STORE_DEFAULT_WORKSPACE,
					  key.key_id, NOW + 40, &ended),
			 STORE_OK);
	assert_false(ended); /* nothing left to end */
	assert_int_equal(decide_at(fixture, fresh.token, NOW + 41, &result), VERIFY_INVALID_KEY);
	assert_int_equal(decide_at(fixture, third.token, NOW + 41, &result), VERIFY_GRANTED);
	assert_false(result.previous_secret);
	/* An overlap past the longest is refused, and changes nothing. */
	struct keys_secret refused;
	assert_int_equal(keys_regenerate(fixture->db->store, &fixture->db->config, fixture->db->arena, &actor,
					 STORE_DEFAULT_WORKSPACE, key.key_id, NOW + 50, KEYS_OVERLAP_MAX + 1, false, &refused),
			 STORE_ERROR);
	assert_int_equal(decide_at(fixture, third.token, NOW + 51, &result), VERIFY_GRANTED);
	keys_secret_wipe(&fresh);
	keys_secret_wipe(&third);
}

/* An expiry takes effect at its second from the cached copy of the key, without any write, and says when. */
static void test_a_key_expires_without_a_write(void **state)
{
	struct fixture *fixture = *state;
	struct store_key_fields fields = {
		.name = "Trial", .name_folded = "trial", .postback_url = "", .enabled = true,
		.role_id = fixture->db->admin_role, .expires_at = NOW + 3600,
	};
	struct test_key key;
	memset(&key, 0, sizeof key);
	test_key_create_in(fixture->db, STORE_DEFAULT_WORKSPACE, &fields, NOW, key.key_id, key.token, &key.row_id);
	struct verify_result result;
	assert_int_equal(decide_at(fixture, key.token, NOW + 3599, &result), VERIFY_GRANTED);
	struct key_cache_counts before = key_cache_counts(fixture->cache);
	assert_int_equal(decide_at(fixture, key.token, NOW + 3600, &result), VERIFY_EXPIRED);
	assert_true(result.key_known);
	assert_string_equal(verify_code_name(result.code), "expired");
	assert_int_equal(verify_code_status(result.code), 401);
	assert_string_equal(result.message, "Key expired on 2023-11-14 23:13 UTC");
	struct key_cache_counts after = key_cache_counts(fixture->cache);
	assert_int_equal(after.misses, before.misses);
	assert_int_equal(after.resets, before.resets);
	/* A revoked key says revoked, whatever its expiry. */
	struct audit_actor actor = { 0, "test", "" };
	assert_int_equal(keys_revoke(fixture->db->store, fixture->db->arena, &actor, STORE_DEFAULT_WORKSPACE, key.key_id,
				     NOW + 3601),
			 STORE_OK);
	assert_int_equal(decide_at(fixture, key.token, NOW + 3602, &result), VERIFY_REVOKED);
}

int main(void)
{
	if (sodium_init() < 0) {
		fprintf(stderr, "test_verify: sodium_init failed\n");
		return 1;
	}
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_code_vocabulary),
		cmocka_unit_test_setup_teardown(test_missing_key, setup, teardown),
		cmocka_unit_test_setup_teardown(test_several_keys_come_first, setup, teardown),
		cmocka_unit_test_setup_teardown(test_malformed_keys_never_reach_the_database, setup, teardown),
		cmocka_unit_test_setup_teardown(test_key_length_is_respected, setup, teardown),
		cmocka_unit_test_setup_teardown(test_unknown_key, setup, teardown),
		cmocka_unit_test_setup_teardown(test_known_key_id_with_another_secret, setup, teardown),
		cmocka_unit_test_setup_teardown(test_wrong_server_key, setup, teardown),
		cmocka_unit_test_setup_teardown(test_granted_result_describes_the_key, setup, teardown),
		cmocka_unit_test_setup_teardown(test_revoked_beats_disabled_beats_the_rest, setup, teardown),
		cmocka_unit_test_setup_teardown(test_ipv4_allowlist, setup, teardown),
		cmocka_unit_test_setup_teardown(test_ipv6_allowlist, setup, teardown),
		cmocka_unit_test_setup_teardown(test_ipv4_mapped_clients, setup, teardown),
		cmocka_unit_test_setup_teardown(test_garbage_address_is_always_refused, setup, teardown),
		cmocka_unit_test_setup_teardown(test_no_address, setup, teardown),
		cmocka_unit_test_setup_teardown(test_permission_is_a_whole_word, setup, teardown),
		cmocka_unit_test_setup_teardown(test_rule_and_asked_permissions_are_both_required, setup, teardown),
		cmocka_unit_test(test_has_permission),
		cmocka_unit_test_setup_teardown(test_a_key_of_another_workspace_reads_as_unknown, setup, teardown),
		cmocka_unit_test_setup_teardown(test_served_workspaces_follow_the_rules_file, setup, teardown),
		cmocka_unit_test_setup_teardown(test_request_scopes, setup, teardown),
		cmocka_unit_test_setup_teardown(test_a_rolled_secret_works_until_its_overlap_ends, setup, teardown),
		cmocka_unit_test_setup_teardown(test_a_key_expires_without_a_write, setup, teardown),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
