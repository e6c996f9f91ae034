/* test_credentials.c: unit tests for finding the API key in the Authorization and X-API-Key headers. */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include <stdbool.h>
#include <stdio.h>
#include <string.h>

#include "core/alloc.h"
#include "http/credentials.h"
#include "http/request.h"

/* ---- a stand-in for the web server: the two headers as CGI variables ------------------------- */

struct headers {
	const char *authorization; /* HTTP_AUTHORIZATION, NULL when absent */
	const char *api_key;       /* HTTP_X_API_KEY, NULL when absent */
	const char *repeated;      /* the variable the server sent twice (FastCGI), NULL for none */
};

static bool headers_repeated(void *context, const char *name)
{
	const struct headers *headers = context;
	return headers->repeated != NULL && strcmp(name, headers->repeated) == 0;
}

static const char *headers_getenv(void *context, const char *name)
{
	const struct headers *headers = context;
	if (strcmp(name, "HTTP_AUTHORIZATION") == 0)
		return headers->authorization;
	if (strcmp(name, "HTTP_X_API_KEY") == 0)
		return headers->api_key;
	if (strcmp(name, "REQUEST_METHOD") == 0)
		return "GET";
	if (strcmp(name, "REQUEST_URI") == 0)
		return "/protected";
	return NULL;
}

static size_t no_body(void *context, char *buffer, size_t size)
{
	(void)context;
	(void)buffer;
	(void)size;
	return 0;
}

static void no_write(void *context, const char *bytes, size_t length)
{
	(void)context;
	(void)bytes;
	(void)length;
}

struct found {
	enum http_key_presence presence;
	char key[256]; /* a NUL-terminated copy of the key, "" when none */
	size_t length;
	bool key_is_null;
};

/* What http_request_api_key() finds in a request carrying these headers. */
static struct found find_repeated(const char *authorization, const char *api_key, const char *repeated)
{
	struct headers headers = { authorization, api_key, repeated };
	struct http_io io = { headers_getenv, no_body, no_write, &headers, NULL, headers_repeated };
	struct arena *arena = arena_new();
	struct http_request request;
	http_request_read(&request, arena, &io, "");
	struct found found;
	memset(&found, 0, sizeof found);
	const char *key = (const char *)&found; /* anything but NULL, to see that it is set */
	found.length = 12345;
	found.presence = http_request_api_key(&request, &key, &found.length);
	found.key_is_null = key == NULL;
	if (key != NULL && found.length < sizeof found.key)
		memcpy(found.key, key, found.length);
	arena_free(arena);
	return found;
}

static struct found find(const char *authorization, const char *api_key)
{
	return find_repeated(authorization, api_key, NULL);
}

static void assert_one(const char *authorization, const char *api_key, const char *expected)
{
	struct found found = find(authorization, api_key);
	if (found.presence != HTTP_KEY_ONE)
		fail_msg("Authorization %s / X-API-Key %s: expected one key \"%s\", got presence %d",
			 authorization ? authorization : "(none)", api_key ? api_key : "(none)", expected, found.presence);
	assert_int_equal(found.length, strlen(expected));
	assert_string_equal(found.key, expected);
}

static void assert_none(const char *authorization, const char *api_key)
{
	struct found found = find(authorization, api_key);
	if (found.presence != HTTP_KEY_NONE)
		fail_msg("Authorization %s / X-API-Key %s: expected no key, got presence %d (\"%s\")",
			 authorization ? authorization : "(none)", api_key ? api_key : "(none)", found.presence, found.key);
	assert_true(found.key_is_null);
	assert_int_equal(found.length, 0);
}

static void assert_several(const char *authorization, const char *api_key)
{
	struct found found = find(authorization, api_key);
	if (found.presence != HTTP_KEY_SEVERAL)
		fail_msg("Authorization %s / X-API-Key %s: expected several keys, got presence %d (\"%s\")",
			 authorization ? authorization : "(none)", api_key ? api_key : "(none)", found.presence, found.key);
}

#define KEY "kw_key_AAAAAAAAAAAAAAAA_abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQ123456"
#define OTHER "kw_key_BBBBBBBBBBBBBBBB_abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQ123456"

static void test_bearer(void **state)
{
	(void)state;
	assert_one("Bearer " KEY, NULL, KEY);
	assert_one("Bearer x", NULL, "x"); /* the shape is verify's business, not the header's */
}

static void test_bearer_scheme_is_case_insensitive(void **state)
{
	(void)state;
	assert_one("bearer " KEY, NULL, KEY);
	assert_one("BEARER " KEY, NULL, KEY);
	assert_one("bEaReR " KEY, NULL, KEY);
}

static void test_spaces_and_tabs_around_the_key(void **state)
{
	(void)state;
	assert_one("Bearer\t" KEY, NULL, KEY);
	assert_one("Bearer    " KEY, NULL, KEY);
	assert_one("Bearer \t " KEY " \t ", NULL, KEY);
	assert_one("  Bearer " KEY, NULL, KEY);
	assert_one("\tBearer " KEY "\t", NULL, KEY);
	assert_one(NULL, "  " KEY "\t", KEY);
}

static void test_empty_bearer_is_no_key(void **state)
{
	(void)state;
	assert_none("Bearer", NULL);
	assert_none("Bearer ", NULL);
	assert_none("Bearer \t  ", NULL);
	assert_none("", NULL);
	assert_none("   ", NULL);
	assert_none(NULL, "");
	assert_none(NULL, " \t ");
	assert_none(NULL, NULL);
	assert_none("Bearer", "");
	/* An empty bearer does not hide the other header. */
	assert_one("Bearer ", KEY, KEY);
}

static void test_other_schemes_are_ignored(void **state)
{
	(void)state;
	assert_none("Basic dXNlcjpwYXNzd29yZA==", NULL);
	assert_none("Digest username=\"x\", realm=\"y\"", NULL);
	assert_none("Token " KEY, NULL);
	assert_none(KEY, NULL);                 /* no scheme at all */
	assert_none("Bearer" KEY, NULL);        /* the scheme must end at a space or tab */
	assert_none("Bearers " KEY, NULL);
	assert_none("Bear " KEY, NULL);
	/* Basic credentials for the backend do not hide a key in X-API-Key, nor conflict with it. */
	assert_one("Basic dXNlcjpwYXNzd29yZA==", KEY, KEY);
}

/* Web servers join repeated headers with ", ": a value holding a list is several keys. */
static void test_several_keys_in_one_header(void **state)
{
	(void)state;
	assert_several("Bearer " KEY ", Bearer " OTHER, NULL);
	assert_several("Bearer " KEY ", Bearer " KEY, NULL);
	assert_several("Bearer " KEY "," OTHER, NULL);
	assert_several("Bearer " KEY " " OTHER, NULL);
	assert_several("Bearer " KEY "\t" OTHER, NULL);
	assert_several("Bearer " KEY ", Basic dXNlcjpwYXNz", NULL);
	assert_several("Bearer ,", NULL);
	assert_several(NULL, KEY ", " OTHER);
	assert_several(NULL, KEY ", " KEY);
	assert_several(NULL, KEY " " OTHER);
	/* A list in one header is several even if the other header holds one of them. */
	assert_several("Bearer " KEY, KEY ", " OTHER);
	assert_several("Bearer " KEY ", Bearer " OTHER, KEY);
}

static void test_both_headers(void **state)
{
	(void)state;
	assert_one("Bearer " KEY, KEY, KEY);
	assert_one("bearer\t" KEY "  ", "  " KEY, KEY);
	assert_several("Bearer " KEY, OTHER);
	assert_several("Bearer " OTHER, KEY);
	/* Differing by one byte, or by length, is different. */
	assert_several("Bearer " KEY, KEY "x");
	assert_several("Bearer " KEY "x", KEY);
	assert_several("Bearer " KEY, "kw_key_AAAAAAAAAAAAAAAA_abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQ123457");
	/* Case matters in keys, unlike in the scheme. */
	assert_several("Bearer abc", "ABC");
}

static void test_x_api_key_alone(void **state)
{
	(void)state;
	assert_one(NULL, KEY, KEY);
	assert_one("", KEY, KEY);
	assert_one(NULL, "\xff\xfe", "\xff\xfe"); /* bytes are passed on; verify refuses them */
}

/* nginx before 1.23 sends each copy of a repeated header as a variable of its own: several keys. */
static void test_a_header_sent_twice_is_several_keys(void **state)
{
	(void)state;
	assert_int_equal(find_repeated(NULL, KEY, "HTTP_X_API_KEY").presence, HTTP_KEY_SEVERAL);
	assert_int_equal(find_repeated(NULL, "", "HTTP_X_API_KEY").presence, HTTP_KEY_SEVERAL);
	assert_int_equal(find_repeated("Bearer " KEY, NULL, "HTTP_AUTHORIZATION").presence, HTTP_KEY_SEVERAL);
	assert_int_equal(find_repeated("Bearer " KEY, KEY, "HTTP_X_API_KEY").presence, HTTP_KEY_SEVERAL);
	assert_int_equal(find_repeated("Basic dXNlcjpwYXNz", NULL, "HTTP_AUTHORIZATION").presence, HTTP_KEY_SEVERAL);
	/* Another header sent twice is none of the key's business. */
	struct found found = find_repeated("Bearer " KEY, NULL, "HTTP_COOKIE");
	assert_int_equal(found.presence, HTTP_KEY_ONE);
	assert_string_equal(found.key, KEY);
	assert_int_equal(find_repeated(NULL, KEY, "HTTP_AUTHORIZATION").presence, HTTP_KEY_ONE);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_bearer),
		cmocka_unit_test(test_bearer_scheme_is_case_insensitive),
		cmocka_unit_test(test_spaces_and_tabs_around_the_key),
		cmocka_unit_test(test_empty_bearer_is_no_key),
		cmocka_unit_test(test_other_schemes_are_ignored),
		cmocka_unit_test(test_several_keys_in_one_header),
		cmocka_unit_test(test_both_headers),
		cmocka_unit_test(test_x_api_key_alone),
		cmocka_unit_test(test_a_header_sent_twice_is_several_keys),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
