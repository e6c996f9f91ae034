/*
 * api.c: the JSON API's route table, who may call each route, Idempotency-Key, and JSON responses.
 *
 * Every route but the OpenAPI document needs an API key whose role holds the route's permission;
 * the caller acts on its own workspace only (struct api_caller). A POST that changes something
 * may carry an Idempotency-Key: the request, its changes and its recorded answer are then one
 * transaction (domain/idempotency.h), and a repeat gets the first answer.
 */
#include "api/api.h"

#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "api/api_private.h"
#include "core/alloc.h"
#include "domain/idempotency.h"
#include "domain/usage.h"
#include "http/credentials.h"
#include "http/router.h"

/* What a route needs (struct http_route's `need`): a permission, and whether a repeat is answered once. */
enum api_need {
	API_OPEN,        /* anyone: the OpenAPI document */
	API_KEY_VIEW,
	API_KEY_CREATE,
	API_KEY_UPDATE,
	API_KEY_DELETE,
	API_KEY_VERIFY,
	API_NEED_COUNT,
	API_IDEMPOTENT = 0x100, /* takes an Idempotency-Key */
};

static const char *const route_permissions[API_NEED_COUNT] = {
	[API_KEY_VIEW] = "api.key.view",     [API_KEY_CREATE] = "api.key.create", [API_KEY_UPDATE] = "api.key.update",
	[API_KEY_DELETE] = "api.key.delete", [API_KEY_VERIFY] = "api.key.verify",
};

static const struct http_route routes[] = {
	{ HTTP_GET, "/api/v1/openapi.json", api_openapi, API_OPEN },
	{ HTTP_POST, "/api/v1/keys/verify", api_keys_verify, API_KEY_VERIFY },
	{ HTTP_GET, "/api/v1/keys", api_keys_list, API_KEY_VIEW },
	{ HTTP_POST, "/api/v1/keys", api_keys_create, API_KEY_CREATE | API_IDEMPOTENT },
	{ HTTP_GET, "/api/v1/keys/{key_id}", api_keys_get, API_KEY_VIEW },
	{ HTTP_PATCH, "/api/v1/keys/{key_id}", api_keys_update, API_KEY_UPDATE },
	{ HTTP_POST, "/api/v1/keys/{key_id}/roll", api_keys_roll, API_KEY_UPDATE | API_IDEMPOTENT },
	{ HTTP_POST, "/api/v1/keys/{key_id}/end-overlap", api_keys_end_overlap, API_KEY_UPDATE | API_IDEMPOTENT },
	{ HTTP_POST, "/api/v1/keys/{key_id}/revoke", api_keys_revoke, API_KEY_DELETE | API_IDEMPOTENT },
	{ HTTP_GET, "/api/v1/keys/{key_id}/usage", api_keys_usage, API_KEY_VIEW },
	{ HTTP_GET, "/api/v1/roles", api_roles_list, API_KEY_VIEW },
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
	response->no_store = true; /* answers may hold a new secret, and always hold what only the caller may see */
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

void api_send_store_error(struct http_request *request, struct http_response *response, enum store_status status)
{
	if (status == STORE_DAMAGED)
		api_send_error(request, response, 500, "internal",
			       "keyward's database is damaged; the operator has been told in the log. Nothing was changed");
	else
		api_send_error(request, response, 503, "unavailable",
			       "keyward could not read or write its database just now; nothing was changed. Try again");
}

json_t *api_read_object(struct http_request *request, struct http_response *response, bool optional,
			const char *example)
{
	switch (request->body_status) {
	case HTTP_BODY_JSON:
		break;
	case HTTP_BODY_NONE:
		if (optional)
			return json_object();
		api_send_error(request, response, 400, "invalid_request",
			       arena_printf(request->arena, "Send a JSON object such as %s", example));
		return NULL;
	case HTTP_BODY_TOO_LARGE:
		api_send_error(request, response, 413, "body_too_large", "The request body is larger than 64 KiB");
		return NULL;
	case HTTP_BODY_INCOMPLETE:
		api_send_error(request, response, 400, "incomplete_body", "The request body arrived incomplete");
		return NULL;
	case HTTP_BODY_FORM:
	case HTTP_BODY_WRONG_TYPE:
	default:
		api_send_error(request, response, 415, "unsupported_media_type", "Send the request as application/json");
		return NULL;
	}
	json_error_t problem;
	/* Any JSON value parses, so that a valid non-object is told apart from invalid JSON. */
	json_t *body = json_loadb(request->body, request->body_length, JSON_REJECT_DUPLICATES | JSON_DECODE_ANY,
				  &problem);
	if (body == NULL) {
		api_send_error(request, response, 400, "invalid_json",
			       arena_printf(request->arena, "The body is not valid JSON: %s (line %d, column %d)",
					    problem.text, problem.line, problem.column));
		return NULL;
	}
	if (!json_is_object(body)) {
		json_decref(body);
		api_send_error(request, response, 400, "invalid_request", "The body must be a JSON object");
		return NULL;
	}
	return body;
}

json_t *api_permission_list(const char *permissions)
{
	json_t *array = json_array();
	const char *cursor = permissions;
	while (cursor != NULL && *cursor != '\0') {
		cursor += strspn(cursor, " ");
		size_t length = strcspn(cursor, " ");
		if (length > 0)
			json_array_append_new(array, json_stringn(cursor, length));
		cursor += length;
	}
	return array;
}

json_t *api_time(int64_t unix_time)
{
	if (unix_time == 0)
		return json_null();
	time_t seconds = (time_t)unix_time;
	struct tm parts;
	char text[32];
	if (gmtime_r(&seconds, &parts) == NULL || strftime(text, sizeof text, "%Y-%m-%dT%H:%M:%SZ", &parts) == 0)
		return json_null();
	return json_string(text);
}

/*
 * The caller must present a key (Authorization: Bearer, or X-API-Key) of any workspace, valid as
 * the gatekeeper judges it, whose role holds `permission`; it then acts on its own workspace. The
 * call is counted in the key's usage, as a call through the gatekeeper is. True when it may go on;
 * else the refusal was sent, with the gatekeeper's status and code.
 */
static bool authenticate(struct app *app, struct http_request *request, struct http_response *response,
			 const char *permission, struct api_caller *caller)
{
	struct verify_request question = { 0 };
	question.several_keys = http_request_api_key(request, &question.key, &question.key_length) == HTTP_KEY_SEVERAL;
	question.client_address = request->remote_addr;
	question.endpoint = request->path;
	question.permission = permission;
	question.workspace_id = VERIFY_ANY_WORKSPACE;
	verify_decide(app->store, app->key_cache, app->config, request->arena, &question, &caller->key);
	if (app->usage != NULL && !verify_code_is_outage(caller->key.code))
		usage_record(app->usage, &caller->key, question.endpoint, request->remote_addr, (int64_t)time(NULL));
	if (caller->key.code != VERIFY_GRANTED) {
		if (verify_code_status(caller->key.code) == 401)
			http_response_header(response, "WWW-Authenticate", "Bearer realm=\"api\"");
		api_send_error(request, response, verify_code_status(caller->key.code),
			       verify_code_name(caller->key.code), caller->key.message);
		return false;
	}
	caller->workspace_id = caller->key.workspace_id;
	caller->actor.user_id = 0;
	caller->actor.label = arena_printf(request->arena, "key %s", caller->key.key_id);
	caller->actor.client_address = request->remote_addr;
	return true;
}

/* Where a replayed 201 points: the key in its body ({"key": {"key_id": ...}}). */
static void replay_location(struct http_request *request, struct http_response *response)
{
	json_t *body = json_loadb(response->body.data, response->body.length, 0, NULL);
	const char *key_id = json_string_value(json_object_get(json_object_get(body, "key"), "key_id"));
	if (key_id != NULL)
		http_response_header(response, "Location", arena_printf(request->arena, "/api/v1/keys/%s", key_id));
	json_decref(body);
}

/*
 * Run `route` for a request with Idempotency-Key `value`: in one transaction with its recorded
 * answer, or answered from the record. A failure of keyward's (5xx) is not recorded: everything is
 * rolled back, and the same key may be sent again.
 */
static void run_once(struct app *app, struct http_request *request, struct http_response *response,
		     const struct http_route *route, const char *value)
{
	if (!idempotency_key_valid(value)) {
		api_send_error(request, response, 400, "invalid_idempotency_key",
			       arena_printf(request->arena,
					    "Idempotency-Key must be 1 to %d printable ASCII characters (a UUID, say)",
					    IDEMPOTENCY_KEY_MAX));
		return;
	}
	const struct api_caller *caller = request->api_caller;
	enum store_status status = store_transaction_begin(app->store);
	if (status != STORE_OK) {
		api_send_store_error(request, response, status);
		return;
	}
	struct idempotency state;
	enum idempotency_outcome outcome;
	int replay_status = 0;
	const char *answer = NULL;
	status = idempotency_begin(app->store, app->config, request->arena, caller->workspace_id, caller->key.key_row_id,
				   value, request->method_name, request->path, request->body, request->body_length,
				   (int64_t)time(NULL), &state, &outcome, &replay_status, &answer);
	if (status != STORE_OK || outcome != IDEMPOTENCY_NEW) {
		store_transaction_rollback(app->store);
		if (status != STORE_OK) {
			api_send_store_error(request, response, status);
		} else if (outcome == IDEMPOTENCY_MISMATCH) {
			api_send_error(request, response, 409, "idempotency_key_reused",
				       "This Idempotency-Key was used for another request (another endpoint or body) in "
				       "the last 24 hours; send a new key for a new request");
		} else {
			response->status = replay_status;
			response->content_type = "application/json";
			response->no_store = true;
			buf_clear(&response->body);
			buf_puts(&response->body, answer);
			http_response_header(response, "Idempotent-Replayed", "true");
			if (replay_status == 201)
				replay_location(request, response);
		}
		return;
	}
	route->handler(app, request, response);
	if (response->status >= 500) {
		store_transaction_rollback(app->store);
		return;
	}
	status = idempotency_finish(app->store, &state, response->status, response->body.data ? response->body.data : "",
				    response->body.length);
	if (status == STORE_OK)
		status = store_transaction_commit(app->store);
	else
		store_transaction_rollback(app->store);
	if (status != STORE_OK) {
		response->header_count = 0;
		api_send_store_error(request, response, status);
	}
}

void api_handle(struct app *app, struct http_request *request)
{
	struct http_response response;
	http_response_init(&response);
	const struct http_route *route = NULL;
	char allow[48] = "";
	if (!request->path_valid) {
		api_send_error(request, &response, 404, "not_found", "There is no API endpoint at this address");
	} else if (request->body_status == HTTP_BODY_TIMED_OUT) {
		api_send_error(request, &response, 408, "request_timeout",
			       arena_printf(request->arena, "The request body did not arrive within %d seconds",
					    HTTP_BODY_SECONDS));
	} else {
		switch (http_route(routes, sizeof routes / sizeof routes[0], request, &route, allow, sizeof allow)) {
		case HTTP_ROUTE_FOUND: {
			unsigned need = route->need & ~(unsigned)API_IDEMPOTENT;
			struct api_caller caller;
			if (need != API_OPEN) {
				if (!authenticate(app, request, &response, route_permissions[need], &caller))
					break;
				request->api_caller = &caller;
			}
			const char *once = http_request_env(request, "HTTP_IDEMPOTENCY_KEY");
			if ((route->need & API_IDEMPOTENT) && once != NULL)
				run_once(app, request, &response, route, once);
			else
				route->handler(app, request, &response);
			request->api_caller = NULL;
			break;
		}
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
