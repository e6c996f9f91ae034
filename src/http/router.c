/* router.c: match a request path against the route table. */
#include "http/router.h"

#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>

#include "core/alloc.h"
#include "core/text.h"

/* Characters a captured "{…}" segment may hold (key IDs and the like). */
static bool is_capture_char(char c)
{
	return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '_' || c == '-';
}

/*
 * Match `path` against `pattern`; on success store the captures (pointers into an arena copy of
 * the segment) in request->path_params.
 */
static bool path_matches(const char *pattern, const char *path, struct http_request *request)
{
	size_t captured = 0;
	const char *captures[HTTP_PATH_PARAMS_MAX];
	size_t capture_lengths[HTTP_PATH_PARAMS_MAX];
	while (*pattern != '\0') {
		if (*pattern == '{') {
			const char *start = path;
			while (is_capture_char(*path))
				path++;
			if (path == start || captured == HTTP_PATH_PARAMS_MAX)
				return false;
			captures[captured] = start;
			capture_lengths[captured] = (size_t)(path - start);
			captured++;
			pattern = strchr(pattern, '}');
			if (pattern == NULL)
				return false;
			pattern++;
		} else if (*pattern++ != *path++) {
			return false;
		}
	}
	if (*path != '\0')
		return false;
	for (size_t i = 0; i < captured; i++) {
		request->path_params[i] = arena_strndup(request->arena, captures[i], capture_lengths[i]);
	}
	request->path_param_count = captured;
	return true;
}

static bool method_serves(enum http_method route_method, enum http_method method)
{
	return route_method == method || (route_method == HTTP_GET && method == HTTP_HEAD);
}

/* How many "{…}" segments `pattern` has: the fewer, the more particular the pattern. */
static size_t capture_count(const char *pattern)
{
	size_t count = 0;
	for (; *pattern != '\0'; pattern++)
		count += *pattern == '{';
	return count;
}

enum http_route_result http_route(const struct http_route *routes, size_t count, struct http_request *request,
				  const struct http_route **route, char *allow, size_t allow_size)
{
	/*
	 * The most particular patterns that match own the path: "/keys/verify" is not a "/keys/{key_id}"
	 * that only takes another method, and "/keys/new" is not a key called "new".
	 */
	bool path_known = false;
	size_t fewest = SIZE_MAX;
	for (size_t i = 0; i < count; i++) {
		size_t captures = capture_count(routes[i].pattern);
		if (captures < fewest && path_matches(routes[i].pattern, request->path, request)) {
			fewest = captures;
			path_known = true;
		}
	}
	bool allows[HTTP_OTHER] = { false };
	for (size_t i = 0; path_known && i < count; i++) {
		if (capture_count(routes[i].pattern) != fewest || !path_matches(routes[i].pattern, request->path, request))
			continue;
		if (method_serves(routes[i].method, request->method)) {
			*route = &routes[i];
			return HTTP_ROUTE_FOUND;
		}
		if (routes[i].method < HTTP_OTHER)
			allows[routes[i].method] = true;
	}
	if (!path_known)
		return HTTP_ROUTE_NOT_FOUND;
	/* "GET, HEAD, POST, PATCH": GET serves HEAD too. */
	static const char *const names[HTTP_OTHER] = { [HTTP_GET] = "GET, HEAD", [HTTP_POST] = "POST",
						       [HTTP_PATCH] = "PATCH" };
	size_t used = 0;
	allow[0] = '\0';
	for (int method = 0; method < HTTP_OTHER; method++) {
		if (!allows[method] || names[method] == NULL || used >= allow_size)
			continue;
		int wrote = snprintf(allow + used, allow_size - used, "%s%s", used ? ", " : "", names[method]);
		used = wrote < 0 ? allow_size : used + (size_t)wrote;
	}
	return HTTP_ROUTE_WRONG_METHOD;
}

bool http_path_id(const struct http_request *request, size_t index, int64_t *id)
{
	return index < request->path_param_count && text_to_integer(request->path_params[index], 1, INT64_MAX, id);
}
