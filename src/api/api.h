/*
 * api.h: the gatekeeper's faces: the FastCGI authorizer (FCGI_ROLE=AUTHORIZER, any path), the gate
 * nginx's auth_request asks (a responder request for the script API_GATE_SCRIPT, about the request
 * in REQUEST_URI), and the JSON API under /api/ (responder role). All answer in JSON and share
 * verify_decide(); the authorizer and the gate make one and the same decision.
 */
#ifndef KEYWARD_API_H
#define KEYWARD_API_H

#include <stdbool.h>

struct app;
struct http_request;

/* Answer an authorizer request: 200 with Variable-KEYWARD_* headers, or 401/403/503 with a JSON body. */
void api_authorize(struct app *app, struct http_request *request);

/*
 * SCRIPT_NAME of a gate request: nginx's auth_request location sets it (fastcgi_param SCRIPT_NAME
 * /gate), and sends the client's own URI as REQUEST_URI and its address as REMOTE_ADDR.
 */
#define API_GATE_SCRIPT "/gate"

/*
 * Answer a gate request with the authorizer's decision: 204 with X-Keyward-Key-Id, -Key-Name, -Role,
 * -Permissions and -Workspace-Id headers for auth_request_set; or 401/403/503 with the authorizer's
 * JSON body and that body again in an X-Keyward-Refusal header (nginx drops the body). Every answer
 * says Cache-Control: no-store. `request` must have been read without a body.
 */
void api_gate(struct app *app, struct http_request *request);

/* True when `path` belongs to the JSON API (and api_handle() should answer it). */
bool api_owns_path(const char *path);

/* Route and answer a JSON API request (408 when its body missed its deadline). */
void api_handle(struct app *app, struct http_request *request);

/* Answer `request` with {"error": {"code": code, "message": message}} and `status`, whatever its path. */
void api_refuse(struct http_request *request, int status, const char *code, const char *message);

#endif
