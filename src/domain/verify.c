/* verify.c: the gatekeeper's decision, shared by the FastCGI authorizer and the JSON verify endpoint. */
#include "domain/verify.h"

#include <string.h>
#include <time.h>

#include "core/alloc.h"
#include "core/config.h"
#include "core/text.h"
#include "domain/cidr.h"
#include "domain/key_cache.h"
#include "domain/token.h"
#include "store/store.h"

static const struct {
	const char *name;
	const char *message;
	int status;
} codes[] = {
	[VERIFY_GRANTED] = { "granted", "Key is valid", 200 },
	[VERIFY_MISSING_KEY] = { "missing_key", "No API key was sent: send it as \"Authorization: Bearer <key>\" or \"X-API-Key: <key>\"", 401 },
	[VERIFY_INVALID_KEY] = { "invalid_key", "The API key is not valid", 401 },
	[VERIFY_DISABLED] = { "disabled", "Key is disabled", 401 },
	[VERIFY_REVOKED] = { "revoked", "Key was revoked", 401 },
	[VERIFY_EXPIRED] = { "expired", "Key expired", 401 },
	[VERIFY_IP_NOT_ALLOWED] = { "ip_not_allowed", "Your IP address is not on this key's allowlist", 403 },
	[VERIFY_INSUFFICIENT_PERMISSIONS] = { "insufficient_permissions", "This key's role does not allow this request", 403 },
	[VERIFY_UNAVAILABLE] = { "unavailable", "The key service is busy; try again in a moment", 503 },
	[VERIFY_DAMAGED] = { "unavailable", "The key service cannot read its keys until its operator repairs it", 503 },
};

const char *verify_code_name(enum verify_code code)
{
	return codes[code].name;
}

const char *verify_code_message(enum verify_code code)
{
	return codes[code].message;
}

bool verify_code_is_outage(enum verify_code code)
{
	return code == VERIFY_UNAVAILABLE || code == VERIFY_DAMAGED;
}

int verify_code_status(enum verify_code code)
{
	return codes[code].status;
}

bool verify_has_permission(const char *permissions, const char *permission)
{
	size_t length = strlen(permission);
	const char *cursor = permissions;
	while (*cursor != '\0') {
		cursor += strspn(cursor, " ");
		size_t word = strcspn(cursor, " ");
		if (word == length && word > 0 && strncmp(cursor, permission, length) == 0)
			return true;
		cursor += word;
	}
	return false;
}

/*
 * True when `address` is allowed by the key's allowlist. An empty list allows any address, and so
 * does a list switched off (its networks kept for when it is switched on again); an address that
 * was given but is not one (garbage in REMOTE_ADDR) is never allowed; no address at all (NULL)
 * passes only an empty or switched-off list.
 */
static bool address_allowed(const struct store_key_auth *key, const char *address)
{
	struct cidr client;
	bool parsed = address != NULL && cidr_parse_address(address, &client);
	if (address != NULL && !parsed)
		return false;
	if (key->cidr_count == 0 || !key->allowlist_enabled)
		return true;
	if (!parsed)
		return false;
	for (size_t i = 0; i < key->cidr_count; i++) {
		struct cidr network;
		if (cidr_parse(key->cidrs[i], &network, NULL) == CIDR_OK && cidr_contains(&network, &client))
			return true;
	}
	return false;
}

/* True when a role with space-separated `permissions` may do what needs `permission` (NULL or "": nothing). */
static bool role_allows(const char *permissions, const char *permission)
{
	return permission == NULL || permission[0] == '\0' || verify_has_permission(permissions, permission);
}

/* True when keys of `workspace_id` count for this request (verify_request.workspace_id). */
static bool workspace_in_scope(const struct config *config, const struct verify_request *request, int64_t workspace_id)
{
	if (request->workspace_id == VERIFY_SERVED_WORKSPACES)
		return config_serves_workspace(config, workspace_id);
	return request->workspace_id == VERIFY_ANY_WORKSPACE || request->workspace_id == workspace_id;
}

static void decide(struct store *store, struct key_cache *cache, const struct config *config, struct arena *arena,
		   const struct verify_request *request, int64_t now, struct verify_result *result);

void verify_decide(struct store *store, struct key_cache *cache, const struct config *config, struct arena *arena,
		   const struct verify_request *request, struct verify_result *result)
{
	int64_t now = request->now != 0 ? request->now : (int64_t)time(NULL);
	decide(store, cache, config, arena, request, now, result);
	result->message = verify_code_message(result->code);
	if (result->code == VERIFY_EXPIRED) {
		char when[TEXT_TIME_MAX];
		text_utc_time(when, result->expires_at);
		result->message = arena_printf(arena, "Key expired on %s", when);
	}
}

static void decide(struct store *store, struct key_cache *cache, const struct config *config, struct arena *arena,
		   const struct verify_request *request, int64_t now, struct verify_result *result)
{
	memset(result, 0, sizeof *result);
	/* Where a decision without a known key is counted (usage): the request's workspace, else the first served. */
	result->workspace_id = request->workspace_id > 0	   ? request->workspace_id
			       : config->workspace_count > 0 ? config->workspaces[0]
							     : STORE_DEFAULT_WORKSPACE;
	if (request->several_keys) {
		result->code = VERIFY_INVALID_KEY;
		return;
	}
	if (request->key == NULL || request->key_length == 0) {
		result->code = VERIFY_MISSING_KEY;
		return;
	}
	if (request->key_length > VERIFY_KEY_MAX ||
	    token_parse(config->token_prefix, request->key, request->key_length, NULL) != TOKEN_OK) {
		result->code = VERIFY_INVALID_KEY;
		return;
	}
	unsigned char hash[TOKEN_HASH_BYTES];
	token_hash(config->server_key, request->key, request->key_length, hash);
	struct store_key_auth key;
	enum store_status status = key_cache_find(cache, store, arena, hash, &key);
	if (status != STORE_OK) {
		if (status == STORE_DAMAGED) /* still a 503 to the client; the operator's log says what to do */
			store_report_damaged(config->database_label);
		result->code = status == STORE_NOT_FOUND ? VERIFY_INVALID_KEY
			       : status == STORE_DAMAGED  ? VERIFY_DAMAGED
							  : VERIFY_UNAVAILABLE;
		return;
	}
	/* A previous secret past its overlap, or a key of another workspace: exactly as unknown, nothing of it is told. */
	if ((key.previous_secret && now >= key.previous_until) || !workspace_in_scope(config, request, key.workspace_id)) {
		result->code = VERIFY_INVALID_KEY;
		return;
	}
	result->key_known = true;
	result->key_row_id = key.id;
	result->workspace_id = key.workspace_id;
	result->key_id = key.key_id;
	result->name = key.name;
	result->role = key.role_name;
	result->permissions = key.permissions;
	result->off_record = key.off_record;
	result->previous_secret = key.previous_secret;
	result->expires_at = key.expires_at;
	if (key.revoked)
		result->code = VERIFY_REVOKED;
	else if (key.expires_at != 0 && now >= key.expires_at)
		result->code = VERIFY_EXPIRED;
	else if (!key.enabled)
		result->code = VERIFY_DISABLED;
	else if (!address_allowed(&key, request->client_address))
		result->code = VERIFY_IP_NOT_ALLOWED;
	else if (!role_allows(key.permissions, request->rule_permission) ||
		 !role_allows(key.permissions, request->permission))
		result->code = VERIFY_INSUFFICIENT_PERMISSIONS;
	else
		result->code = VERIFY_GRANTED;
}
