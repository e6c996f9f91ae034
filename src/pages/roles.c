/* roles.c: the key-role pages: list, create, edit, delete (a role no key has). */
#include <stdlib.h>
#include <string.h>

#include "core/alloc.h"
#include "core/buf.h"
#include "domain/audit.h"
#include "domain/role_input.h"
#include "domain/roles.h"
#include "pages/pages_private.h"
#include "view/view.h"

/* The role of path_params[0] into *role; renders 404 and returns false when there is none. */
static bool load_role(struct app *app, struct http_request *request, struct http_response *response,
		      struct store_role *role)
{
	int64_t id = 0;
	enum store_status status = STORE_NOT_FOUND;
	if (http_path_id(request, 0, &id))
		status = store_role_get(app->store, request->arena, request->visit->workspace_id, id, role);
	if (status == STORE_OK)
		return true;
	if (status == STORE_NOT_FOUND)
		page_error(app, request, response, 404, "Role not found", "There is no role with this number in this workspace.");
	else
		page_store_error(app, request, response, status);
	return false;
}

/*
 * How many keys have the role, as links whose words count what they list: {used, active: {text,
 * url}, revoked: {text, url}, both}, each part only when it has keys. "Used by 3 keys" opens the
 * list of the role's 3 keys that are not revoked (the list's default), "1 revoked" the Revoked
 * filter's 1.
 */
static void set_usage(struct app *app, struct http_request *request, struct mustache_value *row, int64_t role_id,
		      int64_t keys, int64_t revoked)
{
	struct arena *arena = request->arena;
	int64_t active = keys - revoked;
	view_set_bool(arena, row, "used", keys > 0);
	view_set_bool(arena, row, "both", active > 0 && revoked > 0);
	if (active > 0) {
		struct mustache_value *link = view_set(row, "active", view_map(arena));
		view_set_string(arena, link, "text", arena_printf(arena, "Used by %lld key%s", (long long)active,
								  active == 1 ? "" : "s"));
		view_set_string(arena, link, "url",
				page_ws_url(app, request, arena_printf(arena, "/keys?role=%lld", (long long)role_id)));
	}
	if (revoked > 0) {
		struct mustache_value *link = view_set(row, "revoked", view_map(arena));
		view_set_string(arena, link, "text",
				active > 0 ? arena_printf(arena, "%lld revoked", (long long)revoked)
					   : arena_printf(arena, "Used by %lld revoked key%s", (long long)revoked,
							  revoked == 1 ? "" : "s"));
		view_set_string(arena, link, "url",
				page_ws_url(app, request, arena_printf(arena, "/keys?role=%lld&status=revoked",
								       (long long)role_id)));
	}
}

/* Each space-separated permission as a list item {name}. */
static struct mustache_value *permission_list(struct arena *arena, const char *permissions)
{
	struct mustache_value *list = view_list(arena);
	const char *cursor = permissions;
	while (*cursor != '\0') {
		cursor += strspn(cursor, " ");
		size_t length = strcspn(cursor, " ");
		if (length == 0)
			break;
		view_set_string(arena, view_push_map(arena, list), "name", arena_strndup(arena, cursor, length));
		cursor += length;
	}
	return list;
}

static const char *done_message(const char *done)
{
	if (done == NULL)
		return NULL;
	if (strcmp(done, "created") == 0)
		return "Role created.";
	if (strcmp(done, "saved") == 0)
		return "Role saved. Keys with this role get its permissions from their next request.";
	if (strcmp(done, "deleted") == 0)
		return "Role deleted.";
	return NULL;
}

void page_roles_list(struct app *app, struct http_request *request, struct http_response *response)
{
	struct arena *arena = request->arena;
	struct store_role *roles = NULL;
	size_t count = 0;
	enum store_status status = store_role_list(app->store, arena, request->visit->workspace_id, &roles, &count);
	if (status != STORE_OK) {
		page_store_error(app, request, response, status);
		return;
	}
	struct mustache_value *data = page_data(app, request, "Key roles");
	struct mustache_value *rows = view_set(data, "roles", view_list(arena));
	for (size_t i = 0; i < count; i++) {
		int64_t keys = 0, revoked = 0;
		status = store_role_usage(app->store, request->visit->workspace_id, roles[i].id, &keys, &revoked);
		if (status != STORE_OK) {
			page_store_error(app, request, response, status);
			return;
		}
		struct mustache_value *row = view_push_map(arena, rows);
		view_set_string(arena, row, "name", roles[i].name);
		view_set_string(arena, row, "description", roles[i].description);
		view_set(row, "permissions", permission_list(arena, roles[i].permissions));
		view_set_bool(arena, row, "no_permissions", roles[i].permissions[0] == '\0');
		set_usage(app, request, row, roles[i].id, keys, revoked);
		view_set_string(arena, row, "url",
				page_ws_url(app, request, arena_printf(arena, "/roles/%lld", (long long)roles[i].id)));
	}
	const char *notice = done_message(form_get(&request->query, "done"));
	if (notice != NULL)
		view_set_string(arena, data, "notice", notice);
	page_render(app, request, response, "roles", data);
}

/* ---- the form --------------------------------------------------------------------------------- */

static void read_input(struct http_request *request, struct role_input *input)
{
	const struct form *form = &request->form;
	memset(input, 0, sizeof *input);
	input->name = page_form_value(form_find(form, "name"), &input->name_error);
	input->description = page_form_value(form_find(form, "description"), &input->description_error);
	input->app_permissions = page_form_value(form_find(form, "app_permissions"), &input->app_permissions_error);
	for (const struct form_pair *pair = form->first; pair != NULL; pair = pair->next)
		if (strcmp(pair->name, "permission") == 0 && pair->status == FORM_VALUE_OK)
			for (int i = 0; i < ROLE_BUILTIN_COUNT; i++)
				if (strcmp(pair->value, role_builtin_permissions[i]) == 0)
					input->builtin[i] = true;
	if (input->name == NULL)
		input->name = "";
	if (input->description == NULL)
		input->description = "";
	if (input->app_permissions == NULL)
		input->app_permissions = "";
}

/* The form's starting values: the role as stored (strings in `arena`). */
static void input_from_role(struct arena *arena, const struct store_role *role, struct role_input *input)
{
	memset(input, 0, sizeof *input);
	input->name = role->name;
	input->description = role->description;
	struct buf others = BUF_INIT;
	const char *cursor = role->permissions;
	while (*cursor != '\0') {
		cursor += strspn(cursor, " ");
		size_t length = strcspn(cursor, " ");
		if (length == 0)
			break;
		bool builtin = false;
		for (int i = 0; i < ROLE_BUILTIN_COUNT; i++)
			if (strlen(role_builtin_permissions[i]) == length && strncmp(cursor, role_builtin_permissions[i], length) == 0)
				builtin = input->builtin[i] = true;
		if (!builtin) {
			if (others.length > 0)
				buf_append(&others, " ", 1);
			buf_append(&others, cursor, length);
		}
		cursor += length;
	}
	input->app_permissions = arena_strndup(arena, others.length > 0 ? others.data : "", others.length);
	buf_free(&others);
}

static void render_form(struct app *app, struct http_request *request, struct http_response *response,
			const struct store_role *role, const struct role_input *input, bool show_errors)
{
	struct arena *arena = request->arena;
	struct mustache_value *data =
		page_data(app, request, role ? arena_printf(arena, "Edit role %s", role->name) : "New key role");
	struct mustache_value *form = view_set(data, "form", view_map(arena));
	view_set_string(arena, form, "name", input->name);
	view_set_string(arena, form, "description", input->description);
	view_set_string(arena, form, "app_permissions", input->app_permissions);
	struct mustache_value *builtins = view_set(form, "builtins", view_list(arena));
	for (int i = 0; i < ROLE_BUILTIN_COUNT; i++) {
		struct mustache_value *item = view_push_map(arena, builtins);
		view_set_string(arena, item, "value", role_builtin_permissions[i]);
		view_set_int(arena, item, "index", i);
		view_set_bool(arena, item, "checked", input->builtin[i]);
	}
	struct page_errors errors;
	page_errors_begin(arena, &errors, form);
	if (show_errors) {
		const struct page_field_error fields[] = {
			{ "name_error", input->name_error, "name" },
			{ "description_error", input->description_error, "description" },
			{ "app_permissions_error", input->app_permissions_error, "app_permissions" },
		};
		page_errors_note_all(arena, &errors, fields, sizeof fields / sizeof fields[0]);
	}
	page_errors_end(arena, &errors);
	if (role != NULL) {
		const char *url = page_ws_url(app, request, arena_printf(arena, "/roles/%lld", (long long)role->id));
		view_set_string(arena, form, "action_url", arena_printf(arena, "%s/edit", url));
		view_set_string(arena, form, "delete_url", arena_printf(arena, "%s/delete", url));
		view_set_string(arena, form, "submit_label", "Save role");
		view_set_bool(arena, data, "editing", true);
	} else {
		view_set_string(arena, form, "action_url", page_ws_url(app, request, "/roles/new"));
		view_set_string(arena, form, "submit_label", "Create role");
	}
	page_render(app, request, response, "role_form", data);
}

void page_roles_new(struct app *app, struct http_request *request, struct http_response *response)
{
	struct role_input input;
	memset(&input, 0, sizeof input);
	input.name = input.description = input.app_permissions = "";
	input.builtin[0] = true; /* api.key.view: what nearly every role needs */
	render_form(app, request, response, NULL, &input, false);
}

void page_roles_create(struct app *app, struct http_request *request, struct http_response *response)
{
	struct role_input input;
	read_input(request, &input);
	if (!role_input_check(request->arena, app->store, request->visit->workspace_id, 0, &input)) {
		response->status = 422;
		render_form(app, request, response, NULL, &input, true);
		return;
	}
	struct audit_actor actor = page_actor(request);
	int64_t role_id = 0;
	enum store_status status = roles_create(app->store, request->arena, &actor, request->visit->workspace_id,
						input.clean_name, input.description, input.permissions, page_now(), &role_id);
	if (status == STORE_CONFLICT) { /* made by someone else since the check */
		input.name_error = "There is already a role with this name.";
		response->status = 422;
		render_form(app, request, response, NULL, &input, true);
		return;
	}
	if (status != STORE_OK) {
		page_store_error(app, request, response, status);
		return;
	}
	http_response_redirect(response, page_ws_url(app, request, "/roles?done=created"));
}

void page_roles_edit(struct app *app, struct http_request *request, struct http_response *response)
{
	struct store_role role;
	if (!load_role(app, request, response, &role))
		return;
	struct role_input input;
	input_from_role(request->arena, &role, &input);
	render_form(app, request, response, &role, &input, false);
}

void page_roles_update(struct app *app, struct http_request *request, struct http_response *response)
{
	struct store_role role;
	if (!load_role(app, request, response, &role))
		return;
	struct role_input input;
	read_input(request, &input);
	if (!role_input_check(request->arena, app->store, request->visit->workspace_id, role.id, &input)) {
		response->status = 422;
		render_form(app, request, response, &role, &input, true);
		return;
	}
	struct audit_actor actor = page_actor(request);
	enum store_status status = roles_update(app->store, request->arena, &actor, request->visit->workspace_id, role.id,
						input.clean_name, input.description, input.permissions, page_now());
	if (status == STORE_CONFLICT) {
		input.name_error = "There is already a role with this name.";
		response->status = 422;
		render_form(app, request, response, &role, &input, true);
		return;
	}
	if (status != STORE_OK) {
		page_store_error(app, request, response, status);
		return;
	}
	http_response_redirect(response, page_ws_url(app, request, "/roles?done=saved"));
}

/* ---- delete ----------------------------------------------------------------------------------- */

static void render_delete(struct app *app, struct http_request *request, struct http_response *response,
			  const struct store_role *role, int64_t keys, int64_t revoked)
{
	struct arena *arena = request->arena;
	struct mustache_value *data = page_data(app, request, arena_printf(arena, "Delete role %s", role->name));
	struct mustache_value *item = view_set(data, "role", view_map(arena));
	view_set_string(arena, item, "name", role->name);
	view_set_string(arena, item, "url", page_ws_url(app, request, arena_printf(arena, "/roles/%lld", (long long)role->id)));
	if (keys > 0)
		view_set_string(arena, item, "in_use",
				arena_printf(arena,
					     "“%s” is used by %lld %s%s. Give %s another role first: a role that keys "
					     "have cannot be deleted, and revoked keys keep the role they had.",
					     role->name, (long long)keys, keys == 1 ? "key" : "keys",
					     revoked > 0 ? arena_printf(arena, " (%lld of them revoked)", (long long)revoked) : "",
					     keys == 1 ? "it" : "them"));
	page_render(app, request, response, "role_delete", data);
}

void page_roles_delete_confirm(struct app *app, struct http_request *request, struct http_response *response)
{
	struct store_role role;
	if (!load_role(app, request, response, &role))
		return;
	int64_t keys = 0, revoked = 0;
	enum store_status status = store_role_usage(app->store, request->visit->workspace_id, role.id, &keys, &revoked);
	if (status != STORE_OK) {
		page_store_error(app, request, response, status);
		return;
	}
	render_delete(app, request, response, &role, keys, revoked);
}

void page_roles_delete(struct app *app, struct http_request *request, struct http_response *response)
{
	struct store_role role;
	if (!load_role(app, request, response, &role))
		return;
	struct audit_actor actor = page_actor(request);
	enum store_status status =
		roles_delete(app->store, request->arena, &actor, request->visit->workspace_id, role.id, page_now());
	if (status == STORE_CONFLICT) {
		int64_t keys = 0, revoked = 0;
		status = store_role_usage(app->store, request->visit->workspace_id, role.id, &keys, &revoked);
		if (status != STORE_OK) {
			page_store_error(app, request, response, status);
			return;
		}
		response->status = 409;
		render_delete(app, request, response, &role, keys, revoked);
		return;
	}
	if (status == STORE_NOT_FOUND) {
		page_error(app, request, response, 404, "Role not found", "There is no role with this number in this workspace.");
		return;
	}
	if (status != STORE_OK) {
		page_store_error(app, request, response, status);
		return;
	}
	http_response_redirect(response, page_ws_url(app, request, "/roles?done=deleted"));
}
