/* test_http.c: unit tests for the route table, request parsing (limits, body, cookies) and query escaping. */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include <stdbool.h>
#include <stdio.h>
#include <string.h>

#include "core/alloc.h"
#include "http/request.h"
#include "http/router.h"
#include "http/url.h"

/* ---- a stand-in for the web server: a table of variables and a body ------------------------- */

struct fake_server {
	const char *const *variables; /* name, value, name, value, ..., NULL */
	const char *body;
	size_t body_length;
	size_t position;
	size_t chunk;         /* at most this many bytes per read; 0 for no limit */
	int read_calls;
	size_t largest_ask;   /* the largest `size` a read was called with */
	size_t left_at_largest_ask; /* bytes the request still wanted then (checked by the tests) */
	bool has_deadline;    /* reads have a deadline: io.timed_out is set */
	bool deadline_passed; /* what timed_out answers: the body's end is where the deadline passed */
	int timed_out_calls;
};

static const char *fake_getenv(void *context, const char *name)
{
	struct fake_server *server = context;
	for (const char *const *variable = server->variables; variable && variable[0] != NULL; variable += 2)
		if (strcmp(variable[0], name) == 0)
			return variable[1];
	return NULL;
}

static size_t fake_read(void *context, char *buffer, size_t size)
{
	struct fake_server *server = context;
	server->read_calls++;
	if (size > server->largest_ask)
		server->largest_ask = size;
	size_t left = server->body_length - server->position;
	size_t give = size < left ? size : left;
	if (server->chunk != 0 && give > server->chunk)
		give = server->chunk;
	memcpy(buffer, server->body + server->position, give);
	server->position += give;
	return give;
}

static bool fake_timed_out(void *context)
{
	struct fake_server *server = context;
	server->timed_out_calls++;
	return server->deadline_passed;
}

static void fake_write(void *context, const char *bytes, size_t length)
{
	(void)context;
	(void)bytes;
	(void)length;
	fail_msg("reading a request wrote to the client");
}

static int setup(void **state)
{
	*state = arena_new();
	return 0;
}

static int teardown(void **state)
{
	arena_free(*state);
	return 0;
}

/* Read a request from `server` with base path `base`. */
static void read_request(struct arena *arena, struct fake_server *server, const char *base,
			 struct http_request *request, struct http_io *io)
{
	io->getenv = fake_getenv;
	io->read = fake_read;
	io->write = fake_write;
	io->context = server;
	io->timed_out = server->has_deadline ? fake_timed_out : NULL;
	memset(request, 0xA5, sizeof *request); /* http_request_read must set every field */
	http_request_read(request, arena, io, base);
}

#define VARIABLES(...) ((const char *const[]){ __VA_ARGS__, NULL })

/* ---- router -------------------------------------------------------------------------------- */

/* Each handler leaves its own mark, so that they differ in body (no identical-code folding). */
static int handled_by;
#define HANDLER(name, mark)                                                                        \
	static void name(struct app *app, struct http_request *request, struct http_response *response) \
	{                                                                                          \
		(void)app;                                                                         \
		(void)request;                                                                     \
		(void)response;                                                                    \
		handled_by = (mark);                                                               \
	}
HANDLER(handle_home, 1)
HANDLER(handle_keys, 2)
HANDLER(handle_create, 3)
HANDLER(handle_new, 4)
HANDLER(handle_show, 5)
HANDLER(handle_revoke, 6)
HANDLER(handle_pair, 7)
HANDLER(handle_webhook, 8)
HANDLER(handle_many, 9)
HANDLER(handle_patch, 10)
HANDLER(handle_verify, 11)

static const struct http_route routes[] = {
	{ HTTP_GET, "/", handle_home, 0 },
	{ HTTP_GET, "/keys", handle_keys, 0 },
	{ HTTP_POST, "/keys", handle_create, 0 },
	{ HTTP_GET, "/keys/new", handle_new, 0 },
	{ HTTP_GET, "/keys/{key}", handle_show, 0 },
	{ HTTP_POST, "/keys/{key}/revoke", handle_revoke, 42 },
	{ HTTP_GET, "/a/{first}/b/{second}", handle_pair, 0 },
	{ HTTP_POST, "/webhook", handle_webhook, 0 },
	{ HTTP_GET, "/m/{a}/{b}/{c}/{d}/{e}", handle_many, 0 },
	{ HTTP_PATCH, "/keys/{key}", handle_patch, 0 },
	/* After the pattern that also matches it: the literal row still owns its path. */
	{ HTTP_POST, "/keys/verify", handle_verify, 0 },
};
#define ROUTE_COUNT (sizeof routes / sizeof routes[0])

struct routed {
	enum http_route_result result;
	const struct http_route *route;
	http_handler handler; /* route's, NULL when none */
	char allow[64];
	struct http_request request;
};

static void route(struct arena *arena, enum http_method method, const char *path, struct routed *out)
{
	memset(out, 0, sizeof *out);
	out->request.arena = arena;
	out->request.method = method;
	out->request.path = path;
	strcpy(out->allow, "untouched");
	out->result = http_route(routes, ROUTE_COUNT, &out->request, &out->route, out->allow, sizeof out->allow);
	out->handler = out->route ? out->route->handler : NULL;
}

static void assert_found(struct arena *arena, enum http_method method, const char *path, http_handler expected)
{
	struct routed routed;
	route(arena, method, path, &routed);
	if (routed.result != HTTP_ROUTE_FOUND)
		fail_msg("%s: result %d, expected FOUND", path, (int)routed.result);
	assert_ptr_equal(routed.handler, expected);
}

static void assert_not_found(struct arena *arena, enum http_method method, const char *path)
{
	struct routed routed;
	route(arena, method, path, &routed);
	if (routed.result != HTTP_ROUTE_NOT_FOUND)
		fail_msg("%s: result %d, expected NOT_FOUND", path, (int)routed.result);
	assert_null(routed.handler);
}

static void assert_wrong_method(struct arena *arena, enum http_method method, const char *path, const char *allow)
{
	struct routed routed;
	route(arena, method, path, &routed);
	if (routed.result != HTTP_ROUTE_WRONG_METHOD)
		fail_msg("%s: result %d, expected WRONG_METHOD", path, (int)routed.result);
	assert_null(routed.handler);
	assert_string_equal(routed.allow, allow);
}

static void test_route_literal_paths(void **state)
{
	struct arena *arena = *state;
	assert_found(arena, HTTP_GET, "/", handle_home);
	assert_found(arena, HTTP_GET, "/keys", handle_keys);
	assert_found(arena, HTTP_POST, "/keys", handle_create);
	assert_found(arena, HTTP_POST, "/webhook", handle_webhook);
	/* A literal row listed before a pattern that also matches wins. */
	assert_found(arena, HTTP_GET, "/keys/new", handle_new);
	struct routed routed;
	route(arena, HTTP_GET, "/keys", &routed);
	assert_int_equal(routed.request.path_param_count, 0);
	route(arena, HTTP_GET, "/keys", &routed);
	routed.handler(NULL, &routed.request, NULL);
	assert_int_equal(handled_by, 2);
}

static void test_route_head_served_by_get(void **state)
{
	struct arena *arena = *state;
	assert_found(arena, HTTP_HEAD, "/", handle_home);
	assert_found(arena, HTTP_HEAD, "/keys", handle_keys);
	assert_found(arena, HTTP_HEAD, "/keys/key_abc", handle_show);
	/* ... but not by POST. */
	assert_wrong_method(arena, HTTP_HEAD, "/webhook", "POST");
	assert_wrong_method(arena, HTTP_HEAD, "/keys/key_abc/revoke", "POST");
}

static void test_route_captures(void **state)
{
	struct arena *arena = *state;
	struct routed routed;
	char path[] = "/keys/key_4fT9aZ0pQ2mX8bYc-_";
	route(arena, HTTP_GET, path, &routed);
	assert_int_equal(routed.result, HTTP_ROUTE_FOUND);
	assert_ptr_equal(routed.handler, handle_show);
	assert_int_equal(routed.request.path_param_count, 1);
	assert_string_equal(routed.request.path_params[0], "key_4fT9aZ0pQ2mX8bYc-_");
	/* The capture is a copy, not a pointer into the path. */
	path[6] = 'X';
	assert_string_equal(routed.request.path_params[0], "key_4fT9aZ0pQ2mX8bYc-_");

	route(arena, HTTP_POST, "/keys/abc/revoke", &routed);
	assert_int_equal(routed.result, HTTP_ROUTE_FOUND);
	assert_ptr_equal(routed.handler, handle_revoke);
	assert_int_equal(routed.route->need, 42); /* the row itself: handler and what it needs together */
	assert_ptr_equal(routed.route, &routes[5]);
	assert_int_equal(routed.request.path_param_count, 1);
	assert_string_equal(routed.request.path_params[0], "abc");

	int64_t id = 0;
	assert_false(http_path_id(&routed.request, 0, &id)); /* "abc" is no id */
	assert_false(http_path_id(&routed.request, 1, &id)); /* no second capture */
	route(arena, HTTP_POST, "/keys/17/revoke", &routed);
	assert_true(http_path_id(&routed.request, 0, &id));
	assert_int_equal(id, 17);
	route(arena, HTTP_POST, "/keys/017/revoke", &routed);
	assert_false(http_path_id(&routed.request, 0, &id));
	route(arena, HTTP_POST, "/keys/0/revoke", &routed);
	assert_false(http_path_id(&routed.request, 0, &id));
	assert_int_equal(id, 17);

	route(arena, HTTP_GET, "/a/1/b/two-2", &routed);
	assert_int_equal(routed.result, HTTP_ROUTE_FOUND);
	assert_ptr_equal(routed.handler, handle_pair);
	assert_int_equal(routed.request.path_param_count, 2);
	assert_string_equal(routed.request.path_params[0], "1");
	assert_string_equal(routed.request.path_params[1], "two-2");

	/* "new" is a literal row first, but any other word is a key. */
	route(arena, HTTP_GET, "/keys/newer", &routed);
	assert_ptr_equal(routed.handler, handle_show);
	assert_string_equal(routed.request.path_params[0], "newer");
}

static void test_route_not_found(void **state)
{
	struct arena *arena = *state;
	static const char *const paths[] = {
		"/nope", "/key", "/keysx", "/keys/", "/keys//", "/keys/abc/", "/keys/a.b", "/keys/a%20b",
		"/keys/abc/revoke/", "/keys/abc/revokes", "/keys/abc/other", "//", "", "keys", "/KEYS",
		"/a/1/b/", "/a//b/2", "/a/1/b/2/c", "/keys/\xc3\xa9", "/keys/a b", "/keys/abc?x=1",
	};
	for (size_t i = 0; i < sizeof paths / sizeof paths[0]; i++) {
		assert_not_found(arena, HTTP_GET, paths[i]);
		assert_not_found(arena, HTTP_POST, paths[i]);
	}
	assert_not_found(arena, HTTP_OTHER, "/nope");
}

static void test_route_wrong_method_allow(void **state)
{
	struct arena *arena = *state;
	assert_wrong_method(arena, HTTP_OTHER, "/keys", "GET, HEAD, POST");
	assert_wrong_method(arena, HTTP_POST, "/", "GET, HEAD");
	assert_wrong_method(arena, HTTP_OTHER, "/", "GET, HEAD");
	assert_wrong_method(arena, HTTP_POST, "/keys/new", "GET, HEAD");
	assert_wrong_method(arena, HTTP_POST, "/keys/abc", "GET, HEAD, PATCH");
	assert_wrong_method(arena, HTTP_GET, "/keys/abc/revoke", "POST");
	assert_wrong_method(arena, HTTP_GET, "/webhook", "POST");
	assert_wrong_method(arena, HTTP_OTHER, "/webhook", "POST");
	assert_wrong_method(arena, HTTP_OTHER, "/keys/abc", "GET, HEAD, PATCH");

	/* A small buffer is cut short but stays a string. */
	struct http_request request;
	memset(&request, 0, sizeof request);
	request.arena = arena;
	request.method = HTTP_OTHER;
	request.path = "/keys";
	const struct http_route *found = NULL;
	char allow[5];
	assert_int_equal(http_route(routes, ROUTE_COUNT, &request, &found, allow, sizeof allow),
			 HTTP_ROUTE_WRONG_METHOD);
	assert_string_equal(allow, "GET,");
}

/*
 * The most particular pattern owns a path, whatever the rows' order: "/keys/verify" takes POST
 * only (405 for GET), not GET and PATCH as if "verify" were a key; other words are keys.
 */
static void test_route_literal_rows_own_their_paths(void **state)
{
	struct arena *arena = *state;
	assert_found(arena, HTTP_POST, "/keys/verify", handle_verify);
	assert_wrong_method(arena, HTTP_GET, "/keys/verify", "POST");
	assert_wrong_method(arena, HTTP_PATCH, "/keys/verify", "POST");
	assert_found(arena, HTTP_PATCH, "/keys/abc", handle_patch);
	assert_found(arena, HTTP_PATCH, "/keys/verifyx", handle_patch);
	assert_wrong_method(arena, HTTP_PATCH, "/keys/new", "GET, HEAD");
	struct routed routed;
	route(arena, HTTP_PATCH, "/keys/key_1", &routed);
	assert_int_equal(routed.request.path_param_count, 1);
	assert_string_equal(routed.request.path_params[0], "key_1");
}

static void test_route_too_many_captures(void **state)
{
	struct arena *arena = *state;
	/* Five captures do not fit in HTTP_PATH_PARAMS_MAX (4): such a path is unknown, and nothing overflows. */
	assert_int_equal(HTTP_PATH_PARAMS_MAX, 4);
	assert_not_found(arena, HTTP_GET, "/m/1/2/3/4/5");
	assert_not_found(arena, HTTP_GET, "/m/1/2/3/4");
}

static void test_route_empty_table(void **state)
{
	struct arena *arena = *state;
	struct http_request request;
	memset(&request, 0, sizeof request);
	request.arena = arena;
	request.path = "/";
	const struct http_route *found = NULL;
	char allow[32] = "";
	assert_int_equal(http_route(routes, 0, &request, &found, allow, sizeof allow), HTTP_ROUTE_NOT_FOUND);
	assert_null(found);
}

/* ---- request: variables, path, query ------------------------------------------------------- */

static void test_request_get_with_query(void **state)
{
	struct arena *arena = *state;
	struct fake_server server = {
		.variables = VARIABLES("REQUEST_METHOD", "GET", "REQUEST_URI", "/keys?filter=bill%20ing&page=2",
				       "QUERY_STRING", "filter=bill%20ing&page=2", "REMOTE_ADDR", "192.0.2.7",
				       "CONTENT_LENGTH", "11", "CONTENT_TYPE", "application/x-www-form-urlencoded"),
		.body = "name=ignore",
		.body_length = 11,
	};
	struct http_request request;
	struct http_io io;
	read_request(arena, &server, "", &request, &io);
	assert_ptr_equal(request.arena, arena);
	assert_ptr_equal(request.io, &io);
	assert_int_equal(request.method, HTTP_GET);
	assert_string_equal(request.method_name, "GET");
	assert_string_equal(request.path, "/keys");
	assert_true(request.path_valid);
	assert_string_equal(form_get(&request.query, "filter"), "bill ing");
	assert_string_equal(form_get(&request.query, "page"), "2");
	assert_int_equal(request.query.count, 2);
	assert_string_equal(request.remote_addr, "192.0.2.7");
	assert_string_equal(request.cookies, "");
	assert_false(request.https);
	assert_int_equal(request.path_param_count, 0);
	/* Only POST reads a body. */
	assert_int_equal(request.body_status, HTTP_BODY_NONE);
	assert_int_equal(request.form.count, 0);
	assert_int_equal(server.read_calls, 0);
	assert_string_equal(http_request_env(&request, "REMOTE_ADDR"), "192.0.2.7");
	assert_null(http_request_env(&request, "HTTP_X_NOT_SENT"));
}

static void test_request_without_variables(void **state)
{
	struct arena *arena = *state;
	struct fake_server server = { .variables = NULL };
	struct http_request request;
	struct http_io io;
	read_request(arena, &server, "/console", &request, &io);
	assert_int_equal(request.method, HTTP_GET);
	assert_string_equal(request.method_name, "GET");
	assert_string_equal(request.path, "/");
	assert_true(request.path_valid);
	assert_int_equal(request.query.count, 0);
	assert_null(request.query.first);
	assert_int_equal(request.form.count, 0);
	assert_string_equal(request.remote_addr, "");
	assert_string_equal(request.cookies, "");
	assert_false(request.https);
	assert_int_equal(request.body_status, HTTP_BODY_NONE);
	assert_int_equal(request.path_param_count, 0);
	assert_int_equal(server.read_calls, 0);
}

static void test_request_methods(void **state)
{
	struct arena *arena = *state;
	static const struct {
		const char *name;
		enum http_method method;
	} cases[] = {
		{ "GET", HTTP_GET }, { "HEAD", HTTP_HEAD }, { "POST", HTTP_POST }, { "PUT", HTTP_OTHER },
		{ "DELETE", HTTP_OTHER }, { "get", HTTP_OTHER }, { "POSTX", HTTP_OTHER }, { "", HTTP_OTHER },
	};
	for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
		struct fake_server server = { .variables = VARIABLES("REQUEST_METHOD", cases[i].name, "REQUEST_URI", "/") };
		struct http_request request;
		struct http_io io;
		read_request(arena, &server, "", &request, &io);
		assert_int_equal(request.method, cases[i].method);
		assert_string_equal(request.method_name, cases[i].name);
	}
}

struct path_case {
	const char *base;
	const char *uri;
	const char *path;
};

static void test_request_uri_and_base_path(void **state)
{
	struct arena *arena = *state;
	static const struct path_case cases[] = {
		{ "", "/", "/" },
		{ "", "/keys/key_abc", "/keys/key_abc" },
		{ "", "/keys?x=1", "/keys" },
		{ "", "/keys?", "/keys" },
		{ "", "/keys#top", "/keys" },
		{ "", "/keys?next=/a#b", "/keys" },
		{ "", "/keys/a%2Fb", "/keys/a%2Fb" }, /* not decoded */
		{ "", "", "/" },
		{ "", "?x=1", "/" },
		{ "/console", "/console/keys?x=1", "/keys" },
		{ "/console", "/console/", "/" },
		{ "/console", "/console", "/" },
		{ "/console", "/console?page=2", "/" },
		{ "/console", "/consoles/keys", "/consoles/keys" },
		{ "/console", "/consolekeys", "/consolekeys" },
		{ "/console", "/other/console/keys", "/other/console/keys" },
		{ "/console", "/Console/keys", "/Console/keys" },
		{ "/console", "/keys", "/keys" },
		{ "/a/b", "/a/b/keys", "/keys" },
		{ "/a/b", "/a/bc/keys", "/a/bc/keys" },
	};
	for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
		struct fake_server server = { .variables = VARIABLES("REQUEST_URI", cases[i].uri) };
		struct http_request request;
		struct http_io io;
		read_request(arena, &server, cases[i].base, &request, &io);
		if (strcmp(request.path, cases[i].path) != 0)
			fail_msg("base \"%s\", URI \"%s\": path \"%s\", expected \"%s\"", cases[i].base, cases[i].uri,
				 request.path, cases[i].path);
	}
}

static void test_request_script_name_and_path_info(void **state)
{
	struct arena *arena = *state;
	struct fake_server server = {
		.variables = VARIABLES("SCRIPT_NAME", "/console", "PATH_INFO", "/keys/key_abc", "QUERY_STRING", "a=1"),
	};
	struct http_request request;
	struct http_io io;
	read_request(arena, &server, "/console", &request, &io);
	assert_string_equal(request.path, "/keys/key_abc");
	assert_string_equal(form_get(&request.query, "a"), "1");
	read_request(arena, &server, "", &request, &io);
	assert_string_equal(request.path, "/console/keys/key_abc");

	struct fake_server bare = { .variables = VARIABLES("PATH_INFO", "/keys") };
	read_request(arena, &bare, "", &request, &io);
	assert_string_equal(request.path, "/keys");
	struct fake_server script_only = { .variables = VARIABLES("SCRIPT_NAME", "/console") };
	read_request(arena, &script_only, "/console", &request, &io);
	assert_string_equal(request.path, "/");
}

static void test_request_path_validity(void **state)
{
	struct arena *arena = *state;
	static const struct {
		const char *uri;
		bool valid;
	} cases[] = {
		{ "/keys/abc-_.~!$&'()*+,;=:@%20", true },
		{ "/keys/a b", false },
		{ "/keys/\x01", false },
		{ "/keys/\x7f", false },
		{ "/keys/\xc3\xa9", false },
		{ "/keys/\t", false },
		{ "keys", false },
		{ "*", false },
		{ "http://example.com/keys", false },
	};
	for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
		struct fake_server server = { .variables = VARIABLES("REQUEST_URI", cases[i].uri) };
		struct http_request request;
		struct http_io io;
		read_request(arena, &server, "", &request, &io);
		if (request.path_valid != cases[i].valid)
			fail_msg("URI \"%s\": path_valid %d", cases[i].uri, request.path_valid);
	}

	/* HTTP_PATH_MAX bytes are fine, one more is not. */
	char *uri = arena_alloc(arena, HTTP_PATH_MAX + 8);
	uri[0] = '/';
	memset(uri + 1, 'a', HTTP_PATH_MAX - 1);
	struct fake_server server = { .variables = VARIABLES("REQUEST_URI", uri) };
	struct http_request request;
	struct http_io io;
	read_request(arena, &server, "", &request, &io);
	assert_int_equal(strlen(request.path), HTTP_PATH_MAX);
	assert_true(request.path_valid);
	uri[HTTP_PATH_MAX] = 'a';
	read_request(arena, &server, "", &request, &io);
	assert_false(request.path_valid);
	/* The query does not count towards the path's length. */
	memcpy(uri + HTTP_PATH_MAX, "?q=1", 5);
	read_request(arena, &server, "", &request, &io);
	assert_true(request.path_valid);
}

static void test_request_https(void **state)
{
	struct arena *arena = *state;
	static const struct {
		const char *name;
		const char *value;
		bool https;
	} cases[] = {
		{ "HTTPS", "on", true },     { "HTTPS", "ON", true },         { "HTTPS", "off", false },
		{ "HTTPS", "", false },      { "REQUEST_SCHEME", "https", true }, { "REQUEST_SCHEME", "HTTPS", true },
		{ "REQUEST_SCHEME", "http", false }, { "SERVER_PORT", "443", false },
	};
	for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
		struct fake_server server = { .variables = VARIABLES(cases[i].name, cases[i].value) };
		struct http_request request;
		struct http_io io;
		read_request(arena, &server, "", &request, &io);
		if (request.https != cases[i].https)
			fail_msg("%s=%s: https %d", cases[i].name, cases[i].value, request.https);
	}
}

/* ---- request: the body --------------------------------------------------------------------- */

/* A POST of `body` with the given CONTENT_LENGTH and CONTENT_TYPE (NULL: unset). */
static void post(struct arena *arena, struct fake_server *server, const char *content_length,
		 const char *content_type, const char *body, size_t body_length, struct http_request *request)
{
	const char **variables = arena_alloc(arena, 9 * sizeof *variables);
	size_t used = 0;
	variables[used++] = "REQUEST_METHOD";
	variables[used++] = "POST";
	variables[used++] = "REQUEST_URI";
	variables[used++] = "/keys";
	if (content_length != NULL) {
		variables[used++] = "CONTENT_LENGTH";
		variables[used++] = content_length;
	}
	if (content_type != NULL) {
		variables[used++] = "CONTENT_TYPE";
		variables[used++] = content_type;
	}
	variables[used] = NULL;
	server->variables = variables;
	server->body = body;
	server->body_length = body_length;
	struct http_io io;
	read_request(arena, server, "", request, &io);
}

#define FORM_TYPE "application/x-www-form-urlencoded"

static void test_post_form(void **state)
{
	struct arena *arena = *state;
	static const char body[] = "name=Billing+service&cidr=10.0.0.0%2F8&cidr=192.0.2.0%2F24&enabled=on";
	assert_int_equal(strlen(body), 69);
	struct fake_server server = { .chunk = 0 };
	struct http_request request;
	post(arena, &server, "69", FORM_TYPE, body, sizeof body - 1, &request);
	assert_int_equal(request.method, HTTP_POST);
	assert_int_equal(request.body_status, HTTP_BODY_FORM);
	assert_int_equal(request.form.count, 4);
	assert_string_equal(form_get(&request.form, "name"), "Billing service");
	assert_string_equal(form_get(&request.form, "cidr"), "10.0.0.0/8");
	assert_string_equal(request.form.first->next->next->value, "192.0.2.0/24");
	assert_string_equal(form_get(&request.form, "enabled"), "on");
	assert_int_equal(request.query.count, 0);

	/* The same body in 3-byte pieces, with a content type that carries a parameter. */
	struct fake_server slow = { .chunk = 3 };
	post(arena, &slow, "69", "Application/X-WWW-Form-Urlencoded; charset=UTF-8", body, sizeof body - 1, &request);
	assert_int_equal(request.body_status, HTTP_BODY_FORM);
	assert_int_equal(request.form.count, 4);
	assert_string_equal(form_get(&request.form, "enabled"), "on");
	assert_int_equal(slow.read_calls, (69 + 2) / 3);
}

static void test_post_reads_only_content_length(void **state)
{
	struct arena *arena = *state;
	static const char body[] = "a=1&b=2&c=3";
	struct fake_server server = { .chunk = 0 };
	struct http_request request;
	post(arena, &server, "3", FORM_TYPE, body, sizeof body - 1, &request);
	assert_int_equal(request.body_status, HTTP_BODY_FORM);
	assert_int_equal(request.form.count, 1);
	assert_string_equal(form_get(&request.form, "a"), "1");
	assert_null(form_get(&request.form, "b"));
	assert_int_equal(server.position, 3); /* nothing past CONTENT_LENGTH was taken */
	assert_true(server.largest_ask <= 3);
}

static void test_post_body_of_exactly_the_limit(void **state)
{
	struct arena *arena = *state;
	char *body = arena_alloc(arena, HTTP_BODY_MAX + 1);
	memcpy(body, "a=", 2);
	memset(body + 2, 'x', HTTP_BODY_MAX - 2);
	struct fake_server server = { .chunk = 4096 };
	struct http_request request;
	post(arena, &server, "65536", FORM_TYPE, body, HTTP_BODY_MAX, &request);
	assert_int_equal(HTTP_BODY_MAX, 65536);
	assert_int_equal(request.body_status, HTTP_BODY_FORM);
	assert_int_equal(request.form.count, 1);
	assert_int_equal(request.form.first->value_length, HTTP_BODY_MAX - 2);
}

static void test_post_too_large_is_not_read(void **state)
{
	struct arena *arena = *state;
	char *body = arena_alloc(arena, 2 * HTTP_BODY_MAX);
	memset(body, 'x', 2 * HTTP_BODY_MAX);
	static const char *const lengths[] = {
		"65537", "70000", "131072", "4294967296", "18446744073709551615", "99999999999999999999",
		"184467440737095516160", "1000000000000000000000000000000",
	};
	for (size_t i = 0; i < sizeof lengths / sizeof lengths[0]; i++) {
		struct fake_server server = { .chunk = 0 };
		struct http_request request;
		post(arena, &server, lengths[i], FORM_TYPE, body, 2 * HTTP_BODY_MAX, &request);
		if (request.body_status != HTTP_BODY_TOO_LARGE)
			fail_msg("CONTENT_LENGTH %s: body status %d", lengths[i], (int)request.body_status);
		assert_int_equal(server.read_calls, 0);
		assert_int_equal(request.form.count, 0);
		/* Too large is said before the type is looked at. */
		struct fake_server other = { .chunk = 0 };
		post(arena, &other, lengths[i], "text/plain", body, 2 * HTTP_BODY_MAX, &request);
		assert_int_equal(request.body_status, HTTP_BODY_TOO_LARGE);
		assert_int_equal(other.read_calls, 0);
	}
}

/* A JSON body (for the API) is read whole and kept as bytes, NUL-terminated; no form is parsed from it. */
static void test_post_json_is_kept_as_bytes(void **state)
{
	struct arena *arena = *state;
	static const char body[] = "{\"key\":\"a=1&b=2\"}";
	static const char *const types[] = { "application/json", "application/json; charset=utf-8", "Application/JSON" };
	for (size_t i = 0; i < sizeof types / sizeof types[0]; i++) {
		struct fake_server server = { .chunk = 5 };
		struct http_request request;
		char length[16];
		snprintf(length, sizeof length, "%zu", strlen(body));
		post(arena, &server, length, types[i], body, strlen(body), &request);
		assert_int_equal(request.body_status, HTTP_BODY_JSON);
		assert_int_equal(request.body_length, strlen(body));
		assert_string_equal(request.body, body);
		assert_int_equal(request.form.count, 0);
	}
}

static void test_post_wrong_type_is_not_read(void **state)
{
	struct arena *arena = *state;
	static const char body[] = "a=1";
	static const char *const types[] = {
		"text/plain", "multipart/form-data; boundary=xyz", "application/jsonx", "text/json",
		"application/x-www-form-urlencodedX", "application/x-www-form", "", " application/x-www-form-urlencoded",
		NULL,
	};
	for (size_t i = 0; i < sizeof types / sizeof types[0]; i++) {
		struct fake_server server = { .chunk = 0 };
		struct http_request request;
		post(arena, &server, "3", types[i], body, 3, &request);
		if (request.body_status != HTTP_BODY_WRONG_TYPE)
			fail_msg("CONTENT_TYPE \"%s\": body status %d", types[i] ? types[i] : "(unset)",
				 (int)request.body_status);
		assert_int_equal(server.read_calls, 0);
		assert_int_equal(request.form.count, 0);
	}
}

static void test_post_short_body_is_incomplete(void **state)
{
	struct arena *arena = *state;
	static const char body[] = "name=short";
	struct fake_server server = { .chunk = 4 };
	struct http_request request;
	post(arena, &server, "20", FORM_TYPE, body, sizeof body - 1, &request);
	assert_int_equal(request.body_status, HTTP_BODY_INCOMPLETE);
	assert_int_equal(request.form.count, 0);
	assert_null(form_get(&request.form, "name"));
	assert_int_equal(server.position, sizeof body - 1);

	/* Nothing at all arrives. */
	struct fake_server empty = { .chunk = 0 };
	post(arena, &empty, "5", FORM_TYPE, "", 0, &request);
	assert_int_equal(request.body_status, HTTP_BODY_INCOMPLETE);
	assert_int_equal(empty.read_calls, 1);
}

static void test_post_body_past_its_deadline_is_timed_out(void **state)
{
	struct arena *arena = *state;
	static const char body[] = "email=a%40example.com&pass";
	struct http_request request;

	/* The bytes stop coming and the read says the deadline passed: timed out, not incomplete. */
	struct fake_server late = { .chunk = 5, .has_deadline = true, .deadline_passed = true };
	post(arena, &late, "300", FORM_TYPE, body, sizeof body - 1, &request);
	assert_int_equal(request.body_status, HTTP_BODY_TIMED_OUT);
	assert_int_equal(request.form.count, 0);
	assert_null(form_get(&request.form, "email"));
	assert_int_equal(late.position, sizeof body - 1);
	assert_int_equal(late.timed_out_calls, 1);

	/* A JSON body likewise keeps nothing. */
	struct fake_server json = { .chunk = 0, .has_deadline = true, .deadline_passed = true };
	post(arena, &json, "40", "application/json", "{\"key\": \"kw_", 11, &request);
	assert_int_equal(request.body_status, HTTP_BODY_TIMED_OUT);
	assert_null(request.body);
	assert_int_equal(request.body_length, 0);

	/* Nothing at all arrived before the deadline. */
	struct fake_server nothing = { .chunk = 0, .has_deadline = true, .deadline_passed = true };
	post(arena, &nothing, "5", FORM_TYPE, "", 0, &request);
	assert_int_equal(request.body_status, HTTP_BODY_TIMED_OUT);

	/* The stream ended early with time to spare: incomplete, as without a deadline. */
	struct fake_server ended = { .chunk = 5, .has_deadline = true, .deadline_passed = false };
	post(arena, &ended, "300", FORM_TYPE, body, sizeof body - 1, &request);
	assert_int_equal(request.body_status, HTTP_BODY_INCOMPLETE);
	assert_int_equal(ended.timed_out_calls, 1);

	/* A whole body is a body, whatever the clock says afterwards; the deadline is not asked about. */
	struct fake_server whole = { .chunk = 5, .has_deadline = true, .deadline_passed = true };
	post(arena, &whole, "26", FORM_TYPE, body, sizeof body - 1, &request);
	assert_int_equal(request.body_status, HTTP_BODY_FORM);
	assert_string_equal(form_get(&request.form, "email"), "a@example.com");
	assert_int_equal(whole.timed_out_calls, 0);

	/* Without a deadline (plain CGI), a short body is incomplete. */
	struct fake_server cgi = { .chunk = 5 };
	post(arena, &cgi, "300", FORM_TYPE, body, sizeof body - 1, &request);
	assert_int_equal(request.body_status, HTTP_BODY_INCOMPLETE);
}

static void test_post_content_length_malformed_or_absent(void **state)
{
	struct arena *arena = *state;
	static const char body[] = "a=1&b=2";
	static const char *const lengths[] = {
		"", "abc", "-1", "-0", "+7", " 7", "7 ", "7\n", "1e3", "0x10", "7.0", "7,0", "٧", NULL, "0", "00",
	};
	for (size_t i = 0; i < sizeof lengths / sizeof lengths[0]; i++) {
		struct fake_server server = { .chunk = 0 };
		struct http_request request;
		post(arena, &server, lengths[i], FORM_TYPE, body, sizeof body - 1, &request);
		if (request.body_status != HTTP_BODY_NONE)
			fail_msg("CONTENT_LENGTH \"%s\": body status %d", lengths[i] ? lengths[i] : "(unset)",
				 (int)request.body_status);
		assert_int_equal(server.read_calls, 0);
		assert_int_equal(request.form.count, 0);
	}
	/* Leading zeros are still a number. */
	struct fake_server server = { .chunk = 0 };
	struct http_request request;
	post(arena, &server, "0000000000000000000000007", FORM_TYPE, body, sizeof body - 1, &request);
	assert_int_equal(request.body_status, HTTP_BODY_FORM);
	assert_int_equal(request.form.count, 2);
}

/* ---- cookies ------------------------------------------------------------------------------- */

static void test_cookies(void **state)
{
	struct arena *arena = *state;
	struct fake_server server = {
		.variables = VARIABLES("HTTP_COOKIE", "sidx=zzz; sid=abc;theme=dark;\tempty=; tok=a=b; sid=second"),
	};
	struct http_request request;
	struct http_io io;
	read_request(arena, &server, "", &request, &io);
	assert_string_equal(request.cookies, "sidx=zzz; sid=abc;theme=dark;\tempty=; tok=a=b; sid=second");
	assert_string_equal(http_request_cookie(&request, "sid"), "abc"); /* the first one, not "sidx" */
	assert_string_equal(http_request_cookie(&request, "sidx"), "zzz");
	assert_string_equal(http_request_cookie(&request, "theme"), "dark");
	assert_string_equal(http_request_cookie(&request, "empty"), "");
	assert_string_equal(http_request_cookie(&request, "tok"), "a=b");
	assert_null(http_request_cookie(&request, "si"));
	assert_null(http_request_cookie(&request, "id"));
	assert_null(http_request_cookie(&request, "dark"));
	assert_null(http_request_cookie(&request, "abc"));
	assert_null(http_request_cookie(&request, "Theme"));
	assert_null(http_request_cookie(&request, "missing"));

	struct fake_server none = { .variables = NULL };
	read_request(arena, &none, "", &request, &io);
	assert_string_equal(request.cookies, "");
	assert_null(http_request_cookie(&request, "sid"));

	struct fake_server odd = { .variables = VARIABLES("HTTP_COOKIE", " ;; ;sid;x=1; ;") };
	read_request(arena, &odd, "", &request, &io);
	assert_null(http_request_cookie(&request, "sid"));
	assert_string_equal(http_request_cookie(&request, "x"), "1");
}

/* ---- url_query_escape ---------------------------------------------------------------------- */

static void test_url_query_escape(void **state)
{
	struct arena *arena = *state;
	static const struct {
		const char *text;
		const char *escaped;
	} cases[] = {
		{ "", "" },
		{ "abcXYZ019-._~", "abcXYZ019-._~" },
		{ "a b", "a%20b" },
		{ "a+b&c=d/e?f#g%h", "a%2Bb%26c%3Dd%2Fe%3Ff%23g%25h" },
		{ "<script>\"'", "%3Cscript%3E%22%27" },
		{ "caf\xc3\xa9", "caf%C3%A9" },
		{ "\x01\x1f\x7f\x80\xff", "%01%1F%7F%80%FF" },
		{ "!*()[]{}|\\^`;:@$,", "%21%2A%28%29%5B%5D%7B%7D%7C%5C%5E%60%3B%3A%40%24%2C" },
	};
	for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++)
		assert_string_equal(url_query_escape(arena, cases[i].text), cases[i].escaped);

	/* Every byte escaped: three times the length. */
	char all[256];
	for (int i = 1; i < 256; i++)
		all[i - 1] = (char)i;
	all[255] = '\0';
	const char *escaped = url_query_escape(arena, all);
	size_t kept = 26 + 26 + 10 + 4;
	assert_int_equal(strlen(escaped), kept + 3 * (255 - kept));
}

/* ---- url_path_normalize: what the rules are matched against ------------------------------ */

static void test_url_path_normalize(void **state)
{
	struct arena *arena = *state;
	static const struct {
		const char *path;
		const char *normal;
	} cases[] = {
		{ "/", "/" },
		{ "", "/" },
		{ "/v1/admin/x", "/v1/admin/x" },
		{ "/v1/%61dmin/x", "/v1/admin/x" },     /* escaped letter */
		{ "/v1/%2561dmin/x", "/v1/%61dmin/x" }, /* decoded once, as servers do */
		{ "/v1//admin/x", "/v1/admin/x" },      /* empty segment */
		{ "/v1/./admin/x", "/v1/admin/x" },     /* "." segment */
		{ "/v1/y/../admin/x", "/v1/admin/x" },  /* ".." drops the segment before it */
		{ "/../../etc", "/etc" },               /* never above the root */
		{ "/v1/admin/.", "/v1/admin/" },        /* ends in a folder */
		{ "/v1/admin/..", "/v1/" },
		{ "/v1/%2e%2e/admin", "/admin" },       /* escaped dots count as dots */
		{ "/a%00b", "/a%00b" },                 /* %00 stays as written */
		{ "/a%zz", "/a%zz" },                   /* malformed escape stays as written */
		{ "/a%4", "/a%4" },
	};
	for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++)
		assert_string_equal(url_path_normalize(arena, cases[i].path), cases[i].normal);
}

#define TEST(name) cmocka_unit_test_setup_teardown(name, setup, teardown)

int main(void)
{
	const struct CMUnitTest tests[] = {
		TEST(test_route_literal_paths),
		TEST(test_route_head_served_by_get),
		TEST(test_route_captures),
		TEST(test_route_not_found),
		TEST(test_route_wrong_method_allow),
		TEST(test_route_literal_rows_own_their_paths),
		TEST(test_route_too_many_captures),
		TEST(test_route_empty_table),
		TEST(test_request_get_with_query),
		TEST(test_request_without_variables),
		TEST(test_request_methods),
		TEST(test_request_uri_and_base_path),
		TEST(test_request_script_name_and_path_info),
		TEST(test_request_path_validity),
		TEST(test_request_https),
		TEST(test_post_form),
		TEST(test_post_reads_only_content_length),
		TEST(test_post_body_of_exactly_the_limit),
		TEST(test_post_too_large_is_not_read),
		TEST(test_post_json_is_kept_as_bytes),
		TEST(test_post_wrong_type_is_not_read),
		TEST(test_post_short_body_is_incomplete),
		TEST(test_post_body_past_its_deadline_is_timed_out),
		TEST(test_post_content_length_malformed_or_absent),
		TEST(test_cookies),
		TEST(test_url_query_escape),
		TEST(test_url_path_normalize),
	};
	return cmocka_run_group_tests_name("http", tests, NULL, NULL);
}
