/*
 * api.h: the gatekeeper's two faces: the FastCGI authorizer (FCGI_ROLE=AUTHORIZER, any path) and
 * the JSON API under /api/ (responder role). Both answer in JSON and share verify_decide().
 */
#ifndef KEYWARD_API_H
#define KEYWARD_API_H

#include <stdbool.h>

struct app;
struct http_request;

/* Answer an authorizer request: 200 with Variable-KEYWARD_* headers, or 401/403/503 with a JSON body. */
void api_authorize(struct app *app, struct http_request *request);

/* True when `path` belongs to the JSON API (and api_handle() should answer it). */
bool api_owns_path(const char *path);

/* Route and answer a JSON API request (408 when its body missed its deadline). */
void api_handle(struct app *app, struct http_request *request);

/* Answer `request` with {"error": {"code": code, "message": message}} and `status`, whatever its path. */
void api_refuse(struct http_request *request, int status, const char *code, const char *message);

#endif
