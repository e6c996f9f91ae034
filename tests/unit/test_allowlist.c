/*
 * test_allowlist.c: a key's allowlist changed one step at a time (src/domain/allowlist.c): the
 * switch keeps the networks and the gatekeeper's next decision (through the key cache) follows it;
 * one network added (checked as the edit form checks it, duplicates and a full list refused) or
 * removed; "nothing was changed" is true to the byte; the audit lines say what happened.
 */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "support.h"

#include "core/alloc.h"
#include "domain/allowlist.h"
#include "domain/key_cache.h"
#include "domain/key_input.h"
#include "domain/keys.h"
#include "domain/verify.h"
#include "store/store.h"

#define NOW 1700000000

struct fixture {
	struct test_db *db;
	struct key_cache *cache; /* decisions go through it, as in the server */
	struct audit_actor actor;
	char key_id[TOKEN_KEY_ID_LENGTH + 1];
	char token[TOKEN_MAX_LENGTH + 1];
};

/* A key of the admin role allowed from 10.0.0.0/8 (office) and 2001:db8::/32. */
static int setup(void **state)
{
	struct fixture *fixture = xcalloc(1, sizeof *fixture);
	fixture->db = test_db_open("allowlist");
	if (fixture->db == NULL) {
		free(fixture);
		return -1;
	}
	fixture->cache = key_cache_new();
	fixture->actor = (struct audit_actor){ 0, "tester@example.com", "192.0.2.99" };
	static const struct store_cidr networks[] = { { "10.0.0.0/8", "office" }, { "2001:db8::/32", "" } };
	struct store_key_fields fields = { .name = "Guarded", .name_folded = "guarded", .postback_url = "",
					   .enabled = true, .role_id = fixture->db->admin_role, .cidrs = networks,
					   .cidr_count = 2 };
	int64_t row_id = 0;
	test_key_create(fixture->db, &fields, NOW - 100, fixture->key_id, fixture->token, &row_id);
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

/* The gatekeeper's decision on the fixture's key from `address` (NULL: none given). */
static enum verify_code decide(struct fixture *fixture, const char *address)
{
	struct verify_request request = {
		.key = fixture->token,
		.key_length = strlen(fixture->token),
		.client_address = address,
		.endpoint = "/v1/things",
		.now = NOW,
	};
	struct verify_result result;
	verify_decide(fixture->db->store, fixture->cache, &fixture->db->config, fixture->db->arena, &request, &result);
	return result.code;
}

static enum allowlist_outcome turn(struct fixture *fixture, bool enabled)
{
	enum allowlist_outcome outcome = ALLOWLIST_FULL; /* anything the call must overwrite */
	assert_int_equal(allowlist_switch(fixture->db->store, fixture->db->arena, &fixture->actor,
					  STORE_DEFAULT_WORKSPACE, fixture->key_id, enabled, NOW, &outcome),
			 STORE_OK);
	return outcome;
}

static enum allowlist_outcome add(struct fixture *fixture, const char *cidr, const char *label)
{
	struct store_cidr network = { cidr, label };
	enum allowlist_outcome outcome = ALLOWLIST_FULL;
	assert_int_equal(allowlist_add(fixture->db->store, fixture->db->arena, &fixture->actor, STORE_DEFAULT_WORKSPACE,
				       fixture->key_id, &network, NOW, &outcome),
			 STORE_OK);
	return outcome;
}

static enum allowlist_outcome remove_one(struct fixture *fixture, const char *cidr)
{
	enum allowlist_outcome outcome = ALLOWLIST_FULL;
	assert_int_equal(allowlist_remove(fixture->db->store, fixture->db->arena, &fixture->actor,
					  STORE_DEFAULT_WORKSPACE, fixture->key_id, cidr, NOW, &outcome),
			 STORE_OK);
	return outcome;
}

/* The summaries of the audit lines of `action`, oldest first, joined with " | ". */
static const char *summaries(struct fixture *fixture, const char *action)
{
	return test_db_joined(fixture->db, " | ", "SELECT summary FROM audit_event WHERE action = '%s' ORDER BY id",
			      action);
}

static const char *networks_of(struct fixture *fixture)
{
	return test_db_joined(fixture->db, " ",
			      "SELECT c.cidr FROM api_key_cidr c JOIN api_key k ON k.id = c.api_key_id "
			      "WHERE k.key_id = '%s' ORDER BY c.position",
			      fixture->key_id);
}

/* ---- the switch ---------------------------------------------------------------------------------- */

static void test_the_switch_keeps_the_networks_and_the_next_decision_follows_it(void **state)
{
	struct fixture *fixture = *state;
	assert_int_equal(decide(fixture, "10.1.2.3"), VERIFY_GRANTED);
	assert_int_equal(decide(fixture, "192.0.2.1"), VERIFY_IP_NOT_ALLOWED); /* and the key is in the cache now */
	assert_int_equal(decide(fixture, NULL), VERIFY_IP_NOT_ALLOWED);

	assert_int_equal(turn(fixture, false), ALLOWLIST_CHANGED);
	assert_int_equal(test_db_integer(fixture->db, "SELECT allowlist_enabled FROM api_key WHERE key_id = '%s'",
					 fixture->key_id),
			 0);
	assert_string_equal(networks_of(fixture), "10.0.0.0/8 2001:db8::/32");
	assert_int_equal(decide(fixture, "192.0.2.1"), VERIFY_GRANTED);
	assert_int_equal(decide(fixture, "2001:db9::1"), VERIFY_GRANTED);
	assert_int_equal(decide(fixture, NULL), VERIFY_GRANTED); /* as a key without networks */
	assert_int_equal(decide(fixture, "not an address"), VERIFY_IP_NOT_ALLOWED); /* garbage never passes */
	struct store_key key;
	assert_int_equal(store_key_get(fixture->db->store, fixture->db->arena, STORE_DEFAULT_WORKSPACE, fixture->key_id,
				       &key),
			 STORE_OK);
	assert_false(key.allowlist_enabled);
	assert_int_equal(key.cidr_count, 2);

	/* Off again: nothing at all changes, not even updated_at; no line. */
	const char *before = test_db_dump(fixture->db);
	assert_int_equal(turn(fixture, false), ALLOWLIST_UNCHANGED);
	assert_string_equal(before, test_db_dump(fixture->db));
	test_db_assert_no_transaction(fixture->db);

	assert_int_equal(turn(fixture, true), ALLOWLIST_CHANGED);
	assert_int_equal(decide(fixture, "192.0.2.1"), VERIFY_IP_NOT_ALLOWED);
	assert_int_equal(decide(fixture, "10.1.2.3"), VERIFY_GRANTED);
	before = test_db_dump(fixture->db);
	assert_int_equal(turn(fixture, true), ALLOWLIST_UNCHANGED);
	assert_string_equal(before, test_db_dump(fixture->db));

	assert_string_equal(summaries(fixture, "key.allowlist_off"),
			    "allowlist switched off: any address may use the key; its 2 networks are kept");
	assert_string_equal(summaries(fixture, "key.allowlist_on"),
			    "allowlist switched on: only addresses in its 2 networks may use the key");
	assert_string_equal(test_db_text(fixture->db, "SELECT actor_label || ' ' || client_address FROM audit_event "
						       "WHERE action = 'key.allowlist_on'"),
			    "tester@example.com 192.0.2.99");
}

/* ---- one network added ------------------------------------------------------------------------- */

static void test_a_network_is_added_after_the_others_and_passes_at_once(void **state)
{
	struct fixture *fixture = *state;
	assert_int_equal(decide(fixture, "192.0.2.7"), VERIFY_IP_NOT_ALLOWED);
	assert_int_equal(add(fixture, "192.0.2.0/24", "lab & co"), ALLOWLIST_CHANGED);
	assert_string_equal(networks_of(fixture), "10.0.0.0/8 2001:db8::/32 192.0.2.0/24");
	assert_string_equal(test_db_text(fixture->db, "SELECT label FROM api_key_cidr WHERE cidr = '192.0.2.0/24'"),
			    "lab & co");
	assert_int_equal(decide(fixture, "192.0.2.7"), VERIFY_GRANTED);
	assert_int_equal(test_db_integer(fixture->db, "SELECT updated_at FROM api_key WHERE key_id = '%s'",
					 fixture->key_id),
			 NOW);

	/* The same network again: refused, nothing changed; the edit form's words. */
	const char *before = test_db_dump(fixture->db);
	assert_int_equal(add(fixture, "192.0.2.0/24", "another label"), ALLOWLIST_DUPLICATE);
	assert_string_equal(before, test_db_dump(fixture->db));
	test_db_assert_no_transaction(fixture->db);
	assert_string_equal(allowlist_refusal(fixture->db->arena, ALLOWLIST_DUPLICATE, "192.0.2.0/24"),
			    "192.0.2.0/24 is already in the list.");

	/* While the switch is off, a network is kept for later, and the line says so. */
	assert_int_equal(turn(fixture, false), ALLOWLIST_CHANGED);
	assert_int_equal(add(fixture, "198.51.100.7/32", ""), ALLOWLIST_CHANGED);
	assert_string_equal(summaries(fixture, "key.network_add"),
			    "network added: 192.0.2.0/24 (lab & co) | network added: 198.51.100.7/32; the allowlist is "
			    "switched off: it applies once switched on");
}

static void test_the_first_network_of_an_open_key_says_it_restricts_it(void **state)
{
	struct fixture *fixture = *state;
	assert_int_equal(remove_one(fixture, "10.0.0.0/8"), ALLOWLIST_CHANGED);
	assert_int_equal(remove_one(fixture, "2001:db8::/32"), ALLOWLIST_CHANGED);
	assert_int_equal(decide(fixture, "203.0.113.9"), VERIFY_GRANTED);
	assert_int_equal(add(fixture, "203.0.113.0/24", "Office"), ALLOWLIST_CHANGED);
	assert_int_equal(decide(fixture, "192.0.2.1"), VERIFY_IP_NOT_ALLOWED);
	assert_string_equal(summaries(fixture, "key.network_add"),
			    "network added: 203.0.113.0/24 (Office); only addresses in it may use the key now");
	assert_string_equal(summaries(fixture, "key.network_remove"),
			    "network removed: 10.0.0.0/8 (office) | network removed: 2001:db8::/32; no networks are left: "
			    "any address may use the key");
}

static void test_a_full_list_takes_no_more(void **state)
{
	struct fixture *fixture = *state;
	char cidr[32];
	for (int i = 2; i < KEY_CIDRS_MAX; i++) {
		snprintf(cidr, sizeof cidr, "172.16.%d.0/24", i);
		assert_int_equal(add(fixture, cidr, ""), ALLOWLIST_CHANGED);
	}
	assert_int_equal(test_db_integer(fixture->db, "SELECT count(*) FROM api_key_cidr"), KEY_CIDRS_MAX);
	const char *before = test_db_dump(fixture->db);
	assert_int_equal(add(fixture, "192.0.2.0/24", ""), ALLOWLIST_FULL);
	/* A duplicate is named as such even then. */
	assert_int_equal(add(fixture, "172.16.50.0/24", ""), ALLOWLIST_DUPLICATE);
	assert_string_equal(before, test_db_dump(fixture->db));
	assert_string_equal(allowlist_refusal(fixture->db->arena, ALLOWLIST_FULL, "192.0.2.0/24"),
			    "At most 100 networks per key. Remove one before adding another.");
	assert_null(allowlist_refusal(fixture->db->arena, ALLOWLIST_CHANGED, "192.0.2.0/24"));
	/* One removed, one more fits. */
	assert_int_equal(remove_one(fixture, "172.16.2.0/24"), ALLOWLIST_CHANGED);
	assert_int_equal(add(fixture, "192.0.2.0/24", ""), ALLOWLIST_CHANGED);
}

/* ---- one network removed ----------------------------------------------------------------------- */

static void test_removing_a_network_that_is_not_there_changes_nothing(void **state)
{
	struct fixture *fixture = *state;
	const char *before = test_db_dump(fixture->db);
	static const char *const absent[] = { "", "192.0.2.0/24", "10.0.0.0/9", "10.0.0.0", " 10.0.0.0/8", "10.0.0.0/8 " };
	for (size_t i = 0; i < sizeof absent / sizeof absent[0]; i++)
		assert_int_equal(remove_one(fixture, absent[i]), ALLOWLIST_UNCHANGED);
	assert_string_equal(before, test_db_dump(fixture->db));
	test_db_assert_no_transaction(fixture->db);
	assert_int_equal(remove_one(fixture, "2001:db8::/32"), ALLOWLIST_CHANGED);
	assert_string_equal(networks_of(fixture), "10.0.0.0/8");
	assert_int_equal(decide(fixture, "2001:db8::1"), VERIFY_IP_NOT_ALLOWED);
}

/* ---- checking a typed network ------------------------------------------------------------------ */

static const char *cidr_problem(struct fixture *fixture, const char *cidr, const char *label, bool label_wrong)
{
	struct key_cidr_input row = { .cidr = cidr, .label = label };
	struct store_cidr network = { NULL, NULL };
	bool ok = key_input_check_cidr(fixture->db->arena, &row, &network);
	assert_false(ok);
	assert_null(network.cidr);
	return label_wrong ? row.label_error : row.cidr_error;
}

static void test_a_typed_network_is_checked_as_the_edit_form_does(void **state)
{
	struct fixture *fixture = *state;
	struct key_cidr_input row = { .cidr = "  192.0.2.7 ", .label = " Lab " };
	struct store_cidr network;
	assert_true(key_input_check_cidr(fixture->db->arena, &row, &network));
	assert_string_equal(network.cidr, "192.0.2.7/32");
	assert_string_equal(network.label, "Lab");
	row = (struct key_cidr_input){ .cidr = "2001:DB8::/32", .label = "" };
	assert_true(key_input_check_cidr(fixture->db->arena, &row, &network));
	assert_string_equal(network.cidr, "2001:db8::/32");

	assert_string_equal(cidr_problem(fixture, "", "", false),
			    "Enter a network, such as 203.0.113.0/24, or an address, such as 203.0.113.7.");
	assert_string_equal(cidr_problem(fixture, " ", "Office", false),
			    "Enter the network this label is for, such as 203.0.113.0/24.");
	assert_string_equal(cidr_problem(fixture, "10.1.2.3/8", "", false),
			    "10.1.2.3/8 has bits set past its prefix; did you mean 10.0.0.0/8?");
	assert_string_equal(cidr_problem(fixture, "10.0.0.0/33", "", false),
			    "Not an IPv4 or IPv6 network. Write an address such as 203.0.113.7, or a network such as "
			    "203.0.113.0/24 or 2001:db8::/32.");
	char long_label[256];
	memset(long_label, 'x', 101);
	long_label[101] = '\0';
	assert_string_equal(cidr_problem(fixture, "10.0.0.0/8", long_label, true),
			    "The label is too long: at most 100 characters.");
	assert_string_equal(cidr_problem(fixture, "10.0.0.0/8", "tab\there", true),
			    "The label cannot hold control characters.");
	/* 100 characters of two bytes each are fine. */
	char accents[256] = "";
	for (int i = 0; i < 100; i++)
		strcat(accents, "é");
	row = (struct key_cidr_input){ .cidr = "10.0.0.0/8", .label = accents };
	assert_true(key_input_check_cidr(fixture->db->arena, &row, &network));
	/* A message the decoder set is kept, and the row is wrong. */
	row = (struct key_cidr_input){ .cidr = "", .label = "", .label_error = "This field is not valid UTF-8" };
	assert_false(key_input_check_cidr(fixture->db->arena, &row, &network));
	assert_string_equal(row.label_error, "This field is not valid UTF-8");
}

/* ---- with the other fields: both or neither --------------------------------------------------- */

static void test_an_edit_and_the_switch_are_saved_together_or_not_at_all(void **state)
{
	struct fixture *fixture = *state;
	static const struct store_cidr kept[] = { { "10.0.0.0/8", "office" } };
	struct store_key_fields fields = { .name = "Renamed", .name_folded = "renamed", .postback_url = "",
					   .enabled = true, .role_id = 999999, .cidrs = kept, .cidr_count = 1 };
	enum allowlist_outcome outcome = ALLOWLIST_FULL;
	const char *before = test_db_dump(fixture->db);
	/* A role that is gone: the edit fails, and the switch with it. */
	assert_int_equal(allowlist_update_and_switch(fixture->db->store, fixture->db->arena, &fixture->actor,
						     STORE_DEFAULT_WORKSPACE, fixture->key_id, &fields, false, NOW, &outcome),
			 STORE_NOT_FOUND);
	assert_int_equal(outcome, ALLOWLIST_UNCHANGED);
	assert_string_equal(before, test_db_dump(fixture->db));
	test_db_assert_no_transaction(fixture->db);
	/* The switch failing undoes the edit too. */
	fields.role_id = fixture->db->read_only_role;
	test_db_fail_writes(fixture->db, "INSERT", "audit_event", "NEW.action = 'key.allowlist_off'", "injected");
	assert_int_equal(allowlist_update_and_switch(fixture->db->store, fixture->db->arena, &fixture->actor,
						     STORE_DEFAULT_WORKSPACE, fixture->key_id, &fields, false, NOW, &outcome),
			 STORE_ERROR);
	test_db_allow_writes(fixture->db, "audit_event");
	assert_string_equal(before, test_db_dump(fixture->db));
	test_db_assert_no_transaction(fixture->db);

	assert_int_equal(allowlist_update_and_switch(fixture->db->store, fixture->db->arena, &fixture->actor,
						     STORE_DEFAULT_WORKSPACE, fixture->key_id, &fields, false, NOW, &outcome),
			 STORE_OK);
	assert_int_equal(outcome, ALLOWLIST_CHANGED);
	assert_string_equal(test_db_text(fixture->db, "SELECT name FROM api_key WHERE key_id = '%s'", fixture->key_id),
			    "Renamed");
	assert_string_equal(summaries(fixture, "key.allowlist_off"),
			    "allowlist switched off: any address may use the key; its 1 network is kept");
	/* Editing alone leaves the switch as it is. */
	fields.name = "Renamed again";
	assert_int_equal(keys_update(fixture->db->store, fixture->db->arena, &fixture->actor, STORE_DEFAULT_WORKSPACE,
				     fixture->key_id, &fields, NOW, NULL),
			 STORE_OK);
	assert_int_equal(test_db_integer(fixture->db, "SELECT allowlist_enabled FROM api_key WHERE key_id = '%s'",
					 fixture->key_id),
			 0);
	assert_int_equal(decide(fixture, "192.0.2.1"), VERIFY_GRANTED);
}

#define TEST(name) cmocka_unit_test_setup_teardown(name, setup, teardown)

int main(void)
{
	const struct CMUnitTest tests[] = {
		TEST(test_the_switch_keeps_the_networks_and_the_next_decision_follows_it),
		TEST(test_a_network_is_added_after_the_others_and_passes_at_once),
		TEST(test_the_first_network_of_an_open_key_says_it_restricts_it),
		TEST(test_a_full_list_takes_no_more),
		TEST(test_removing_a_network_that_is_not_there_changes_nothing),
		TEST(test_a_typed_network_is_checked_as_the_edit_form_does),
		TEST(test_an_edit_and_the_switch_are_saved_together_or_not_at_all),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
