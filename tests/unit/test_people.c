/*
 * test_people.c: changes to a person's account (domain/users.c) and signing in and out
 * (domain/sessions.c) are all or nothing, on real SQLite files. For each, each write it makes is
 * made to fail in turn (a trigger that raises) and the database must be exactly as before; then
 * it succeeds with its audit line in each workspace of the person. And the rules: the only owner
 * who can sign in is neither disabled nor removed, a disabled person's sessions stop working, a
 * password changed meanwhile refuses a sign-in checked against the old one.
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
#include "domain/sessions.h"
#include "domain/users.h"
#include "store/store.h"

#define NOW 1800000000LL

struct fixture {
	struct test_db *db;
	struct audit_actor command_line;
	int64_t ada; /* owner of workspaces 1 and 2 */
	int64_t bob; /* owner of workspace 1, viewer of 2 */
	char ada_token[SESSION_TOKEN_LENGTH + 1], ada_other[SESSION_TOKEN_LENGTH + 1];
};

static int setup(void **state)
{
	struct fixture *fixture = xcalloc(1, sizeof *fixture);
	fixture->db = test_db_open("people");
	if (fixture->db == NULL) {
		free(fixture);
		return -1;
	}
	test_db_execute(fixture->db,
			"INSERT INTO workspace (id, name, created_at) VALUES (2, 'Second', 1);"
			"INSERT INTO \"user\" (email, email_folded, name, password_hash, created_at, updated_at) VALUES "
			"('Ada@example.com', 'ada@example.com', '', '$argon2id$ada', 1, 1), "
			"('bob@example.com', 'bob@example.com', '', '$argon2id$bob', 1, 1);"
			"INSERT INTO membership (workspace_id, user_id, console_role, created_at) VALUES "
			"(1, 1, 'owner', 1), (2, 1, 'owner', 1), (1, 2, 'owner', 1), (2, 2, 'viewer', 1);"
			"INSERT INTO signin_failure (subject, at, at_ms) VALUES ('email:ada@example.com', 1800000000, "
			"1800000000000), ('device:ada@example.com abc', 1800000000, 1800000000000), "
			"('address:192.0.2.1', 1800000000, 1800000000000);");
	fixture->ada = 1;
	fixture->bob = 2;
	fixture->command_line = (struct audit_actor){ 0, "command line", "" };
	struct store *store = fixture->db->store;
	if (session_start(store, &fixture->db->config, fixture->ada, NOW, "", fixture->ada_token) != STORE_OK ||
	    session_start(store, &fixture->db->config, fixture->ada, NOW, "", fixture->ada_other) != STORE_OK)
		return -1;
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

/* test_assert_all_or_nothing() (support.h) for an action of Ada's that writes `lines` audit lines. */
static void assert_all_or_nothing(struct fixture *fixture, enum store_status (*action)(void *fixture),
				  const struct test_write *writes, size_t count, const char *audit_action, long long lines)
{
	test_assert_all_or_nothing(fixture->db, action, fixture, writes, count, audit_action, lines);
}

static enum session_state resume(struct fixture *fixture, const char *token)
{
	struct store_session session;
	return session_resume(fixture->db->store, &fixture->db->config, fixture->db->arena, token, NOW + 1, &session);
}

/* ---- disable, enable ---------------------------------------------------------------------------- */

static enum store_status disable_ada(void *context)
{
	struct fixture *fixture = context;
	const char *blocking = NULL;
	int64_t ended = 0;
	bool changed = false;
	enum store_status status = users_disable(fixture->db->store, fixture->db->arena, &fixture->command_line,
						 fixture->ada, NOW, &blocking, &ended, &changed);
	assert_int_equal(ended, status == STORE_OK ? 2 : 0);
	assert_int_equal(changed, status == STORE_OK);
	return status;
}

static void test_disabling_ends_every_session_at_once(void **state)
{
	struct fixture *fixture = *state;
	/* Workspace 2 has no other owner: make Bob one, so that Ada may be disabled. */
	test_db_execute(fixture->db, "UPDATE membership SET console_role = 'owner' WHERE workspace_id = 2 AND user_id = 2");
	static const struct test_write writes[] = { { "UPDATE", "user" }, { "DELETE", "session" }, { "INSERT", "audit_event" } };
	assert_all_or_nothing(fixture, disable_ada, writes, sizeof writes / sizeof writes[0], "user.disable", 2);
	assert_int_equal(test_db_integer(fixture->db, "SELECT count(*) FROM session WHERE user_id = 1"), 0);
	assert_int_equal(resume(fixture, fixture->ada_token), SESSION_NONE);
	assert_string_equal(test_db_joined(fixture->db, " | ", "SELECT target_id || ': ' || summary FROM audit_event "
								  "WHERE action = 'user.disable' ORDER BY id"),
			    "Ada@example.com: account disabled: cannot sign in; 2 sessions ended | "
			    "Ada@example.com: account disabled: cannot sign in; 2 sessions ended");
	/* A session that slipped in (made by hand) does not work for a disabled user either. */
	char token[SESSION_TOKEN_LENGTH + 1];
	assert_int_equal(session_start(fixture->db->store, &fixture->db->config, fixture->ada, NOW, "", token), STORE_OK);
	assert_int_equal(resume(fixture, token), SESSION_NONE);
	/* Again: nothing to change, nothing written. */
	const char *blocking = NULL;
	int64_t ended = 0;
	bool changed = true;
	assert_int_equal(users_disable(fixture->db->store, fixture->db->arena, &fixture->command_line, fixture->ada, NOW,
				       &blocking, &ended, &changed),
			 STORE_OK);
	assert_false(changed);
	/* Enabled again: can sign in, one line per workspace. */
	assert_int_equal(users_enable(fixture->db->store, fixture->db->arena, &fixture->command_line, fixture->ada, NOW,
				      &changed),
			 STORE_OK);
	assert_true(changed);
	assert_int_equal(test_db_integer(fixture->db, "SELECT count(*) FROM \"user\" WHERE id = 1 AND disabled_at IS NULL"), 1);
	assert_int_equal(test_db_integer(fixture->db, "SELECT count(*) FROM audit_event WHERE action = 'user.enable'"), 2);
	assert_int_equal(users_enable(fixture->db->store, fixture->db->arena, &fixture->command_line, fixture->ada, NOW,
				      &changed),
			 STORE_OK);
	assert_false(changed);
	assert_int_equal(users_enable(fixture->db->store, fixture->db->arena, &fixture->command_line, 99, NOW, &changed),
			 STORE_NOT_FOUND);
}

static void test_the_only_owner_who_can_sign_in_stays(void **state)
{
	struct fixture *fixture = *state;
	struct store *store = fixture->db->store;
	const char *blocking = NULL;
	int64_t ended = 0;
	bool changed = false;
	/* Ada is workspace 2's only owner: refused, naming it, and nothing changed. */
	const char *before = test_db_dump(fixture->db);
	assert_int_equal(users_disable(store, fixture->db->arena, &fixture->command_line, fixture->ada, NOW, &blocking,
				       &ended, &changed),
			 STORE_CONFLICT);
	assert_string_equal(blocking, "Second");
	assert_int_equal(users_remove(store, fixture->db->arena, &fixture->command_line, fixture->ada, NOW, &blocking),
			 STORE_CONFLICT);
	assert_string_equal(blocking, "Second");
	assert_string_equal(before, test_db_dump(fixture->db));
	/* Bob shares workspace 1 with Ada: he may be disabled ... */
	assert_int_equal(users_disable(store, fixture->db->arena, &fixture->command_line, fixture->bob, NOW, &blocking,
				       &ended, &changed),
			 STORE_OK);
	/* ... and then Ada is workspace 1's only owner who can sign in: a disabled owner does not count. */
	test_db_execute(fixture->db, "UPDATE membership SET console_role = 'owner' WHERE workspace_id = 2 AND user_id = 2");
	assert_int_equal(users_disable(store, fixture->db->arena, &fixture->command_line, fixture->ada, NOW, &blocking,
				       &ended, &changed),
			 STORE_CONFLICT);
	assert_string_equal(blocking, "Default");
	/* Nor may the console demote or remove her there. */
	assert_int_equal(store_member_set_role(store, 1, fixture->ada, "admin"), STORE_CONFLICT);
	assert_int_equal(store_member_remove(store, 1, fixture->ada), STORE_CONFLICT);
}

/* ---- remove ------------------------------------------------------------------------------------- */

static enum store_status remove_ada(void *context)
{
	struct fixture *fixture = context;
	const char *blocking = NULL;
	return users_remove(fixture->db->store, fixture->db->arena, &fixture->command_line, fixture->ada, NOW, &blocking);
}

static void test_removing_deletes_the_account_and_the_log_keeps_the_address(void **state)
{
	struct fixture *fixture = *state;
	test_db_execute(fixture->db, "UPDATE membership SET console_role = 'owner' WHERE workspace_id = 2 AND user_id = 2;"
				     "INSERT INTO audit_event (workspace_id, at, actor_user_id, actor_label, action) VALUES "
				     "(1, 1, 1, 'Ada@example.com', 'key.create')");
	static const struct test_write writes[] = { { "INSERT", "audit_event" }, { "DELETE", "signin_failure" },
					       { "DELETE", "user" }, { "DELETE", "membership" }, { "DELETE", "session" },
					       { "UPDATE", "audit_event" } };
	assert_all_or_nothing(fixture, remove_ada, writes, sizeof writes / sizeof writes[0], "user.remove", 2);
	assert_int_equal(test_db_integer(fixture->db, "SELECT count(*) FROM \"user\" WHERE id = 1"), 0);
	assert_int_equal(test_db_integer(fixture->db, "SELECT count(*) FROM membership WHERE user_id = 1"), 0);
	assert_int_equal(test_db_integer(fixture->db, "SELECT count(*) FROM session WHERE user_id = 1"), 0);
	assert_int_equal(test_db_integer(fixture->db, "SELECT count(*) FROM signin_failure WHERE subject LIKE '%%ada%%'"), 0);
	assert_int_equal(test_db_integer(fixture->db, "SELECT count(*) FROM signin_failure"), 1); /* the address's stays */
	assert_string_equal(test_db_text(fixture->db, "SELECT actor_label || ' ' || coalesce(CAST(actor_user_id AS TEXT), 'none') FROM "
						      "audit_event WHERE action = 'key.create'"),
			    "Ada@example.com none");
	assert_int_equal(test_db_integer(fixture->db, "SELECT count(*) FROM audit_event WHERE action = 'user.remove' AND "
						      "target_id = 'Ada@example.com'"),
			 2);
	assert_int_equal(remove_ada(fixture), STORE_NOT_FOUND);
}

/* ---- passwords, unlock, everywhere ---------------------------------------------------------------- */

static enum store_status reset_ada(void *context)
{
	struct fixture *fixture = context;
	int64_t ended = 0;
	return users_reset_password(fixture->db->store, fixture->db->arena, &fixture->command_line, fixture->ada,
				    "$argon2id$new", NOW, &ended);
}

static void test_a_new_password_ends_sessions_and_unlocks(void **state)
{
	struct fixture *fixture = *state;
	static const struct test_write writes[] = { { "UPDATE", "user" }, { "DELETE", "session" },
					       { "DELETE", "signin_failure" }, { "INSERT", "audit_event" } };
	assert_all_or_nothing(fixture, reset_ada, writes, sizeof writes / sizeof writes[0], "user.password", 2);
	assert_string_equal(test_db_text(fixture->db, "SELECT password_hash FROM \"user\" WHERE id = 1"), "$argon2id$new");
	assert_int_equal(test_db_integer(fixture->db, "SELECT count(*) FROM session WHERE user_id = 1"), 0);
	assert_int_equal(test_db_integer(fixture->db, "SELECT count(*) FROM signin_failure WHERE subject LIKE '%%ada%%'"), 0);
}

static enum store_status change_ada(void *context)
{
	struct fixture *fixture = context;
	struct store_session session;
	assert_int_equal(session_resume(fixture->db->store, &fixture->db->config, fixture->db->arena, fixture->ada_token,
					NOW + 1, &session),
			 SESSION_VALID);
	struct audit_actor actor = { fixture->ada, "Ada@example.com", "192.0.2.1" };
	int64_t ended = 0;
	return users_change_password(fixture->db->store, fixture->db->arena, &actor, NULL, "$argon2id$ada",
				     "$argon2id$mine", session.id, NOW, &ended);
}

static void test_changing_ones_own_password_keeps_this_session(void **state)
{
	struct fixture *fixture = *state;
	static const struct test_write writes[] = { { "UPDATE", "user" }, { "DELETE", "session" },
					       { "DELETE", "signin_failure" }, { "INSERT", "audit_event" } };
	assert_all_or_nothing(fixture, change_ada, writes, sizeof writes / sizeof writes[0], "user.password", 2);
	assert_int_equal(resume(fixture, fixture->ada_token), SESSION_VALID);
	assert_int_equal(resume(fixture, fixture->ada_other), SESSION_NONE);
	/* Checked against a password that is no longer hers: refused. */
	assert_int_equal(change_ada(fixture), STORE_CONFLICT);
	assert_string_equal(test_db_text(fixture->db, "SELECT password_hash FROM \"user\" WHERE id = 1"), "$argon2id$mine");
}

static enum store_status unlock_ada(void *context)
{
	struct fixture *fixture = context;
	return users_unlock(fixture->db->store, fixture->db->arena, &fixture->command_line, fixture->ada,
			    "ada@example.com", NOW);
}

static void test_unlock_forgets_the_account_and_its_devices(void **state)
{
	struct fixture *fixture = *state;
	static const struct test_write writes[] = { { "DELETE", "signin_failure" }, { "INSERT", "audit_event" } };
	assert_all_or_nothing(fixture, unlock_ada, writes, sizeof writes / sizeof writes[0], "user.unlock", 2);
	assert_string_equal(test_db_joined(fixture->db, ",", "SELECT subject FROM signin_failure ORDER BY subject"),
			    "address:192.0.2.1");
}

static enum store_status everywhere_ada(void *context)
{
	struct fixture *fixture = context;
	struct audit_actor actor = { fixture->ada, "Ada@example.com", "192.0.2.1" };
	int64_t ended = 0;
	enum store_status status = users_sign_out_everywhere(fixture->db->store, fixture->db->arena, &actor, NOW, &ended);
	assert_int_equal(ended, status == STORE_OK ? 2 : 0);
	return status;
}

static void test_signing_out_everywhere(void **state)
{
	struct fixture *fixture = *state;
	static const struct test_write writes[] = { { "DELETE", "session" }, { "INSERT", "audit_event" } };
	assert_all_or_nothing(fixture, everywhere_ada, writes, sizeof writes / sizeof writes[0], "signout.everywhere", 2);
	assert_int_equal(resume(fixture, fixture->ada_token), SESSION_NONE);
	assert_int_equal(resume(fixture, fixture->ada_other), SESSION_NONE);
}

/* ---- signing in and out ------------------------------------------------------------------------ */

static struct signin_attempt recorded;
static struct store_user checked; /* Ada as read before her password was checked */

static enum store_status sign_ada_in(void *context)
{
	struct fixture *fixture = context;
	struct signin_success success = { &checked, &recorded, fixture->ada_token, "192.0.2.1", "signed in" };
	char token[SESSION_TOKEN_LENGTH + 1];
	enum store_status status =
		session_sign_in(fixture->db->store, &fixture->db->config, fixture->db->arena, &success, NOW, token);
	assert_int_equal(strlen(token), status == STORE_OK ? SESSION_TOKEN_LENGTH : 0);
	return status;
}

static void test_signing_in_is_one_transaction(void **state)
{
	struct fixture *fixture = *state;
	int64_t wait = -1;
	bool locked = true;
	assert_int_equal(signin_attempt_begin(fixture->db->store, "ada@example.com", NULL, "192.0.2.1", NOW * 1000 + 5000,
					      &recorded, &wait, &locked),
			 STORE_OK);
	assert_int_equal(wait, 0);
	assert_int_equal(store_user_get(fixture->db->store, fixture->db->arena, fixture->ada, &checked), STORE_OK);
	/* The previous session ends, the new one starts, the attempt is forgotten, each workspace gets a line. */
	static const struct test_write writes[] = { { "DELETE", "session" }, { "INSERT", "session" },
					       { "DELETE", "signin_failure" }, { "INSERT", "audit_event" } };
	assert_all_or_nothing(fixture, sign_ada_in, writes, sizeof writes / sizeof writes[0], "signin", 2);
	assert_int_equal(resume(fixture, fixture->ada_token), SESSION_NONE);
	assert_int_equal(resume(fixture, fixture->ada_other), SESSION_VALID);
	assert_string_equal(test_db_joined(fixture->db, ",", "SELECT subject FROM signin_failure ORDER BY subject"),
			    "address:192.0.2.1,device:ada@example.com abc"); /* the earlier ones of the address stay */
	/* Checked against a password that changed meanwhile, or by someone disabled meanwhile: refused, nothing changes. */
	test_db_execute(fixture->db, "UPDATE \"user\" SET password_hash = '$argon2id$changed' WHERE id = 1");
	const char *before = test_db_dump(fixture->db);
	assert_int_equal(sign_ada_in(fixture), STORE_CONFLICT);
	test_db_execute(fixture->db, "UPDATE \"user\" SET password_hash = '$argon2id$ada', disabled_at = 1 WHERE id = 1");
	assert_int_equal(sign_ada_in(fixture), STORE_CONFLICT);
	test_db_execute(fixture->db, "UPDATE \"user\" SET password_hash = '$argon2id$changed', disabled_at = NULL WHERE id = 1");
	assert_string_equal(before, test_db_dump(fixture->db));
}

static enum store_status sign_ada_out(void *context)
{
	struct fixture *fixture = context;
	struct audit_actor actor = { fixture->ada, "Ada@example.com", "192.0.2.1" };
	return session_sign_out(fixture->db->store, &fixture->db->config, fixture->db->arena, &actor, fixture->ada_token, NOW);
}

static void test_signing_out_is_one_transaction(void **state)
{
	struct fixture *fixture = *state;
	static const struct test_write writes[] = { { "DELETE", "session" }, { "INSERT", "audit_event" } };
	assert_all_or_nothing(fixture, sign_ada_out, writes, sizeof writes / sizeof writes[0], "signout", 2);
	assert_int_equal(resume(fixture, fixture->ada_token), SESSION_NONE);
	assert_int_equal(resume(fixture, fixture->ada_other), SESSION_VALID);
}

static void test_a_throttle_that_cannot_count_refuses(void **state)
{
	struct fixture *fixture = *state;
	/* Counting or recording fails: the attempt is not let through, and nothing is half-written. */
	static const char *const faults[] = { "NEW.subject LIKE 'address:%'", NULL }; /* the rows that fail */
	for (size_t i = 0; i < sizeof faults / sizeof faults[0]; i++) {
		const char *before = test_db_dump(fixture->db);
		test_db_fail_writes(fixture->db, "INSERT", "signin_failure", faults[i], "injected");
		int64_t wait = -1;
		bool locked = true;
		assert_int_not_equal(signin_attempt_begin(fixture->db->store, "ada@example.com", NULL, "192.0.2.9",
							  NOW * 1000 + 5000, &recorded, &wait, &locked),
				     STORE_OK);
		assert_int_equal(wait, 0);
		assert_false(locked);
		test_db_allow_writes(fixture->db, "signin_failure");
		assert_string_equal(before, test_db_dump(fixture->db));
		test_db_assert_no_transaction(fixture->db);
	}
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(test_disabling_ends_every_session_at_once, setup, teardown),
		cmocka_unit_test_setup_teardown(test_the_only_owner_who_can_sign_in_stays, setup, teardown),
		cmocka_unit_test_setup_teardown(test_removing_deletes_the_account_and_the_log_keeps_the_address, setup,
						teardown),
		cmocka_unit_test_setup_teardown(test_a_new_password_ends_sessions_and_unlocks, setup, teardown),
		cmocka_unit_test_setup_teardown(test_changing_ones_own_password_keeps_this_session, setup, teardown),
		cmocka_unit_test_setup_teardown(test_unlock_forgets_the_account_and_its_devices, setup, teardown),
		cmocka_unit_test_setup_teardown(test_signing_out_everywhere, setup, teardown),
		cmocka_unit_test_setup_teardown(test_signing_in_is_one_transaction, setup, teardown),
		cmocka_unit_test_setup_teardown(test_signing_out_is_one_transaction, setup, teardown),
		cmocka_unit_test_setup_teardown(test_a_throttle_that_cannot_count_refuses, setup, teardown),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
