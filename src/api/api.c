/* api.c: the JSON API's route table, its request checks, and JSON responses. */
#include "api/api.h"

#include <stdlib.h>
#include <string.h>

#include "api/api_private.h"
#include "core/alloc.h"
#include "http/router.h"

static const struct http_route routes[] = {
	{ HTTP_POST, "/api/v1/keys/verify", api_keys_verify, 0 },
};

bool api_owns_path(const char *path)
{
	return strncmp(path, "/api/", 5) == 0 || strcmp(path, "/api") == 0;
}

void api_send_json(struct http_request *request, struct http_response *response, int status, json_t *body)
{
	(void)request;
	response->status = status;
	response->content_type = "application/json";
	buf_clear(&response->body);
	char *text = json_dumps(body, JSON_COMPACT | JSON_ENSURE_ASCII);
	json_decref(body);
	if (text == NULL) {
		response->status = 500;
		buf_puts(&response->body, "{\"error\":{\"code\":\"internal\",\"message\":\"Could not encode the answer\"}}");
		return;
	}
	buf_puts(&response->body, text);
	buf_puts(&response->body, "\n");
	free(text);
}

void api_send_error(struct http_request *request, struct http_response *response, int status, const char *code,
		    const char *message)
{
	api_send_json(request, response, status, json_pack("{s:{s:s, s:s}}", "error", "code", code, "message", message));
}

void api_handle(struct app *app, struct http_request *request)
{
	struct http_response response;
	http_response_init(&response);
	const struct http_route *route = NULL;
	char allow[32] = "";
	if (!request->path_valid) {
		api_send_error(request, &response, 404, "not_found", "There is no API endpoint at this address");
	} else if (request->body_status == HTTP_BODY_TIMED_OUT) {
		api_send_error(request, &response, 408, "request_timeout",
			       arena_printf(request->arena, "The request body did not arrive within %d seconds",
					    HTTP_BODY_SECONDS));
	} else {
		switch (http_route(routes, sizeof routes / sizeof routes[0], request, &route, allow, sizeof allow)) {
		case HTTP_ROUTE_FOUND:
			route->handler(app, request, &response);
			break;
		case HTTP_ROUTE_WRONG_METHOD:
			http_response_header(&response, "Allow", arena_strdup(request->arena, allow));
			api_send_error(request, &response, 405, "method_not_allowed",
				       arena_printf(request->arena, "This endpoint accepts %s only", allow));
			break;
		case HTTP_ROUTE_NOT_FOUND:
			api_send_error(request, &response, 404, "not_found", "There is no API endpoint at this address");
			break;
		}
	}
	http_response_send(&response, request);
	http_response_free(&response);
}

void api_refuse(struct http_request *request, int status, const char *code, const char *message)
{
	struct http_response response;
	http_response_init(&response);
	api_send_error(request, &response, status, code, message);
	http_response_send(&response, request);
	http_response_free(&response);
}
