/*
 * router.h: the route table: method, path pattern, handler.
 *
 * Patterns are literal segments and "{name}" segments that capture one path segment of
 * [A-Za-z0-9_-] characters into request->path_params in order. An unknown path is 404; a known
 * path with another method is 405 with an Allow header. HEAD is served by GET routes.
 */
#ifndef KEYWARD_HTTP_ROUTER_H
#define KEYWARD_HTTP_ROUTER_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "http/request.h"
#include "http/response.h"

struct app;

typedef void (*http_handler)(struct app *app, struct http_request *request, struct http_response *response);

struct http_route {
	enum http_method method;
	const char *pattern;
	http_handler handler;
	unsigned need; /* for the caller (what the route asks of the person); the router ignores it */
};

enum http_route_result { HTTP_ROUTE_FOUND, HTTP_ROUTE_NOT_FOUND, HTTP_ROUTE_WRONG_METHOD };

/*
 * Find the route for `request`. On FOUND, *route is the matched row (its handler and what it
 * needs, together) and path_params are filled; on WRONG_METHOD, the allowed methods
 * ("GET, HEAD, POST") are written into allow[allow_size].
 */
enum http_route_result http_route(const struct http_route *routes, size_t count, struct http_request *request,
				  const struct http_route **route, char *allow, size_t allow_size);

/*
 * Capture `index` of the matched route as an id: a whole number from 1 up, written canonically
 * (text_to_integer); false when there is no such capture or it is not one.
 */
bool http_path_id(const struct http_request *request, size_t index, int64_t *id);

#endif
