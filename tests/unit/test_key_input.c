/* test_key_input.c: unit tests for the rules on a key's name, POSTback URL, CIDR rows and role. */
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
#include "domain/key_input.h"
#include "store/store.h"

/* A real database (for the roles), and the role IDs as a form would send them. */
struct fixture {
	struct test_db *db;
	char admin_text[24];
	char read_only_text[24];
};

static int setup(void **state)
{
	struct fixture *fixture = xcalloc(1, sizeof *fixture);
	fixture->db = test_db_open("key-input");
	if (fixture->db == NULL || fixture->db->admin_role == 0 || fixture->db->read_only_role == 0) {
		test_db_close(fixture->db);
		free(fixture);
		return -1;
	}
	snprintf(fixture->admin_text, sizeof fixture->admin_text, "%lld", (long long)fixture->db->admin_role);
	snprintf(fixture->read_only_text, sizeof fixture->read_only_text, "%lld",
		 (long long)fixture->db->read_only_role);
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

/* An input that passes every rule: a name, no URL, the admin role, no CIDR rows. */
static struct key_input valid_input(struct fixture *fixture)
{
	struct key_input input;
	memset(&input, 0, sizeof input);
	input.name = "Billing";
	input.postback_url = "";
	input.role_id = fixture->admin_text;
	input.enabled = true;
	return input;
}

static bool check(struct fixture *fixture, struct key_input *input)
{
	return key_input_check(fixture->db->arena, fixture->db->store, STORE_DEFAULT_WORKSPACE, input);
}

/* `count` copies of `piece`, surrounded by `around` on each side, in the arena. */
static const char *repeat(struct fixture *fixture, const char *around, const char *piece, size_t count)
{
	size_t piece_length = strlen(piece), around_length = strlen(around);
	char *text = arena_alloc(fixture->db->arena, count * piece_length + 2 * around_length + 1);
	char *out = text;
	memcpy(out, around, around_length);
	out += around_length;
	for (size_t i = 0; i < count; i++, out += piece_length)
		memcpy(out, piece, piece_length);
	memcpy(out, around, around_length);
	return text;
}

static void assert_contains(const char *text, const char *part)
{
	assert_non_null(text);
	if (strstr(text, part) == NULL)
		fail_msg("\"%s\" does not contain \"%s\"", text, part);
}

/* Only the name is wrong; fails unless the check refuses it with a message holding `part`. */
static void assert_name_refused(struct fixture *fixture, const char *name, const char *part)
{
	struct key_input input = valid_input(fixture);
	input.name = name;
	assert_false(check(fixture, &input));
	assert_contains(input.name_error, part);
	assert_null(input.fields.name);
	assert_null(input.fields.name_folded);
	assert_null(input.postback_url_error);
	assert_null(input.role_error);
}

static void assert_name_accepted(struct fixture *fixture, const char *name, const char *stored)
{
	struct key_input input = valid_input(fixture);
	input.name = name;
	if (!check(fixture, &input))
		fail_msg("name refused: %s", input.name_error ? input.name_error : "(no message)");
	assert_null(input.name_error);
	assert_string_equal(input.fields.name, stored);
	assert_string_equal(input.name, name); /* what was typed stays as typed */
}

/* ---- the whole input ----------------------------------------------------------------------- */

static void test_valid_input_fills_fields(void **state)
{
	struct fixture *fixture = *state;
	struct key_cidr_input rows[] = { { .cidr = "10.0.0.0/8", .label = "office" } };
	struct key_input input = valid_input(fixture);
	input.name = "  Billing SERVICE ";
	input.postback_url = " https://example.com/hooks/keyward ";
	input.off_record = true;
	input.enabled = false;
	input.role_id = fixture->read_only_text;
	input.cidrs = rows;
	input.cidr_count = 1;
	assert_true(check(fixture, &input));
	assert_null(input.name_error);
	assert_null(input.postback_url_error);
	assert_null(input.role_error);
	assert_null(input.cidrs_error);
	assert_null(rows[0].cidr_error);
	assert_null(rows[0].label_error);
	assert_string_equal(input.fields.name, "Billing SERVICE");
	assert_string_equal(input.fields.name_folded, "billing service");
	assert_string_equal(input.fields.postback_url, "https://example.com/hooks/keyward");
	assert_true(input.fields.off_record);
	assert_false(input.fields.enabled);
	assert_int_equal(input.fields.role_id, fixture->db->read_only_role);
	assert_int_equal(input.fields.cidr_count, 1);
	assert_string_equal(input.fields.cidrs[0].cidr, "10.0.0.0/8");
	assert_string_equal(input.fields.cidrs[0].label, "office");

	/* The flags are copied whichever way they are set. */
	input = valid_input(fixture);
	input.off_record = false;
	input.enabled = true;
	assert_true(check(fixture, &input));
	assert_false(input.fields.off_record);
	assert_true(input.fields.enabled);
	assert_string_equal(input.fields.postback_url, "");
	assert_int_equal(input.fields.role_id, fixture->db->admin_role);
	assert_int_equal(input.fields.cidr_count, 0);
}

static void test_every_field_wrong(void **state)
{
	struct fixture *fixture = *state;
	struct key_cidr_input rows[] = { { .cidr = "10.1.2.3/8", .label = "" } };
	struct key_input input = valid_input(fixture);
	input.name = " \t ";
	input.postback_url = "ftp://example.com/";
	input.role_id = "admin";
	input.cidrs = rows;
	input.cidr_count = 1;
	assert_false(check(fixture, &input));
	assert_non_null(input.name_error);
	assert_non_null(input.postback_url_error);
	assert_non_null(input.role_error);
	assert_non_null(rows[0].cidr_error);
	/* Nothing of it reaches the checked fields. */
	assert_null(input.fields.name);
	assert_null(input.fields.name_folded);
	assert_null(input.fields.postback_url);
	assert_int_equal(input.fields.role_id, 0);
	assert_int_equal(input.fields.cidr_count, 0);
	/* What was typed is kept for the form. */
	assert_string_equal(input.name, " \t ");
	assert_string_equal(input.postback_url, "ftp://example.com/");
	assert_string_equal(rows[0].cidr, "10.1.2.3/8");
}

/* One wrong field fails the whole input, and only that field is blamed. */
static void test_one_wrong_field_fails_the_input(void **state)
{
	struct fixture *fixture = *state;
	struct key_input input = valid_input(fixture);
	input.postback_url = "javascript:alert(1)";
	assert_false(check(fixture, &input));
	assert_null(input.name_error);
	assert_null(input.role_error);
	assert_non_null(input.postback_url_error);
	assert_string_equal(input.fields.name, "Billing");
	assert_null(input.fields.postback_url);

	struct key_cidr_input rows[] = { { .cidr = "10.0.0.0/8", .label = "" }, { .cidr = "bogus", .label = "" } };
	input = valid_input(fixture);
	input.cidrs = rows;
	input.cidr_count = 2;
	assert_false(check(fixture, &input));
	assert_null(input.name_error);
	assert_null(rows[0].cidr_error);
	assert_non_null(rows[1].cidr_error);
	assert_int_equal(input.fields.cidr_count, 1); /* only the good row */
	assert_string_equal(input.fields.cidrs[0].cidr, "10.0.0.0/8");
}

/* ---- names --------------------------------------------------------------------------------- */

static void test_name_trim_and_empty(void **state)
{
	struct fixture *fixture = *state;
	assert_name_accepted(fixture, "  Billing service\t\r\n", "Billing service");
	assert_name_accepted(fixture, "x", "x");
	static const char multibyte[] = "Caf\xc3\xa9 \xe2\x82\xac \xf0\x9f\x94\x91";
	assert_name_accepted(fixture, multibyte, multibyte);
	assert_name_refused(fixture, "", "Enter a name");
	assert_name_refused(fixture, "   ", "Enter a name");
	assert_name_refused(fixture, "\t\r\n\v\f ", "Enter a name");
	assert_name_refused(fixture, NULL, "Enter a name");
}

static void test_name_length_in_code_points(void **state)
{
	struct fixture *fixture = *state;
	static const char *const pieces[] = { "a", "\xc3\xa9", "\xe2\x82\xac", "\xf0\x9f\x94\x91" };
	for (size_t i = 0; i < sizeof pieces / sizeof pieces[0]; i++) {
		const char *exact = repeat(fixture, "", pieces[i], KEY_NAME_MAX);
		assert_name_accepted(fixture, exact, exact);
		/* Spaces around do not count. */
		assert_name_accepted(fixture, repeat(fixture, "  ", pieces[i], KEY_NAME_MAX), exact);
		assert_name_refused(fixture, repeat(fixture, "", pieces[i], KEY_NAME_MAX + 1), "at most 100");
	}
	assert_int_equal(KEY_NAME_MAX, 100);
}

static void test_name_control_characters(void **state)
{
	struct fixture *fixture = *state;
	static const char *const names[] = {
		"Bill\ting", "Bill\ning", "Bill\ring", "Bill\x01ing", "Bill\x1fing", "Bill\x7fing",
		"Bill\xc2\x80ing", /* U+0080, C1 */
		"Bill\xc2\x85ing", /* U+0085, NEXT LINE */
		"Bill\xc2\x9fing", /* U+009F, C1 */
	};
	for (size_t i = 0; i < sizeof names / sizeof names[0]; i++)
		assert_name_refused(fixture, names[i], "control characters");
	/* Just past the C1 range is fine. */
	assert_name_accepted(fixture, "Bill\xc2\xa0ing", "Bill\xc2\xa0ing");
}

/* ---- POSTback URLs ------------------------------------------------------------------------- */

struct url_case {
	const char *url;
	const char *error; /* a part of the message, or NULL when the URL is fine */
};

static const struct url_case url_cases[] = {
	{ "http://example.com", NULL },
	{ "https://example.com", NULL },
	{ "https://example.com/hooks/keyward?event=key&x=1#top", NULL },
	{ "HTTPS://EXAMPLE.COM/HOOK", NULL },
	{ "Http://example.com/", NULL },
	{ "https://sub-domain.example.com:8443/path", NULL },
	{ "https://example.com:1/", NULL },
	{ "https://example.com:65535/", NULL },
	{ "http://192.0.2.10/hook", NULL },
	{ "http://localhost:8080", NULL },
	{ "https://[::1]/hook", NULL },
	{ "https://[::1]:8443/hook", NULL },
	{ "https://[2001:db8::1]/", NULL },
	{ "https://example.com?x=@", NULL },
	{ "https://example.com/caf%C3%A9", NULL },
	/* not http or https, or not absolute */
	{ "ftp://example.com/file", "absolute http:// or https://" },
	{ "javascript:alert(1)", "absolute http:// or https://" },
	{ "JavaScript://example.com/%0Aalert(1)", "absolute http:// or https://" },
	{ "/hooks/keyward", "absolute http:// or https://" },
	{ "hooks/keyward", "absolute http:// or https://" },
	{ "example.com/hooks", "absolute http:// or https://" },
	{ "//example.com/hooks", "absolute http:// or https://" },
	{ "http:/example.com", "absolute http:// or https://" },
	{ "https:example.com", "absolute http:// or https://" },
	{ "httpx://example.com", "absolute http:// or https://" },
	{ "mailto:ops@example.com", "absolute http:// or https://" },
	{ "data:text/html,<script>alert(1)</script>", "absolute http:// or https://" },
	/* spaces and control characters */
	{ "https://exa mple.com/", "spaces or control characters" },
	{ "https://example.com/a b", "spaces or control characters" },
	{ "https://example.com/\ttab", "spaces or control characters" },
	{ "https://example.com/\x01", "spaces or control characters" },
	{ "https://example.com/\x7f", "spaces or control characters" },
	{ "https://example.com/\r\nX-Injected: 1", "spaces or control characters" },
	/* user information */
	{ "https://user:password@example.com/", "user name or password" },
	{ "https://user@example.com/", "user name or password" },
	{ "https://example.com@evil.example/", "user name or password" },
	{ "https://@example.com/", "user name or password" },
	/* ports */
	{ "https://example.com:/", "bad port" },
	{ "https://example.com:0/", "bad port" },
	{ "https://example.com:65536/", "bad port" },
	{ "https://example.com:99999/", "bad port" },
	{ "https://example.com:123456/", "bad port" },
	{ "https://example.com:80a/", "bad port" },
	{ "https://example.com:-1/", "bad port" },
	{ "https://example.com:+80/", "bad port" },
	{ "https://example.com:8080:9090/", "bad port" },
	{ "https://[::1]:/", "bad port" },
	{ "https://[::1]:70000/", "bad port" },
	/* hosts */
	{ "https://", "valid host" },
	{ "https:///path", "valid host" },
	{ "https://?q=1", "valid host" },
	{ "https://-example.com/", "valid host" },
	{ "https://example-/", "valid host" },
	{ "https://.example.com/", "valid host" },
	{ "https://exa_mple.com/", "valid host" },
	{ "https://ex\xc3\xa4mple.com/", "valid host" },
	{ "https://[]/", "valid host" },
	{ "https://[::1/", "The POSTback URL" }, /* refused; as a bad port or a bad host */
	{ "https://[::1]x/", "valid host" },
	{ "https://[::g]/", "valid host" },
	{ "https://[::1]]/", "valid host" },
	{ "https://::1/", "bad port" },
};

static void test_url_cases(void **state)
{
	(void)state;
	size_t failures = 0;
	for (size_t i = 0; i < sizeof url_cases / sizeof url_cases[0]; i++) {
		const struct url_case *c = &url_cases[i];
		const char *error = key_input_check_url(c->url);
		bool right = c->error == NULL ? error == NULL : error != NULL && strstr(error, c->error) != NULL;
		if (!right) {
			print_error("URL \"%s\": expected %s, got %s\n", c->url, c->error ? c->error : "no error",
				    error ? error : "no error");
			failures++;
		}
	}
	assert_int_equal(failures, 0);
}

static void test_url_length(void **state)
{
	struct fixture *fixture = *state;
	static const char prefix[] = "https://example.com/";
	size_t fill = KEY_POSTBACK_URL_MAX - (sizeof prefix - 1);
	char *url = arena_alloc(fixture->db->arena, KEY_POSTBACK_URL_MAX + 2);
	memcpy(url, prefix, sizeof prefix - 1);
	memset(url + sizeof prefix - 1, 'a', fill);
	assert_int_equal(strlen(url), 2048);
	assert_null(key_input_check_url(url));
	url[KEY_POSTBACK_URL_MAX] = 'a';
	assert_int_equal(strlen(url), 2049);
	assert_contains(key_input_check_url(url), "too long");

	/* Through the whole check: the trimmed length counts. */
	url[KEY_POSTBACK_URL_MAX] = '\0';
	struct key_input input = valid_input(fixture);
	input.postback_url = arena_printf(fixture->db->arena, "  %s  ", url);
	assert_true(check(fixture, &input));
	assert_string_equal(input.fields.postback_url, url);
	input = valid_input(fixture);
	input.postback_url = arena_printf(fixture->db->arena, "%sb", url);
	assert_false(check(fixture, &input));
	assert_contains(input.postback_url_error, "too long");
	assert_null(input.fields.postback_url);
}

static void test_url_through_check(void **state)
{
	struct fixture *fixture = *state;
	struct key_input input = valid_input(fixture);
	input.postback_url = "   ";
	assert_true(check(fixture, &input));
	assert_string_equal(input.fields.postback_url, "");
	input = valid_input(fixture);
	input.postback_url = NULL;
	assert_true(check(fixture, &input));
	assert_string_equal(input.fields.postback_url, "");
	input = valid_input(fixture);
	input.postback_url = "\thttp://example.com/x\n";
	assert_true(check(fixture, &input));
	assert_string_equal(input.fields.postback_url, "http://example.com/x");
	input = valid_input(fixture);
	input.postback_url = "https://user:pw@example.com/";
	assert_false(check(fixture, &input));
	assert_contains(input.postback_url_error, "user name or password");
	assert_null(input.fields.postback_url);
}

/* ---- CIDR rows ----------------------------------------------------------------------------- */

static void test_cidr_rows_canonical_and_trimmed(void **state)
{
	struct fixture *fixture = *state;
	struct key_cidr_input rows[] = {
		{ .cidr = " 10.0.0.0/8 ", .label = " office " },
		{ .cidr = "2001:DB8:0:0::/32", .label = "VPN \xc3\xa9t\xc3\xa9" },
		{ .cidr = "192.0.2.7", .label = "" },
		{ .cidr = "::1", .label = NULL },
	};
	struct key_input input = valid_input(fixture);
	input.cidrs = rows;
	input.cidr_count = 4;
	assert_true(check(fixture, &input));
	assert_int_equal(input.fields.cidr_count, 4);
	static const char *const cidrs[] = { "10.0.0.0/8", "2001:db8::/32", "192.0.2.7/32", "::1/128" };
	static const char *const labels[] = { "office", "VPN \xc3\xa9t\xc3\xa9", "", "" };
	for (size_t i = 0; i < 4; i++) {
		assert_string_equal(input.fields.cidrs[i].cidr, cidrs[i]);
		assert_string_equal(input.fields.cidrs[i].label, labels[i]);
		assert_null(rows[i].cidr_error);
		assert_null(rows[i].label_error);
	}
	assert_string_equal(rows[0].cidr, " 10.0.0.0/8 "); /* the rows keep what was typed */
}

static void test_cidr_host_bits_message_suggests(void **state)
{
	struct fixture *fixture = *state;
	struct key_cidr_input rows[] = {
		{ .cidr = "10.1.2.3/8", .label = "office" },
		{ .cidr = "2001:db8::1/64", .label = "" },
	};
	struct key_input input = valid_input(fixture);
	input.cidrs = rows;
	input.cidr_count = 2;
	assert_false(check(fixture, &input));
	assert_contains(rows[0].cidr_error, "10.1.2.3/8");
	assert_contains(rows[0].cidr_error, "did you mean 10.0.0.0/8?");
	assert_contains(rows[1].cidr_error, "did you mean 2001:db8::/64?");
	assert_null(rows[0].label_error);
	assert_int_equal(input.fields.cidr_count, 0);
}

static void test_cidr_invalid(void **state)
{
	struct fixture *fixture = *state;
	static const char *const bad[] = { "bogus", "10.0.0.0/33", "256.0.0.1", "10.0.0.0/", "2001:db8::/129",
					   "10.0.0.0/8/8", "<script>" };
	for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
		struct key_cidr_input rows[] = { { .cidr = bad[i], .label = "" } };
		struct key_input input = valid_input(fixture);
		input.cidrs = rows;
		input.cidr_count = 1;
		assert_false(check(fixture, &input));
		assert_contains(rows[0].cidr_error, "Not an IPv4 or IPv6 network");
		assert_int_equal(input.fields.cidr_count, 0);
	}
}

static void test_cidr_duplicates_after_canonicalisation(void **state)
{
	struct fixture *fixture = *state;
	struct key_cidr_input rows[] = {
		{ .cidr = "10.0.0.1", .label = "first" },
		{ .cidr = "10.0.0.1/32", .label = "second" },
		{ .cidr = "2001:db8::/32", .label = "" },
		{ .cidr = "2001:0DB8:0000::/32", .label = "" },
		{ .cidr = "192.0.2.0/24", .label = "" },
	};
	struct key_input input = valid_input(fixture);
	input.cidrs = rows;
	input.cidr_count = 5;
	assert_false(check(fixture, &input));
	assert_null(rows[0].cidr_error);
	assert_contains(rows[1].cidr_error, "10.0.0.1/32 is already in the list");
	assert_null(rows[2].cidr_error);
	assert_contains(rows[3].cidr_error, "2001:db8::/32 is already in the list");
	assert_null(rows[4].cidr_error);
	assert_int_equal(input.fields.cidr_count, 3);
}

static void test_cidr_label_without_network(void **state)
{
	struct fixture *fixture = *state;
	struct key_cidr_input rows[] = { { .cidr = "  ", .label = "office" } };
	struct key_input input = valid_input(fixture);
	input.cidrs = rows;
	input.cidr_count = 1;
	assert_false(check(fixture, &input));
	assert_contains(rows[0].cidr_error, "Enter the network");
	assert_null(rows[0].label_error);
	assert_int_equal(input.fields.cidr_count, 0);
}

static void test_cidr_empty_rows_skipped(void **state)
{
	struct fixture *fixture = *state;
	struct key_cidr_input rows[] = {
		{ .cidr = "", .label = "" },
		{ .cidr = NULL, .label = NULL },
		{ .cidr = "203.0.113.0/24", .label = "kept" },
		{ .cidr = " \t", .label = "\r\n " },
	};
	struct key_input input = valid_input(fixture);
	input.cidrs = rows;
	input.cidr_count = 4;
	assert_true(check(fixture, &input));
	assert_int_equal(input.fields.cidr_count, 1);
	assert_string_equal(input.fields.cidrs[0].cidr, "203.0.113.0/24");
	assert_string_equal(input.fields.cidrs[0].label, "kept");
	for (size_t i = 0; i < 4; i++) {
		assert_null(rows[i].cidr_error);
		assert_null(rows[i].label_error);
	}
}

static void test_cidr_label_rules(void **state)
{
	struct fixture *fixture = *state;
	const char *longest = repeat(fixture, "", "\xc3\xbc", KEY_CIDR_LABEL_MAX);
	struct key_cidr_input rows[] = {
		{ .cidr = "10.0.0.0/8", .label = longest },
		{ .cidr = "10.1.0.0/16", .label = repeat(fixture, "", "\xc3\xbc", KEY_CIDR_LABEL_MAX + 1) },
		{ .cidr = "10.2.0.0/16", .label = "tab\there" },
		{ .cidr = "10.3.0.0/16", .label = repeat(fixture, " ", "x", KEY_CIDR_LABEL_MAX) },
	};
	struct key_input input = valid_input(fixture);
	input.cidrs = rows;
	input.cidr_count = 4;
	assert_false(check(fixture, &input));
	assert_null(rows[0].label_error);
	assert_contains(rows[1].label_error, "too long");
	assert_contains(rows[2].label_error, "control characters");
	assert_null(rows[3].label_error);
	assert_null(rows[1].cidr_error);
	assert_null(rows[2].cidr_error);

	/* The longest label alone is fine. */
	input = valid_input(fixture);
	input.cidrs = rows;
	input.cidr_count = 1;
	rows[0].label_error = NULL;
	assert_true(check(fixture, &input));
	assert_string_equal(input.fields.cidrs[0].label, longest);
}

static void test_cidr_row_count_limit(void **state)
{
	struct fixture *fixture = *state;
	struct key_cidr_input *rows = arena_alloc(fixture->db->arena, (KEY_CIDRS_MAX + 1) * sizeof *rows);
	for (size_t i = 0; i <= KEY_CIDRS_MAX; i++) {
		rows[i].cidr = arena_printf(fixture->db->arena, "10.%zu.0.0/16", i);
		rows[i].label = "";
	}
	struct key_input input = valid_input(fixture);
	input.cidrs = rows;
	input.cidr_count = KEY_CIDRS_MAX;
	assert_true(check(fixture, &input));
	assert_int_equal(input.fields.cidr_count, KEY_CIDRS_MAX);
	assert_null(input.cidrs_error);

	input = valid_input(fixture);
	input.cidrs = rows;
	input.cidr_count = KEY_CIDRS_MAX + 1;
	assert_false(check(fixture, &input));
	assert_contains(input.cidrs_error, "At most 100");

	/* Empty rows do not count towards the limit. */
	struct key_cidr_input *padded = arena_alloc(fixture->db->arena, (KEY_CIDRS_MAX + 10) * sizeof *padded);
	memcpy(padded, rows, KEY_CIDRS_MAX * sizeof *rows);
	for (size_t i = KEY_CIDRS_MAX; i < KEY_CIDRS_MAX + 10; i++)
		padded[i].cidr = padded[i].label = "";
	input = valid_input(fixture);
	input.cidrs = padded;
	input.cidr_count = KEY_CIDRS_MAX + 10;
	assert_true(check(fixture, &input));
	assert_int_equal(input.fields.cidr_count, KEY_CIDRS_MAX);
}

/* ---- role ---------------------------------------------------------------------------------- */

static void test_role(void **state)
{
	struct fixture *fixture = *state;
	const char *bad[] = { "", NULL, "admin", "1x", "x1", "0", "-1", "9999", "99999999999999999999", "1.0", "0x1" };
	for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
		struct key_input input = valid_input(fixture);
		input.role_id = bad[i];
		assert_false(check(fixture, &input));
		assert_contains(input.role_error, "Choose one of the roles");
		assert_int_equal(input.fields.role_id, 0);
		assert_null(input.name_error);
	}
	struct key_input input = valid_input(fixture);
	input.role_id = fixture->read_only_text;
	assert_true(check(fixture, &input));
	assert_int_equal(input.fields.role_id, fixture->db->read_only_role);
	/* The roles belong to the workspace. */
	input = valid_input(fixture);
	assert_false(key_input_check(fixture->db->arena, fixture->db->store, 2, &input));
	assert_non_null(input.role_error);
}

/* ---- messages set before the check (by the form decoder) ----------------------------------- */

/* The expiry: empty for never; a UTC date and time after now; the stored one may stay though past. */
static void test_expiry(void **state)
{
	struct fixture *fixture = *state;
	struct key_input input = valid_input(fixture);
	input.now = 1801418400; /* 2027-01-31 18:00 UTC */
	input.expires_at = "  ";
	assert_true(check(fixture, &input));
	assert_int_equal(input.fields.expires_at, 0);
	input.expires_at = "2027-01-31T18:01";
	assert_true(check(fixture, &input));
	assert_int_equal(input.fields.expires_at, 1801418460);
	input.expires_at = "2027-01-31 18:00";
	assert_false(check(fixture, &input));
	assert_contains(input.expires_at_error, "must be in the future");
	assert_int_equal(input.fields.expires_at, 0);
	input = valid_input(fixture);
	input.now = 1801418400;
	input.expires_at = "31/01/2027";
	assert_false(check(fixture, &input));
	assert_contains(input.expires_at_error, "such as 2027-01-31 18:00");
	input = valid_input(fixture);
	input.now = 1801418400;
	input.expires_at = "2027-01-30";
	input.expires_at_kept = 1801267200;
	assert_true(check(fixture, &input));
	assert_int_equal(input.fields.expires_at, 1801267200);
}

static void test_decoder_errors_are_kept(void **state)
{
	struct fixture *fixture = *state;
	static const char name_message[] = "name: not UTF-8";
	static const char url_message[] = "url: bad percent-encoding";
	static const char role_message[] = "role: bad bytes";
	static const char cidr_message[] = "cidr: bad bytes";
	static const char label_message[] = "label: bad bytes";
	static const char list_message[] = "too many rows";
	struct key_cidr_input rows[] = {
		{ .cidr = "", .label = "", .cidr_error = cidr_message },
		{ .cidr = "10.0.0.0/8", .label = "", .label_error = label_message },
		{ .cidr = "192.0.2.0/24", .label = "fine" },
	};
	/* Each field on its own: the field's message stays and the input fails, although the text is fine. */
	struct key_input input = valid_input(fixture);
	input.name_error = name_message;
	assert_false(check(fixture, &input));
	assert_ptr_equal(input.name_error, name_message);
	assert_null(input.fields.name);

	input = valid_input(fixture);
	input.postback_url = "https://example.com/";
	input.postback_url_error = url_message;
	assert_false(check(fixture, &input));
	assert_ptr_equal(input.postback_url_error, url_message);
	assert_null(input.fields.postback_url);

	input = valid_input(fixture);
	input.role_error = role_message;
	assert_false(check(fixture, &input));
	assert_ptr_equal(input.role_error, role_message);
	assert_int_equal(input.fields.role_id, 0);

	input = valid_input(fixture);
	input.cidrs_error = list_message;
	assert_false(check(fixture, &input));
	assert_ptr_equal(input.cidrs_error, list_message);

	input = valid_input(fixture);
	input.cidrs = rows;
	input.cidr_count = 3;
	assert_false(check(fixture, &input));
	assert_ptr_equal(rows[0].cidr_error, cidr_message);
	assert_null(rows[0].label_error);
	assert_ptr_equal(rows[1].label_error, label_message);
	assert_null(rows[1].cidr_error);
	assert_null(rows[2].cidr_error);
	assert_int_equal(input.fields.cidr_count, 1);
	assert_string_equal(input.fields.cidrs[0].cidr, "192.0.2.0/24");

	/* A kept message does not stop the other fields from being checked. */
	input = valid_input(fixture);
	input.name_error = name_message;
	input.postback_url = "ftp://example.com/";
	input.role_id = "nope";
	assert_false(check(fixture, &input));
	assert_ptr_equal(input.name_error, name_message);
	assert_non_null(input.postback_url_error);
	assert_non_null(input.role_error);
}

/* A note: counted in characters, not bytes; line breaks kept (CR LF and CR as LF); folded for the filter. */
static void test_note(void **state)
{
	struct fixture *fixture = *state;
	struct key_input input = valid_input(fixture);
	assert_true(check(fixture, &input));
	assert_string_equal(input.fields.note, "");
	assert_string_equal(input.fields.note_folded, "");

	input = valid_input(fixture);
	input.note = "  Deployed on ÄRGER-1\r\nOwner: ops\rTicket\t42  ";
	assert_true(check(fixture, &input));
	assert_string_equal(input.fields.note, "Deployed on ÄRGER-1\nOwner: ops\nTicket\t42");
	assert_string_equal(input.fields.note_folded, "deployed on ärger-1\nowner: ops\nticket\t42");

	input = valid_input(fixture);
	input.note = repeat(fixture, "", "ä", KEY_NOTE_MAX); /* 2,000 bytes, 1,000 characters */
	assert_true(check(fixture, &input));
	assert_null(input.note_error);

	input = valid_input(fixture);
	input.note = repeat(fixture, "", "ä", KEY_NOTE_MAX + 1);
	assert_false(check(fixture, &input));
	assert_string_equal(input.note_error, "The note is too long: at most 1,000 characters (it has 1001).");
	assert_null(input.name_error);

	input = valid_input(fixture);
	input.note = "a\r\nb"; /* a line break sent as CR LF counts as one character */
	assert_true(check(fixture, &input));
	input = valid_input(fixture);
	input.note = repeat(fixture, "", "a\r\n", KEY_NOTE_MAX / 2);
	assert_true(check(fixture, &input));

	input = valid_input(fixture);
	input.note = "bell\a";
	assert_false(check(fixture, &input));
	assert_contains(input.note_error, "control characters");
}

#define TEST(name) cmocka_unit_test_setup_teardown(name, setup, teardown)

int main(void)
{
	const struct CMUnitTest tests[] = {
		TEST(test_valid_input_fills_fields),
		TEST(test_every_field_wrong),
		TEST(test_one_wrong_field_fails_the_input),
		TEST(test_name_trim_and_empty),
		TEST(test_name_length_in_code_points),
		TEST(test_name_control_characters),
		TEST(test_url_cases),
		TEST(test_url_length),
		TEST(test_url_through_check),
		TEST(test_cidr_rows_canonical_and_trimmed),
		TEST(test_cidr_host_bits_message_suggests),
		TEST(test_cidr_invalid),
		TEST(test_cidr_duplicates_after_canonicalisation),
		TEST(test_cidr_label_without_network),
		TEST(test_cidr_empty_rows_skipped),
		TEST(test_cidr_label_rules),
		TEST(test_cidr_row_count_limit),
		TEST(test_role),
		TEST(test_expiry),
		TEST(test_decoder_errors_are_kept),
		TEST(test_note),
	};
	return cmocka_run_group_tests_name("key_input", tests, NULL, NULL);
}
