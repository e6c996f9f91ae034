/* authorize.c: the FastCGI authorizer: lighttpd or Apache asks, for each request to the protected API, whether to let it through. */
#include <string.h>
#include <time.h>

#include "api/api.h"
#include "api/api_private.h"
#include "core/config.h"
#include "domain/usage.h"
#include "domain/verify.h"
#include "http/credentials.h"

/* The request path for rules and usage: REQUEST_URI without its query. */
static const char *endpoint_of(const struct http_request *request)
{
	return request->path_valid ? request->path : "(invalid path)";
}

void api_authorize(struct app *app, struct http_request *request)
{
	struct verify_request question;
	memset(&question, 0, sizeof question);
	question.several_keys = http_request_api_key(request, &question.key, &question.key_length) == HTTP_KEY_SEVERAL;
	/* The server always knows the client's address: an empty or garbage one is refused by the allowlist. */
	question.client_address = request->remote_addr;
	question.endpoint = endpoint_of(request);
	question.permission = config_required_permission(app->config, question.endpoint);

	struct verify_result result;
	verify_decide(app->store, app->config, request->arena, &question, &result);
	if (app->usage != NULL && result.code != VERIFY_UNAVAILABLE)
		usage_record(app->usage, &result, question.endpoint, request->remote_addr, (int64_t)time(NULL));

	struct http_response response;
	http_response_init(&response);
	if (result.code == VERIFY_GRANTED) {
		http_response_header(&response, "Variable-KEYWARD_KEY_ID", result.key_id);
		http_response_header(&response, "Variable-KEYWARD_KEY_NAME", result.name);
		http_response_header(&response, "Variable-KEYWARD_ROLE", result.role);
		http_response_header(&response, "Variable-KEYWARD_PERMISSIONS", result.permissions);
		response.content_type = "text/plain; charset=utf-8";
	} else {
		if (verify_code_status(result.code) == 401)
			http_response_header(&response, "WWW-Authenticate", "Bearer realm=\"api\"");
		api_send_json(request, &response, verify_code_status(result.code),
			      json_pack("{s:s, s:s}", "code", verify_code_name(result.code), "message",
					verify_code_message(result.code)));
	}
	http_response_send(&response, request);
	http_response_free(&response);
}
