/*
 * test_accounts.c: unit tests for console accounts: e-mail and password rules, Argon2id hashes,
 * console roles, sessions (expiry, sign-out, CSRF), device cookies and sign-in throttling, on real
 * SQLite files; over-long passwords cost a whole check; Argon2id computations wait in line.
 */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include <pthread.h>
#include <sodium.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

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

static int compare_doubles(const void *a, const void *b)
{
	double x = *(const double *)a, y = *(const double *)b;
	return (x > y) - (x < y);
}

/* CPU seconds this thread has used: a check's cost, whatever else the machine runs meanwhile. */
static double thread_seconds(void)
{
	struct timespec now;
	clock_gettime(CLOCK_THREAD_CPUTIME_ID, &now);
	return (double)now.tv_sec + (double)now.tv_nsec / 1e9;
}

/* The CPU time of one check of `password` (length bytes) against `hash`, which must be false. */
static double wrong_check(const char *hash, const char *password, size_t length)
{
	double began = thread_seconds();
	assert_false(account_password_verify(hash, password, length));
	return thread_seconds() - began;
}

static double median_of_five(double *times)
{
	qsort(times, 5, sizeof times[0], compare_doubles);
	return times[2];
}

static void test_over_long_passwords_cost_a_whole_check(void **state)
{
	(void)state;
	/* A password of the longest length allowed, and the same with one byte more. */
	char *longest = xmalloc(ACCOUNT_PASSWORD_MAX + 2);
	memset(longest, 'p', ACCOUNT_PASSWORD_MAX + 1);
	longest[ACCOUNT_PASSWORD_MAX + 1] = '\0';
	char hash[ACCOUNT_HASH_MAX];
	assert_true(account_password_hash(longest, ACCOUNT_PASSWORD_MAX, hash));
	assert_true(account_password_verify(hash, longest, ACCOUNT_PASSWORD_MAX));
	/* One byte more is never right, not even when the first 1,024 bytes are. */
	assert_false(account_password_verify(hash, longest, ACCOUNT_PASSWORD_MAX + 1));
	/*
	 * And it costs a whole Argon2id check, as a wrong password of a normal length does (it used
	 * to answer in microseconds for a known account). CPU time, the three kinds taken in turn,
	 * medians of five, with a wide margin: a refusal without a check is a thousand times cheaper.
	 */
	double wrongs[5], over_longs[5], no_accounts[5];
	for (int i = 0; i < 5; i++) {
		wrongs[i] = wrong_check(hash, "a wrong but normal password", 27);
		over_longs[i] = wrong_check(hash, longest, ACCOUNT_PASSWORD_MAX + 1);
		no_accounts[i] = wrong_check(NULL, longest, ACCOUNT_PASSWORD_MAX + 1);
	}
	double wrong = median_of_five(wrongs), over_long = median_of_five(over_longs),
	       no_account = median_of_five(no_accounts);
	print_message("wrong password %.1f ms, over-long %.1f ms, over-long for no account %.1f ms\n", wrong * 1000,
		      over_long * 1000, no_account * 1000);
	assert_true(over_long > wrong / 3);
	assert_true(no_account > wrong / 3);
	assert_true(over_long < wrong * 3);
	free(longest);
}

/* Hashes and checks from many threads at once run at most as many at a time as the limit says. */
#define CONCURRENT_THREADS 8

/* One hash and one check (cmocka's asserts belong to the main thread: a problem is returned). */
static void *hash_and_check(void *hash_out)
{
	char *hash = hash_out;
	bool right = account_password_hash("a password of a thread", 22, hash) &&
		     !account_password_verify(hash, "not the password of the thread", 30);
	return right ? NULL : hash_out;
}

static void test_password_checks_wait_in_line(void **state)
{
	(void)state;
	unsigned limit = account_password_concurrency(0);
	assert_true(limit >= 1);
	pthread_t threads[CONCURRENT_THREADS];
	char hashes[CONCURRENT_THREADS][ACCOUNT_HASH_MAX];
	for (int i = 0; i < CONCURRENT_THREADS; i++)
		assert_int_equal(pthread_create(&threads[i], NULL, hash_and_check, hashes[i]), 0);
	for (int i = 0; i < CONCURRENT_THREADS; i++) {
		void *problem = NULL;
		pthread_join(threads[i], &problem);
		assert_null(problem);
	}
	print_message("%d threads, a limit of %u: at most %u Argon2id computations ran at once\n", CONCURRENT_THREADS,
		      limit, account_password_busiest());
	assert_true(account_password_busiest() >= 1);
	assert_true(account_password_busiest() <= limit);
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
	test_db_assert_nowhere(fixture->db, token);
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

/* Let an attempt through (or not) at `now_ms`; returns the wait in seconds, 0 when let through. */
static int64_t attempt(struct store *store, const char *email, const char *device, const char *address, int64_t now_ms,
		       struct signin_attempt *recorded, bool *locked)
{
	int64_t wait = -1;
	assert_int_equal(signin_attempt_begin(store, email, device, address, now_ms, recorded, &wait, locked), STORE_OK);
	return wait;
}

static void test_sign_in_throttling(void **state)
{
	struct fixture *fixture = *state;
	struct store *store = fixture->db->store;
	struct signin_attempt recorded;
	bool locked = false;
	int64_t now = NOW * 1000;
	/* Attempts are recorded as they are let through, before any password is checked: three go at once ... */
	for (int i = 0; i < SIGNIN_FREE_FAILURES; i++)
		assert_int_equal(attempt(store, "ada@example.com", NULL, "192.0.2.1", now, &recorded, &locked), 0);
	assert_int_equal(test_db_integer(fixture->db, "SELECT count(*) FROM signin_failure WHERE subject = "
						      "'email:ada@example.com' AND at_ms = %lld", (long long)now),
			 SIGNIN_FREE_FAILURES);
	/* ... and the fourth at the same moment waits, recording nothing. */
	assert_int_equal(attempt(store, "ada@example.com", NULL, "192.0.2.1", now, &recorded, &locked), 1);
	assert_false(locked);
	assert_int_equal(test_db_integer(fixture->db, "SELECT count(*) FROM signin_failure"), 2 * SIGNIN_FREE_FAILURES);
	/* A whole second, to the millisecond: not 999 ms, whatever second the clock shows. */
	assert_int_equal(attempt(store, "ada@example.com", NULL, "192.0.2.1", now + 999, &recorded, &locked), 1);
	now += 1000;
	assert_int_equal(attempt(store, "ada@example.com", NULL, "192.0.2.1", now, &recorded, &locked), 0);
	assert_int_equal(attempt(store, "ada@example.com", NULL, "192.0.2.1", now, &recorded, &locked), 2);
	/* Another account from another address is not slowed by Ada's failures. */
	assert_int_equal(attempt(store, "bob@example.com", NULL, "198.51.100.1", now, &recorded, &locked), 0);
	/* Up to the lock: 4, 8, 16, 32, 60 s apart. */
	for (int i = SIGNIN_FREE_FAILURES + 1; i < SIGNIN_LOCK_FAILURES; i++) {
		now += 61 * 1000;
		assert_int_equal(attempt(store, "ada@example.com", NULL, "192.0.2.1", now, &recorded, &locked), 0);
	}
	assert_int_equal(attempt(store, "ada@example.com", NULL, "198.51.100.7", now + 61000, &recorded, &locked),
			 SIGNIN_WINDOW - 61);
	assert_true(locked);

	/* A browser Ada signed in with before is throttled by its own failures, not by the account's lock. */
	assert_int_equal(attempt(store, "ada@example.com", "devicedevicedevicedev1", "198.51.100.7", now + 61000,
				 &recorded, &locked),
			 0);
	assert_string_equal(recorded.subject, "device:ada@example.com devicedevicedevicedev1");
	/* Its own failures slow it down as an account's do. */
	for (int i = 1; i < SIGNIN_FREE_FAILURES; i++)
		assert_int_equal(attempt(store, "ada@example.com", "devicedevicedevicedev1", "198.51.100.7", now + 61000,
					 &recorded, &locked),
				 0);
	assert_int_equal(attempt(store, "ada@example.com", "devicedevicedevicedev1", "198.51.100.7", now + 61000,
				 &recorded, &locked),
			 1);
	/* Another device of hers is not. */
	assert_int_equal(attempt(store, "ada@example.com", "devicedevicedevicedev2", "198.51.100.8", now + 61000,
				 &recorded, &locked),
			 0);

	/*
	 * A right password from a trusted device: the attempt and the device's failures are forgotten;
	 * the account's pause stays for browsers it never used, and the address's failures stay.
	 */
	struct store_user ada;
	assert_int_equal(store_user_get(store, fixture->db->arena, fixture->user_id, &ada), STORE_OK);
	struct signin_success success = { &ada, &recorded, NULL, "198.51.100.8", "signed in" };
	char token[SESSION_TOKEN_LENGTH + 1];
	assert_int_equal(session_sign_in(store, &fixture->db->config, fixture->db->arena, &success, NOW, token), STORE_OK);
	assert_int_equal(test_db_integer(fixture->db, "SELECT count(*) FROM signin_failure WHERE subject IN "
						      "('device:ada@example.com devicedevicedevicedev2', 'address:198.51.100.8')"),
			 0);
	assert_int_equal(attempt(store, "ada@example.com", NULL, "198.51.100.9", now + 62000, &recorded, &locked),
			 SIGNIN_WINDOW - 62);
	assert_true(locked);
	/* A right password from a browser the account never used (once the pause is over) forgives the account's. */
	now += SIGNIN_WINDOW * 1000;
	assert_int_equal(attempt(store, "ada@example.com", NULL, "198.51.100.9", now, &recorded, &locked), 0);
	success.attempt = &recorded;
	assert_int_equal(session_sign_in(store, &fixture->db->config, fixture->db->arena, &success, NOW, token), STORE_OK);
	assert_int_equal(test_db_integer(fixture->db, "SELECT count(*) FROM signin_failure WHERE subject = "
						      "'email:ada@example.com'"),
			 0);
	assert_int_equal(test_db_integer(fixture->db, "SELECT count(*) FROM signin_failure WHERE subject = "
						      "'device:ada@example.com devicedevicedevicedev1'"),
			 SIGNIN_FREE_FAILURES);
	assert_true(test_db_integer(fixture->db, "SELECT count(*) FROM signin_failure WHERE subject = "
						 "'address:198.51.100.7'") > 0);

	/* An address trying many accounts is paused too. */
	now += 2 * SIGNIN_WINDOW * 1000;
	for (int i = 0; i < SIGNIN_ADDRESS_FREE_FAILURES; i++) {
		char email[64];
		snprintf(email, sizeof email, "guess%d@example.com", i);
		assert_int_equal(attempt(store, email, NULL, "203.0.113.9", now, &recorded, &locked), 0);
	}
	assert_int_equal(attempt(store, "new@example.com", NULL, "203.0.113.9", now, &recorded, &locked), 1);
	assert_false(locked);
	char sql[300];
	snprintf(sql, sizeof sql, "WITH RECURSIVE n(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM n WHERE i < 20) "
				  "INSERT INTO signin_failure (subject, at, at_ms) SELECT 'address:203.0.113.9', %lld, %lld FROM n",
		 (long long)(now / 1000), (long long)now);
	test_db_execute(fixture->db, sql);
	assert_int_equal(attempt(store, "new@example.com", NULL, "203.0.113.9", now, &recorded, &locked), SIGNIN_WINDOW);
	assert_true(locked);
	/* Rows written by hand, in whole seconds only, count too (the time then is the second's start). */
	test_db_execute(fixture->db, "INSERT INTO signin_failure (subject, at) VALUES ('email:old@example.com', 1800000000), "
				     "('email:old@example.com', 1800000000), ('email:old@example.com', 1800000000)");
	assert_int_equal(attempt(store, "old@example.com", NULL, "192.0.2.200", 1800000000500LL, &recorded, &locked), 1);
}

static void test_device_cookies(void **state)
{
	struct fixture *fixture = *state;
	const struct config *config = &fixture->db->config;
	char cookie[DEVICE_COOKIE_LENGTH + 1], other[DEVICE_COOKIE_LENGTH + 1], id[DEVICE_ID_LENGTH + 1];
	device_cookie_make(config, "ada@example.com", "$argon2id$one", NULL, cookie);
	device_cookie_make(config, "ada@example.com", "$argon2id$one", NULL, other);
	assert_int_equal(strlen(cookie), DEVICE_COOKIE_LENGTH);
	assert_string_not_equal(cookie, other); /* each a new device */
	assert_true(device_cookie_check(config, cookie, "ada@example.com", "$argon2id$one", id));
	assert_int_equal(strncmp(id, cookie, DEVICE_ID_LENGTH), 0);
	/* The same device, renewed: the same cookie. */
	char renewed[DEVICE_COOKIE_LENGTH + 1];
	device_cookie_make(config, "ada@example.com", "$argon2id$one", id, renewed);
	assert_string_equal(renewed, cookie);
	/* Bound to the account, its password and the server key. */
	assert_false(device_cookie_check(config, cookie, "bob@example.com", "$argon2id$one", id));
	assert_string_equal(id, "");
	assert_false(device_cookie_check(config, cookie, "ada@example.com", "$argon2id$two", id));
	assert_false(device_cookie_check(config, cookie, "ada@example.com", "", id));
	assert_false(device_cookie_check(config, cookie, "ada@example.com", NULL, id));
	struct config elsewhere = *config;
	randombytes_buf(elsewhere.server_key, sizeof elsewhere.server_key);
	assert_false(device_cookie_check(&elsewhere, cookie, "ada@example.com", "$argon2id$one", id));
	/* Any change, or any shape but its own, is refused. */
	char changed[DEVICE_COOKIE_LENGTH + 1];
	for (size_t at = 0; at < DEVICE_COOKIE_LENGTH; at += 7) {
		memcpy(changed, cookie, sizeof changed);
		changed[at] = changed[at] == 'A' ? 'B' : 'A';
		assert_false(device_cookie_check(config, changed, "ada@example.com", "$argon2id$one", id));
	}
	static const char *const foreign[] = { NULL, "", ".", "short.cookie",
					       "AAAAAAAAAAAAAAAAAAAAAA.AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA",
					       "AAAAAAAAAAAAAAAAAAAAAA!AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA",
					       "AAAAAAAAAAAAAAAAAAAAAA.AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA\n" };
	for (size_t i = 0; i < sizeof foreign / sizeof foreign[0]; i++)
		assert_false(device_cookie_check(config, foreign[i], "ada@example.com", "$argon2id$one", id));
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
		cmocka_unit_test_setup_teardown(test_device_cookies, setup, teardown),
		cmocka_unit_test(test_over_long_passwords_cost_a_whole_check),
		cmocka_unit_test(test_password_checks_wait_in_line),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
