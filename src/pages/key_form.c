/* key_form.c: the create and edit forms of a key: read what was typed, check it, save it or show it again. */
#include <sodium.h>
#include <stdio.h>
#include <string.h>
#include <time.h>

#include "core/alloc.h"
#include "core/config.h"
#include "core/text.h"
#include "domain/audit.h"
#include "domain/key_input.h"
#include "domain/keys.h"
#include "pages/pages_private.h"
#include "view/view.h"

#define KEY_FORM_ROWS_MAX (KEY_CIDRS_MAX + 20) /* rows accepted before the list itself is refused */

/* Read the posted form into *input: the fields as typed, with decoding problems as field errors. */
static void read_input(struct http_request *request, struct key_input *input)
{
	struct arena *arena = request->arena;
	const struct form *form = &request->form;
	memset(input, 0, sizeof *input);
	input->name = page_form_value(form_find(form, "name"), &input->name_error);
	input->postback_url = page_form_value(form_find(form, "postback_url"), &input->postback_url_error);
	input->note = page_form_value(form_find(form, "note"), &input->note_error);
	input->role_id = page_form_value(form_find(form, "role"), &input->role_error);
	input->off_record = form_find(form, "off_record") != NULL;
	input->enabled = form_find(form, "enabled") != NULL;
	input->expires_at = page_form_value(form_find(form, "expires_at"), &input->expires_at_error);
	input->now = page_now();

	size_t cidrs = 0, labels = 0;
	for (const struct form_pair *pair = form->first; pair != NULL; pair = pair->next) {
		cidrs += strcmp(pair->name, "cidr") == 0;
		labels += strcmp(pair->name, "cidr_label") == 0;
	}
	size_t rows = cidrs > labels ? cidrs : labels;
	if (rows > KEY_FORM_ROWS_MAX) {
		input->cidrs_error = "Too many network rows: at most 100 networks per key.";
		rows = KEY_FORM_ROWS_MAX;
	}
	input->cidrs = arena_alloc(arena, (rows + 1) * sizeof *input->cidrs);
	input->cidr_count = rows;
	size_t cidr_index = 0, label_index = 0;
	for (const struct form_pair *pair = form->first; pair != NULL; pair = pair->next) {
		if (strcmp(pair->name, "cidr") == 0 && cidr_index < rows) {
			struct key_cidr_input *row = &input->cidrs[cidr_index++];
			row->cidr = page_form_value(pair, &row->cidr_error);
		} else if (strcmp(pair->name, "cidr_label") == 0 && label_index < rows) {
			struct key_cidr_input *row = &input->cidrs[label_index++];
			row->label = page_form_value(pair, &row->label_error);
		}
	}
}

/* The form's data: what was typed, the messages, the role choices, the network rows. */
static struct mustache_value *form_value(struct http_request *request, const struct key_input *input,
					 const struct store_role *roles, size_t role_count, size_t extra_rows,
					 bool show_errors)
{
	struct arena *arena = request->arena;
	struct mustache_value *form = view_map(arena);
	view_set_string(arena, form, "name", input->name);
	view_set_string(arena, form, "postback_url", input->postback_url);
	view_set_string(arena, form, "note", input->note ? input->note : "");
	view_set_bool(arena, form, "off_record", input->off_record);
	view_set_bool(arena, form, "enabled", input->enabled);
	view_set_string(arena, form, "expires_at", input->expires_at ? input->expires_at : "");
	view_set_time(arena, form, "now_utc", page_now(), "");
	struct page_errors errors;
	page_errors_begin(arena, &errors, form);
	if (show_errors) { /* in page order: the summary lists them so, and the first gets the focus */
		const struct page_field_error fields[] = {
			{ "name_error", input->name_error, "name" },
			{ "role_error", input->role_error, "role" },
			{ "cidrs_error", input->cidrs_error, "cidr-0" },
		};
		page_errors_note_all(arena, &errors, fields, sizeof fields / sizeof fields[0]);
	}

	struct mustache_value *options = view_set(form, "roles", view_list(arena));
	for (size_t i = 0; i < role_count; i++) {
		struct mustache_value *option = view_push_map(arena, options);
		const char *id = arena_printf(arena, "%lld", (long long)roles[i].id);
		view_set_string(arena, option, "value", id);
		view_set_string(arena, option, "label", roles[i].name);
		view_set_string(arena, option, "description", roles[i].description);
		view_set_bool(arena, option, "has_description", roles[i].description[0] != '\0');
		view_set_bool(arena, option, "selected", input->role_id != NULL && strcmp(input->role_id, id) == 0);
	}

	struct mustache_value *rows = view_set(form, "cidrs", view_list(arena));
	size_t total_rows = input->cidr_count + extra_rows;
	if (total_rows == 0)
		total_rows = 1;
	for (size_t i = 0; i < total_rows; i++) {
		const struct key_cidr_input *row = i < input->cidr_count ? &input->cidrs[i] : NULL;
		struct mustache_value *item = view_push_map(arena, rows);
		view_set_int(arena, item, "index", (int64_t)i);
		view_set_int(arena, item, "number", (int64_t)i + 1);
		view_set_string(arena, item, "cidr", row ? row->cidr : "");
		view_set_string(arena, item, "label", row ? row->label : "");
		if (show_errors && row) {
			const struct page_field_error cidr = { "cidr_error", row->cidr_error,
								arena_printf(arena, "cidr-%zu", i) };
			const struct page_field_error label = { "label_error", row->label_error,
								 arena_printf(arena, "cidr-label-%zu", i) };
			page_errors_note(arena, &errors, item, &cidr);
			page_errors_note(arena, &errors, item, &label);
		}
	}
	view_set_bool(arena, form, "can_add_row", total_rows < KEY_CIDRS_MAX);
	if (show_errors) {
		const struct page_field_error later[] = {
			{ "postback_url_error", input->postback_url_error, "postback_url" },
			{ "expires_at_error", input->expires_at_error, "expires_at" },
			{ "note_error", input->note_error, "note" },
		};
		page_errors_note_all(arena, &errors, later, sizeof later / sizeof later[0]);
	}
	page_errors_end(arena, &errors);
	return form;
}

/*
 * Render the create form (key NULL) or the edit form of `key`, with `limit_error` (NULL: none)
 * above it when the workspace has no room for a new key. `like`: the key a new one starts from
 * (NULL: none), named above the form.
 */
static void render_form_noting(struct app *app, struct http_request *request, struct http_response *response,
			       const struct store_key *key, const struct key_input *input, size_t extra_rows,
			       bool show_errors, const char *limit_error, const struct store_key *like)
{
	struct arena *arena = request->arena;
	struct store_role *roles = NULL;
	size_t role_count = 0;
	enum store_status status = store_role_list(app->store, arena, request->visit->workspace_id, &roles, &role_count);
	if (status != STORE_OK) {
		page_store_error(app, request, response, status);
		return;
	}
	struct mustache_value *data = page_data(app, request, key ? arena_printf(arena, "Edit %s", key->name) : "New API key");
	struct mustache_value *form =
		view_set(data, "form", form_value(request, input, roles, role_count, extra_rows, show_errors));
	if (limit_error != NULL)
		view_set_string(arena, form, "limit_error", limit_error);
	if (key != NULL) {
		view_set_string(arena, form, "action_url",
				page_ws_url(app, request, arena_printf(arena, "/keys/%s/edit", key->key_id)));
		view_set_string(arena, form, "cancel_url",
				page_ws_url(app, request, arena_printf(arena, "/keys/%s", key->key_id)));
		view_set_string(arena, form, "submit_label", "Save changes");
		view_set_string(arena, data, "key_id", key->key_id);
		view_set_string(arena, data, "key_name", key->name);
		view_set_bool(arena, data, "editing", true);
		/* The switch is the Allowlist tab's: this form keeps it as it is, and says so when it is off. */
		if (!key->allowlist_enabled)
			view_set_string(arena, form, "allowlist_url",
					page_ws_url(app, request, arena_printf(arena, "/keys/%s/allowlist", key->key_id)));
	} else {
		view_set_string(arena, form, "action_url", page_ws_url(app, request, "/keys/new"));
		view_set_string(arena, form, "cancel_url", page_ws_url(app, request, "/keys"));
		view_set_string(arena, form, "submit_label", "Create key");
		if (like != NULL) {
			struct mustache_value *source = view_set(data, "like", view_map(arena));
			view_set_string(arena, source, "name", like->name);
			view_set_string(arena, source, "url",
					page_ws_url(app, request, arena_printf(arena, "/keys/%s", like->key_id)));
			view_set_bool(arena, source, "allowlist_off", !like->allowlist_enabled && like->cidr_count > 0);
		}
	}
	page_render(app, request, response, "key_form", data);
}

static void render_form(struct app *app, struct http_request *request, struct http_response *response,
			const struct store_key *key, const struct key_input *input, size_t extra_rows,
			bool show_errors)
{
	render_form_noting(app, request, response, key, input, extra_rows, show_errors, NULL, NULL);
}

/*
 * The sentence shown when the workspace has as many active keys as it may; NULL when it has room.
 * `submitted`: the form was sent (and is shown again with what was typed).
 */
static const char *limit_message(struct app *app, struct http_request *request, bool submitted)
{
	int64_t limit = 0, active = 0;
	if (store_key_active_limit(app->store, request->visit->workspace_id, app->config->key_limit, &limit, &active) !=
		    STORE_OK ||
	    limit == 0 || active < limit)
		return NULL;
	return arena_printf(request->arena,
			    "This workspace has %lld active keys, as many as it may have (its limit is %lld). "
			    "Revoke keys that are no longer used, then create this one: revoked keys do not count.%s",
			    (long long)active, (long long)limit,
			    submitted ? " Nothing was saved; everything you typed is kept below." : "");
}

/* The "read-only" role, preselected on a new key: the least a key can do. */
static const char *default_role(struct app *app, struct http_request *request)
{
	struct store_role role;
	if (store_role_find_by_name(app->store, request->arena, request->visit->workspace_id, "read-only", &role) == STORE_OK)
		return arena_printf(request->arena, "%lld", (long long)role.id);
	return "";
}

static void input_from_key(struct http_request *request, const struct store_key *key, struct key_input *input);

/*
 * The create form: empty (the read-only role, enabled), or with ?like=KEY_ID that key's role,
 * networks with their labels, POSTback URL and flags; its name, note and expiry are left for the
 * new key (a name is what tells two keys apart, a note says where this one goes, an expiry is one
 * key's own: the model's may be past). A revoked key may be the model too: replacing a leaked key
 * is when this is wanted most.
 */
void page_key_form_new(struct app *app, struct http_request *request, struct http_response *response)
{
	struct key_input input;
	struct store_key like;
	const char *like_id = form_get(&request->query, "like");
	bool liked = like_id != NULL && like_id[0] != '\0';
	if (liked) {
		enum store_status status =
			store_key_get(app->store, request->arena, request->visit->workspace_id, like_id, &like);
		if (status != STORE_OK) {
			page_keys_refused(app, request, response, status);
			return;
		}
		input_from_key(request, &like, &input);
		input.name = "";
		input.note = "";
		input.expires_at = "";
		input.expires_at_kept = 0;
	} else {
		memset(&input, 0, sizeof input);
		input.name = "";
		input.postback_url = "";
		input.enabled = true;
		input.role_id = default_role(app, request);
	}
	render_form_noting(app, request, response, NULL, &input, 1, false, limit_message(app, request, false),
			   liked ? &like : NULL);
}

/* True when the form asked for one more network row rather than to be saved. */
static bool wants_row(struct http_request *request)
{
	const char *action = form_get(&request->form, "action");
	return action != NULL && strcmp(action, "add_cidr") == 0;
}

void page_key_form_create(struct app *app, struct http_request *request, struct http_response *response)
{
	struct key_input input;
	read_input(request, &input);
	if (wants_row(request)) {
		render_form(app, request, response, NULL, &input, 1, false);
		return;
	}
	if (!key_input_check(request->arena, app->store, request->visit->workspace_id, &input)) {
		response->status = 422;
		render_form(app, request, response, NULL, &input, 0, true);
		return;
	}
	struct audit_actor actor = page_actor(request);
	struct keys_secret secret;
	enum store_status status = keys_create(app->store, app->config, request->arena, &actor,
					       request->visit->workspace_id, &input.fields, page_now(), true, &secret);
	if (status == STORE_NOT_FOUND) { /* the role was deleted since the form was checked */
		input.role_error = "That role was deleted meanwhile: choose another. Nothing was saved.";
		response->status = 422;
		render_form(app, request, response, NULL, &input, 0, true);
		return;
	}
	if (status == STORE_LIMIT) {
		const char *message = limit_message(app, request, true);
		response->status = 409;
		render_form_noting(app, request, response, NULL, &input, 0, false,
				   message ? message
					   : "This workspace has as many active keys as it may have. Revoke keys that are "
					     "no longer used, then create this one. Nothing was saved.",
				   NULL);
		return;
	}
	if (status != STORE_OK) {
		page_store_error(app, request, response, status);
		return;
	}
	page_keys_send_to_secret(app, request, response, &secret, "created");
}

/* `unix_time` as a datetime-local field's value ("2027-01-31T18:00", seconds only when not 0); "" for 0. */
static const char *form_time(struct arena *arena, int64_t unix_time)
{
	if (unix_time == 0)
		return "";
	time_t seconds = (time_t)unix_time;
	struct tm parts;
	char text[TEXT_TIME_MAX];
	gmtime_r(&seconds, &parts);
	strftime(text, sizeof text, parts.tm_sec != 0 ? "%Y-%m-%dT%H:%M:%S" : "%Y-%m-%dT%H:%M", &parts);
	return arena_strdup(arena, text);
}

/* The edit form's starting values: the key as stored. */
static void input_from_key(struct http_request *request, const struct store_key *key, struct key_input *input)
{
	memset(input, 0, sizeof *input);
	input->name = key->name;
	input->postback_url = key->postback_url;
	input->note = key->note;
	input->off_record = key->off_record;
	input->enabled = key->enabled;
	input->role_id = arena_printf(request->arena, "%lld", (long long)key->role_id);
	input->expires_at = form_time(request->arena, key->expires_at);
	input->expires_at_kept = key->expires_at;
	input->cidrs = arena_alloc(request->arena, (key->cidr_count + 1) * sizeof *input->cidrs);
	input->cidr_count = key->cidr_count;
	for (size_t i = 0; i < key->cidr_count; i++) {
		input->cidrs[i].cidr = key->cidrs[i].cidr;
		input->cidrs[i].label = key->cidrs[i].label;
	}
}

static bool load_editable_key(struct app *app, struct http_request *request, struct http_response *response,
			      struct store_key *key)
{
	if (!page_load_key(app, request, response, key))
		return false;
	if (key->revoked_at) {
		page_error(app, request, response, 409, "Key revoked",
			   "This key was revoked and can no longer be changed. Create a new key instead.");
		return false;
	}
	return true;
}

void page_key_form_edit(struct app *app, struct http_request *request, struct http_response *response)
{
	struct store_key key;
	if (!load_editable_key(app, request, response, &key))
		return;
	struct key_input input;
	input_from_key(request, &key, &input);
	render_form(app, request, response, &key, &input, 1, false);
}

void page_key_form_update(struct app *app, struct http_request *request, struct http_response *response)
{
	struct store_key key;
	if (!load_editable_key(app, request, response, &key))
		return;
	struct key_input input;
	read_input(request, &input);
	input.expires_at_kept = key.expires_at;
	if (wants_row(request)) {
		render_form(app, request, response, &key, &input, 1, false);
		return;
	}
	if (!key_input_check(request->arena, app->store, request->visit->workspace_id, &input)) {
		response->status = 422;
		render_form(app, request, response, &key, &input, 0, true);
		return;
	}
	struct audit_actor actor = page_actor(request);
	bool changed = false;
	enum store_status status = keys_update(app->store, request->arena, &actor, request->visit->workspace_id,
					       key.key_id, &input.fields, page_now(), &changed);
	if (status == STORE_NOT_FOUND && store_key_get(app->store, request->arena, request->visit->workspace_id,
						      key.key_id, &key) == STORE_OK) {
		input.role_error = "That role was deleted meanwhile: choose another. Nothing was saved.";
		response->status = 422;
		render_form(app, request, response, &key, &input, 0, true);
		return;
	}
	if (status != STORE_OK) {
		page_keys_refused(app, request, response, status);
		return;
	}
	http_response_redirect(response,
			       page_ws_url(app, request, arena_printf(request->arena, "/keys/%s?done=%s", key.key_id,
									 changed ? "updated" : "unchanged")));
}
