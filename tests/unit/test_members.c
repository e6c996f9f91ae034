/*
 * test_members.c: unit tests for workspaces, members and invitations: who may give whom which
 * console role, the last owner, new workspaces, invitation links (stored hashed, once, expiry,
 * replaced, cancelled) and the setup link, on real SQLite files.
 */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include <stdbool.h>
#include <stdlib.h>
#include <string.h>

#include "support.h"

#include "core/alloc.h"
#include "domain/members.h"
#include "store/store.h"

#define NOW 1800000000LL

/* ---- rules ------------------------------------------------------------------------------------ */

static void test_who_may_give_which_role(void **state)
{
	(void)state;
	for (int current = -1; current < CONSOLE_ROLE_COUNT; current++) {
		const enum console_role role = (enum console_role)current, *now_has = current < 0 ? NULL : &role;
		for (int wanted = 0; wanted < CONSOLE_ROLE_COUNT; wanted++) {
			/* Owners: anything. */
			assert_null(member_change_problem(CONSOLE_OWNER, now_has, (enum console_role)wanted));
			/* Admins: anyone but owners, never to owner. */
			bool admin_may = current != CONSOLE_OWNER && wanted != CONSOLE_OWNER;
			const char *problem = member_change_problem(CONSOLE_ADMIN, now_has, (enum console_role)wanted);
			if (admin_may != (problem == NULL))
				fail_msg("admin, current %d, wanted %d: %s", current, wanted, problem ? problem : "allowed");
			/* Developers and viewers: nothing. */
			assert_non_null(member_change_problem(CONSOLE_DEVELOPER, now_has, (enum console_role)wanted));
			assert_non_null(member_change_problem(CONSOLE_VIEWER, now_has, (enum console_role)wanted));
		}
	}
}

static void test_workspace_names(void **state)
{
	(void)state;
	assert_null(workspace_name_problem("Acme API"));
	assert_null(workspace_name_problem("Ärger & Söhne <prod>"));
	assert_non_null(workspace_name_problem(""));
	assert_non_null(workspace_name_problem(NULL));
	assert_non_null(workspace_name_problem("tab\there"));
	assert_non_null(workspace_name_problem("\xff\xfe"));
	char name[WORKSPACE_NAME_MAX * 2 + 2];
	for (int i = 0; i < WORKSPACE_NAME_MAX; i++)
		memcpy(name + 2 * i, "ü", 2); /* 100 characters, 200 bytes: fine */
	name[2 * WORKSPACE_NAME_MAX] = '\0';
	assert_null(workspace_name_problem(name));
	strcat(name, "x");
	assert_non_null(workspace_name_problem(name));
}

/* ---- the store -------------------------------------------------------------------------------- */

struct fixture {
	struct test_db *db;
	int64_t owner;
	int64_t other;
};

static int setup(void **state)
{
	struct fixture *fixture = xcalloc(1, sizeof *fixture);
	fixture->db = test_db_open("members");
	if (fixture->db == NULL)
		return -1;
	struct store *store = fixture->db->store;
	if (store_user_insert(store, "owner@example.com", "owner@example.com", "", "h", NOW, &fixture->owner) != STORE_OK ||
	    store_user_insert(store, "bob@example.com", "bob@example.com", "", "h", NOW, &fixture->other) != STORE_OK ||
	    store_membership_set(store, STORE_DEFAULT_WORKSPACE, fixture->owner, "owner", NOW) != STORE_OK)
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

static void test_a_workspace_keeps_an_owner(void **state)
{
	struct fixture *fixture = *state;
	struct store *store = fixture->db->store;
	assert_int_equal(store_member_set_role(store, STORE_DEFAULT_WORKSPACE, fixture->owner, "admin"), STORE_CONFLICT);
	assert_int_equal(store_member_remove(store, STORE_DEFAULT_WORKSPACE, fixture->owner), STORE_CONFLICT);
	assert_string_equal(test_db_text(fixture->db, "SELECT console_role FROM membership WHERE user_id = %lld",
					 (long long)fixture->owner),
			    "owner");
	test_db_assert_no_transaction(fixture->db);
	/* With a second owner, the first may step down, and then the second is the last. */
	assert_int_equal(store_membership_set(store, STORE_DEFAULT_WORKSPACE, fixture->other, "owner", NOW), STORE_OK);
	assert_int_equal(store_member_set_role(store, STORE_DEFAULT_WORKSPACE, fixture->owner, "viewer"), STORE_OK);
	assert_int_equal(store_member_remove(store, STORE_DEFAULT_WORKSPACE, fixture->other), STORE_CONFLICT);
	assert_int_equal(store_member_remove(store, STORE_DEFAULT_WORKSPACE, fixture->owner), STORE_OK);
	assert_int_equal(store_member_remove(store, STORE_DEFAULT_WORKSPACE, fixture->owner), STORE_NOT_FOUND);
	assert_int_equal(store_member_set_role(store, STORE_DEFAULT_WORKSPACE, fixture->owner, "viewer"), STORE_NOT_FOUND);
	struct store_member *members = NULL;
	size_t count = 0;
	assert_int_equal(store_member_list(store, fixture->db->arena, STORE_DEFAULT_WORKSPACE, &members, &count), STORE_OK);
	assert_int_equal(count, 1);
	assert_string_equal(members[0].email, "bob@example.com");
}

static void test_a_new_workspace_has_its_owner_and_roles(void **state)
{
	struct fixture *fixture = *state;
	int64_t id = 0;
	assert_int_equal(store_workspace_create(fixture->db->store, "Second", fixture->other, NOW, &id), STORE_OK);
	assert_true(id > STORE_DEFAULT_WORKSPACE);
	struct store_membership membership;
	assert_int_equal(store_membership_get(fixture->db->store, fixture->db->arena, id, fixture->other, &membership),
			 STORE_OK);
	assert_string_equal(membership.console_role, "owner");
	assert_string_equal(membership.workspace_name, "Second");
	assert_int_equal(store_membership_get(fixture->db->store, fixture->db->arena, id, fixture->owner, &membership),
			 STORE_NOT_FOUND);
	assert_int_equal(test_db_integer(fixture->db, "SELECT count(*) FROM role WHERE workspace_id = %lld AND name IN "
						      "('admin', 'read-only')",
					 (long long)id),
			 2);
	/* The other workspace is untouched. */
	assert_int_equal(test_db_integer(fixture->db, "SELECT count(*) FROM membership WHERE workspace_id = 1"), 1);
}

static struct store_invitation invite(struct fixture *fixture, const char *email, const char *role, int64_t now,
				      char token[SESSION_TOKEN_LENGTH + 1])
{
	struct store_invitation invitation = { .workspace_id = STORE_DEFAULT_WORKSPACE, .email = email,
					       .console_role = role };
	struct audit_actor actor = { fixture->owner, "owner@example.com", "" };
	assert_int_equal(invitation_create(fixture->db->store, &fixture->db->config, fixture->db->arena, &actor,
					   &invitation, email, now, token),
			 STORE_OK);
	return invitation;
}

static void test_an_invitation_is_stored_hashed_and_works_once(void **state)
{
	struct fixture *fixture = *state;
	struct arena *arena = fixture->db->arena;
	char token[SESSION_TOKEN_LENGTH + 1];
	struct store_invitation made = invite(fixture, "bob@example.com", "developer", NOW, token);
	assert_int_equal(made.expires_at, NOW + INVITATION_SECONDS);
	test_db_assert_nowhere(fixture->db, token);
	struct store_invitation found;
	assert_int_equal(invitation_find(fixture->db->store, &fixture->db->config, arena, token, NOW + 10, &found),
			 INVITATION_OPEN);
	assert_string_equal(found.email, "bob@example.com");
	assert_string_equal(found.console_role, "developer");
	assert_string_equal(found.workspace_name, "Default");
	/* A token of the wrong shape, or one changed by a character, is unknown. */
	assert_int_equal(invitation_find(fixture->db->store, &fixture->db->config, arena, "short", NOW, &found),
			 INVITATION_UNKNOWN);
	char changed[SESSION_TOKEN_LENGTH + 1];
	memcpy(changed, token, sizeof changed);
	changed[0] = changed[0] == 'A' ? 'B' : 'A';
	assert_int_equal(invitation_find(fixture->db->store, &fixture->db->config, arena, changed, NOW, &found),
			 INVITATION_UNKNOWN);
	/* Expired after a week. */
	assert_int_equal(invitation_find(fixture->db->store, &fixture->db->config, arena, token, NOW + INVITATION_SECONDS,
					 &found),
			 INVITATION_USED);
	assert_int_equal(store_invitation_accept(fixture->db->store, &made, fixture->other, NOW + INVITATION_SECONDS),
			 STORE_NOT_FOUND);
	/* Accepted once: membership with its role; a second time: refused, nothing changes. */
	assert_int_equal(store_invitation_accept(fixture->db->store, &made, fixture->other, NOW + 20), STORE_OK);
	assert_string_equal(test_db_text(fixture->db, "SELECT console_role FROM membership WHERE user_id = %lld",
					 (long long)fixture->other),
			    "developer");
	assert_int_equal(invitation_find(fixture->db->store, &fixture->db->config, arena, token, NOW + 30, &found),
			 INVITATION_USED);
	assert_int_equal(store_invitation_accept(fixture->db->store, &made, fixture->owner, NOW + 30), STORE_NOT_FOUND);
	assert_int_equal(test_db_integer(fixture->db, "SELECT count(*) FROM membership"), 2);
	test_db_assert_no_transaction(fixture->db);
}

static void test_inviting_again_replaces_and_cancel_withdraws(void **state)
{
	struct fixture *fixture = *state;
	struct arena *arena = fixture->db->arena;
	char first[SESSION_TOKEN_LENGTH + 1], second[SESSION_TOKEN_LENGTH + 1], other[SESSION_TOKEN_LENGTH + 1];
	invite(fixture, "carol@example.com", "viewer", NOW, first);
	struct store_invitation latest = invite(fixture, "carol@example.com", "admin", NOW + 1, second);
	invite(fixture, "dave@example.com", "viewer", NOW + 2, other);
	struct store_invitation found;
	assert_int_equal(invitation_find(fixture->db->store, &fixture->db->config, arena, first, NOW + 3, &found),
			 INVITATION_UNKNOWN);
	assert_int_equal(invitation_find(fixture->db->store, &fixture->db->config, arena, second, NOW + 3, &found),
			 INVITATION_OPEN);
	struct store_invitation *pending = NULL;
	size_t count = 0;
	assert_int_equal(store_invitation_list_pending(fixture->db->store, arena, STORE_DEFAULT_WORKSPACE, NOW + 3, &pending,
						       &count),
			 STORE_OK);
	assert_int_equal(count, 2);
	assert_string_equal(pending[0].email, "dave@example.com"); /* newest first */
	assert_string_equal(pending[1].console_role, "admin");
	struct store_invitation cancelled;
	assert_int_equal(store_invitation_cancel(fixture->db->store, arena, 2, latest.id, &cancelled), STORE_NOT_FOUND);
	assert_int_equal(store_invitation_cancel(fixture->db->store, arena, STORE_DEFAULT_WORKSPACE, latest.id, &cancelled),
			 STORE_OK);
	assert_string_equal(cancelled.email, "carol@example.com");
	assert_int_equal(invitation_find(fixture->db->store, &fixture->db->config, arena, second, NOW + 3, &found),
			 INVITATION_UNKNOWN);
	assert_int_equal(store_invitation_cancel(fixture->db->store, arena, STORE_DEFAULT_WORKSPACE, latest.id, &cancelled),
			 STORE_NOT_FOUND);
	test_db_assert_no_transaction(fixture->db);
}

static void test_a_new_account_joins_in_one_transaction(void **state)
{
	struct fixture *fixture = *state;
	char token[SESSION_TOKEN_LENGTH + 1];
	struct store_invitation made = invite(fixture, "erin@example.com", "viewer", NOW, token);
	int64_t user_id = 0;
	/* An address that has an account: refused, and the invitation is still open. */
	assert_int_equal(store_invitation_accept_new_user(fixture->db->store, &made, "Bob@example.com", "bob@example.com",
							  "", "h", NOW + 1, &user_id),
			 STORE_CONFLICT);
	assert_int_equal(test_db_integer(fixture->db, "SELECT accepted_at IS NULL FROM invitation WHERE id = %lld",
					 (long long)made.id),
			 1);
	assert_int_equal(store_invitation_accept_new_user(fixture->db->store, &made, "Erin@example.com", "erin@example.com",
							  "", "h", NOW + 2, &user_id),
			 STORE_OK);
	assert_string_equal(test_db_text(fixture->db, "SELECT console_role FROM membership WHERE user_id = %lld",
					 (long long)user_id),
			    "viewer");
	/* Used up: a second account from the same link is refused and not made. */
	assert_int_equal(store_invitation_accept_new_user(fixture->db->store, &made, "Eve@example.com", "eve@example.com",
							  "", "h", NOW + 3, &user_id),
			 STORE_NOT_FOUND);
	assert_int_equal(test_db_integer(fixture->db, "SELECT count(*) FROM \"user\" WHERE email_folded = 'eve@example.com'"),
			 0);
	test_db_assert_no_transaction(fixture->db);
}

static void test_a_setup_link_makes_only_the_first_account(void **state)
{
	struct fixture *fixture = *state;
	struct store_invitation setup = { .workspace_id = STORE_DEFAULT_WORKSPACE, .email = "", .console_role = "owner",
					  .setup = true };
	char token[SESSION_TOKEN_LENGTH + 1];
	struct audit_actor actor = { 0, "command line", "" };
	assert_int_equal(invitation_create(fixture->db->store, &fixture->db->config, fixture->db->arena, &actor, &setup,
					   "", NOW, token),
			 STORE_OK);
	assert_int_equal(setup.expires_at, NOW + SETUP_LINK_SECONDS);
	int64_t user_id = 0;
	/* Users exist (the fixture's): the link makes nobody. */
	assert_int_equal(store_invitation_accept_new_user(fixture->db->store, &setup, "first@example.com",
							  "first@example.com", "", "h", NOW + 1, &user_id),
			 STORE_NOT_FOUND);
	test_db_execute(fixture->db, "DELETE FROM membership; DELETE FROM \"user\";");
	assert_int_equal(store_invitation_accept_new_user(fixture->db->store, &setup, "first@example.com",
							  "first@example.com", "", "h", NOW + 2, &user_id),
			 STORE_OK);
	assert_string_equal(test_db_text(fixture->db, "SELECT console_role FROM membership WHERE user_id = %lld",
					 (long long)user_id),
			    "owner");
	/* A setup link is not a pending invitation of the workspace, and never replaced by one. */
	struct store_invitation *pending = NULL;
	size_t count = 0;
	assert_int_equal(store_invitation_list_pending(fixture->db->store, fixture->db->arena, STORE_DEFAULT_WORKSPACE, NOW,
						       &pending, &count),
			 STORE_OK);
	assert_int_equal(count, 0);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_who_may_give_which_role),
		cmocka_unit_test(test_workspace_names),
		cmocka_unit_test_setup_teardown(test_a_workspace_keeps_an_owner, setup, teardown),
		cmocka_unit_test_setup_teardown(test_a_new_workspace_has_its_owner_and_roles, setup, teardown),
		cmocka_unit_test_setup_teardown(test_an_invitation_is_stored_hashed_and_works_once, setup, teardown),
		cmocka_unit_test_setup_teardown(test_inviting_again_replaces_and_cancel_withdraws, setup, teardown),
		cmocka_unit_test_setup_teardown(test_a_new_account_joins_in_one_transaction, setup, teardown),
		cmocka_unit_test_setup_teardown(test_a_setup_link_makes_only_the_first_account, setup, teardown),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
