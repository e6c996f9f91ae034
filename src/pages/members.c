/*
 * members.c: a workspace's members and pending invitations: the list, inviting someone (the link
 * is shown once), changing a member's console role, removing a member, cancelling an invitation.
 */
#include <stdlib.h>
#include <string.h>

#include "core/alloc.h"
#include "core/text.h"
#include "domain/audit.h"
#include "domain/members.h"
#include "pages/pages_private.h"
#include "view/view.h"

/* The signed-in person's role in this workspace (pages_handle checked they are a member). */
static enum console_role actor_role(const struct http_request *request)
{
	enum console_role role = CONSOLE_VIEWER;
	console_role_parse(request->visit->console_role, &role);
	return role;
}

static const char *done_message(const char *done)
{
	if (done == NULL)
		return NULL;
	if (strcmp(done, "role-changed") == 0)
		return "Role changed. It counts from the member's next click.";
	if (strcmp(done, "removed") == 0)
		return "Member removed. They can no longer open this workspace.";
	if (strcmp(done, "invitation-cancelled") == 0)
		return "Invitation cancelled. Its link no longer works.";
	return NULL;
}

/* The roles `actor` may give someone whose role is `current` (NULL: a newcomer), `selected` marked. */
static struct mustache_value *role_options(struct arena *arena, enum console_role actor, const enum console_role *current,
					   const char *selected)
{
	struct mustache_value *options = view_list(arena);
	for (int role = 0; role < CONSOLE_ROLE_COUNT; role++) {
		if (member_change_problem(actor, current, (enum console_role)role) != NULL)
			continue;
		struct mustache_value *option = view_push_map(arena, options);
		const char *name = console_role_name((enum console_role)role);
		view_set_string(arena, option, "value", name);
		view_set_bool(arena, option, "selected", selected != NULL && strcmp(selected, name) == 0);
	}
	return options;
}

/* What the invite form shows: the typed values and, when it failed, why. */
struct invite_form {
	const char *email;
	const char *role;
	const char *email_error;
	const char *error; /* about the whole form */
};

static void render_list(struct app *app, struct http_request *request, struct http_response *response,
			const struct invite_form *invite)
{
	struct arena *arena = request->arena;
	struct store_member *members = NULL;
	struct store_invitation *invitations = NULL;
	size_t member_count = 0, invitation_count = 0;
	enum store_status status = store_member_list(app->store, arena, request->visit->workspace_id, &members, &member_count);
	if (status == STORE_OK)
		status = store_invitation_list_pending(app->store, arena, request->visit->workspace_id, page_now(), &invitations,
						       &invitation_count);
	if (status != STORE_OK) {
		page_store_error(app, request, response, status);
		return;
	}
	enum console_role actor = actor_role(request);
	bool can_manage = (request->visit->permissions & PERMISSION_MEMBER_MANAGE) != 0;
	struct mustache_value *data = page_data(app, request, "Members");
	struct mustache_value *rows = view_set(data, "members", view_list(arena));
	for (size_t i = 0; i < member_count; i++) {
		struct store_member *member = &members[i];
		enum console_role current = CONSOLE_VIEWER;
		console_role_parse(member->console_role, &current);
		struct mustache_value *row = view_push_map(arena, rows);
		view_set_int(arena, row, "id", member->user_id);
		view_set_string(arena, row, "email", member->email);
		if (member->name[0] != '\0')
			view_set_string(arena, row, "name", member->name);
		view_set_string(arena, row, "role", member->console_role);
		view_set_time(arena, row, "joined", member->joined_at, "");
		view_set_bool(arena, row, "is_self", member->user_id == request->visit->session->user_id);
		view_set_bool(arena, row, "disabled", member->disabled);
		bool manageable = can_manage && member_change_problem(actor, &current, current) == NULL;
		view_set_bool(arena, row, "manageable", manageable);
		if (manageable)
			view_set(row, "roles", role_options(arena, actor, &current, member->console_role));
		view_set_string(arena, row, "url",
				page_ws_url(app, request, arena_printf(arena, "/members/%lld", (long long)member->user_id)));
	}
	struct mustache_value *pending = view_set(data, "invitations", view_list(arena));
	for (size_t i = 0; i < invitation_count; i++) {
		struct mustache_value *row = view_push_map(arena, pending);
		view_set_int(arena, row, "id", invitations[i].id);
		view_set_string(arena, row, "email", invitations[i].email);
		view_set_string(arena, row, "role", invitations[i].console_role);
		view_set_time(arena, row, "expires", invitations[i].expires_at, "");
		view_set_string(arena, row, "cancel_url",
				page_ws_url(app, request, arena_printf(arena, "/invitations/%lld/cancel",
								       (long long)invitations[i].id)));
	}
	view_set_bool(arena, data, "has_invitations", invitation_count > 0);
	if (can_manage) {
		struct mustache_value *form = view_set(data, "invite", view_map(arena));
		view_set_string(arena, form, "email", invite->email);
		view_set(form, "roles", role_options(arena, actor, NULL, invite->role));
		view_set_string(arena, form, "action_url", page_ws_url(app, request, "/members/invite"));
		if (invite->email_error != NULL)
			view_set_string(arena, form, "email_error", invite->email_error);
		if (invite->error != NULL)
			view_set_string(arena, form, "error", invite->error);
	}
	const char *notice = done_message(form_get(&request->query, "done"));
	if (notice != NULL)
		view_set_string(arena, data, "notice", notice);
	page_render(app, request, response, "members", data);
}

void page_members_list(struct app *app, struct http_request *request, struct http_response *response)
{
	struct invite_form invite = { "", "viewer", NULL, NULL };
	render_list(app, request, response, &invite);
}

/* The invite form back with `status` and its problem; nothing was saved. */
static void refuse_invite(struct app *app, struct http_request *request, struct http_response *response, int status,
			  struct invite_form *invite)
{
	response->status = status;
	render_list(app, request, response, invite);
}

void page_members_invite(struct app *app, struct http_request *request, struct http_response *response)
{
	struct arena *arena = request->arena;
	const char *decode_error = NULL;
	const char *email = page_form_value(form_find(&request->form, "email"), &decode_error);
	const char *role_name = page_form_value(form_find(&request->form, "role"), &decode_error);
	struct invite_form invite = { text_trim(arena, email ? email : ""), role_name ? role_name : "", NULL, NULL };
	char folded[ACCOUNT_EMAIL_MAX + 1];
	enum console_role role;
	invite.email_error = decode_error ? decode_error : account_email_problem(invite.email, folded);
	if (invite.email_error != NULL) {
		refuse_invite(app, request, response, 422, &invite);
		return;
	}
	if (!console_role_parse(invite.role, &role)) {
		invite.error = "Choose the console role the new member gets.";
		refuse_invite(app, request, response, 422, &invite);
		return;
	}
	invite.error = member_change_problem(actor_role(request), NULL, role);
	if (invite.error != NULL) {
		refuse_invite(app, request, response, 403, &invite);
		return;
	}
	struct store_user user;
	struct store_membership membership;
	enum store_status status = store_user_find_by_email(app->store, arena, folded, &user);
	if (status == STORE_OK)
		status = store_membership_get(app->store, arena, request->visit->workspace_id, user.id, &membership);
	if (status == STORE_OK) {
		invite.email_error = arena_printf(arena, "%s is already a member of this workspace (%s). Change their "
							 "role in the list instead.", user.email, membership.console_role);
		refuse_invite(app, request, response, 409, &invite);
		return;
	}
	if (status != STORE_NOT_FOUND) {
		page_store_error(app, request, response, status);
		return;
	}
	struct store_invitation invitation = { .workspace_id = request->visit->workspace_id, .email = invite.email,
					       .console_role = console_role_name(role) };
	char token[SESSION_TOKEN_LENGTH + 1];
	struct audit_actor actor = page_actor(request);
	status = invitation_create(app->store, app->config, arena, &actor, &invitation, folded, page_now(), token);
	if (status != STORE_OK) {
		page_store_error(app, request, response, status);
		return;
	}
	struct mustache_value *data = page_data(app, request, "Invitation link");
	view_set_string(arena, data, "email", invite.email);
	view_set_string(arena, data, "role", invitation.console_role);
	view_set_string(arena, data, "link", page_absolute_url(app, request, arena_printf(arena, "/join/%s", token)));
	view_set_time(arena, data, "expires", invitation.expires_at, "");
	sodium_memzero(token, sizeof token);
	response->no_store = true;
	page_render(app, request, response, "invitation_link", data);
}

/* The member of path_params[0], and whether the signed-in person may change them; answers and returns false if not. */
static bool load_member(struct app *app, struct http_request *request, struct http_response *response,
			struct store_member *member, enum console_role *current)
{
	int64_t user_id = 0;
	enum store_status status = http_path_id(request, 0, &user_id)
					   ? store_member_get(app->store, request->arena, request->visit->workspace_id, user_id,
							      member)
					   : STORE_NOT_FOUND;
	if (status == STORE_NOT_FOUND) {
		page_error(app, request, response, 404, "Member not found", "This workspace has no such member.");
		return false;
	}
	if (status != STORE_OK) {
		page_store_error(app, request, response, status);
		return false;
	}
	*current = CONSOLE_VIEWER;
	console_role_parse(member->console_role, current);
	const char *problem = member_change_problem(actor_role(request), current, *current);
	if (problem != NULL) {
		page_error(app, request, response, 403, "Not allowed",
			   arena_printf(request->arena, "%s Nothing was changed.", problem));
		return false;
	}
	return true;
}

/* Answer a member change that was refused: the last owner (409), gone meanwhile (404), or a store failure. True when refused. */
static bool write_refused(struct app *app, struct http_request *request, struct http_response *response,
			  enum store_status status)
{
	if (status == STORE_CONFLICT)
		page_error(app, request, response, 409, "An owner is needed",
			   "A workspace needs at least one owner. Make another member an owner first; nothing was changed.");
	else if (status == STORE_NOT_FOUND)
		page_error(app, request, response, 404, "Member not found",
			   "This person is no longer a member of this workspace; nothing was changed.");
	else if (status != STORE_OK)
		page_store_error(app, request, response, status);
	return status != STORE_OK;
}

void page_members_set_role(struct app *app, struct http_request *request, struct http_response *response)
{
	struct arena *arena = request->arena;
	struct store_member member;
	enum console_role current, wanted;
	if (!load_member(app, request, response, &member, &current))
		return;
	const char *role_name = form_get(&request->form, "role");
	if (role_name == NULL || !console_role_parse(role_name, &wanted)) {
		page_error(app, request, response, 422, "Choose a role",
			   "Choose one of the console roles: owner, admin, developer or viewer. Nothing was changed.");
		return;
	}
	const char *problem = member_change_problem(actor_role(request), &current, wanted);
	if (problem != NULL) {
		page_error(app, request, response, 403, "Not allowed", arena_printf(arena, "%s Nothing was changed.", problem));
		return;
	}
	struct audit_actor actor = page_actor(request);
	enum store_status status = members_set_role(app->store, arena, &actor, request->visit->workspace_id,
						    member.user_id, wanted, page_now());
	if (write_refused(app, request, response, status))
		return;
	http_response_redirect(response, page_ws_url(app, request, "/members?done=role-changed"));
}

void page_members_remove_confirm(struct app *app, struct http_request *request, struct http_response *response)
{
	struct arena *arena = request->arena;
	struct store_member member;
	enum console_role current;
	if (!load_member(app, request, response, &member, &current))
		return;
	struct mustache_value *data = page_data(app, request, "Remove member");
	struct mustache_value *item = view_set(data, "member", view_map(arena));
	view_set_string(arena, item, "email", member.email);
	view_set_string(arena, item, "role", member.console_role);
	view_set_bool(arena, item, "is_self", member.user_id == request->visit->session->user_id);
	view_set_string(arena, item, "url",
			page_ws_url(app, request, arena_printf(arena, "/members/%lld", (long long)member.user_id)));
	page_render(app, request, response, "member_remove", data);
}

void page_members_remove(struct app *app, struct http_request *request, struct http_response *response)
{
	struct store_member member;
	enum console_role current;
	if (!load_member(app, request, response, &member, &current))
		return;
	struct audit_actor actor = page_actor(request);
	enum store_status status = members_remove(app->store, request->arena, &actor, request->visit->workspace_id,
						  member.user_id, page_now());
	if (write_refused(app, request, response, status))
		return;
	if (member.user_id == request->visit->session->user_id)
		http_response_redirect(response, page_url(app, request, "/workspaces"));
	else
		http_response_redirect(response, page_ws_url(app, request, "/members?done=removed"));
}

void page_members_cancel_invitation(struct app *app, struct http_request *request, struct http_response *response)
{
	struct store_invitation cancelled;
	int64_t id = 0;
	struct audit_actor actor = page_actor(request);
	enum store_status status = http_path_id(request, 0, &id)
					   ? invitation_cancel(app->store, request->arena, &actor, request->visit->workspace_id,
							       id, page_now(), &cancelled)
					   : STORE_NOT_FOUND;
	if (status == STORE_NOT_FOUND) {
		page_error(app, request, response, 404, "Invitation not found",
			   "This invitation was accepted or cancelled already, or never existed.");
		return;
	}
	if (status != STORE_OK) {
		page_store_error(app, request, response, status);
		return;
	}
	http_response_redirect(response, page_ws_url(app, request, "/members?done=invitation-cancelled"));
}
