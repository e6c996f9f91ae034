/* api_private.h: what the API files share: the caller, JSON requests and responses, the handlers. */
#ifndef KEYWARD_API_PRIVATE_H
#define KEYWARD_API_PRIVATE_H

#include <jansson.h>

#include "core/app.h"
#include "domain/audit.h"
#include "domain/verify.h"
#include "http/request.h"
#include "http/response.h"

#define API_LIST_MAX 100     /* keys in one page of GET /api/v1/keys */
#define API_LIST_DEFAULT 50

/*
 * Who calls (request->api_caller, set by api.c before the handler runs): a key that passed the
 * gatekeeper's checks and holds the route's permission. It acts on its own workspace only, and
 * the audit log names it ("key key_...").
 */
struct api_caller {
	struct verify_result key;
	int64_t workspace_id;
	struct audit_actor actor;
};

/* Send `body` (consumed: its reference is stolen) as the JSON response with `status`. */
void api_send_json(struct http_request *request, struct http_response *response, int status, json_t *body);

/* Send {"error": {"code": code, "message": message}} with `status`. */
void api_send_error(struct http_request *request, struct http_response *response, int status, const char *code,
		    const char *message);

/* The answer for a store failure (`status` not STORE_OK): 503 unavailable, or 500 internal. */
void api_send_store_error(struct http_request *request, struct http_response *response, enum store_status status);

/*
 * The request's body as a JSON object (a new reference, for the caller to json_decref), or NULL
 * with the error sent: 413, 415, 400 invalid_json / invalid_request / incomplete_body. With
 * `optional`, no body at all reads as an empty object; else the 400 shows `example`, a body
 * such as this endpoint takes.
 */
json_t *api_read_object(struct http_request *request, struct http_response *response, bool optional,
			const char *example);

/* Space-separated `permissions` ("api.key.view api.key.create") as a JSON array of strings. */
json_t *api_permission_list(const char *permissions);

/* `unix_time` as RFC 3339 UTC ("2026-12-03T17:41:46Z"), or JSON null for 0. */
json_t *api_time(int64_t unix_time);

/*
 * authorize.c: the permission the rules file requires for `path` (a request path; a query is
 * ignored), matched as the web server reads it before it picks a handler: decoded and normalized
 * (url_path_normalize), so that "/v1/%61dmin/", "/v1//admin/" or "/v1/x/../admin/" cannot slip
 * past a rule for "/v1/admin/", with a final '/' added so that the rule also covers "/v1/admin"
 * itself. NULL when no rule applies. The gatekeeper and the verify endpoint both ask it.
 */
const char *api_rule_permission(const struct config *config, struct arena *arena, const char *path);

/* verify.c */
void api_keys_verify(struct app *app, struct http_request *request, struct http_response *response);

/* keys.c: the management API's keys */
void api_keys_list(struct app *app, struct http_request *request, struct http_response *response);
void api_keys_create(struct app *app, struct http_request *request, struct http_response *response);
void api_keys_get(struct app *app, struct http_request *request, struct http_response *response);
void api_keys_update(struct app *app, struct http_request *request, struct http_response *response);
void api_keys_roll(struct app *app, struct http_request *request, struct http_response *response);
void api_keys_end_overlap(struct app *app, struct http_request *request, struct http_response *response);
void api_keys_revoke(struct app *app, struct http_request *request, struct http_response *response);
void api_keys_usage(struct app *app, struct http_request *request, struct http_response *response);

/* roles.c */
void api_roles_list(struct app *app, struct http_request *request, struct http_response *response);

/* openapi.c: the OpenAPI document (src/api/openapi.json, embedded by the build) */
void api_openapi(struct app *app, struct http_request *request, struct http_response *response);

#endif
