/*
 * authorize.c: the gatekeeper's two ways of being asked, for each request to the protected API,
 * whether to let it through: the FastCGI authorizer (lighttpd, Apache) and the gate of nginx's
 * auth_request. One decision (gatekeeper_decide), two forms of answer.
 */
#include <pthread.h>
#include <stdatomic.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "api/api.h"
#include "api/api_private.h"
#include "core/alloc.h"
#include "core/config.h"
#include "domain/usage.h"
#include "domain/verify.h"
#include "http/credentials.h"
#include "http/url.h"

/* The request path for usage: REQUEST_URI without its query, as the client sent it. */
static const char *endpoint_of(const struct http_request *request)
{
	return request->path_valid ? request->path : "(invalid path)";
}

const char *api_rule_permission(const struct config *config, struct arena *arena, const char *path)
{
	if (config->rule_count == 0)
		return NULL;
	char *normal = url_path_normalize(arena, arena_strndup(arena, path, strcspn(path, "?#")));
	size_t length = strlen(normal);
	return config_required_permission(config, normal[length - 1] == '/' ? normal
									     : arena_printf(arena, "%s/", normal));
}

/*
 * A refusal's JSON body depends on its code alone: each is encoded once, at the first refusal,
 * and copied after that (packing and dumping it per request cost about 9,000 instructions, a
 * sixth of keyward's own work on a refusal, under callgrind). Kept for the life of the process.
 */
static char *refusal_bodies[VERIFY_DAMAGED + 1];
static pthread_once_t refusals_encoded = PTHREAD_ONCE_INIT;

static json_t *refusal_json(enum verify_code code)
{
	return json_pack("{s:s, s:s}", "code", verify_code_name(code), "message", verify_code_message(code));
}

static void encode_refusals(void)
{
	for (size_t code = VERIFY_MISSING_KEY; code < sizeof refusal_bodies / sizeof refusal_bodies[0]; code++) {
		json_t *body = refusal_json((enum verify_code)code);
		refusal_bodies[code] = json_dumps(body, JSON_COMPACT | JSON_ENSURE_ASCII);
		json_decref(body);
	}
}

/* The encoded JSON body of a refusal `code`, without its final newline (static, lives as long as the process). */
static const char *refusal_text(enum verify_code code)
{
	pthread_once(&refusals_encoded, encode_refusals);
	return refusal_bodies[code] != NULL ? refusal_bodies[code] : "{\"code\":\"unavailable\"}";
}

/* The same answer api_send_json() gives for refusal_json(code), from the encoded copy. */
static void send_refusal(struct http_request *request, struct http_response *response, enum verify_code code)
{
	pthread_once(&refusals_encoded, encode_refusals);
	if ((size_t)code >= sizeof refusal_bodies / sizeof refusal_bodies[0] || refusal_bodies[code] == NULL) {
		api_send_json(request, response, verify_code_status(code), refusal_json(code));
		return;
	}
	response->status = verify_code_status(code);
	response->content_type = "application/json";
	buf_clear(&response->body);
	buf_puts(&response->body, refusal_bodies[code]);
	buf_puts(&response->body, "\n");
}

/*
 * The gatekeeper's scope, said once per process at its first gatekeeper request when it is the
 * default (workspace 1): only a process that acts as the gatekeeper says it, never a CLI command
 * or a console process, and a CGI process never gets this role.
 */
static atomic_bool scope_noted;

/* `number` (positive) in decimal, in `arena`: by hand, as arena_printf() costs a grant about 1,300 instructions. */
static const char *decimal(struct arena *arena, int64_t number)
{
	char digits[24];
	size_t start = sizeof digits;
	digits[--start] = '\0';
	uint64_t rest = number > 0 ? (uint64_t)number : 0;
	do {
		digits[--start] = (char)('0' + rest % 10);
		rest /= 10;
	} while (rest > 0);
	return arena_strndup(arena, digits + start, sizeof digits - 1 - start);
}

/*
 * The gatekeeper's decision on `request`, the same whichever way it is asked (FastCGI authorizer,
 * nginx's gate): the key from its headers, the client address from REMOTE_ADDR, the permission the
 * rules file requires for its path, the workspaces the gatekeeper serves. The decision is recorded
 * as usage (not an outage: nothing is known then). Strings in *result live in the request's arena.
 */
static void gatekeeper_decide(struct app *app, struct http_request *request, struct verify_result *result)
{
	if (!atomic_load_explicit(&scope_noted, memory_order_relaxed) && !atomic_exchange(&scope_noted, true)) {
		const char *note = config_default_workspace_note(app->config);
		if (note != NULL)
			fprintf(stderr, "%s\n", note);
	}
	struct verify_request question;
	memset(&question, 0, sizeof question);
	question.several_keys = http_request_api_key(request, &question.key, &question.key_length) == HTTP_KEY_SEVERAL;
	/* The server always knows the client's address: an empty or garbage one is refused by the allowlist. */
	question.client_address = request->remote_addr;
	question.endpoint = endpoint_of(request);
	question.rule_permission = api_rule_permission(app->config, request->arena, request->path);

	verify_decide(app->store, app->key_cache, app->config, request->arena, &question, result);
	if (app->usage != NULL && !verify_code_is_outage(result->code))
		usage_record(app->usage, result, question.endpoint, request->remote_addr, (int64_t)time(NULL));
}

/*
 * A refusal's JSON body, without its final newline, in the request's arena or static: the encoded
 * copy of its code, but for an expiry, whose sentence says when.
 */
static const char *refusal_body(struct http_request *request, const struct verify_result *result)
{
	if (result->code != VERIFY_EXPIRED)
		return refusal_text(result->code);
	json_t *body = json_pack("{s:s, s:s}", "code", verify_code_name(result->code), "message", result->message);
	char *text = json_dumps(body, JSON_COMPACT | JSON_ENSURE_ASCII);
	json_decref(body);
	const char *copy = arena_strdup(request->arena, text != NULL ? text : "{\"code\":\"expired\"}");
	free(text);
	return copy;
}

/* A refusal, either way it is asked: its status, its JSON body and, for a 401, the Bearer challenge. */
static void refuse(struct http_request *request, struct http_response *response, const struct verify_result *result)
{
	if (verify_code_status(result->code) == 401)
		http_response_header(response, "WWW-Authenticate", "Bearer realm=\"api\"");
	if (result->code != VERIFY_EXPIRED) {
		send_refusal(request, response, result->code);
		return;
	}
	response->status = verify_code_status(result->code);
	response->content_type = "application/json";
	buf_clear(&response->body);
	buf_puts(&response->body, refusal_body(request, result));
	buf_puts(&response->body, "\n");
}

/* "current" or "previous": which of its secrets the key was sent with (KEYWARD_KEY_SECRET). */
static const char *secret_word(const struct verify_result *result)
{
	return result->previous_secret ? "previous" : "current";
}

void api_authorize(struct app *app, struct http_request *request)
{
	struct verify_result result;
	gatekeeper_decide(app, request, &result);
	struct http_response response;
	http_response_init(&response);
	if (result.code == VERIFY_GRANTED) {
		http_response_header(&response, "Variable-KEYWARD_KEY_ID", result.key_id);
		http_response_header(&response, "Variable-KEYWARD_KEY_NAME", result.name);
		http_response_header(&response, "Variable-KEYWARD_ROLE", result.role);
		http_response_header(&response, "Variable-KEYWARD_PERMISSIONS", result.permissions);
		http_response_header(&response, "Variable-KEYWARD_WORKSPACE_ID", decimal(request->arena, result.workspace_id));
		http_response_header(&response, "Variable-KEYWARD_KEY_SECRET", secret_word(&result));
		/* Nothing else: lighttpd drops a grant's other headers, but Apache's mod_authnz_fcgi
		   adds them to the response the protected backend sends. */
		response.headers_only = true;
	} else {
		refuse(request, &response, &result);
	}
	http_response_send(&response, request);
	http_response_free(&response);
}

void api_gate(struct app *app, struct http_request *request)
{
	struct verify_result result;
	gatekeeper_decide(app, request, &result);
	struct http_response response;
	http_response_init(&response);
	if (result.code == VERIFY_GRANTED) {
		response.status = 204;
		http_response_header(&response, "X-Keyward-Key-Id", result.key_id);
		http_response_header(&response, "X-Keyward-Key-Name", result.name);
		http_response_header(&response, "X-Keyward-Role", result.role);
		http_response_header(&response, "X-Keyward-Permissions", result.permissions);
		http_response_header(&response, "X-Keyward-Workspace-Id", decimal(request->arena, result.workspace_id));
		http_response_header(&response, "X-Keyward-Key-Secret", secret_word(&result));
		/* A decision is never to be cached: a revocation counts from the next request. */
		http_response_header(&response, "Cache-Control", "no-store");
		response.headers_only = true;
	} else {
		refuse(request, &response, &result);
		response.no_store = true;
		/* nginx drops an auth answer's body: the same JSON, for its error_page to send on. */
		http_response_header(&response, "X-Keyward-Refusal", refusal_body(request, &result));
	}
	http_response_send(&response, request);
	http_response_free(&response);
}
