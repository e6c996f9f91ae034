/* authorize.c: the FastCGI authorizer: lighttpd or Apache asks, for each request to the protected API, whether to let it through. */
#include <pthread.h>
#include <stdatomic.h>
#include <stdint.h>
#include <stdio.h>
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
 * The gatekeeper's scope, said once per process at its first authorizer request when it is the
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

void api_authorize(struct app *app, struct http_request *request)
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

	struct verify_result result;
	verify_decide(app->store, app->key_cache, app->config, request->arena, &question, &result);
	if (app->usage != NULL && !verify_code_is_outage(result.code))
		usage_record(app->usage, &result, question.endpoint, request->remote_addr, (int64_t)time(NULL));

	struct http_response response;
	http_response_init(&response);
	if (result.code == VERIFY_GRANTED) {
		http_response_header(&response, "Variable-KEYWARD_KEY_ID", result.key_id);
		http_response_header(&response, "Variable-KEYWARD_KEY_NAME", result.name);
		http_response_header(&response, "Variable-KEYWARD_ROLE", result.role);
		http_response_header(&response, "Variable-KEYWARD_PERMISSIONS", result.permissions);
		http_response_header(&response, "Variable-KEYWARD_WORKSPACE_ID", decimal(request->arena, result.workspace_id));
		/* Nothing else: lighttpd drops a grant's other headers, but Apache's mod_authnz_fcgi
		   adds them to the response the protected backend sends. */
		response.headers_only = true;
	} else {
		if (verify_code_status(result.code) == 401)
			http_response_header(&response, "WWW-Authenticate", "Bearer realm=\"api\"");
		send_refusal(request, &response, result.code);
	}
	http_response_send(&response, request);
	http_response_free(&response);
}
