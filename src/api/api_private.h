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

/* verify.c */
void api_keys_verify(struct app *app, struct http_request *request, struct http_response *response);

#endif
