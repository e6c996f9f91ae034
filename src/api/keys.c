/*
 * keys.c: the management API's keys: list, create, show, change, roll, end an overlap, revoke,
 * and usage (/api/v1/keys...). The caller (api.c) holds the route's permission and acts on its own
 * workspace. Every change goes through the domain function the console and the command line use,
 * with the same input rules and messages (key_input_check), and an audit line naming the caller.
 */
#include <string.h>
#include <time.h>

#include "api/api_private.h"
#include "core/alloc.h"
#include "core/text.h"
#include "domain/allowlist.h"
#include "domain/insight.h"
#include "domain/key_filter.h"
#include "domain/key_input.h"
#include "domain/keys.h"
#include "domain/token.h"
#include "http/form.h"

#define API_USAGE_TOP 20 /* endpoints and addresses in a usage answer */

/* ---- answers ------------------------------------------------------------------------------------ */

/* "enabled", "disabled", "revoked" or "expired" at `now`. */
static const char *key_status(const struct store_key *key, int64_t now)
{
	if (key->revoked_at != 0)
		return "revoked";
	if (key->expires_at != 0 && key->expires_at <= now)
		return "expired";
	return key->enabled ? "enabled" : "disabled";
}

/* A key as the API shows it (the contract's key object); never a secret, only its last 4. */
static json_t *key_json(const struct store_key *key, int64_t now)
{
	json_t *networks = json_array();
	for (size_t i = 0; i < key->cidr_count; i++)
		json_array_append_new(networks, json_pack("{s:s, s:s}", "cidr", key->cidrs[i].cidr, "label",
							  key->cidrs[i].label ? key->cidrs[i].label : ""));
	int64_t overlap = key->previous_secret_until > now ? key->previous_secret_until : 0;
	json_t *answer = json_pack(
		"{s:s, s:s, s:s, s:s, s:b, s:b, s:o, s:s, s:o, s:o, s:s, s:o, s:o, s:o, s:o, s:o, s:o}",
			 "key_id", key->key_id, "name", key->name, "role", key->role_name, "status",
			 key_status(key, now), "enabled", key->enabled, "off_the_record", key->off_record,
			 "postback_url", key->postback_url[0] ? json_string(key->postback_url) : json_null(), "note",
			 key->note, "created_by", key->created_by[0] ? json_string(key->created_by) : json_null(),
			 "networks", networks, "secret_hint", key->secret_hint, "previous_secret_until",
			 api_time(overlap), "created_at", api_time(key->created_at), "updated_at",
			 api_time(key->updated_at), "last_used_at", api_time(key->last_used_at), "revoked_at",
			 api_time(key->revoked_at), "expires_at", api_time(key->expires_at));
	json_object_set_new(answer, "allowlist_enabled", json_boolean(key->allowlist_enabled));
	return answer;
}

/* The key named by the path's {key_id}, with its networks, into *key; false with the error sent. */
static bool load_key(struct app *app, struct http_request *request, struct http_response *response,
		     struct store_key *key)
{
	const char *key_id = request->path_params[0];
	enum store_status status = store_key_get(app->store, request->arena, request->api_caller->workspace_id, key_id,
						 key);
	if (status == STORE_OK)
		return true;
	if (status == STORE_NOT_FOUND)
		api_send_error(request, response, 404, "key_not_found",
			       arena_printf(request->arena, "This workspace has no key %s", key_id));
	else
		api_send_store_error(request, response, status);
	return false;
}

/* Answer {"key": ...} (with `extra` members, consumed) for key `key_id` as it is now. */
static void send_key(struct app *app, struct http_request *request, struct http_response *response, int status,
		     json_t *extra)
{
	struct store_key key;
	if (!load_key(app, request, response, &key)) {
		json_decref(extra);
		return;
	}
	json_t *body = extra ? extra : json_object();
	json_object_set_new(body, "key", key_json(&key, (int64_t)time(NULL)));
	api_send_json(request, response, status, body);
}

/* The refusal for a domain status that is not STORE_OK, for a change to an existing key. */
static void send_change_refused(struct http_request *request, struct http_response *response,
				enum store_status status)
{
	if (status == STORE_NOT_FOUND)
		api_send_error(request, response, 404, "key_not_found",
			       arena_printf(request->arena, "This workspace has no key %s; nothing was changed",
					    request->path_params[0]));
	else if (status == STORE_CONFLICT)
		api_send_error(request, response, 409, "key_revoked",
			       "This key was revoked and can no longer be changed; nothing was changed");
	else
		api_send_store_error(request, response, status);
}

/* ---- reading a key's fields from JSON --------------------------------------------------------- */

/* The members a key's JSON may set; the last, allowlist_enabled, only on a change (PATCH). */
static const char *const key_members[] = { "name",    "role", "networks",   "postback_url",     "off_the_record",
					   "enabled", "note", "expires_at", "allowlist_enabled" };

/*
 * A member of the wrong JSON type or an unknown one: the sentence for a 400, else NULL. `kinds`:
 * 's' string, 'S' string or null, 'b' boolean, 'a' array.
 */
static const char *check_members(struct arena *arena, json_t *body, bool change)
{
	static const char kinds[] = { 's', 's', 'a', 'S', 'b', 'b', 's', 'S', 'b' };
	size_t known = sizeof key_members / sizeof key_members[0] - (change ? 0 : 1);
	const char *name;
	json_t *value;
	json_object_foreach(body, name, value) {
		size_t i = 0;
		while (i < known && strcmp(name, key_members[i]) != 0)
			i++;
		if (i == known)
			return arena_printf(arena, "\"%s\" is not a field of %s; the fields are name, role, networks, "
					    "postback_url, off_the_record, enabled, note and expires_at%s",
					    text_shorten(arena, name, 40), change ? "a key" : "a new key",
					    change ? ", and allowlist_enabled" : " (a new key's allowlist is on: "
										 "switch it with PATCH)");
		bool fits = (kinds[i] == 's' && json_is_string(value)) || (kinds[i] == 'S' && (json_is_string(value) ||
												json_is_null(value))) ||
			    (kinds[i] == 'b' && json_is_boolean(value)) || (kinds[i] == 'a' && json_is_array(value));
		if (!fits)
			return arena_printf(arena, "\"%s\" must be %s", name,
					    kinds[i] == 's'   ? "a string"
					    : kinds[i] == 'S' ? "a string or null"
					    : kinds[i] == 'b' ? "true or false"
							      : "an array of {\"cidr\": ..., \"label\": ...} objects");
	}
	json_t *networks = json_object_get(body, "networks");
	size_t index;
	json_array_foreach(networks, index, value) {
		if (!json_is_object(value))
			return arena_printf(arena, "networks[%zu] must be an object {\"cidr\": ..., \"label\": ...}", index);
		json_t *member;
		json_object_foreach(value, name, member) {
			if (strcmp(name, "cidr") != 0 && strcmp(name, "label") != 0)
				return arena_printf(arena, "networks[%zu]: \"%s\" is not a field of a network (cidr, label)",
						    index, text_shorten(arena, name, 40));
			if (!json_is_string(member))
				return arena_printf(arena, "networks[%zu].%s must be a string", index, name);
		}
		if (json_object_get(value, "cidr") == NULL)
			return arena_printf(arena, "networks[%zu] needs a \"cidr\"", index);
	}
	return NULL;
}

/* A string member's copy in `arena` (jansson has checked it is UTF-8 without NUL), or `otherwise`. */
static const char *text_member(struct arena *arena, json_t *body, const char *name, const char *otherwise)
{
	json_t *value = json_object_get(body, name);
	if (value == NULL)
		return otherwise;
	if (json_is_null(value))
		return "";
	return arena_strndup(arena, json_string_value(value), json_string_length(value));
}

/* `unix_time` as key_input reads an expiry back ("2027-01-31T18:00:00Z"); "" for never. */
static const char *expiry_text(struct arena *arena, int64_t unix_time)
{
	json_t *text = api_time(unix_time);
	const char *copy = json_is_string(text) ? arena_strdup(arena, json_string_value(text)) : "";
	json_decref(text);
	return copy;
}

/*
 * Fill `input` from `body` (checked by check_members) over the values of `key` (NULL: a new key's
 * defaults), as the console's form would send them.
 */
static void read_input(struct app *app, struct http_request *request, json_t *body, const struct store_key *key,
		       struct key_input *input)
{
	struct arena *arena = request->arena;
	memset(input, 0, sizeof *input);
	input->now = (int64_t)time(NULL);
	input->name = text_member(arena, body, "name", key ? key->name : "");
	input->postback_url = text_member(arena, body, "postback_url", key ? key->postback_url : "");
	input->note = text_member(arena, body, "note", key ? key->note : "");
	json_t *flag = json_object_get(body, "off_the_record");
	input->off_record = flag ? json_is_true(flag) : (key && key->off_record);
	flag = json_object_get(body, "enabled");
	input->enabled = flag ? json_is_true(flag) : (key == NULL || key->enabled);
	input->expires_at = text_member(arena, body, "expires_at", key ? expiry_text(arena, key->expires_at) : "");
	input->expires_at_kept = key ? key->expires_at : 0;

	const char *role = text_member(arena, body, "role", NULL);
	if (role == NULL && key != NULL) {
		input->role_id = arena_printf(arena, "%lld", (long long)key->role_id);
	} else {
		if (role == NULL)
			role = "read-only"; /* as the console's form and the command line preselect */
		struct store_role found;
		enum store_status status =
			store_role_find_by_name(app->store, arena, request->api_caller->workspace_id, role, &found);
		if (status == STORE_OK)
			input->role_id = arena_printf(arena, "%lld", (long long)found.id);
		else
			input->role_error = arena_printf(arena, "There is no role named \"%s\" in this workspace.",
							 text_shorten(arena, role, 60));
	}

	json_t *networks = json_object_get(body, "networks");
	if (networks != NULL) {
		size_t count = json_array_size(networks);
		input->cidrs = arena_alloc(arena, (count + 1) * sizeof *input->cidrs);
		size_t index;
		json_t *network;
		json_array_foreach(networks, index, network) {
			struct key_cidr_input *row = &input->cidrs[input->cidr_count++];
			memset(row, 0, sizeof *row);
			row->cidr = text_member(arena, network, "cidr", "");
			row->label = text_member(arena, network, "label", "");
		}
	} else if (key != NULL) {
		input->cidrs = arena_alloc(arena, (key->cidr_count + 1) * sizeof *input->cidrs);
		for (size_t i = 0; i < key->cidr_count; i++) {
			struct key_cidr_input *row = &input->cidrs[input->cidr_count++];
			memset(row, 0, sizeof *row);
			row->cidr = key->cidrs[i].cidr;
			row->label = key->cidrs[i].label ? key->cidrs[i].label : "";
		}
	}
}

static void add_field_error(json_t *fields, const char *field, const char *message)
{
	if (message != NULL)
		json_array_append_new(fields, json_pack("{s:s, s:s}", "field", field, "message", message));
}

/* 422 invalid_fields with every message key_input_check() (or read_input()) left in `input`. */
static void send_invalid_fields(struct http_request *request, struct http_response *response,
				const struct key_input *input)
{
	struct arena *arena = request->arena;
	json_t *fields = json_array();
	add_field_error(fields, "name", input->name_error);
	add_field_error(fields, "role", input->role_error);
	add_field_error(fields, "networks", input->cidrs_error);
	for (size_t i = 0; i < input->cidr_count; i++) {
		add_field_error(fields, arena_printf(arena, "networks[%zu].cidr", i), input->cidrs[i].cidr_error);
		add_field_error(fields, arena_printf(arena, "networks[%zu].label", i), input->cidrs[i].label_error);
	}
	add_field_error(fields, "postback_url", input->postback_url_error);
	add_field_error(fields, "note", input->note_error);
	add_field_error(fields, "expires_at", input->expires_at_error);
	json_t *first = json_array_get(fields, 0);
	const char *field = first ? json_string_value(json_object_get(first, "field")) : "";
	const char *message = first ? json_string_value(json_object_get(first, "message")) : "";
	json_t *error = json_pack("{s:s, s:s, s:s, s:o}", "code", "invalid_fields", "message",
				  arena_printf(arena, "%s: %s", field, message), "field", field, "fields", fields);
	api_send_json(request, response, 422, json_pack("{s:o}", "error", error));
}

/* ---- handlers ----------------------------------------------------------------------------------- */

/* Read `name` of the query: NULL when absent; *bad set when it could not be decoded. */
static const char *query_text(struct http_request *request, const char *name, const char **bad)
{
	const struct form_pair *pair = form_find(&request->query, name);
	if (pair == NULL)
		return NULL;
	if (pair->status != FORM_VALUE_OK)
		*bad = arena_printf(request->arena, "The query parameter %s: %s", name,
				    form_value_status_message(pair->status));
	return pair->value;
}

/* The query parameters `allowed` only, each at most once; the sentence for a 400, else NULL. */
static const char *check_query(struct http_request *request, const char *const allowed[], size_t count)
{
	if (request->query.truncated)
		return "Too many query parameters";
	for (const struct form_pair *pair = request->query.first; pair != NULL; pair = pair->next) {
		size_t i = 0;
		while (i < count && strcmp(pair->name, allowed[i]) != 0)
			i++;
		if (i == count)
			return arena_printf(request->arena, "Unknown query parameter \"%s\"",
					    text_shorten(request->arena, pair->name, 40));
		if (form_find(&request->query, pair->name) != pair)
			return arena_printf(request->arena, "The query parameter %s is given twice", pair->name);
	}
	return NULL;
}

/* A page's cursor: "k" and the row id the next page starts below. */
static bool cursor_parse(const char *text, int64_t *before_id)
{
	return text != NULL && text[0] == 'k' && text_to_integer(text + 1, 1, INT64_MAX, before_id);
}

void api_keys_list(struct app *app, struct http_request *request, struct http_response *response)
{
	struct arena *arena = request->arena;
	static const char *const allowed[] = { "state", "role", "q", "limit", "cursor" };
	const char *bad = check_query(request, allowed, sizeof allowed / sizeof allowed[0]);
	const char *state = query_text(request, "state", &bad);
	const char *role = query_text(request, "role", &bad);
	const char *q = query_text(request, "q", &bad);
	const char *cursor = query_text(request, "cursor", &bad);
	int64_t now = (int64_t)time(NULL);
	struct store_key_filter filter = { .now = now, .soon = now + KEYS_EXPIRY_WARNING };
	int64_t limit = API_LIST_DEFAULT;
	if (bad == NULL && state != NULL && !key_filter_state(state, &filter.state))
		bad = "state must be one of active, enabled, disabled, revoked, expiring, expired";
	if (bad == NULL && form_get_integer(&request->query, "limit", 1, API_LIST_MAX, &limit) == FORM_INVALID)
		bad = arena_printf(arena, "limit must be a whole number from 1 to %d", API_LIST_MAX);
	if (bad == NULL && cursor != NULL && !cursor_parse(cursor, &filter.before_id))
		bad = "cursor is not one this API gave: pass next_cursor from the previous page as it is";
	if (bad == NULL && q != NULL) {
		q = text_trim(arena, q);
		if (utf8_length(q, strlen(q)) > KEY_FILTER_TEXT_MAX)
			bad = arena_printf(arena, "q is too long: at most %d characters", KEY_FILTER_TEXT_MAX);
		else if (token_text_holds_secret(q))
			bad = "q holds a secret (a whole key or part of one): secrets must not travel in addresses, "
			      "where logs keep them. Nothing was searched";
		else
			key_filter_text(arena, q, &filter);
	}
	if (bad == NULL && role != NULL) {
		struct store_role found;
		enum store_status status =
			store_role_find_by_name(app->store, arena, request->api_caller->workspace_id, role, &found);
		if (status != STORE_OK && status != STORE_NOT_FOUND) {
			api_send_store_error(request, response, status);
			return;
		}
		if (status == STORE_NOT_FOUND)
			bad = arena_printf(arena, "There is no role named \"%s\" in this workspace",
					   text_shorten(arena, role, 60));
		filter.role_id = found.id;
	}
	if (bad != NULL) {
		api_send_error(request, response, 400, "invalid_request", bad);
		return;
	}

	filter.limit = (size_t)limit;
	struct store_key *keys = NULL;
	size_t count = 0;
	bool more = false;
	enum store_status status =
		store_key_list(app->store, arena, request->api_caller->workspace_id, &filter, &keys, &count, &more);
	if (status != STORE_OK) {
		api_send_store_error(request, response, status);
		return;
	}
	/* The list reads no networks: the page's come in one more read (or one per key, when far apart). */
	status = store_key_list_cidrs(app->store, arena, keys, count);
	if (status != STORE_OK) {
		api_send_store_error(request, response, status);
		return;
	}
	json_t *data = json_array();
	for (size_t i = 0; i < count; i++)
		json_array_append_new(data, key_json(&keys[i], now));
	json_t *next = more ? json_string(arena_printf(arena, "k%lld", (long long)keys[count - 1].id)) : json_null();
	api_send_json(request, response, 200, json_pack("{s:o, s:o}", "data", data, "next_cursor", next));
}

void api_keys_get(struct app *app, struct http_request *request, struct http_response *response)
{
	send_key(app, request, response, 200, NULL);
}

void api_keys_create(struct app *app, struct http_request *request, struct http_response *response)
{
	json_t *body =
		api_read_object(request, response, false, "{\"name\": \"Billing service\", \"role\": \"read-only\"}");
	if (body == NULL)
		return;
	const char *bad = check_members(request->arena, body, false);
	if (bad != NULL) {
		json_decref(body);
		api_send_error(request, response, 400, "invalid_request", bad);
		return;
	}
	struct key_input input;
	read_input(app, request, body, NULL, &input);
	json_decref(body);
	const struct api_caller *caller = request->api_caller;
	if (!key_input_check(request->arena, app->store, caller->workspace_id, &input)) {
		send_invalid_fields(request, response, &input);
		return;
	}
	struct keys_secret secret;
	enum store_status status = keys_create(app->store, app->config, request->arena, &caller->actor,
					       caller->workspace_id, &input.fields, input.now, false, &secret);
	if (status == STORE_LIMIT) {
		api_send_error(request, response, 422, "key_limit",
			       "This workspace has as many active keys as its limit allows: revoke keys that are no "
			       "longer used first. Nothing was saved");
		return;
	}
	if (status == STORE_NOT_FOUND) { /* the role was deleted since it was checked */
		input.role_error = "That role was deleted meanwhile: choose another. Nothing was saved.";
		send_invalid_fields(request, response, &input);
		return;
	}
	if (status != STORE_OK) {
		api_send_store_error(request, response, status);
		return;
	}
	request->path_params[0] = arena_strdup(request->arena, secret.key_id);
	request->path_param_count = 1;
	json_t *extra = json_pack("{s:s}", "token", secret.token);
	keys_secret_wipe(&secret);
	send_key(app, request, response, 201, extra);
	if (response->status == 201)
		http_response_header(response, "Location",
				     arena_printf(request->arena, "/api/v1/keys/%s", request->path_params[0]));
}

void api_keys_update(struct app *app, struct http_request *request, struct http_response *response)
{
	json_t *body = api_read_object(request, response, false, "{\"name\": \"Billing service\"}");
	if (body == NULL)
		return;
	const char *bad = check_members(request->arena, body, true);
	if (bad != NULL) {
		json_decref(body);
		api_send_error(request, response, 400, "invalid_request", bad);
		return;
	}
	struct store_key key;
	if (!load_key(app, request, response, &key)) {
		json_decref(body);
		return;
	}
	if (key.revoked_at != 0) {
		json_decref(body);
		send_change_refused(request, response, STORE_CONFLICT);
		return;
	}
	struct key_input input;
	read_input(app, request, body, &key, &input);
	json_t *allowlist = json_object_get(body, "allowlist_enabled");
	bool switching = allowlist != NULL, enabled = json_is_true(allowlist);
	json_decref(body);
	const struct api_caller *caller = request->api_caller;
	if (!key_input_check(request->arena, app->store, caller->workspace_id, &input)) {
		send_invalid_fields(request, response, &input);
		return;
	}
	/* The fields and the switch together, or neither. */
	enum allowlist_outcome outcome;
	enum store_status status =
		switching ? allowlist_update_and_switch(app->store, request->arena, &caller->actor, caller->workspace_id,
							key.key_id, &input.fields, enabled, input.now, &outcome)
			  : keys_update(app->store, request->arena, &caller->actor, caller->workspace_id, key.key_id,
					&input.fields, input.now, NULL);
	if (status != STORE_OK) {
		send_change_refused(request, response, status);
		return;
	}
	send_key(app, request, response, 200, NULL);
}

void api_keys_roll(struct app *app, struct http_request *request, struct http_response *response)
{
	json_t *body = api_read_object(request, response, true, NULL);
	if (body == NULL)
		return;
	const char *name;
	json_t *value;
	json_object_foreach(body, name, value) {
		if (strcmp(name, "overlap_seconds") != 0) {
			const char *message = arena_printf(request->arena,
							   "\"%s\" is not a field of a roll; it takes overlap_seconds",
							   text_shorten(request->arena, name, 40));
			json_decref(body);
			api_send_error(request, response, 400, "invalid_request", message);
			return;
		}
	}
	json_t *overlap = json_object_get(body, "overlap_seconds");
	int64_t seconds = overlap && json_is_integer(overlap) ? (int64_t)json_integer_value(overlap) : 0;
	bool fits = overlap == NULL || (json_is_integer(overlap) && seconds >= 0 && seconds <= KEYS_OVERLAP_MAX);
	json_decref(body);
	if (!fits) {
		const char *message = arena_printf(request->arena,
						   "The overlap must be a whole number of seconds from 0 (the old "
						   "secret stops at once) to %d (7 days)",
						   KEYS_OVERLAP_MAX);
		json_t *fields = json_pack("[{s:s, s:s}]", "field", "overlap_seconds", "message", message);
		json_t *error = json_pack("{s:s, s:s, s:s, s:o}", "code", "invalid_fields", "message",
					  arena_printf(request->arena, "overlap_seconds: %s", message), "field",
					  "overlap_seconds", "fields", fields);
		api_send_json(request, response, 422, json_pack("{s:o}", "error", error));
		return;
	}
	const struct api_caller *caller = request->api_caller;
	struct keys_secret secret;
	enum store_status status =
		keys_regenerate(app->store, app->config, request->arena, &caller->actor, caller->workspace_id,
				request->path_params[0], (int64_t)time(NULL), seconds, false, &secret);
	if (status != STORE_OK) {
		send_change_refused(request, response, status);
		return;
	}
	json_t *extra = json_pack("{s:s}", "token", secret.token);
	keys_secret_wipe(&secret);
	send_key(app, request, response, 200, extra);
}

void api_keys_end_overlap(struct app *app, struct http_request *request, struct http_response *response)
{
	const struct api_caller *caller = request->api_caller;
	bool ended = false;
	enum store_status status = keys_end_overlap(app->store, request->arena, &caller->actor, caller->workspace_id,
						    request->path_params[0], (int64_t)time(NULL), &ended);
	if (status != STORE_OK) {
		send_change_refused(request, response, status);
		return;
	}
	send_key(app, request, response, 200, json_pack("{s:b}", "ended", ended));
}

void api_keys_revoke(struct app *app, struct http_request *request, struct http_response *response)
{
	const struct api_caller *caller = request->api_caller;
	enum store_status status = keys_revoke(app->store, request->arena, &caller->actor, caller->workspace_id,
					       request->path_params[0], (int64_t)time(NULL));
	if (status != STORE_OK) {
		send_change_refused(request, response, status);
		return;
	}
	send_key(app, request, response, 200, NULL);
}

static json_t *items_json(const struct store_usage_item *items, size_t count, const char *name, bool seen)
{
	json_t *list = json_array();
	for (size_t i = 0; i < count; i++) {
		json_t *item = json_pack("{s:s, s:I, s:I}", name, items[i].name, "calls", (json_int_t)items[i].calls,
					 "refused", (json_int_t)items[i].refused);
		if (seen) {
			json_object_set_new(item, "first_seen", api_time(items[i].first_seen));
			json_object_set_new(item, "last_seen", api_time(items[i].last_seen));
		}
		json_array_append_new(list, item);
	}
	return list;
}

void api_keys_usage(struct app *app, struct http_request *request, struct http_response *response)
{
	static const char *const allowed[] = { "period" };
	const char *bad = check_query(request, allowed, 1);
	const char *name = query_text(request, "period", &bad);
	enum insight_period period = INSIGHT_24H;
	if (bad == NULL && name != NULL && !insight_period_parse(name, &period))
		bad = "period must be 24h, 7d or 30d";
	if (bad != NULL) {
		api_send_error(request, response, 400, "invalid_request", bad);
		return;
	}
	struct store_key key;
	if (!load_key(app, request, response, &key))
		return;
	struct arena *arena = request->arena;
	int64_t workspace_id = request->api_caller->workspace_id;
	int64_t now = (int64_t)time(NULL);
	struct insight_window window;
	insight_window(period, now, &window);
	json_t *answer = json_pack("{s:s, s:s, s:o, s:o, s:b}", "key_id", key.key_id, "period", window.name, "since",
				   api_time(window.since), "until", api_time(now), "off_the_record", key.off_record);
	enum store_status status = STORE_OK;
	int64_t granted = 0, refused = 0;
	json_t *buckets = json_array(), *refusals = json_array(), *endpoints = NULL, *addresses = NULL;
	if (key.off_record) {
		/* Off the record: how many calls, nothing of what or from where (the key page says the same). */
		int64_t calls = 0;
		status = store_usage_anonymous(app->store, workspace_id, key.id, window.since, &calls);
		json_object_set_new(answer, "calls", json_integer(calls));
		json_object_set_new(answer, "granted", json_null());
		json_object_set_new(answer, "refused", json_null());
		endpoints = json_array();
		addresses = json_array();
	} else {
		struct store_usage_bucket *sparse = NULL;
		struct store_usage_outcome *outcomes = NULL;
		struct store_usage_item *endpoint_items = NULL, *address_items = NULL;
		size_t sparse_count = 0, outcome_count = 0, endpoint_count = 0, address_count = 0;
		int64_t endpoint_total = 0, address_total = 0;
		struct store_usage_slice slice = { NULL, NULL, false };
		struct store_usage_filter filter = { window.span, API_USAGE_TOP, NULL, false };
		status = store_usage_series(app->store, arena, workspace_id, key.id, &slice, window.since, window.step,
					    &sparse, &sparse_count);
		if (status == STORE_OK)
			status = store_usage_outcomes(app->store, arena, key.id, window.since, &outcomes, &outcome_count);
		if (status == STORE_OK)
			status = store_usage_endpoints(app->store, arena, key.id, &filter, &endpoint_items, &endpoint_count,
						       &endpoint_total);
		if (status == STORE_OK)
			status = store_usage_addresses(app->store, arena, key.id, &filter, &address_items, &address_count,
						       &address_total);
		if (status == STORE_OK) {
			struct insight_bucket filled[INSIGHT_BUCKETS_MAX];
			insight_fill(&window, sparse, sparse_count, filled);
			for (size_t i = 0; i < window.buckets; i++) {
				json_array_append_new(buckets, json_pack("{s:o, s:I, s:I}", "start", api_time(filled[i].start),
									 "granted", (json_int_t)filled[i].granted,
									 "refused", (json_int_t)filled[i].refused));
				granted += filled[i].granted;
				refused += filled[i].refused;
			}
			for (size_t i = 0; i < outcome_count; i++)
				if (strcmp(outcomes[i].outcome, "granted") != 0)
					json_array_append_new(refusals, json_pack("{s:s, s:I}", "code", outcomes[i].outcome,
										  "calls", (json_int_t)outcomes[i].calls));
			endpoints = items_json(endpoint_items, endpoint_count, "endpoint", false);
			addresses = items_json(address_items, address_count, "address", true);
		}
		json_object_set_new(answer, "calls", json_integer(granted + refused));
		json_object_set_new(answer, "granted", json_integer(granted));
		json_object_set_new(answer, "refused", json_integer(refused));
	}
	json_object_set_new(answer, "buckets", buckets);
	json_object_set_new(answer, "endpoints", endpoints ? endpoints : json_array());
	json_object_set_new(answer, "addresses", addresses ? addresses : json_array());
	json_object_set_new(answer, "refusals", refusals);
	if (status != STORE_OK) {
		json_decref(answer);
		api_send_store_error(request, response, status);
		return;
	}
	api_send_json(request, response, 200, answer);
}
