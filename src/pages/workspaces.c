/* workspaces.c: the list of the signed-in person's workspaces, and making a new one (owners only). */
#include <string.h>

#include "core/alloc.h"
#include "core/text.h"
#include "domain/audit.h"
#include "domain/members.h"
#include "pages/pages_private.h"
#include "view/view.h"

static void render_list(struct app *app, struct http_request *request, struct http_response *response,
			const char *name, const char *name_error)
{
	struct arena *arena = request->arena;
	struct store_membership *memberships = NULL;
	size_t count = 0;
	enum store_status status =
		store_membership_list_for_user(app->store, arena, request->visit->session->user_id, &memberships, &count);
	if (status != STORE_OK) {
		page_store_error(app, request, response, status);
		return;
	}
	struct mustache_value *data = page_data(app, request, "Workspaces");
	struct mustache_value *rows = view_set(data, "workspaces", view_list(arena));
	for (size_t i = 0; i < count; i++) {
		struct mustache_value *row = view_push_map(arena, rows);
		view_set_string(arena, row, "name", memberships[i].workspace_name);
		view_set_string(arena, row, "role", memberships[i].console_role);
		view_set_string(arena, row, "url",
				page_url(app, request, arena_printf(arena, "/w/%lld/keys",
								    (long long)memberships[i].workspace_id)));
	}
	view_set_bool(arena, data, "none", count == 0);
	bool may_create = false;
	status = workspaces_may_create(app->store, arena, request->visit->session->user_id, &may_create);
	if (status != STORE_OK) {
		page_store_error(app, request, response, status);
		return;
	}
	if (may_create) {
		struct mustache_value *form = view_set(data, "form", view_map(arena));
		view_set_string(arena, form, "name", name);
		if (name_error != NULL)
			view_set_string(arena, form, "name_error", name_error);
	}
	page_render(app, request, response, "workspaces", data);
}

static void refuse_not_owner(struct app *app, struct http_request *request, struct http_response *response)
{
	page_error(app, request, response, 403, "Not allowed",
		   "Only an owner of a workspace can make a new one. Nothing was changed; ask an owner to make it, or to "
		   "invite you to an existing one.");
}

void page_workspaces_list(struct app *app, struct http_request *request, struct http_response *response)
{
	render_list(app, request, response, "", NULL);
}

void page_workspaces_create(struct app *app, struct http_request *request, struct http_response *response)
{
	struct arena *arena = request->arena;
	bool may_create = false;
	enum store_status allowed = workspaces_may_create(app->store, arena, request->visit->session->user_id, &may_create);
	if (allowed != STORE_OK) {
		page_store_error(app, request, response, allowed);
		return;
	}
	if (!may_create) {
		refuse_not_owner(app, request, response);
		return;
	}
	const char *error = NULL;
	const char *name = page_form_value(form_find(&request->form, "name"), &error);
	name = text_trim(arena, name ? name : "");
	if (error == NULL)
		error = workspace_name_problem(name);
	if (error != NULL) {
		response->status = 422;
		render_list(app, request, response, name, error);
		return;
	}
	int64_t workspace_id = 0;
	struct audit_actor actor = page_actor(request);
	enum store_status status = workspaces_create(app->store, arena, &actor, name, actor.user_id, page_now(),
						     &workspace_id);
	if (status == STORE_CONFLICT) { /* no longer an owner anywhere since the check above */
		refuse_not_owner(app, request, response);
		return;
	}
	if (status != STORE_OK) {
		page_store_error(app, request, response, status);
		return;
	}
	http_response_redirect(response, page_url(app, request, arena_printf(arena, "/w/%lld/keys?done=workspace-created",
									    (long long)workspace_id)));
}
