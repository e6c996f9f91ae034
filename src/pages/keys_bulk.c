/* keys_bulk.c: the key list's changes to several keys at once (disable, enable, revoke) and its CSV export. */
#include <stdio.h>
#include <string.h>
#include <time.h>

#include "core/alloc.h"
#include "core/buf.h"
#include "domain/keys_bulk.h"
#include "http/url.h"
#include "pages/pages_private.h"
#include "view/csv.h"
#include "view/view.h"

#define SELECTION_FIELD "key"   /* one pair per selected key, in the list's form and the confirmation's */
#define KEY_ID_TEXT_MAX 64      /* longer than any key ID: a value past it is not one */
#define EXPORT_PAGE 5000        /* keys read from the store at a time for an export */
#define EXPORT_FLUSH 65536      /* bytes of CSV gathered before they are sent on */

/* ---- the selection ---------------------------------------------------------------------------- */

struct selection {
	const char **key_ids; /* without repeats, in the order sent */
	size_t count;
	bool malformed; /* a value that cannot be a key ID was sent */
};

/* Characters of a key ID (and of the router's "{key}" segments). */
static bool key_id_text(const char *text)
{
	size_t length = strspn(text, "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789_-");
	return length > 0 && length <= KEY_ID_TEXT_MAX && text[length] == '\0';
}

/* The keys `form` selects ("key" pairs). */
static void read_selection(struct arena *arena, const struct form *form, struct selection *selection)
{
	memset(selection, 0, sizeof *selection);
	const char **sent = arena_alloc(arena, (form->count ? form->count : 1) * sizeof *sent);
	size_t used = 0;
	for (const struct form_pair *pair = form->first; pair != NULL; pair = pair->next) {
		if (strcmp(pair->name, SELECTION_FIELD) != 0)
			continue;
		if (pair->status == FORM_VALUE_OK && key_id_text(pair->value))
			sent[used++] = pair->value;
		else
			selection->malformed = true;
	}
	keys_bulk_unique(arena, sent, used, &selection->key_ids, &selection->count);
}

/* "&key=…&key=…": the selection as an address carries it. */
static const char *selection_query(struct arena *arena, const struct selection *selection)
{
	struct buf text = BUF_INIT;
	for (size_t i = 0; i < selection->count; i++)
		buf_printf(&text, "&%s=%s", SELECTION_FIELD, url_query_escape(arena, selection->key_ids[i]));
	const char *copy = arena_strdup(arena, text.data != NULL ? text.data : "");
	buf_free(&text);
	return copy;
}

/*
 * Refuse a selection no change can take, with its page: a value that is not a key ID (400), more
 * than KEYS_BULK_MAX keys (422); none at all goes back to the list, which says to select some
 * first. True when the selection may go on.
 */
static bool selection_usable(struct app *app, struct http_request *request, struct http_response *response,
			     const struct list_query *query, const struct selection *selection)
{
	if (selection->malformed) {
		page_error(app, request, response, 400, "Selection not understood",
			   "The selection holds something that is not a key ID, so nothing was changed. Go back to "
			   "the list of keys and select them again.");
		return false;
	}
	if (selection->count > KEYS_BULK_MAX) {
		page_error(app, request, response, 422, "Too many keys selected",
			   arena_printf(request->arena,
					"At most %d keys can be changed at once, and %zu were selected. Nothing was "
					"changed: select fewer keys and try again.",
					KEYS_BULK_MAX, selection->count));
		return false;
	}
	if (selection->count == 0) {
		http_response_redirect(response, page_keys_list_address(app, request, query, "&bulk=none"));
		return false;
	}
	return true;
}

/* The pairs of the query part of `address` (the list's own), as hidden fields: [{name, value}]. */
static struct mustache_value *hidden_fields(struct arena *arena, const char *address)
{
	struct mustache_value *list = view_list(arena);
	const char *query = strchr(address, '?');
	if (query == NULL)
		return list;
	struct form pairs;
	form_parse(arena, query + 1, strlen(query + 1), &pairs);
	for (const struct form_pair *pair = pairs.first; pair != NULL; pair = pair->next) {
		if (pair->status != FORM_VALUE_OK || pair->value[0] == '\0')
			continue;
		struct mustache_value *field = view_push_map(arena, list);
		view_set_string(arena, field, "name", pair->name);
		view_set_string(arena, field, "value", pair->value);
	}
	return list;
}

/* ---- on the list ------------------------------------------------------------------------------ */

void page_keys_bulk_list(struct app *app, struct http_request *request, struct mustache_value *data,
			 const struct list_query *query, const char *address)
{
	struct arena *arena = request->arena;
	view_set_string(arena, data, "export_url", page_keys_export_address(app, request, query));
	struct mustache_value *bulk = view_set(data, "bulk", view_map(arena));
	view_set(bulk, "fields", hidden_fields(arena, address));
	struct selection selection;
	read_selection(arena, &request->query, &selection);
	const char *select = form_get(&request->query, "select");
	if (selection.count > 0 || (select != NULL && strcmp(select, "page") == 0)) {
		view_set_bool(arena, bulk, "any_selected", true);
		view_set_string(arena, bulk, "clear_url", address);
	}
	const char *refused = form_get(&request->query, "bulk");
	if (refused != NULL && strcmp(refused, "none") == 0)
		view_set_string(arena, bulk, "none_error",
				"No key was selected, so nothing was changed. Tick the keys to change in the first "
				"column (or press Select all on this page), then choose what to do with them.");
}

bool page_keys_bulk_selected(struct http_request *request, const char *key_id)
{
	const char *select = form_get(&request->query, "select");
	if (select != NULL && strcmp(select, "page") == 0)
		return true;
	for (const struct form_pair *pair = request->query.first; pair != NULL; pair = pair->next)
		if (pair->status == FORM_VALUE_OK && strcmp(pair->name, SELECTION_FIELD) == 0 &&
		    strcmp(pair->value, key_id) == 0)
			return true;
	return false;
}

const char *page_keys_bulk_notice(struct http_request *request)
{
	static const char *const words[] = { "bulk-disabled", "bulk-enabled", "bulk-revoked" };
	static const char *const done[] = { "disabled", "enabled", "revoked" };
	size_t which = 0;
	int64_t changed = 0, unchanged = 0;
	if (form_get_choice(&request->query, "done", words, sizeof words / sizeof words[0], &which) != FORM_VALID ||
	    form_get_integer(&request->query, "changed", 0, KEYS_BULK_MAX, &changed) != FORM_VALID ||
	    form_get_integer(&request->query, "unchanged", 0, KEYS_BULK_MAX, &unchanged) == FORM_INVALID)
		return NULL;
	struct arena *arena = request->arena;
	if (changed == 0)
		return arena_printf(arena, "Nothing was changed: %s already %s.",
				    unchanged == 1 ? "the key selected was" : "the keys selected were", done[which]);
	const char *after = which == 2	 ? " They no longer work, for good."
			    : which == 1 ? " They work again."
					 : " They stop working until they are enabled again.";
	if (changed == 1)
		after = which == 2 ? " It no longer works, for good."
			: which == 1 ? " It works again."
				     : " It stops working until it is enabled again.";
	const char *skipped = unchanged == 0 ? ""
					     : arena_printf(arena, "; %lld %s already %s", (long long)unchanged,
							    unchanged == 1 ? "was" : "were", done[which]);
	return arena_printf(arena, "%lld %s %s%s.%s", (long long)changed, changed == 1 ? "key" : "keys", done[which],
			    skipped, after);
}

/* ---- confirmation and change ------------------------------------------------------------------ */

/* What the confirmation says of one key. */
static const char *effect_words(struct arena *arena, enum keys_bulk_action action, enum keys_bulk_effect effect)
{
	const char *done = keys_bulk_action_done(action);
	if (effect == KEYS_BULK_REFUSED)
		return arena_printf(arena, "Revoked: cannot be %s. Leave it out.", done);
	if (effect == KEYS_BULK_UNCHANGED)
		return arena_printf(arena, "Already %s: stays as it is.", done);
	return action == KEYS_BULK_REVOKE ? "Will be revoked, for good." : arena_printf(arena, "Will be %s.", done);
}

/*
 * The one confirmation of a change to the keys `form` selects (the list's form, or the
 * confirmation's own when the change was refused: then with `status` and `error`): each key and
 * what will happen to it, and the button that does it, unless a key refuses the lot or nothing
 * would change.
 */
static void confirm_page(struct app *app, struct http_request *request, struct http_response *response,
			 enum keys_bulk_action action, const struct form *form, int status, const char *error)
{
	struct arena *arena = request->arena;
	const char *filter_error = NULL;
	const struct list_query *query = page_keys_list_query(request, form, &filter_error);
	struct selection selection;
	read_selection(arena, form, &selection);
	if (!selection_usable(app, request, response, query, &selection))
		return;
	const char *name = keys_bulk_action_name(action);
	const char *done = keys_bulk_action_done(action);
	struct mustache_value *rows = view_list(arena);
	size_t changes = 0, blocked = 0;
	for (size_t i = 0; i < selection.count; i++) {
		struct store_key key;
		enum store_status read = store_key_get(app->store, arena, request->visit->workspace_id,
						       selection.key_ids[i], &key);
		struct mustache_value *row;
		if (read == STORE_NOT_FOUND) {
			row = view_push_map(arena, rows);
			view_set_string(arena, row, "key_id", selection.key_ids[i]);
			view_set_bool(arena, row, "missing", true);
			view_set_string(arena, row, "effect", "Not a key of this workspace. Leave it out.");
			view_set_bool(arena, row, "blocks", true);
			blocked++;
			continue;
		}
		if (read != STORE_OK) {
			page_store_error(app, request, response, read);
			return;
		}
		enum keys_bulk_effect effect = keys_bulk_effect(action, &key);
		row = view_push(rows, page_key_value(app, request, &key));
		view_set_string(arena, row, "effect", effect_words(arena, action, effect));
		view_set_bool(arena, row, "blocks", effect == KEYS_BULK_REFUSED);
		view_set_bool(arena, row, "changes", effect == KEYS_BULK_CHANGES);
		blocked += effect == KEYS_BULK_REFUSED;
		changes += effect == KEYS_BULK_CHANGES;
	}
	const char *verb = action == KEYS_BULK_REVOKE ? "Revoke" : action == KEYS_BULK_ENABLE ? "Enable" : "Disable";
	const char *list_address = page_keys_list_address(app, request, query, "");
	struct mustache_value *data =
		page_data(app, request,
			  arena_printf(arena, "%s %zu %s?", verb, selection.count, selection.count == 1 ? "key" : "keys"));
	view_set(data, "keys", rows);
	view_set_string(arena, data, "action", name);
	view_set_string(arena, data, "action_url", page_ws_url(app, request, arena_printf(arena, "/keys/bulk/%s", name)));
	view_set_bool(arena, data, action == KEYS_BULK_REVOKE ? "revoke" : action == KEYS_BULK_ENABLE ? "enable" : "disable",
		      true);
	view_set(data, "fields", hidden_fields(arena, list_address));
	view_set_string(arena, data, "list_url", list_address);
	view_set_string(arena, data, "cancel_url",
			page_keys_list_address(app, request, query, selection_query(arena, &selection)));
	view_set_int(arena, data, "selected", (int64_t)selection.count);
	if (error != NULL)
		view_set_string(arena, data, "error", error);
	if (blocked > 0)
		view_set_string(arena, data, "blocked",
				arena_printf(arena,
					     "%zu of the selected keys cannot be %s (marked below), so this selection "
					     "cannot go through as it is: nothing is changed unless every key can be. Go "
					     "back, leave %s out, and try again.",
					     blocked, done, blocked == 1 ? "it" : "them"));
	else if (changes == 0)
		view_set_string(arena, data, "nothing",
				arena_printf(arena, "Nothing to change: %s already %s.",
					     selection.count == 1 ? "the selected key is" : "every selected key is", done));
	else
		view_set_string(arena, data, "button",
				arena_printf(arena, "%s %zu %s", verb, changes, changes == 1 ? "key" : "keys"));
	view_set_int(arena, data, "changes", (int64_t)changes);
	view_set_int(arena, data, "unchanged", (int64_t)(selection.count - changes - blocked));
	response->status = status;
	page_render(app, request, response, "keys_bulk", data);
}

/* The sentence of a refused change: which key stopped it, and why. */
static const char *refusal(struct arena *arena, enum keys_bulk_action action, enum store_status status,
			   const char *key_id)
{
	if (status == STORE_NOT_FOUND)
		return arena_printf(arena, "Nothing was changed: %s is not a key of this workspace. Leave it out and "
					   "try again.", key_id);
	if (action == KEYS_BULK_REVOKE)
		return arena_printf(arena, "Nothing was changed: %s was revoked by someone else meanwhile. Try again.",
				    key_id);
	return arena_printf(arena, "Nothing was changed: %s is revoked, so it cannot be %s. Leave it out and try again.",
			    key_id, keys_bulk_action_done(action));
}

static void apply(struct app *app, struct http_request *request, struct http_response *response,
		  enum keys_bulk_action action)
{
	struct arena *arena = request->arena;
	const char *filter_error = NULL;
	const struct list_query *query = page_keys_list_query(request, &request->form, &filter_error);
	struct selection selection;
	read_selection(arena, &request->form, &selection);
	if (!selection_usable(app, request, response, query, &selection))
		return;
	struct audit_actor actor = page_actor(request);
	struct keys_bulk_result result;
	enum store_status status = keys_bulk_apply(app->store, arena, &actor, request->visit->workspace_id, action,
						   selection.key_ids, selection.count, page_now(), &result);
	if ((status == STORE_NOT_FOUND || status == STORE_CONFLICT) && result.refused_key_id != NULL) {
		confirm_page(app, request, response, action, &request->form, 409,
			     refusal(arena, action, status, result.refused_key_id));
		return;
	}
	if (status != STORE_OK) {
		page_store_error(app, request, response, status);
		return;
	}
	http_response_redirect(response, page_keys_list_address(app, request, query,
								 arena_printf(arena, "&done=bulk-%s&changed=%zu&unchanged=%zu",
									      keys_bulk_action_done(action),
									      result.changed, result.unchanged)));
}

void page_keys_bulk_disable_confirm(struct app *app, struct http_request *request, struct http_response *response)
{
	confirm_page(app, request, response, KEYS_BULK_DISABLE, &request->query, 200, NULL);
}

void page_keys_bulk_enable_confirm(struct app *app, struct http_request *request, struct http_response *response)
{
	confirm_page(app, request, response, KEYS_BULK_ENABLE, &request->query, 200, NULL);
}

void page_keys_bulk_revoke_confirm(struct app *app, struct http_request *request, struct http_response *response)
{
	confirm_page(app, request, response, KEYS_BULK_REVOKE, &request->query, 200, NULL);
}

void page_keys_bulk_disable(struct app *app, struct http_request *request, struct http_response *response)
{
	apply(app, request, response, KEYS_BULK_DISABLE);
}

void page_keys_bulk_enable(struct app *app, struct http_request *request, struct http_response *response)
{
	apply(app, request, response, KEYS_BULK_ENABLE);
}

void page_keys_bulk_revoke(struct app *app, struct http_request *request, struct http_response *response)
{
	apply(app, request, response, KEYS_BULK_REVOKE);
}

/* ---- export ----------------------------------------------------------------------------------- */

/* `unix_time` as "2027-01-31T18:00:05Z"; "" for 0 (never). */
static const char *iso_time(struct arena *arena, int64_t unix_time)
{
	if (unix_time == 0)
		return "";
	time_t seconds = (time_t)unix_time;
	struct tm parts;
	char text[32];
	if (gmtime_r(&seconds, &parts) == NULL || strftime(text, sizeof text, "%Y-%m-%dT%H:%M:%SZ", &parts) == 0)
		return "";
	return arena_strdup(arena, text);
}

/* "cidr label" per network, one a line (a CIDR holds no space, a label no line break). */
static const char *networks(struct arena *arena, const struct store_key *key)
{
	struct buf text = BUF_INIT;
	for (size_t i = 0; i < key->cidr_count; i++)
		buf_printf(&text, "%s%s%s%s", i > 0 ? "\n" : "", key->cidrs[i].cidr, key->cidrs[i].label[0] ? " " : "",
			   key->cidrs[i].label);
	const char *copy = arena_strdup(arena, text.data != NULL ? text.data : "");
	buf_free(&text);
	return copy;
}

static const char *const export_columns[] = {
	"key_id",     "name",         "role",       "status",       "enabled",    "off_the_record", "postback_url",
	"networks",   "note",         "created_by", "created_at",   "last_used_at", "expires_at",   "revoked_at",
};
#define EXPORT_COLUMN_COUNT (sizeof export_columns / sizeof export_columns[0])

static void export_row(struct arena *arena, struct buf *out, const struct store_key *key, int64_t now)
{
	const char *cells[] = {
		key->key_id,
		key->name,
		key->role_name,
		page_key_state(key, now),
		key->enabled ? "yes" : "no",
		key->off_record ? "yes" : "no",
		key->postback_url,
		networks(arena, key),
		key->note,
		key->created_by,
		iso_time(arena, key->created_at),
		iso_time(arena, key->last_used_at),
		iso_time(arena, key->expires_at),
		iso_time(arena, key->revoked_at),
	};
	_Static_assert(sizeof cells / sizeof cells[0] == EXPORT_COLUMN_COUNT, "a cell per column");
	csv_row(out, cells, EXPORT_COLUMN_COUNT);
}

/*
 * GET /keys.csv?q=…&status=…&role=…: every key the list's filters match, all pages, as CSV: no
 * secret, not even its last 4 characters. Read from the store a page at a time and sent as it
 * goes, so that a workspace of any size costs one page of memory. A page that comes again after
 * keys were made meanwhile (the list is newest first) is not written twice. When the store fails
 * before anything is sent: its error page; after: the file ends with a line saying it is incomplete.
 */
void page_keys_export(struct app *app, struct http_request *request, struct http_response *response)
{
	const char *error = NULL;
	const struct list_query *query = page_keys_list_query(request, &request->query, &error);
	if (error != NULL) {
		page_error(app, request, response, 400, "Filter not used",
			   arena_printf(request->arena, "%s Nothing was exported: change the filter and try again.", error));
		return;
	}
	int64_t now = page_now();
	struct store_key_filter filter;
	page_keys_list_filter(request->arena, query, now, &filter);
	filter.limit = EXPORT_PAGE;
	struct arena *rows = arena_new();
	struct store_key *keys = NULL;
	size_t count = 0;
	bool more = false;
	enum store_status status =
		store_key_list(app->store, rows, request->visit->workspace_id, &filter, &keys, &count, &more);
	if (status != STORE_OK) {
		arena_free(rows);
		page_store_error(app, request, response, status);
		return;
	}
	char day[16];
	time_t seconds = (time_t)now;
	struct tm parts;
	strftime(day, sizeof day, "%Y%m%d-%H%M", gmtime_r(&seconds, &parts));
	response->content_type = "text/csv; charset=utf-8; header=present";
	response->no_store = true;
	http_response_header(response, "Content-Disposition",
			     arena_printf(request->arena, "attachment; filename=\"keys-workspace-%lld-%sZ.csv\"",
					  (long long)request->visit->workspace_id, day));
	http_response_stream_begin(response, request);
	if (request->method == HTTP_HEAD) {
		arena_free(rows);
		return;
	}
	struct buf out = BUF_INIT;
	csv_row(&out, export_columns, EXPORT_COLUMN_COUNT);
	/* Page after page from the last key written (the list's cursor): each key once, whatever changes meanwhile. */
	for (;;) {
		status = store_key_list_cidrs(app->store, rows, keys, count);
		for (size_t i = 0; i < count && status == STORE_OK; i++) {
			export_row(rows, &out, &keys[i], now);
			if (out.length >= EXPORT_FLUSH) {
				http_response_stream(response, request, out.data, out.length);
				buf_clear(&out);
			}
		}
		if (status != STORE_OK || !more || count == 0)
			break;
		filter.before_id = keys[count - 1].id;
		arena_reset(rows);
		status = store_key_list(app->store, rows, request->visit->workspace_id, &filter, &keys, &count, &more);
	}
	if (status != STORE_OK) {
		fprintf(stderr, "keyward: the key export of workspace %lld stopped early: the database failed\n",
			(long long)request->visit->workspace_id);
		buf_puts(&out, "keyward: the export stopped here because the database failed: this file is incomplete\r\n");
	}
	http_response_stream(response, request, out.data, out.length);
	buf_free(&out);
	arena_free(rows);
}
