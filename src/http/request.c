/* request.c: CGI/FastCGI variables and the body into a struct http_request, with limits. */
#include "http/request.h"

#include <errno.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "core/alloc.h"

const char *http_request_env(const struct http_request *request, const char *name)
{
	return request->io->getenv(request->io->context, name);
}

bool http_request_env_repeated(const struct http_request *request, const char *name)
{
	return request->io->repeated != NULL && request->io->repeated(request->io->context, name);
}

static enum http_method method_from(const char *name)
{
	if (strcmp(name, "GET") == 0)
		return HTTP_GET;
	if (strcmp(name, "HEAD") == 0)
		return HTTP_HEAD;
	if (strcmp(name, "POST") == 0)
		return HTTP_POST;
	if (strcmp(name, "PATCH") == 0)
		return HTTP_PATCH;
	return HTTP_OTHER;
}

/* The path part of REQUEST_URI (or SCRIPT_NAME + PATH_INFO), base path removed. */
static void read_path(struct http_request *request, const char *base_path)
{
	const char *uri = http_request_env(request, "REQUEST_URI");
	char *path;
	if (uri != NULL) {
		path = arena_strndup(request->arena, uri, strcspn(uri, "?#"));
	} else {
		const char *script = http_request_env(request, "SCRIPT_NAME");
		const char *info = http_request_env(request, "PATH_INFO");
		path = arena_printf(request->arena, "%s%s", script ? script : "", info ? info : "");
	}
	size_t base_length = strlen(base_path);
	if (base_length > 0 && strncmp(path, base_path, base_length) == 0 &&
	    (path[base_length] == '/' || path[base_length] == '\0'))
		path += base_length;
	if (path[0] == '\0')
		path = "/";
	request->path = path;
	request->path_valid = path[0] == '/' && strlen(path) <= HTTP_PATH_MAX;
	for (const char *c = path; request->path_valid && *c != '\0'; c++)
		if (*c <= ' ' || *c >= 0x7f)
			request->path_valid = false;
}

/* True when CONTENT_TYPE is the media type `wanted`, parameters allowed. */
static bool is_type(const char *type, const char *wanted)
{
	size_t length = strlen(wanted);
	if (type == NULL || strncasecmp(type, wanted, length) != 0)
		return false;
	char next = type[length];
	return next == '\0' || next == ';' || next == ' ' || next == '\t';
}

/*
 * Parse CONTENT_LENGTH strictly (digits only). Returns false when absent or malformed. A number
 * too long to hold (more than 18 significant digits) is SIZE_MAX: far above any limit, not "no body".
 */
static bool content_length(const char *text, size_t *length)
{
	if (text == NULL || text[0] == '\0' || strspn(text, "0123456789") != strlen(text))
		return false;
	text += strspn(text, "0");
	*length = strlen(text) > 18 ? SIZE_MAX : (size_t)strtoull(text, NULL, 10);
	return true;
}

static void read_body(struct http_request *request)
{
	size_t length = 0;
	if (!content_length(http_request_env(request, "CONTENT_LENGTH"), &length) || length == 0) {
		request->body_status = HTTP_BODY_NONE;
		return;
	}
	if (length > HTTP_BODY_MAX) {
		request->body_status = HTTP_BODY_TOO_LARGE;
		return;
	}
	const char *type = http_request_env(request, "CONTENT_TYPE");
	bool form = is_type(type, "application/x-www-form-urlencoded");
	if (!form && !is_type(type, "application/json")) {
		request->body_status = HTTP_BODY_WRONG_TYPE;
		return;
	}
	char *body = arena_alloc(request->arena, length + 1);
	size_t got = 0;
	while (got < length) {
		size_t chunk = request->io->read(request->io->context, body + got, length - got);
		if (chunk == 0)
			break;
		got += chunk;
	}
	if (got < length) {
		bool late = request->io->timed_out != NULL && request->io->timed_out(request->io->context);
		request->body_status = late ? HTTP_BODY_TIMED_OUT : HTTP_BODY_INCOMPLETE;
		return;
	}
	if (form) {
		form_parse(request->arena, body, length, &request->form);
		request->body_status = HTTP_BODY_FORM;
	} else {
		request->body = body;
		request->body_length = length;
		request->body_status = HTTP_BODY_JSON;
	}
}

void http_request_read(struct http_request *request, struct arena *arena, const struct http_io *io,
		       const char *base_path)
{
	memset(request, 0, sizeof *request);
	request->arena = arena;
	request->io = io;
	const char *method = http_request_env(request, "REQUEST_METHOD");
	request->method_name = method ? method : "GET";
	request->method = method_from(request->method_name);
	read_path(request, base_path);
	const char *query = http_request_env(request, "QUERY_STRING");
	if (query != NULL)
		form_parse(arena, query, strlen(query), &request->query);
	const char *remote = http_request_env(request, "REMOTE_ADDR");
	request->remote_addr = remote ? remote : "";
	const char *cookies = http_request_env(request, "HTTP_COOKIE");
	request->cookies = cookies ? cookies : "";
	const char *https = http_request_env(request, "HTTPS");
	const char *scheme = http_request_env(request, "REQUEST_SCHEME");
	request->https = (https && strcasecmp(https, "on") == 0) || (scheme && strcasecmp(scheme, "https") == 0);
	if (request->method == HTTP_POST || request->method == HTTP_PATCH)
		read_body(request);
}

const char *http_request_cookie(const struct http_request *request, const char *name)
{
	size_t name_length = strlen(name);
	const char *cursor = request->cookies;
	while (*cursor != '\0') {
		cursor += strspn(cursor, " \t;");
		size_t pair_length = strcspn(cursor, ";");
		if (pair_length > name_length && strncmp(cursor, name, name_length) == 0 && cursor[name_length] == '=') {
			size_t value_length = pair_length - name_length - 1;
			while (value_length > 0 && (cursor[name_length + value_length] == ' ' ||
						    cursor[name_length + value_length] == '\t'))
				value_length--;
			return arena_strndup(request->arena, cursor + name_length + 1, value_length);
		}
		cursor += pair_length;
	}
	return NULL;
}
