/* keys.c: the key pages: list with filters, overview, enable/disable, regenerate, revoke, secret shown once. */
#include <sodium.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/alloc.h"
#include "core/config.h"
#include "core/text.h"
#include "domain/key_filter.h"
#include "domain/keys.h"
#include "http/url.h"
#include "pages/pages_private.h"
#include "view/view.h"

#define KEYS_PAGE_SIZE 50
#define KEYS_FILTER_MAX KEY_FILTER_TEXT_MAX /* characters in the Filter box */
#define KEYS_CURSOR_MAX 64  /* bytes of a page's cursor (a key ID); a longer one is ignored */
#define REVEAL_COOKIE "kw_reveal"

static bool expired(const struct store_key *key, int64_t now)
{
	return !key->revoked_at && key->expires_at != 0 && key->expires_at <= now;
}

static const char *state_word(const struct store_key *key, int64_t now)
{
	return key->revoked_at ? "revoked" : expired(key, now) ? "expired" : key->enabled ? "enabled" : "disabled";
}

/* "expires in 3 days", "expired 2 h ago"; NULL for a key without expiry, or revoked. */
static const char *expiry_words(struct arena *arena, const struct store_key *key, int64_t now)
{
	if (key->expires_at == 0 || key->revoked_at)
		return NULL;
	if (key->expires_at <= now)
		return arena_printf(arena, "expired %s ago", text_span(arena, now - key->expires_at));
	return arena_printf(arena, "expires in %s", text_span(arena, key->expires_at - now));
}

/* The fields every key view shows, as a map. */
static struct mustache_value *key_value(struct app *app, struct http_request *request, const struct store_key *key)
{
	struct arena *arena = request->arena;
	struct mustache_value *map = view_map(arena);
	int64_t now = page_now();
	const char *state = state_word(key, now);
	view_set_string(arena, map, "key_id", key->key_id);
	view_set_string(arena, map, "name", key->name);
	view_set_string(arena, map, "url", page_ws_url(app, request, arena_printf(arena, "/keys/%s", key->key_id)));
	view_set_string(arena, map, "role", key->role_name);
	view_set_string(arena, map, "hint", key->secret_hint);
	view_set_string(arena, map, "postback_url", key->postback_url);
	view_set_bool(arena, map, "has_postback_url", key->postback_url[0] != '\0');
	view_set_bool(arena, map, "off_record", key->off_record);
	view_set_bool(arena, map, "enabled", key->enabled && !key->revoked_at);
	view_set_bool(arena, map, "revoked", key->revoked_at != 0);
	view_set_string(arena, map, "state", state);
	view_set_string(arena, map, "state_label",
			key->revoked_at ? "Revoked" : expired(key, now) ? "Expired" : key->enabled ? "Enabled" : "Disabled");
	const char *expiry = expiry_words(arena, key, now);
	if (expiry != NULL) {
		view_set_time(arena, map, "expires", key->expires_at, "");
		view_set_string(arena, map, "expiry_words", expiry);
		view_set_bool(arena, map, "expiry_soon", key->expires_at - now <= KEYS_EXPIRY_WARNING);
	}
	view_set_time(arena, map, "created", key->created_at, "");
	view_set_time(arena, map, "updated", key->updated_at, "");
	view_set_time(arena, map, "last_used", key->last_used_at, "Never");
	view_set_time(arena, map, "revoked_on", key->revoked_at, "");
	view_set_string(arena, map, "note", key->note);
	view_set_bool(arena, map, "has_note", key->note[0] != '\0');
	view_set_string(arena, map, "created_by", key->created_by);
	view_set_bool(arena, map, "has_created_by", key->created_by[0] != '\0');
	view_set_bool(arena, map, "has_cidrs", key->cidr_count > 0);
	view_set_bool(arena, map, "allowlist_off", !key->allowlist_enabled && !key->revoked_at);
	struct mustache_value *cidrs = view_set(map, "cidrs", view_list(arena));
	for (size_t i = 0; i < key->cidr_count; i++) {
		struct mustache_value *row = view_push_map(arena, cidrs);
		view_set_string(arena, row, "cidr", key->cidrs[i].cidr);
		view_set_string(arena, row, "label", key->cidrs[i].label);
	}
	return map;
}

struct mustache_value *page_key_value(struct app *app, struct http_request *request, const struct store_key *key)
{
	return key_value(app, request, key);
}

struct done_message {
	const char *done;
	const char *message;
};

/* The sentence of `done` (a ?done=… word after a redirect) in messages[count]; NULL for unknown ones. */
static const char *done_message_in(const struct done_message *messages, size_t count, const char *done)
{
	for (size_t i = 0; done != NULL && i < count; i++)
		if (strcmp(done, messages[i].done) == 0)
			return messages[i].message;
	return NULL;
}

/* Where a new workspace and a new member land: the key list (workspaces.c, join.c). */
static const char *list_done_message(const char *done)
{
	static const struct done_message messages[] = {
		{ "workspace-created", "Workspace created. You are its owner: create keys, or invite members." },
		{ "joined", "Welcome: you are now a member of this workspace." },
	};
	return done_message_in(messages, sizeof messages / sizeof messages[0], done);
}

/* ---- list --------------------------------------------------------------------------------------- */

struct list_query {
	const char *q;      /* as typed, trimmed */
	const char *status; /* "", enabled, disabled, revoked */
	int64_t role_id;    /* 0 for any */
	const char *before; /* the page's cursor: the key ID its keys are older than, or "" */
	const char *after;  /* or newer than (a page back), or ""; a key ID of no key here is ignored */
	const char *q_error;
	bool holds_secret; /* q holds a token or a piece of one (see read_list_query) */
};

/*
 * Read the filters from `form` (the address's query, or the filter form's POST). A filter text
 * that holds a secret is dropped with a message: it is never searched as text, shown again, or
 * put in an address (the filter form posts it to /keys/find, which looks it up by its hash).
 */
static void read_list_query(struct http_request *request, const struct form *form, struct list_query *query)
{
	memset(query, 0, sizeof *query);
	query->q = "";
	query->status = "";
	query->before = "";
	query->after = "";
	const struct form_pair *q = form_find(form, "q");
	if (q != NULL && q->status != FORM_VALUE_OK)
		query->q_error = form_value_status_message(q->status);
	else if (q != NULL)
		query->q = text_trim(request->arena, q->value);
	if (utf8_length(query->q, strlen(query->q)) > KEYS_FILTER_MAX) {
		query->q_error = "The filter is too long: at most 100 characters.";
		query->q = "";
	}
	query->holds_secret = token_text_holds_secret(query->q);
	/* Values that are not one of these read as their default: the list unfiltered, the first page. */
	static const char *const statuses[] = { "", "enabled", "disabled", "revoked", "expiring", "expired" };
	size_t status = 0;
	form_get_choice(form, "status", statuses, sizeof statuses / sizeof statuses[0], &status);
	query->status = statuses[status];
	form_get_integer(form, "role", 1, INT64_MAX, &query->role_id);
	const char *before = form_get(form, "before");
	const char *after = form_get(form, "after");
	if (after != NULL && strlen(after) <= KEYS_CURSOR_MAX)
		query->after = after;
	else if (before != NULL && strlen(before) <= KEYS_CURSOR_MAX)
		query->before = before;
}

/* /keys?q=…&status=…&role=… with the filters kept, and `cursor`=`key_id` (before or after) when not NULL. */
static const char *list_url(struct app *app, struct http_request *request, const struct list_query *query,
			    const char *cursor, const char *key_id)
{
	struct arena *arena = request->arena;
	char *url = arena_printf(arena, "/keys?q=%s&status=%s&role=%s", url_query_escape(arena, query->q), query->status,
				 query->role_id ? arena_printf(arena, "%lld", (long long)query->role_id) : "");
	if (cursor != NULL)
		url = arena_printf(arena, "%s&%s=%s", url, cursor, url_query_escape(arena, key_id));
	return page_ws_url(app, request, url);
}

/* The list's address for the page `query` shows: its filters and its cursor, if any. */
static const char *list_page_url(struct app *app, struct http_request *request, const struct list_query *query)
{
	if (query->before[0] != '\0')
		return list_url(app, request, query, "before", query->before);
	if (query->after[0] != '\0')
		return list_url(app, request, query, "after", query->after);
	return list_url(app, request, query, NULL, NULL);
}

static void add_option(struct arena *arena, struct mustache_value *list, const char *value, const char *label,
		       bool selected)
{
	struct mustache_value *option = view_push_map(arena, list);
	view_set_string(arena, option, "value", value);
	view_set_string(arena, option, "label", label);
	view_set_bool(arena, option, "selected", selected);
}

/*
 * The page of keys `query` asks for, into *keys[*count] with *more as store_key_list() says. A
 * cursor that names no key of this workspace (a mistyped or foreign address), or that leads past
 * every key that matches (its keys were revoked meanwhile), gives the first page instead, quietly,
 * and is cleared in *query.
 */
static enum store_status read_page(struct app *app, struct http_request *request, struct list_query *query,
				   struct store_key_filter *filter, struct store_key **keys, size_t *count, bool *more)
{
	int64_t workspace_id = request->visit->workspace_id;
	const char *cursor = query->after[0] != '\0' ? query->after : query->before;
	if (cursor[0] != '\0') {
		struct store_key at;
		enum store_status status = store_key_get(app->store, request->arena, workspace_id, cursor, &at);
		if (status != STORE_OK && status != STORE_NOT_FOUND)
			return status;
		if (status == STORE_OK) {
			if (query->after[0] != '\0')
				filter->after_id = at.id;
			else
				filter->before_id = at.id;
			status = store_key_list(app->store, request->arena, workspace_id, filter, keys, count, more);
			if (status != STORE_OK || *count > 0)
				return status;
		}
		query->before = "";
		query->after = "";
		filter->before_id = 0;
		filter->after_id = 0;
	}
	return store_key_list(app->store, request->arena, workspace_id, filter, keys, count, more);
}

/* The list with `query`'s filters; the query was read and checked (a secret in q never gets here). */
static void render_list(struct app *app, struct http_request *request, struct http_response *response,
			const struct list_query *given)
{
	struct arena *arena = request->arena;
	struct list_query query = *given;

	struct store_role *roles = NULL;
	size_t role_count = 0;
	enum store_status status = store_role_list(app->store, arena, request->visit->workspace_id, &roles, &role_count);
	struct store_key_filter filter = {
		.role_id = query.role_id,
		.now = page_now(),
		.soon = page_now() + KEYS_EXPIRY_WARNING,
		.limit = KEYS_PAGE_SIZE,
	};
	key_filter_state(query.status, &filter.state); /* read_list_query() took only known names */
	key_filter_text(arena, query.q, &filter);
	struct store_key *keys = NULL;
	size_t count = 0;
	bool more = false;
	if (status == STORE_OK)
		status = read_page(app, request, &query, &filter, &keys, &count, &more);
	if (status != STORE_OK) {
		page_store_error(app, request, response, status);
		return;
	}

	struct mustache_value *data = page_data(app, request, "API keys");
	view_set_string(arena, data, "q", query.q);
	if (query.q_error)
		view_set_string(arena, data, "q_error", query.q_error);
	struct mustache_value *statuses = view_set(data, "status_options", view_list(arena));
	add_option(arena, statuses, "", "Active", query.status[0] == '\0');
	add_option(arena, statuses, "enabled", "Enabled", strcmp(query.status, "enabled") == 0);
	add_option(arena, statuses, "disabled", "Disabled", strcmp(query.status, "disabled") == 0);
	add_option(arena, statuses, "revoked", "Revoked", strcmp(query.status, "revoked") == 0);
	add_option(arena, statuses, "expiring", "Expiring soon", strcmp(query.status, "expiring") == 0);
	add_option(arena, statuses, "expired", "Expired", strcmp(query.status, "expired") == 0);
	struct mustache_value *role_options = view_set(data, "role_options", view_list(arena));
	add_option(arena, role_options, "", "Any role", query.role_id == 0);
	for (size_t i = 0; i < role_count; i++)
		add_option(arena, role_options, arena_printf(arena, "%lld", (long long)roles[i].id), roles[i].name,
			   roles[i].id == query.role_id);

	bool filtered = query.q[0] != '\0' || query.status[0] != '\0' || query.role_id != 0;
	/* No active key and no filter: "none yet" only when no key was ever made; else say they were revoked. */
	bool any_revoked = false;
	if (count == 0 && !filtered) {
		struct store_key_filter revoked_filter = { .state = STORE_FILTER_REVOKED, .limit = 0 };
		struct store_key *ignored = NULL;
		size_t ignored_count = 0;
		status = store_key_list(app->store, arena, request->visit->workspace_id, &revoked_filter, &ignored,
					&ignored_count, &any_revoked);
		if (status != STORE_OK) {
			page_store_error(app, request, response, status);
			return;
		}
	}
	view_set_bool(arena, data, "filtered", filtered);
	view_set_bool(arena, data, "has_keys", count > 0);
	view_set_bool(arena, data, "empty_all", count == 0 && !filtered && !any_revoked);
	view_set_bool(arena, data, "empty_revoked", count == 0 && !filtered && any_revoked);
	view_set_bool(arena, data, "empty_filtered", count == 0 && filtered);
	struct mustache_value *list = view_set(data, "keys", view_list(arena));
	for (size_t i = 0; i < count; i++)
		view_set_bool(arena, view_push(list, key_value(app, request, &keys[i])), "selected",
			      page_keys_bulk_selected(request, keys[i].key_id));
	page_keys_bulk_list(app, request, data, &query, list_page_url(app, request, &query));
	view_set_int(arena, data, "count", (int64_t)count);
	view_set_bool(arena, data, "count_one", count == 1);
	int64_t limit = 0, active = 0;
	if (store_key_active_limit(app->store, request->visit->workspace_id, app->config->key_limit, &limit, &active) ==
		    STORE_OK &&
	    limit > 0) {
		struct mustache_value *usage = view_set(data, "key_limit", view_map(arena));
		view_set_int(arena, usage, "active", active);
		view_set_int(arena, usage, "limit", limit);
		view_set_bool(arena, usage, "full", active >= limit);
	}
	/*
	 * Pages go from a key on (the cursor): Older from this page's last key, Newer from its first. No
	 * count of every match (that would read them all): the first of several pages says "more than".
	 */
	bool newer_page = filter.after_id != 0;
	bool has_older = newer_page ? count > 0 : more;
	bool has_newer = newer_page ? more : filter.before_id != 0;
	if (count > 0 && (has_older || has_newer)) {
		struct mustache_value *pagination = view_set(data, "pagination", view_map(arena));
		view_set_bool(arena, pagination, "newest", !has_newer);
		if (has_newer) {
			view_set_string(arena, pagination, "newest_url", list_url(app, request, &query, NULL, NULL));
			view_set_string(arena, pagination, "newer_url", list_url(app, request, &query, "after", keys[0].key_id));
		}
		if (has_older)
			view_set_string(arena, pagination, "older_url",
					list_url(app, request, &query, "before", keys[count - 1].key_id));
	}
	const char *notice = list_done_message(form_get(&request->query, "done"));
	if (notice == NULL)
		notice = page_keys_bulk_notice(request);
	if (notice != NULL)
		view_set_string(arena, data, "notice", notice);
	page_render(app, request, response, "keys", data);
}

void page_keys_list(struct app *app, struct http_request *request, struct http_response *response)
{
	struct list_query query;
	read_list_query(request, &request->query, &query);
	if (query.holds_secret) { /* typed into an address by hand: the server's log has it already */
		query.q = "";
		query.q_error = "That filter holds a secret (a whole key or part of one), so it was not searched. "
				"Anyone who can read this server's logs may have it now: if it is a real key's, "
				"regenerate that key. To find a key by its secret, paste it in this box and press "
				"Filter: the form sends it without putting it in the address.";
		response->status = 400;
	}
	render_list(app, request, response, &query);
}

/*
 * The filter form (POST, so that a pasted secret never reaches an address or a log). A filter
 * that holds a secret is looked up by the secret's hash: its key's page when this workspace has
 * it, else the list saying so; any other filter is redirected to the list's address with it.
 */
void page_keys_find(struct app *app, struct http_request *request, struct http_response *response)
{
	struct list_query query;
	read_list_query(request, &request->form, &query);
	query.before = "";
	query.after = "";
	if (!query.holds_secret) {
		http_response_redirect(response, list_url(app, request, &query, NULL, NULL));
		return;
	}
	enum token_status shape = TOKEN_OK;
	char key_id[TOKEN_KEY_ID_LENGTH + 1];
	enum store_status status = keys_find_by_secret(app->store, app->config, request->arena,
						       request->visit->workspace_id, query.q, page_now(), &shape, key_id);
	query.q = ""; /* never shown again */
	if (status == STORE_OK) {
		http_response_redirect(response, page_ws_url(app, request,
							  arena_printf(request->arena, "/keys/%s?done=found", key_id)));
		return;
	}
	if (status != STORE_NOT_FOUND) {
		page_store_error(app, request, response, status);
		return;
	}
	if (shape != TOKEN_OK) {
		query.q_error = arena_printf(request->arena,
					     "That looks like a secret, but not a whole key of this server: %s It was not "
					     "searched. Paste the whole key, as it was shown when it was made.",
					     token_status_message(shape));
		response->status = 422;
	} else {
		query.q_error = "No key of this workspace has this secret.";
		response->status = 404;
	}
	render_list(app, request, response, &query);
}

/* ---- overview ----------------------------------------------------------------------------------- */

/* After a change to one key: its page. */
static const char *done_message(const char *done)
{
	static const struct done_message messages[] = {
		{ "created", "Key created. Its secret was shown once and cannot be shown again." },
		{ "regenerated", "Secret regenerated. The old secret no longer works." },
		{ "rolled", "Secret rolled. The previous secret keeps working until the overlap ends (see below)." },
		{ "overlap-ended", "Overlap ended. The previous secret no longer works." },
		{ "no-overlap", "There was no overlap to end: the previous secret had stopped already. Nothing was changed." },
		{ "updated", "Changes saved." },
		{ "unchanged", "Nothing to save: the key already had these settings. Nothing was changed." },
		{ "found", "This is the key whose secret you pasted. The secret itself was not kept or logged." },
		{ "enabled", "Key enabled. It works again." },
		{ "disabled", "Key disabled. It stops working until you enable it again." },
		{ "revoked", "Key revoked. It no longer works, for good." },
	};
	return done_message_in(messages, sizeof messages / sizeof messages[0], done);
}

/*
 * The overlap of a roll, while the previous secret still works: when it stops, and its calls in
 * the last hour (recorded usage: not for a key off the record). False when the store failed (the
 * error page is sent).
 */
static bool set_overlap(struct app *app, struct http_request *request, struct http_response *response,
			struct mustache_value *key_map, const struct store_key *key)
{
	struct arena *arena = request->arena;
	int64_t now = page_now();
	if (key->revoked_at || key->previous_secret_until <= now)
		return true;
	struct mustache_value *overlap = view_set(key_map, "overlap", view_map(arena));
	view_set_string(arena, overlap, "previous_hint", key->previous_secret_hint);
	view_set_string(arena, overlap, "remaining", text_span(arena, key->previous_secret_until - now));
	view_set_time(arena, overlap, "until", key->previous_secret_until, "");
	view_set_bool(arena, overlap, "counted", !key->off_record);
	if (key->off_record)
		return true;
	int64_t calls = 0;
	enum store_status status = store_key_previous_calls(app->store, key->workspace_id, key->id, now - 3600, &calls);
	if (status != STORE_OK) {
		page_store_error(app, request, response, status);
		return false;
	}
	view_set_int(arena, overlap, "calls", calls);
	view_set_bool(arena, overlap, "none", calls == 0);
	view_set_bool(arena, overlap, "one", calls == 1);
	return true;
}

void page_keys_show(struct app *app, struct http_request *request, struct http_response *response)
{
	struct store_key key;
	if (!page_load_key(app, request, response, &key))
		return;
	struct mustache_value *data = page_data(app, request, key.name);
	struct mustache_value *key_map = view_set(data, "key", key_value(app, request, &key));
	if (!set_overlap(app, request, response, key_map, &key))
		return;
	view_set(data, "activity", page_audit_activity(app, request, key.key_id));
	if (!key.off_record)
		page_set_warnings(app, request, data, key.id, page_now());
	const char *notice = done_message(form_get(&request->query, "done"));
	if (notice != NULL)
		view_set_string(request->arena, data, "notice", notice);
	page_render(app, request, response, "key", data);
}

/* ---- enable / disable / revoke ------------------------------------------------------------------ */

/* Redirect to the key page with a ?done= word. */
static void back_to_key(struct app *app, struct http_request *request, struct http_response *response,
			const char *key_id, const char *done)
{
	http_response_redirect(response, page_ws_url(app, request,
						  arena_printf(request->arena, "/keys/%s?done=%s", key_id, done)));
}

/* Refuse a change to a revoked key with a page that says why. */
static bool refuse_if_revoked(struct app *app, struct http_request *request, struct http_response *response,
			      const struct store_key *key)
{
	if (!key->revoked_at)
		return false;
	page_error(app, request, response, 409, "Key revoked",
		   "This key was revoked and can no longer be changed. Create a new key instead.");
	return true;
}

void page_keys_refused(struct app *app, struct http_request *request, struct http_response *response,
		       enum store_status status)
{
	if (status == STORE_NOT_FOUND)
		page_error(app, request, response, 404, "Key not found", "There is no key with this ID in this workspace.");
	else if (status == STORE_CONFLICT)
		page_error(app, request, response, 409, "Key revoked",
			   "This key was revoked and can no longer be changed. Create a new key instead.");
	else
		page_store_error(app, request, response, status);
}

static void set_enabled(struct app *app, struct http_request *request, struct http_response *response, bool enabled)
{
	struct audit_actor actor = page_actor(request);
	const char *key_id = request->path_params[0];
	enum store_status status = keys_set_enabled(app->store, request->arena, &actor, request->visit->workspace_id,
						    key_id, enabled, page_now());
	if (status != STORE_OK) {
		page_keys_refused(app, request, response, status);
		return;
	}
	back_to_key(app, request, response, key_id, enabled ? "enabled" : "disabled");
}

void page_keys_enable(struct app *app, struct http_request *request, struct http_response *response)
{
	set_enabled(app, request, response, true);
}

void page_keys_disable(struct app *app, struct http_request *request, struct http_response *response)
{
	set_enabled(app, request, response, false);
}

static void confirm_page(struct app *app, struct http_request *request, struct http_response *response,
			 const char *template_name, const char *title)
{
	struct store_key key;
	if (!page_load_key(app, request, response, &key) || refuse_if_revoked(app, request, response, &key))
		return;
	struct mustache_value *data = page_data(app, request, title);
	view_set(data, "key", key_value(app, request, &key));
	page_render(app, request, response, template_name, data);
}

void page_keys_revoke_confirm(struct app *app, struct http_request *request, struct http_response *response)
{
	confirm_page(app, request, response, "key_revoke", "Revoke key");
}

void page_keys_revoke(struct app *app, struct http_request *request, struct http_response *response)
{
	struct audit_actor actor = page_actor(request);
	const char *key_id = request->path_params[0];
	enum store_status status =
		keys_revoke(app->store, request->arena, &actor, request->visit->workspace_id, key_id, page_now());
	if (status != STORE_OK) {
		page_keys_refused(app, request, response, status);
		return;
	}
	back_to_key(app, request, response, key_id, "revoked");
}

/* ---- secrets ------------------------------------------------------------------------------------- */

/* The regenerate page, with the overlap `chosen` ticked and, when `error` is not NULL, its message. */
static void regenerate_page(struct app *app, struct http_request *request, struct http_response *response,
			    const char *chosen, const char *error)
{
	struct store_key key;
	if (!page_load_key(app, request, response, &key) || refuse_if_revoked(app, request, response, &key))
		return;
	struct arena *arena = request->arena;
	struct mustache_value *data = page_data(app, request, "Regenerate secret");
	struct mustache_value *key_map = view_set(data, "key", key_value(app, request, &key));
	if (key.previous_secret_until > page_now()) {
		view_set_bool(arena, key_map, "overlap_running", true);
		view_set_string(arena, key_map, "previous_hint", key.previous_secret_hint);
	}
	struct mustache_value *list = view_set(data, "overlaps", view_list(arena));
	for (size_t i = 0; i < keys_overlap_count; i++) {
		struct mustache_value *option = view_push_map(arena, list);
		view_set_string(arena, option, "value", keys_overlaps[i].name);
		view_set_string(arena, option, "label", keys_overlaps[i].label);
		view_set_int(arena, option, "index", (int64_t)i);
		view_set_bool(arena, option, "checked", strcmp(keys_overlaps[i].name, chosen) == 0);
		view_set_bool(arena, option, "focus", error != NULL && i == 0);
	}
	if (error != NULL) {
		response->status = 422;
		view_set_string(arena, data, "overlap_error", error);
	}
	page_render(app, request, response, "key_regenerate", data);
}

void page_keys_regenerate_confirm(struct app *app, struct http_request *request, struct http_response *response)
{
	regenerate_page(app, request, response, keys_overlaps[0].name, NULL);
}

void page_keys_send_to_secret(struct app *app, struct http_request *request, struct http_response *response,
			      struct keys_secret *secret, const char *done)
{
	const char *secret_path =
		page_ws_url(app, request, arena_printf(request->arena, "/keys/%s/secret", secret->key_id));
	/* The cookie's text lives in the response until it is sent, then is freed with it. */
	http_response_header(response, "Set-Cookie",
			     arena_printf(request->arena, "%s=%s; Path=%s; Max-Age=%d; HttpOnly; SameSite=Strict%s",
					  REVEAL_COOKIE, secret->reveal_cookie, secret_path, KEYS_REVEAL_MAX_AGE,
					  request->https ? "; Secure" : ""));
	keys_secret_wipe(secret);
	http_response_redirect(response, arena_printf(request->arena, "%s?done=%s", secret_path, done));
}

void page_keys_regenerate(struct app *app, struct http_request *request, struct http_response *response)
{
	/* No choice sent (a form of before overlaps): none, as regenerating always did. */
	const struct form_pair *sent = form_find(&request->form, "overlap");
	const struct keys_overlap *overlap = sent == NULL ? &keys_overlaps[0]
				     : sent->status == FORM_VALUE_OK ? keys_overlap_find(sent->value)
								       : NULL;
	if (overlap == NULL) {
		regenerate_page(app, request, response, "",
				"Choose how long the current secret keeps working: none, 1 hour, 24 hours or 7 days.");
		return;
	}
	struct audit_actor actor = page_actor(request);
	struct keys_secret secret;
	enum store_status status = keys_regenerate(app->store, app->config, request->arena, &actor,
						   request->visit->workspace_id, request->path_params[0], page_now(),
						   overlap->seconds, true, &secret);
	if (status != STORE_OK) {
		page_keys_refused(app, request, response, status);
		return;
	}
	page_keys_send_to_secret(app, request, response, &secret, overlap->seconds > 0 ? "rolled" : "regenerated");
}

void page_keys_end_overlap(struct app *app, struct http_request *request, struct http_response *response)
{
	struct audit_actor actor = page_actor(request);
	const char *key_id = request->path_params[0];
	bool ended = false;
	enum store_status status = keys_end_overlap(app->store, request->arena, &actor, request->visit->workspace_id,
						    key_id, page_now(), &ended);
	if (status != STORE_OK) {
		page_keys_refused(app, request, response, status);
		return;
	}
	back_to_key(app, request, response, key_id, ended ? "overlap-ended" : "no-overlap");
}

static const char *done_word(struct http_request *request, const struct form *form)
{
	const char *done = form_get(form, "done");
	(void)request;
	if (done != NULL && (strcmp(done, "regenerated") == 0 || strcmp(done, "rolled") == 0))
		return done;
	return "created";
}

void page_keys_secret_show(struct app *app, struct http_request *request, struct http_response *response)
{
	struct store_key key;
	if (!page_load_key(app, request, response, &key))
		return;
	response->no_store = true;
	if (request->method == HTTP_HEAD)
		return; /* a HEAD (a link checker, a prefetch) must not use the one showing up */
	const char *secret_path = page_ws_url(app, request, arena_printf(request->arena, "/keys/%s/secret", key.key_id));
	http_response_header(response, "Set-Cookie",
			     arena_printf(request->arena, "%s=; Path=%s; Max-Age=0; HttpOnly; SameSite=Strict",
					  REVEAL_COOKIE, secret_path));
	char token[TOKEN_MAX_LENGTH + 1];
	enum store_status status = keys_reveal_open(app->store, request->arena, request->visit->workspace_id, key.id,
						    http_request_cookie(request, REVEAL_COOKIE), page_now(), token);
	if (status == STORE_NOT_FOUND) {
		struct mustache_value *data = page_data(app, request, "Secret already shown");
		view_set(data, "key", key_value(app, request, &key));
		response->status = 410;
		page_render(app, request, response, "key_secret_gone", data);
		return;
	}
	if (status != STORE_OK) {
		page_store_error(app, request, response, status);
		return;
	}
	const char *done = done_word(request, &request->query);
	struct mustache_value *data = page_data(app, request, "Copy your secret");
	view_set(data, "key", key_value(app, request, &key));
	view_set_string(request->arena, data, "secret", token);
	view_set_string(request->arena, data, "done", done);
	view_set_bool(request->arena, data, "regenerated", strcmp(done, "created") != 0);
	view_set_bool(request->arena, data, "rolled", strcmp(done, "rolled") == 0);
	sodium_memzero(token, sizeof token);
	page_render(app, request, response, "key_secret", data);
	/* The rendered page is the only copy left; it is wiped with the response body after sending. */
}

void page_keys_secret_close(struct app *app, struct http_request *request, struct http_response *response)
{
	struct store_key key;
	if (!page_load_key(app, request, response, &key))
		return;
	const char *done = done_word(request, &request->form);
	if (form_get(&request->form, "copied") == NULL) {
		struct mustache_value *data = page_data(app, request, "Did you copy the secret?");
		view_set(data, "key", key_value(app, request, &key));
		view_set_string(request->arena, data, "done", done);
		response->status = 422;
		page_render(app, request, response, "key_secret_unconfirmed", data);
		return;
	}
	back_to_key(app, request, response, key.key_id, done);
}

/* ---- for keys_bulk.c: the list's filters and a key's fields -------------------------------------- */

const struct list_query *page_keys_list_query(struct http_request *request, const struct form *form,
					      const char **error)
{
	struct list_query *query = arena_alloc(request->arena, sizeof *query);
	read_list_query(request, form, query);
	if (query->holds_secret) {
		query->q = "";
		query->q_error = "That filter holds a secret (a whole key or part of one), so it was not used.";
	}
	*error = query->q_error;
	return query;
}

const char *page_keys_list_address(struct app *app, struct http_request *request, const struct list_query *query,
				   const char *extra)
{
	return arena_printf(request->arena, "%s%s", list_page_url(app, request, query), extra);
}

const char *page_keys_export_address(struct app *app, struct http_request *request, const struct list_query *query)
{
	struct arena *arena = request->arena;
	return page_ws_url(app, request,
			   arena_printf(arena, "/keys.csv?q=%s&status=%s&role=%s", url_query_escape(arena, query->q),
					query->status,
					query->role_id ? arena_printf(arena, "%lld", (long long)query->role_id) : ""));
}

void page_keys_list_filter(struct arena *arena, const struct list_query *query, int64_t now,
			   struct store_key_filter *filter)
{
	memset(filter, 0, sizeof *filter);
	key_filter_state(query->status, &filter->state);
	filter->role_id = query->role_id;
	filter->now = now;
	filter->soon = now + KEYS_EXPIRY_WARNING;
	key_filter_text(arena, query->q, filter);
}

const char *page_key_state(const struct store_key *key, int64_t now)
{
	return state_word(key, now);
}
