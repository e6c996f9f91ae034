/* api_private.h: what the API files share: JSON responses and the handlers of the route table. */
#ifndef KEYWARD_API_PRIVATE_H
#define KEYWARD_API_PRIVATE_H

#include <jansson.h>

#include "core/app.h"
#include "http/request.h"
#include "http/response.h"

/* Send `body` (consumed: its reference is stolen) as the JSON response with `status`. */
void api_send_json(struct http_request *request, struct http_response *response, int status, json_t *body);

/* Send {"error": {"code": code, "message": message}} with `status`. */
void api_send_error(struct http_request *request, struct http_response *response, int status, const char *code,
		    const char *message);

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

#endif
