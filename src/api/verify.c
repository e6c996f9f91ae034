/*
 * verify.c: POST /api/v1/keys/verify: applications that check keys themselves ask keyward, in JSON.
 * It answers 200 whatever the decision ("valid": false on a refusal), so it is no target for a web
 * server's auth_request: that is the gate's job (authorize.c).
 */
#include <string.h>
#include <time.h>

#include "api/api_private.h"
#include "core/alloc.h"
#include "domain/usage.h"
#include "domain/verify.h"

#define VERIFY_FIELD_MAX 2048 /* bytes in "ip", "endpoint", "permission" */

/*
 * Read optional string member `name` of `object` into *value (NULL when absent or null).
 * Returns an error sentence when present with another type or too long, else NULL.
 */
static const char *string_member(struct arena *arena, json_t *object, const char *name, const char **value,
				 size_t *length)
{
	json_t *member = json_object_get(object, name);
	*value = NULL;
	if (length != NULL)
		*length = 0;
	if (member == NULL || json_is_null(member))
		return NULL;
	if (!json_is_string(member))
		return arena_printf(arena, "\"%s\" must be a string", name);
	size_t bytes = json_string_length(member);
	if (length == NULL && bytes > VERIFY_FIELD_MAX)
		return arena_printf(arena, "\"%s\" is longer than %d bytes", name, VERIFY_FIELD_MAX);
	*value = arena_strndup(arena, json_string_value(member), bytes);
	if (length != NULL)
		*length = bytes;
	return NULL;
}

void api_keys_verify(struct app *app, struct http_request *request, struct http_response *response)
{
	/* The caller's key holds api.key.verify (api.c): it is told about the keys of its own workspace only. */
	const struct api_caller *caller = request->api_caller;
	json_t *body = api_read_object(request, response, false, "{\"key\": \"kw_...\", \"ip\": \"203.0.113.7\"}");
	if (body == NULL)
		return;
	struct verify_request question = { 0 };
	const char *error = string_member(request->arena, body, "key", &question.key, &question.key_length);
	if (error == NULL)
		error = string_member(request->arena, body, "ip", &question.client_address, NULL);
	if (error == NULL)
		error = string_member(request->arena, body, "endpoint", &question.endpoint, NULL);
	if (error == NULL)
		error = string_member(request->arena, body, "permission", &question.permission, NULL);
	json_decref(body);
	if (error != NULL) {
		api_send_error(request, response, 400, "invalid_request", error);
		return;
	}

	/* The gatekeeper's decision, code for code: the rules' permission for the endpoint, and the one asked about. */
	if (question.endpoint != NULL)
		question.rule_permission = api_rule_permission(app->config, request->arena, question.endpoint);
	/* A verifier sees only the keys of its own workspace: another's is refused as an unknown one. */
	question.workspace_id = caller->workspace_id;
	struct verify_result result;
	verify_decide(app->store, app->key_cache, app->config, request->arena, &question, &result);
	if (verify_code_is_outage(result.code)) {
		api_send_error(request, response, 503, "unavailable", verify_code_message(result.code));
		return;
	}
	if (app->usage != NULL)
		usage_record(app->usage, &result, question.endpoint, question.client_address, (int64_t)time(NULL));
	json_t *answer = json_pack("{s:b, s:s, s:s}", "valid", result.code == VERIFY_GRANTED, "code",
				   verify_code_name(result.code), "message", result.message);
	if (result.key_known) {
		json_object_set_new(answer, "key_id", json_string(result.key_id));
		json_object_set_new(answer, "name", json_string(result.name));
		json_object_set_new(answer, "role", json_string(result.role));
		json_object_set_new(answer, "permissions", api_permission_list(result.permissions));
	} else {
		json_object_set_new(answer, "key_id", json_null());
		json_object_set_new(answer, "name", json_null());
		json_object_set_new(answer, "role", json_null());
		json_object_set_new(answer, "permissions", json_array());
	}
	api_send_json(request, response, 200, answer);
}
