/* key_allowlist.c: the key page's Allowlist tab: its networks, the switch, one network added or removed. */
#include <string.h>

#include "core/alloc.h"
#include "core/text.h"
#include "domain/allowlist.h"
#include "domain/key_input.h"
#include "pages/pages_private.h"
#include "view/view.h"

/* What the add form sent, and what is wrong with it (NULL: fine). */
struct add_form {
	struct key_cidr_input row;
	const char *error; /* about the list: a duplicate, no room */
};

/* After a change: the tab's ?done= words and their sentences. */
static const struct {
	const char *done;
	const char *message;
} done_messages[] = {
	{ "allowlist-off", "Allowlist switched off. Any address may use this key; its networks are kept for when you "
			   "switch it on again." },
	{ "allowlist-on", "Allowlist switched on. Only addresses in its networks may use this key." },
	{ "was-off", "The allowlist was switched off already. Nothing was changed." },
	{ "was-on", "The allowlist was switched on already. Nothing was changed." },
	{ "network-added", "Network added." },
	{ "network-removed", "Network removed." },
	{ "network-gone", "That network is not in the list (any more). Nothing was changed." },
};

static const char *done_message(const char *done)
{
	for (size_t i = 0; done != NULL && i < sizeof done_messages / sizeof done_messages[0]; i++)
		if (strcmp(done, done_messages[i].done) == 0)
			return done_messages[i].message;
	return NULL;
}

/* The question asked before removing network `index` of `key` (JavaScript on). */
static const char *remove_question(struct arena *arena, const struct store_key *key, size_t index)
{
	const struct store_cidr *network = &key->cidrs[index];
	const char *named = network->label[0] ? arena_printf(arena, "%s (%s)", network->cidr, network->label)
					      : network->cidr;
	const char *after = key->cidr_count == 1 && key->allowlist_enabled
				    ? " No network will be left: any address may use the key."
				    : "";
	return arena_printf(arena, "Remove %s from the allowlist of “%s”?%s", named, key->name, after);
}

/*
 * Render the tab of `key`, with `add` (NULL: an empty add form) as typed and its messages; the
 * caller set the status (422 for a refused add).
 */
static void render_tab(struct app *app, struct http_request *request, struct http_response *response,
		       const struct store_key *key, const struct add_form *add)
{
	struct arena *arena = request->arena;
	struct mustache_value *data = page_data(app, request, arena_printf(arena, "Allowlist of %s", key->name));
	struct mustache_value *item = view_set(data, "key", page_key_value(app, request, key));
	bool enforced = key->allowlist_enabled && key->cidr_count > 0;
	view_set_bool(arena, item, "switched_on", key->allowlist_enabled);
	view_set_bool(arena, item, "enforced", enforced);
	view_set_bool(arena, item, "open_empty", key->allowlist_enabled && key->cidr_count == 0);
	view_set_bool(arena, item, "switched_off", !key->allowlist_enabled);
	view_set_bool(arena, item, "changeable", key->revoked_at == 0);
	view_set_bool(arena, item, "full", key->cidr_count >= KEY_CIDRS_MAX);
	/* A full list needs no add form, unless one was sent: then it shows what was typed, and why not. */
	view_set_bool(arena, item, "show_add", key->cidr_count < KEY_CIDRS_MAX || add != NULL);
	view_set_int(arena, item, "cidr_count", (int64_t)key->cidr_count);
	view_set_bool(arena, item, "cidr_one", key->cidr_count == 1);
	view_set_string(arena, item, "off_question",
			arena_printf(arena, "Switch the allowlist of “%s” off? Any address may use the key until you "
					    "switch it on again; its networks are kept.",
				     key->name));
	struct mustache_value *rows = view_set(item, "networks", view_list(arena));
	for (size_t i = 0; i < key->cidr_count; i++) {
		struct mustache_value *row = view_push_map(arena, rows);
		view_set_string(arena, row, "cidr", key->cidrs[i].cidr);
		view_set_string(arena, row, "label", key->cidrs[i].label);
		view_set_bool(arena, row, "has_label", key->cidrs[i].label[0] != '\0');
		view_set_string(arena, row, "question", remove_question(arena, key, i));
	}

	struct mustache_value *form = view_set(data, "add", view_map(arena));
	view_set_string(arena, form, "cidr", add ? add->row.cidr : "");
	view_set_string(arena, form, "label", add ? add->row.label : "");
	struct page_errors errors;
	page_errors_begin(arena, &errors, form);
	if (add != NULL) {
		const struct page_field_error fields[] = {
			{ "cidr_error", add->row.cidr_error ? add->row.cidr_error : add->error, "add-cidr" },
			{ "label_error", add->row.label_error, "add-label" },
		};
		page_errors_note_all(arena, &errors, fields, sizeof fields / sizeof fields[0]);
	}
	page_errors_end(arena, &errors);

	const char *notice = done_message(form_get(&request->query, "done"));
	if (notice != NULL)
		view_set_string(arena, data, "notice", notice);
	page_render(app, request, response, "key_allowlist", data);
}

void page_keys_allowlist(struct app *app, struct http_request *request, struct http_response *response)
{
	struct store_key key;
	if (page_load_key(app, request, response, &key))
		render_tab(app, request, response, &key, NULL);
}

/* Back to the tab with a ?done= word. */
static void back_to_tab(struct app *app, struct http_request *request, struct http_response *response,
			const char *key_id, const char *done)
{
	http_response_redirect(response, page_ws_url(app, request, arena_printf(request->arena, "/keys/%s/allowlist?done=%s",
										  key_id, done)));
}

static void set_switch(struct app *app, struct http_request *request, struct http_response *response, bool enabled)
{
	struct audit_actor actor = page_actor(request);
	const char *key_id = request->path_params[0];
	enum allowlist_outcome outcome;
	enum store_status status = allowlist_switch(app->store, request->arena, &actor, request->visit->workspace_id,
						    key_id, enabled, page_now(), &outcome);
	if (status != STORE_OK) {
		page_keys_refused(app, request, response, status);
		return;
	}
	const char *done = outcome == ALLOWLIST_CHANGED ? (enabled ? "allowlist-on" : "allowlist-off")
							: (enabled ? "was-on" : "was-off");
	back_to_tab(app, request, response, key_id, done);
}

void page_keys_allowlist_on(struct app *app, struct http_request *request, struct http_response *response)
{
	set_switch(app, request, response, true);
}

void page_keys_allowlist_off(struct app *app, struct http_request *request, struct http_response *response)
{
	set_switch(app, request, response, false);
}

void page_keys_allowlist_add(struct app *app, struct http_request *request, struct http_response *response)
{
	struct store_key key;
	if (!page_load_key(app, request, response, &key))
		return;
	if (key.revoked_at != 0) {
		page_keys_refused(app, request, response, STORE_CONFLICT);
		return;
	}
	struct add_form add;
	memset(&add, 0, sizeof add);
	add.row.cidr = page_form_value(form_find(&request->form, "cidr"), &add.row.cidr_error);
	add.row.label = page_form_value(form_find(&request->form, "label"), &add.row.label_error);
	if (add.row.cidr == NULL)
		add.row.cidr = "";
	if (add.row.label == NULL)
		add.row.label = "";
	struct store_cidr network;
	if (!key_input_check_cidr(request->arena, &add.row, &network)) {
		response->status = 422;
		render_tab(app, request, response, &key, &add);
		return;
	}
	struct audit_actor actor = page_actor(request);
	enum allowlist_outcome outcome;
	enum store_status status = allowlist_add(app->store, request->arena, &actor, request->visit->workspace_id,
						 key.key_id, &network, page_now(), &outcome);
	if (status != STORE_OK) {
		page_keys_refused(app, request, response, status);
		return;
	}
	if (outcome != ALLOWLIST_CHANGED) {
		/* The list as it is now (someone may have added it meanwhile), with what was typed. */
		if (!page_load_key(app, request, response, &key))
			return;
		add.error = allowlist_refusal(request->arena, outcome, network.cidr);
		response->status = 422;
		render_tab(app, request, response, &key, &add);
		return;
	}
	back_to_tab(app, request, response, key.key_id, "network-added");
}

void page_keys_allowlist_remove(struct app *app, struct http_request *request, struct http_response *response)
{
	const char *key_id = request->path_params[0];
	const char *cidr = form_get(&request->form, "cidr"); /* none: "", which no listed network is */
	struct audit_actor actor = page_actor(request);
	enum allowlist_outcome outcome;
	enum store_status status = allowlist_remove(app->store, request->arena, &actor, request->visit->workspace_id,
						    key_id, cidr ? cidr : "", page_now(), &outcome);
	if (status != STORE_OK) {
		page_keys_refused(app, request, response, status);
		return;
	}
	back_to_tab(app, request, response, key_id, outcome == ALLOWLIST_CHANGED ? "network-removed" : "network-gone");
}
