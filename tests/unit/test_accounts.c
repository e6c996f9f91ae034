/*
 * test_accounts.c: unit tests for console accounts: e-mail and password rules, Argon2id hashes,
 * console roles, sessions (expiry, sign-out, CSRF) and sign-in throttling, on real SQLite files.
 */
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
#include "domain/accounts.h"
#include "domain/sessions.h"
#include "store/store.h"

#define NOW 1800000000LL

/* ---- rules ------------------------------------------------------------------------------------ */

static void test_email_rules(void **state)
{
	(void)state;
	char folded[ACCOUNT_EMAIL_MAX + 1];
	assert_null(account_email_problem("Ada.Lovelace@Example.COM", folded));
	assert_string_equal(folded, "ada.lovelace@example.com");
	assert_null(account_email_problem("jürgen@bücher.example", folded)); /* UTF-8 kept, ASCII folded */
	assert_string_equal(folded, "jürgen@bücher.example");

	static const char *const refused[] = {
		"", "ada", "ada@", "@example.com", "ada@example", "ada@@example.com", "a@b@example.com",
		"ada@.example.com", "ada@example.com.", "ada@example..com", "ada lovelace@example.com",
		"ada@exa\tmple.com", "<ada>@example.com", "ada@example.com;drop", "\xff@example.com",
	};
	for (size_t i = 0; i < sizeof refused / sizeof refused[0]; i++) {
		const char *problem = account_email_problem(refused[i], folded);
		if (problem == NULL)
			fail_msg("accepted \"%s\"", refused[i]);
		assert_string_equal(folded, "");
	}
	char long_local[80];
	memset(long_local, 'a', 65);
	strcpy(long_local + 65, "@example.com");
	assert_non_null(account_email_problem(long_local, folded));
	char too_long[ACCOUNT_EMAIL_MAX + 10];
	memset(too_long, 'a', sizeof too_long);
	memcpy(too_long, "a@", 2);
	too_long[sizeof too_long - 1] = '\0';
	too_long[sizeof too_long - 5] = '.';
	assert_non_null(account_email_problem(too_long, folded));
}

static void test_password_rules(void **state)
{
	(void)state;
	assert_null(account_password_problem("correct horse", 13));
	assert_non_null(account_password_problem("short", 5));
	assert_non_null(account_password_problem("elevenchars", 11));
	/* Twelve characters, more bytes: counted in characters. */
	assert_null(account_password_problem("ääääääääääää", strlen("ääääääääääää")));
	assert_non_null(account_password_problem("äääää", strlen("äääää")));
	assert_non_null(account_password_problem("twelve chars\0and more", 21)); /* a NUL inside */
	assert_non_null(account_password_problem("\xff\xfe twelve chars", 15));
	char *huge = xmalloc(ACCOUNT_PASSWORD_MAX + 1);
	memset(huge, 'x', ACCOUNT_PASSWORD_MAX + 1);
	assert_null(account_password_problem(huge, ACCOUNT_PASSWORD_MAX));
	assert_non_null(account_password_problem(huge, ACCOUNT_PASSWORD_MAX + 1));
	free(huge);
}

static void test_password_hash_and_verify(void **state)
{
	(void)state;
	char hash[ACCOUNT_HASH_MAX];
	const char *password = "correct horse battery staple";
	assert_true(account_password_hash(password, strlen(password), hash));
	assert_non_null(strstr(hash, "$argon2id$"));
	assert_null(strstr(hash, password));
	assert_true(account_password_verify(hash, password, strlen(password)));
	assert_false(account_password_verify(hash, "correct horse battery stapl", 27));
	assert_false(account_password_verify(hash, "Correct horse battery staple", 28));
	assert_false(account_password_verify("", password, strlen(password)));
	assert_false(account_password_verify("$argon2id$garbage", password, strlen(password)));
	assert_false(account_password_verify(NULL, password, strlen(password))); /* no account: still no */
	/* Two hashes of one password differ (salted). */
	char again[ACCOUNT_HASH_MAX];
	assert_true(account_password_hash(password, strlen(password), again));
	assert_string_not_equal(hash, again);
}

static void test_console_roles(void **state)
{
	(void)state;
	enum console_role role;
	assert_true(console_role_parse("owner", &role));
	assert_int_equal(role, CONSOLE_OWNER);
	assert_true(console_role_parse("viewer", &role));
	assert_int_equal(role, CONSOLE_VIEWER);
	assert_false(console_role_parse("Owner", &role));
	assert_false(console_role_parse("root", &role));
	assert_false(console_role_parse(NULL, &role));

	unsigned all = PERMISSION_KEY_VIEW | PERMISSION_KEY_CREATE | PERMISSION_KEY_UPDATE | PERMISSION_KEY_DELETE |
		       PERMISSION_ROLE_MANAGE | PERMISSION_MEMBER_MANAGE;
	assert_int_equal(console_role_permissions(CONSOLE_OWNER), all);
	assert_int_equal(console_role_permissions(CONSOLE_ADMIN), all);
	assert_int_equal(console_role_permissions(CONSOLE_DEVELOPER),
			 PERMISSION_KEY_VIEW | PERMISSION_KEY_CREATE | PERMISSION_KEY_UPDATE);
	assert_int_equal(console_role_permissions(CONSOLE_VIEWER), PERMISSION_KEY_VIEW);
	assert_string_equal(console_role_permission_names(CONSOLE_VIEWER), "api.key.view");
	assert_non_null(strstr(console_role_permission_names(CONSOLE_OWNER), "member.manage"));
	assert_null(strstr(console_role_permission_names(CONSOLE_DEVELOPER), "api.key.delete"));
	for (int i = 0; i < CONSOLE_ROLE_COUNT; i++) {
		assert_true(console_role_parse(console_role_name((enum console_role)i), &role));
		assert_int_equal(role, i);
	}
}

/* ---- sessions --------------------------------------------------------------------------------- */

struct fixture {
	struct test_db *db;
	int64_t user_id;
};

static int setup(void **state)
{
	struct fixture *fixture = xcalloc(1, sizeof *fixture);
	fixture->db = test_db_open("accounts");
	if (fixture->db == NULL)
		return -1;
	if (store_user_insert(fixture->db->store, "Ada@Example.com", "ada@example.com", "Ada", "$argon2id$x", NOW,
			      &fixture->user_id) != STORE_OK)
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

static enum session_state resume(struct fixture *fixture, const char *token, int64_t now,
				 struct store_session *session)
{
	return session_resume(fixture->db->store, &fixture->db->config, fixture->db->arena, token, now, session);
}

static void test_users_and_memberships(void **state)
{
	struct fixture *fixture = *state;
	struct store *store = fixture->db->store;
	int64_t other = 0;
	assert_int_equal(store_user_insert(store, "ADA@example.com", "ada@example.com", "", "h", NOW, &other),
			 STORE_CONFLICT);
	struct store_user user;
	assert_int_equal(store_user_find_by_email(store, fixture->db->arena, "ada@example.com", &user), STORE_OK);
	assert_int_equal(user.id, fixture->user_id);
	assert_string_equal(user.email, "Ada@Example.com");
	assert_int_equal(store_user_find_by_email(store, fixture->db->arena, "bob@example.com", &user), STORE_NOT_FOUND);
	int64_t count = 0;
	assert_int_equal(store_user_count(store, &count), STORE_OK);
	assert_int_equal(count, 1);

	assert_int_equal(store_membership_set(store, STORE_DEFAULT_WORKSPACE, fixture->user_id, "viewer", NOW), STORE_OK);
	assert_int_equal(store_membership_set(store, STORE_DEFAULT_WORKSPACE, fixture->user_id, "admin", NOW), STORE_OK);
	assert_int_equal(store_membership_set(store, 99, fixture->user_id, "admin", NOW), STORE_CONFLICT); /* no such workspace */
	assert_int_equal(store_membership_set(store, STORE_DEFAULT_WORKSPACE, fixture->user_id, "root", NOW), STORE_CONFLICT);
	struct store_membership *memberships = NULL;
	size_t memberships_count = 0;
	assert_int_equal(store_membership_list_for_user(store, fixture->db->arena, fixture->user_id, &memberships,
							&memberships_count),
			 STORE_OK);
	assert_int_equal(memberships_count, 1);
	assert_string_equal(memberships[0].console_role, "admin");
	assert_string_equal(memberships[0].workspace_name, "Default");
}

static void test_a_session_lives_until_idle_or_absolute_expiry(void **state)
{
	struct fixture *fixture = *state;
	char token[SESSION_TOKEN_LENGTH + 1];
	assert_int_equal(session_start(fixture->db->store, &fixture->db->config, fixture->user_id, NOW, "192.0.2.1", token),
			 STORE_OK);
	assert_int_equal(strlen(token), SESSION_TOKEN_LENGTH);
	/* Only a keyed hash is stored: the token itself is nowhere in the database. */
	assert_int_equal(test_db_integer(fixture->db, "SELECT count(*) FROM session WHERE token_hash = CAST('%s' AS BLOB) "
						      "OR instr(CAST(token_hash AS TEXT), '%s') > 0",
					 token, token),
			 0);
	struct store_session session;
	assert_int_equal(resume(fixture, token, NOW + 10, &session), SESSION_VALID);
	assert_int_equal(session.user_id, fixture->user_id);
	assert_string_equal(session.email, "Ada@Example.com");

	/* Kept alive by use, each step within the idle limit ... */
	int64_t now = NOW;
	while (now + SESSION_IDLE_SECONDS - 60 < NOW + SESSION_ABSOLUTE_SECONDS) {
		now += SESSION_IDLE_SECONDS - 60;
		assert_int_equal(resume(fixture, token, now, &session), SESSION_VALID);
	}
	/* ... but not past the absolute end, and then it is gone. */
	assert_int_equal(resume(fixture, token, NOW + SESSION_ABSOLUTE_SECONDS, &session), SESSION_EXPIRED);
	assert_int_equal(resume(fixture, token, NOW + SESSION_ABSOLUTE_SECONDS, &session), SESSION_NONE);

	/* Idle too long. */
	assert_int_equal(session_start(fixture->db->store, &fixture->db->config, fixture->user_id, NOW, "", token),
			 STORE_OK);
	assert_int_equal(resume(fixture, token, NOW + SESSION_IDLE_SECONDS - 1, &session), SESSION_VALID);
	assert_int_equal(resume(fixture, token, NOW + 2 * SESSION_IDLE_SECONDS, &session), SESSION_EXPIRED);
}

static void test_sign_out_and_foreign_tokens(void **state)
{
	struct fixture *fixture = *state;
	char token[SESSION_TOKEN_LENGTH + 1], other[SESSION_TOKEN_LENGTH + 1];
	struct store_session session;
	assert_int_equal(session_start(fixture->db->store, &fixture->db->config, fixture->user_id, NOW, "", token),
			 STORE_OK);
	assert_int_equal(session_start(fixture->db->store, &fixture->db->config, fixture->user_id, NOW, "", other),
			 STORE_OK);
	assert_string_not_equal(token, other);
	assert_int_equal(session_end(fixture->db->store, &fixture->db->config, token), STORE_OK);
	assert_int_equal(resume(fixture, token, NOW + 1, &session), SESSION_NONE);
	assert_int_equal(resume(fixture, other, NOW + 1, &session), SESSION_VALID); /* the other browser stays */

	static const char *const foreign[] = { NULL, "", "short", "not base64url at all, but forty-three chars!",
					       "AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA" };
	for (size_t i = 0; i < sizeof foreign / sizeof foreign[0]; i++)
		assert_int_equal(resume(fixture, foreign[i], NOW + 1, &session), SESSION_NONE);
	assert_int_equal(session_end(fixture->db->store, &fixture->db->config, "garbage"), STORE_OK);

	/* Another server key: the same cookie means nothing. */
	struct config elsewhere = fixture->db->config;
	randombytes_buf(elsewhere.server_key, sizeof elsewhere.server_key);
	assert_int_equal(session_resume(fixture->db->store, &elsewhere, fixture->db->arena, other, NOW + 1, &session),
			 SESSION_NONE);
}

static void test_csrf_tokens(void **state)
{
	struct fixture *fixture = *state;
	const struct config *config = &fixture->db->config;
	char token[SESSION_TOKEN_LENGTH + 1], other[SESSION_TOKEN_LENGTH + 1];
	assert_int_equal(session_start(fixture->db->store, config, fixture->user_id, NOW, "", token), STORE_OK);
	assert_int_equal(session_start(fixture->db->store, config, fixture->user_id, NOW, "", other), STORE_OK);
	char csrf[SESSION_CSRF_LENGTH + 1], csrf_other[SESSION_CSRF_LENGTH + 1];
	session_csrf_token(config, token, csrf);
	session_csrf_token(config, other, csrf_other);
	assert_string_not_equal(csrf, token);
	assert_string_not_equal(csrf, csrf_other);
	assert_true(session_csrf_valid(config, token, csrf));
	assert_false(session_csrf_valid(config, token, csrf_other)); /* another session's token */
	assert_false(session_csrf_valid(config, token, NULL));
	assert_false(session_csrf_valid(config, token, ""));
	assert_false(session_csrf_valid(config, token, token));
	char changed[SESSION_CSRF_LENGTH + 1];
	memcpy(changed, csrf, sizeof changed);
	changed[5] = changed[5] == 'A' ? 'B' : 'A';
	assert_false(session_csrf_valid(config, token, changed));
	assert_false(session_csrf_valid(config, NULL, csrf));
}

static void test_sign_in_throttling(void **state)
{
	struct fixture *fixture = *state;
	struct store *store = fixture->db->store;
	int64_t wait = 0;
	bool locked = false;
	int64_t now = NOW;
	for (int i = 0; i < SIGNIN_FREE_FAILURES; i++) {
		assert_int_equal(signin_wait(store, "ada@example.com", "192.0.2.1", now, &wait, &locked), STORE_OK);
		assert_int_equal(wait, 0);
		assert_int_equal(signin_failed(store, "ada@example.com", "192.0.2.1", now), STORE_OK);
	}
	/* Slowed down: 1 s after the latest failure, then 2, 4 ... */
	assert_int_equal(signin_wait(store, "ada@example.com", "192.0.2.1", now, &wait, &locked), STORE_OK);
	assert_int_equal(wait, 1);
	assert_false(locked);
	now += 1;
	assert_int_equal(signin_wait(store, "ada@example.com", "192.0.2.1", now, &wait, &locked), STORE_OK);
	assert_int_equal(wait, 0);
	assert_int_equal(signin_failed(store, "ada@example.com", "192.0.2.1", now), STORE_OK);
	assert_int_equal(signin_wait(store, "ada@example.com", "192.0.2.1", now, &wait, &locked), STORE_OK);
	assert_int_equal(wait, 2);
	/* Another account from another address is not slowed by Ada's failures. */
	assert_int_equal(signin_wait(store, "bob@example.com", "198.51.100.1", now, &wait, &locked), STORE_OK);
	assert_int_equal(wait, 0);
	/* Up to the lock. */
	for (int i = SIGNIN_FREE_FAILURES + 1; i < SIGNIN_LOCK_FAILURES; i++) {
		now += 61;
		assert_int_equal(signin_failed(store, "ada@example.com", "192.0.2.1", now), STORE_OK);
	}
	assert_int_equal(signin_wait(store, "ada@example.com", "198.51.100.7", now + 61, &wait, &locked), STORE_OK);
	assert_true(locked);
	assert_int_equal(wait, SIGNIN_WINDOW - 61);
	assert_int_equal(signin_wait(store, "ada@example.com", "198.51.100.7", now + SIGNIN_WINDOW, &wait, &locked),
			 STORE_OK);
	assert_int_equal(wait, 0);
	/* A success clears the account's failures. */
	assert_int_equal(signin_succeeded(store, "ada@example.com"), STORE_OK);
	assert_int_equal(signin_wait(store, "ada@example.com", "198.51.100.7", now + 62, &wait, &locked), STORE_OK);
	assert_int_equal(wait, 0);

	/* An address trying many accounts is locked too. */
	now += 2 * SIGNIN_WINDOW;
	for (int i = 0; i < SIGNIN_ADDRESS_LOCK_FAILURES; i++) {
		char email[64];
		snprintf(email, sizeof email, "guess%d@example.com", i);
		assert_int_equal(signin_failed(store, email, "203.0.113.9", now), STORE_OK);
	}
	assert_int_equal(signin_wait(store, "new@example.com", "203.0.113.9", now, &wait, &locked), STORE_OK);
	assert_true(locked);
	assert_int_equal(wait, SIGNIN_WINDOW);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_email_rules),
		cmocka_unit_test(test_password_rules),
		cmocka_unit_test(test_password_hash_and_verify),
		cmocka_unit_test(test_console_roles),
		cmocka_unit_test_setup_teardown(test_users_and_memberships, setup, teardown),
		cmocka_unit_test_setup_teardown(test_a_session_lives_until_idle_or_absolute_expiry, setup, teardown),
		cmocka_unit_test_setup_teardown(test_sign_out_and_foreign_tokens, setup, teardown),
		cmocka_unit_test_setup_teardown(test_csrf_tokens, setup, teardown),
		cmocka_unit_test_setup_teardown(test_sign_in_throttling, setup, teardown),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
