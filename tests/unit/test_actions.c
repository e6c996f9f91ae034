/*
 * test_actions.c: every domain action (keys, roles, members, invitations, workspaces) is all or
 * nothing. For each action, each write it makes is made to fail in turn (a trigger that raises,
 * installed from another connection as an operator could), and the whole database must be
 * exactly as before; then, without the fault, the action succeeds with its audit line.
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
#include "domain/keys.h"
#include "domain/members.h"
#include "domain/roles.h"
#include "domain/token.h"
#include "store/store.h"

#define NOW 1700000000

struct fixture {
	struct test_db *db;
	struct audit_actor actor;
	int64_t owner;   /* an owner of the default workspace */
	int64_t member;  /* a viewer of it */
};

static int setup(void **state)
{
	struct fixture *fixture = xcalloc(1, sizeof *fixture);
	fixture->db = test_db_open("actions");
	if (fixture->db == NULL) {
		free(fixture);
		return -1;
	}
	test_db_execute(fixture->db,
			"INSERT INTO \"user\" (email, email_folded, name, password_hash, created_at, updated_at) VALUES "
			"('owner@example.com', 'owner@example.com', '', '', 1, 1), "
			"('viewer@example.com', 'viewer@example.com', '', '', 1, 1);"
			"INSERT INTO membership (workspace_id, user_id, console_role, created_at) VALUES "
			"(1, 1, 'owner', 1), (1, 2, 'viewer', 1);");
	fixture->owner = 1;
	fixture->member = 2;
	fixture->actor = (struct audit_actor){ 1, "owner@example.com", "192.0.2.1" };
	*state = fixture;
	return 0;
}

static int teardown(void **state)
{
	struct fixture *fixture = *state;
	int removed = test_db_close(fixture->db);
	free(fixture);
	return removed;
}

/* An action under test: run it once; returns its status. */
typedef enum store_status (*action_fn)(struct fixture *fixture);

struct call {
	struct fixture *fixture;
	action_fn action;
};

static enum store_status run_call(void *context)
{
	struct call *call = context;
	return call->action(call->fixture);
}

/* test_assert_all_or_nothing() (support.h) for an action that writes one audit line. */
static void assert_all_or_nothing(struct fixture *fixture, action_fn action, const struct test_write *writes,
				  size_t count, const char *audit_action)
{
	struct call call = { fixture, action };
	test_assert_all_or_nothing(fixture->db, run_call, &call, writes, count, audit_action, 1);
}

/* ---- keys --------------------------------------------------------------------------------------- */

static const struct store_cidr office[] = { { "10.0.0.0/8", "office" } };

static struct store_key_fields key_fields(struct fixture *fixture, const char *name)
{
	return (struct store_key_fields){ .name = name, .name_folded = name, .postback_url = "", .enabled = true,
					  .role_id = fixture->db->admin_role, .cidrs = office, .cidr_count = 1 };
}

static enum store_status create_sealed(struct fixture *fixture)
{
	struct store_key_fields fields = key_fields(fixture, "made");
	struct keys_secret secret;
	enum store_status status = keys_create(fixture->db->store, &fixture->db->config, fixture->db->arena, &fixture->actor,
					       STORE_DEFAULT_WORKSPACE, &fields, NOW, true, &secret);
	if (status == STORE_OK) {
		assert_true(secret.reveal_cookie[0] != '\0');
		assert_true(strncmp(secret.token, "kw_key_", 7) == 0);
	} else {
		assert_string_equal(secret.token, ""); /* nothing to show when nothing was saved */
	}
	keys_secret_wipe(&secret);
	return status;
}

static void test_keys_create(void **state)
{
	static const struct test_write writes[] = { { "INSERT", "api_key" }, { "INSERT", "api_key_cidr" },
					       { "UPDATE", "gate_state" }, { "INSERT", "secret_reveal" },
					       { "INSERT", "audit_event" } };
	assert_all_or_nothing(*state, create_sealed, writes, sizeof writes / sizeof writes[0], "key.create");
}

/* A key made once per fixture for the actions that change one, and its token. */
static char existing_key_id[TOKEN_KEY_ID_LENGTH + 1];
static char existing_token[TOKEN_MAX_LENGTH + 1];

static void make_existing_key(struct fixture *fixture)
{
	struct store_key_fields fields = key_fields(fixture, "existing");
	int64_t row_id = 0;
	test_key_create(fixture->db, &fields, NOW - 100, existing_key_id, existing_token, &row_id);
}

static enum store_status update_key(struct fixture *fixture)
{
	static const struct store_cidr home[] = { { "192.0.2.0/24", "home" }, { "198.51.100.7/32", "" } };
	struct store_key_fields fields = key_fields(fixture, "renamed");
	fields.cidrs = home;
	fields.cidr_count = 2;
	fields.role_id = fixture->db->read_only_role;
	return keys_update(fixture->db->store, fixture->db->arena, &fixture->actor, STORE_DEFAULT_WORKSPACE,
			   existing_key_id, &fields, NOW, NULL);
}

static void test_keys_update(void **state)
{
	make_existing_key(*state);
	static const struct test_write writes[] = { { "UPDATE", "api_key" }, { "DELETE", "api_key_cidr" },
					       { "INSERT", "api_key_cidr" }, { "UPDATE", "gate_state" },
					       { "INSERT", "audit_event" } };
	assert_all_or_nothing(*state, update_key, writes, sizeof writes / sizeof writes[0], "key.update");
	struct fixture *fixture = *state;
	assert_string_equal(test_db_text(fixture->db, "SELECT summary FROM audit_event WHERE action = 'key.update'"),
			    "name: “existing” → “renamed”; role: admin → read-only; networks: 10.0.0.0/8 (office) → "
			    "192.0.2.0/24 (home), 198.51.100.7/32");

	/* The same fields again change nothing: no write (updated_at stays), no line, and it says so. */
	long long updated = test_db_integer(fixture->db, "SELECT updated_at FROM api_key WHERE key_id = '%s'",
					    existing_key_id);
	static const struct store_cidr home[] = { { "192.0.2.0/24", "home" }, { "198.51.100.7/32", "" } };
	struct store_key_fields same = key_fields(fixture, "renamed");
	same.cidrs = home;
	same.cidr_count = 2;
	same.role_id = fixture->db->read_only_role;
	bool changed = true;
	assert_int_equal(keys_update(fixture->db->store, fixture->db->arena, &fixture->actor, STORE_DEFAULT_WORKSPACE,
				     existing_key_id, &same, NOW + 50, &changed),
			 STORE_OK);
	assert_false(changed);
	assert_int_equal(test_db_integer(fixture->db, "SELECT count(*) FROM audit_event WHERE action = 'key.update'"), 1);
	assert_int_equal(test_db_integer(fixture->db, "SELECT updated_at FROM api_key WHERE key_id = '%s'",
					 existing_key_id),
			 updated);
	same.name = "renamed again";
	same.name_folded = "renamed again";
	assert_int_equal(keys_update(fixture->db->store, fixture->db->arena, &fixture->actor, STORE_DEFAULT_WORKSPACE,
				     existing_key_id, &same, NOW + 60, &changed),
			 STORE_OK);
	assert_true(changed);
}

static enum store_status disable_key(struct fixture *fixture)
{
	return keys_set_enabled(fixture->db->store, fixture->db->arena, &fixture->actor, STORE_DEFAULT_WORKSPACE,
				existing_key_id, false, NOW);
}

static void test_keys_disable(void **state)
{
	make_existing_key(*state);
	static const struct test_write writes[] = { { "UPDATE", "api_key" }, { "UPDATE", "gate_state" },
					       { "INSERT", "audit_event" } };
	assert_all_or_nothing(*state, disable_key, writes, sizeof writes / sizeof writes[0], "key.disable");
	/* Disabling a disabled key changes nothing and writes no line. */
	struct fixture *fixture = *state;
	const char *before = test_db_dump(fixture->db);
	assert_int_equal(disable_key(fixture), STORE_OK);
	assert_string_equal(before, test_db_dump(fixture->db));
}

static enum store_status regenerate_key(struct fixture *fixture)
{
	struct keys_secret secret;
	enum store_status status = keys_regenerate(fixture->db->store, &fixture->db->config, fixture->db->arena,
						   &fixture->actor, STORE_DEFAULT_WORKSPACE, existing_key_id, NOW, 0, true, &secret);
	if (status != STORE_OK)
		assert_string_equal(secret.token, "");
	keys_secret_wipe(&secret);
	return status;
}

static void test_keys_regenerate(void **state)
{
	struct fixture *fixture = *state;
	make_existing_key(fixture);
	unsigned char hash[TOKEN_HASH_BYTES];
	token_hash(fixture->db->config.server_key, existing_token, strlen(existing_token), hash);
	static const struct test_write writes[] = { { "UPDATE", "api_key" }, { "UPDATE", "gate_state" },
					       { "INSERT", "secret_reveal" }, { "INSERT", "audit_event" } };
	assert_all_or_nothing(fixture, regenerate_key, writes, sizeof writes / sizeof writes[0], "key.regenerate");
	/* Only the successful run changed the secret: the old one is unknown now. */
	struct store_key_auth key;
	assert_int_equal(store_key_find_by_hash(fixture->db->store, fixture->db->arena, hash, sizeof hash, &key),
			 STORE_NOT_FOUND);
}

static enum store_status revoke_key(struct fixture *fixture)
{
	return keys_revoke(fixture->db->store, fixture->db->arena, &fixture->actor, STORE_DEFAULT_WORKSPACE,
			   existing_key_id, NOW);
}

/* The allowlist's actions (src/domain/allowlist.c), on the existing key. */
static enum store_status switch_off(struct fixture *fixture)
{
	enum allowlist_outcome outcome;
	enum store_status status = allowlist_switch(fixture->db->store, fixture->db->arena, &fixture->actor,
						    STORE_DEFAULT_WORKSPACE, existing_key_id, false, NOW, &outcome);
	if (status == STORE_OK)
		assert_int_equal(outcome, ALLOWLIST_CHANGED);
	return status;
}

static enum store_status add_network(struct fixture *fixture)
{
	static const struct store_cidr network = { "192.0.2.0/24", "lab" };
	enum allowlist_outcome outcome;
	enum store_status status = allowlist_add(fixture->db->store, fixture->db->arena, &fixture->actor,
						 STORE_DEFAULT_WORKSPACE, existing_key_id, &network, NOW, &outcome);
	if (status == STORE_OK)
		assert_int_equal(outcome, ALLOWLIST_CHANGED);
	return status;
}

static enum store_status remove_network(struct fixture *fixture)
{
	enum allowlist_outcome outcome;
	enum store_status status = allowlist_remove(fixture->db->store, fixture->db->arena, &fixture->actor,
						    STORE_DEFAULT_WORKSPACE, existing_key_id, "10.0.0.0/8", NOW, &outcome);
	if (status == STORE_OK)
		assert_int_equal(outcome, ALLOWLIST_CHANGED);
	return status;
}

static void test_keys_revoke(void **state)
{
	struct fixture *fixture = *state;
	make_existing_key(fixture);
	static const struct test_write writes[] = { { "UPDATE", "api_key" }, { "UPDATE", "gate_state" },
					       { "INSERT", "audit_event" } };
	assert_all_or_nothing(fixture, revoke_key, writes, sizeof writes / sizeof writes[0], "key.revoke");
	/* A revoked key takes no more changes, and says so. */
	const char *before = test_db_dump(fixture->db);
	assert_int_equal(revoke_key(fixture), STORE_CONFLICT);
	assert_int_equal(disable_key(fixture), STORE_CONFLICT);
	assert_int_equal(regenerate_key(fixture), STORE_CONFLICT);
	assert_int_equal(update_key(fixture), STORE_CONFLICT);
	assert_int_equal(switch_off(fixture), STORE_CONFLICT);
	assert_int_equal(add_network(fixture), STORE_CONFLICT);
	assert_int_equal(remove_network(fixture), STORE_CONFLICT);
	assert_string_equal(before, test_db_dump(fixture->db));
}

/* A failed regeneration leaves the old token working: checked by its hash, failure by failure. */
static void test_keys_regenerate_failure_keeps_the_old_secret(void **state)
{
	struct fixture *fixture = *state;
	make_existing_key(fixture);
	unsigned char hash[TOKEN_HASH_BYTES];
	token_hash(fixture->db->config.server_key, existing_token, strlen(existing_token), hash);
	test_db_fail_writes(fixture->db, "INSERT", "secret_reveal", NULL, "disk full");
	assert_int_equal(regenerate_key(fixture), STORE_ERROR);
	struct store_key_auth key;
	assert_int_equal(store_key_find_by_hash(fixture->db->store, fixture->db->arena, hash, sizeof hash, &key), STORE_OK);
	assert_string_equal(key.key_id, existing_key_id);
	assert_int_equal(test_db_integer(fixture->db, "SELECT count(*) FROM audit_event WHERE action = 'key.regenerate'"),
			 0);
}

/* ---- the allowlist: switched, a network added or removed (src/domain/allowlist.c) ----------------- */

static void test_allowlist_switch(void **state)
{
	make_existing_key(*state);
	static const struct test_write writes[] = { { "UPDATE", "api_key" }, { "UPDATE", "gate_state" },
					       { "INSERT", "audit_event" } };
	assert_all_or_nothing(*state, switch_off, writes, sizeof writes / sizeof writes[0], "key.allowlist_off");
}

static void test_allowlist_add(void **state)
{
	make_existing_key(*state);
	static const struct test_write writes[] = { { "INSERT", "api_key_cidr" }, { "UPDATE", "gate_state" },
					       { "UPDATE", "api_key" }, { "INSERT", "audit_event" } };
	assert_all_or_nothing(*state, add_network, writes, sizeof writes / sizeof writes[0], "key.network_add");
}

static void test_allowlist_remove(void **state)
{
	make_existing_key(*state);
	static const struct test_write writes[] = { { "DELETE", "api_key_cidr" }, { "UPDATE", "gate_state" },
					       { "UPDATE", "api_key" }, { "INSERT", "audit_event" } };
	assert_all_or_nothing(*state, remove_network, writes, sizeof writes / sizeof writes[0], "key.network_remove");
}

static void test_keys_unknown(void **state)
{
	struct fixture *fixture = *state;
	memcpy(existing_key_id, "key_0000000000000000", sizeof "key_0000000000000000");
	const char *before = test_db_dump(fixture->db);
	assert_int_equal(disable_key(fixture), STORE_NOT_FOUND);
	assert_int_equal(revoke_key(fixture), STORE_NOT_FOUND);
	assert_int_equal(regenerate_key(fixture), STORE_NOT_FOUND);
	assert_int_equal(update_key(fixture), STORE_NOT_FOUND);
	assert_int_equal(switch_off(fixture), STORE_NOT_FOUND);
	assert_int_equal(add_network(fixture), STORE_NOT_FOUND);
	assert_int_equal(remove_network(fixture), STORE_NOT_FOUND);
	assert_string_equal(before, test_db_dump(fixture->db));
}

/* ---- roles -------------------------------------------------------------------------------------- */

static int64_t role_made;

static enum store_status create_role(struct fixture *fixture)
{
	return roles_create(fixture->db->store, fixture->db->arena, &fixture->actor, STORE_DEFAULT_WORKSPACE, "billing",
			    "Pays", "api.key.view invoices.read", NOW, &role_made);
}

static enum store_status update_role(struct fixture *fixture)
{
	return roles_update(fixture->db->store, fixture->db->arena, &fixture->actor, STORE_DEFAULT_WORKSPACE, role_made,
			    "billing-2", "", "api.key.view", NOW);
}

static enum store_status delete_role(struct fixture *fixture)
{
	return roles_delete(fixture->db->store, fixture->db->arena, &fixture->actor, STORE_DEFAULT_WORKSPACE, role_made, NOW);
}

static void test_roles(void **state)
{
	struct fixture *fixture = *state;
	static const struct test_write create[] = { { "INSERT", "role" }, { "INSERT", "audit_event" } };
	assert_all_or_nothing(fixture, create_role, create, 2, "role.create");
	static const struct test_write update[] = { { "UPDATE", "role" }, { "UPDATE", "gate_state" },
					       { "INSERT", "audit_event" } };
	assert_all_or_nothing(fixture, update_role, update, 3, "role.update");
	static const struct test_write delete[] = { { "DELETE", "role" }, { "UPDATE", "gate_state" },
					       { "INSERT", "audit_event" } };
	assert_all_or_nothing(fixture, delete_role, delete, 3, "role.delete");
	assert_int_equal(delete_role(fixture), STORE_NOT_FOUND);
	/* A role that keys have is refused whole. */
	role_made = fixture->db->admin_role;
	make_existing_key(fixture);
	const char *before = test_db_dump(fixture->db);
	assert_int_equal(delete_role(fixture), STORE_CONFLICT);
	assert_string_equal(before, test_db_dump(fixture->db));
}

/* ---- members, invitations, workspaces ------------------------------------------------------------ */

static enum store_status make_admin(struct fixture *fixture)
{
	return members_set_role(fixture->db->store, fixture->db->arena, &fixture->actor, STORE_DEFAULT_WORKSPACE,
				fixture->member, CONSOLE_ADMIN, NOW);
}

static enum store_status remove_member(struct fixture *fixture)
{
	return members_remove(fixture->db->store, fixture->db->arena, &fixture->actor, STORE_DEFAULT_WORKSPACE,
			      fixture->member, NOW);
}

static void test_members(void **state)
{
	struct fixture *fixture = *state;
	static const struct test_write role[] = { { "UPDATE", "membership" }, { "INSERT", "audit_event" } };
	assert_all_or_nothing(fixture, make_admin, role, 2, "member.role");
	static const struct test_write removal[] = { { "DELETE", "membership" }, { "INSERT", "audit_event" } };
	assert_all_or_nothing(fixture, remove_member, removal, 2, "member.remove");
	assert_int_equal(remove_member(fixture), STORE_NOT_FOUND);
	/* The last owner stays, whole. */
	const char *before = test_db_dump(fixture->db);
	fixture->member = fixture->owner;
	assert_int_equal(remove_member(fixture), STORE_CONFLICT);
	assert_int_equal(members_set_role(fixture->db->store, fixture->db->arena, &fixture->actor, STORE_DEFAULT_WORKSPACE,
					  fixture->owner, CONSOLE_VIEWER, NOW),
			 STORE_CONFLICT);
	assert_string_equal(before, test_db_dump(fixture->db));
}

static struct store_invitation invitation;
static int64_t new_user;

static enum store_status invite(struct fixture *fixture)
{
	invitation = (struct store_invitation){ .workspace_id = STORE_DEFAULT_WORKSPACE, .email = "Carol@example.com",
						.console_role = "developer" };
	char token[SESSION_TOKEN_LENGTH + 1];
	return invitation_create(fixture->db->store, &fixture->db->config, fixture->db->arena, &fixture->actor, &invitation,
				 "carol@example.com", NOW, token);
}

static enum store_status accept_new(struct fixture *fixture)
{
	return invitation_accept_new_user(fixture->db->store, fixture->db->arena, &invitation, "Carol@example.com",
					  "carol@example.com", "$argon2id$stand-in", "192.0.2.9", NOW + 1, &new_user);
}

static enum store_status cancel(struct fixture *fixture)
{
	struct store_invitation cancelled;
	return invitation_cancel(fixture->db->store, fixture->db->arena, &fixture->actor, STORE_DEFAULT_WORKSPACE,
				 invitation.id, NOW, &cancelled);
}

static void test_invitations(void **state)
{
	struct fixture *fixture = *state;
	static const struct test_write made[] = { { "INSERT", "invitation" }, { "INSERT", "audit_event" } };
	assert_all_or_nothing(fixture, invite, made, 2, "member.invite");
	static const struct test_write cancelled[] = { { "DELETE", "invitation" }, { "INSERT", "audit_event" } };
	assert_all_or_nothing(fixture, cancel, cancelled, 2, "invitation.cancel");
	assert_int_equal(invite(fixture), STORE_OK);
	static const struct test_write joined[] = { { "INSERT", "user" }, { "UPDATE", "invitation" },
					       { "INSERT", "membership" }, { "INSERT", "audit_event" } };
	assert_all_or_nothing(fixture, accept_new, joined, 4, "member.join");
	assert_string_equal(test_db_text(fixture->db, "SELECT console_role FROM membership WHERE user_id = %lld",
					 (long long)new_user),
			    "developer");
	assert_string_equal(test_db_text(fixture->db, "SELECT client_address FROM audit_event WHERE action = 'member.join'"),
			    "192.0.2.9");
}

static int64_t workspace_made;

static enum store_status create_workspace(struct fixture *fixture)
{
	int64_t owner = fixture->actor.user_id != 0 ? fixture->actor.user_id : fixture->owner;
	return workspaces_create(fixture->db->store, fixture->db->arena, &fixture->actor, "Second", owner, NOW,
				 &workspace_made);
}

static void test_workspaces(void **state)
{
	struct fixture *fixture = *state;
	static const struct test_write writes[] = { { "INSERT", "workspace" }, { "INSERT", "role" },
					       { "INSERT", "membership" }, { "INSERT", "audit_event" } };
	assert_all_or_nothing(fixture, create_workspace, writes, 4, "workspace.create");
	assert_int_equal(test_db_integer(fixture->db, "SELECT count(*) FROM role WHERE workspace_id = %lld",
					 (long long)workspace_made),
			 2);
	/* Someone who owns no workspace may not make one; the command line (user 0) may. */
	bool allowed = true;
	assert_int_equal(workspaces_may_create(fixture->db->store, fixture->db->arena, fixture->member, &allowed), STORE_OK);
	assert_false(allowed);
	fixture->actor = (struct audit_actor){ fixture->member, "viewer@example.com", "" };
	const char *before = test_db_dump(fixture->db);
	assert_int_equal(create_workspace(fixture), STORE_CONFLICT);
	assert_string_equal(before, test_db_dump(fixture->db));
	fixture->actor = (struct audit_actor){ 0, "command line", "" };
	assert_int_equal(create_workspace(fixture), STORE_OK);
}

static enum store_status add_user(struct fixture *fixture)
{
	int64_t id = 0;
	return members_add_user(fixture->db->store, fixture->db->arena, &fixture->actor, STORE_DEFAULT_WORKSPACE,
				"dave@example.com", "dave@example.com", "Dave", "$argon2id$stand-in", CONSOLE_DEVELOPER,
				NOW, &id);
}

static void test_members_add_user(void **state)
{
	struct fixture *fixture = *state;
	static const struct test_write writes[] = { { "INSERT", "user" }, { "INSERT", "membership" },
					       { "INSERT", "audit_event" } };
	assert_all_or_nothing(fixture, add_user, writes, 3, "member.add");
	const char *before = test_db_dump(fixture->db);
	assert_int_equal(add_user(fixture), STORE_CONFLICT); /* the address has an account */
	int64_t id = 0;
	assert_int_equal(members_add_user(fixture->db->store, fixture->db->arena, &fixture->actor, 99, "erin@example.com",
					  "erin@example.com", "", "$argon2id$stand-in", CONSOLE_VIEWER, NOW, &id),
			 STORE_NOT_FOUND); /* no such workspace */
	assert_string_equal(before, test_db_dump(fixture->db));
}

/* ---- transactions nest --------------------------------------------------------------------------- */

static void test_transactions_nest(void **state)
{
	struct fixture *fixture = *state;
	struct store *store = fixture->db->store;
	const char *before = test_db_dump(fixture->db);
	/* An outer rollback undoes what inner units committed. */
	assert_int_equal(store_transaction_begin(store), STORE_OK);
	assert_int_equal(create_role(fixture), STORE_OK);
	store_transaction_rollback(store);
	assert_string_equal(before, test_db_dump(fixture->db));
	test_db_assert_no_transaction(fixture->db);
	/* A failed inner unit undoes only itself; the outer one commits the rest. */
	assert_int_equal(store_transaction_begin(store), STORE_OK);
	assert_int_equal(create_role(fixture), STORE_OK);
	assert_int_equal(create_role(fixture), STORE_CONFLICT); /* the same name */
	assert_int_equal(store_transaction_commit(store), STORE_OK);
	assert_int_equal(test_db_integer(fixture->db, "SELECT count(*) FROM role WHERE name = 'billing'"), 1);
	assert_int_equal(test_db_integer(fixture->db, "SELECT count(*) FROM audit_event WHERE action = 'role.create'"), 1);
	test_db_assert_no_transaction(fixture->db);
	/* Committing with nothing open is refused, and harms nothing. */
	assert_int_equal(store_transaction_commit(store), STORE_ERROR);
	store_transaction_rollback(store);
	assert_int_equal(store_transaction_finish(store, STORE_OK), STORE_ERROR);
}

#define TEST(name) cmocka_unit_test_setup_teardown(name, setup, teardown)

int main(void)
{
	const struct CMUnitTest tests[] = {
		TEST(test_keys_create),
		TEST(test_keys_update),
		TEST(test_keys_disable),
		TEST(test_keys_regenerate),
		TEST(test_keys_revoke),
		TEST(test_keys_regenerate_failure_keeps_the_old_secret),
		TEST(test_allowlist_switch),
		TEST(test_allowlist_add),
		TEST(test_allowlist_remove),
		TEST(test_keys_unknown),
		TEST(test_roles),
		TEST(test_members),
		TEST(test_invitations),
		TEST(test_workspaces),
		TEST(test_members_add_user),
		TEST(test_transactions_nest),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
