/*
 * join.c: opening an invitation link: join the workspace as the invited person (signed in, or
 * with a new account made here), or, with the setup link, make the first owner.
 */
#include <string.h>

#include "core/alloc.h"
#include "core/text.h"
#include "domain/audit.h"
#include "domain/members.h"
#include "pages/pages_private.h"
#include "view/view.h"

/* What an open invitation offers the person holding its link. */
enum join_mode {
	JOIN_SETUP,    /* the first owner: e-mail and password */
	JOIN_CREATE,   /* no account for the invited address yet: choose a password */
	JOIN_SIGN_IN,  /* an account exists and nobody is signed in: sign in first */
	JOIN_ACCEPT,   /* signed in as the invited person: one button */
	JOIN_SOMEONE_ELSE, /* signed in as another person */
};

/*
 * Find the invitation of the link and what it offers; answers (404, 410, 5xx) and returns false
 * when it cannot be used.
 */
static bool load(struct app *app, struct http_request *request, struct http_response *response,
		 struct store_invitation *invitation, enum join_mode *mode)
{
	struct arena *arena = request->arena;
	response->no_store = true;
	enum invitation_state state =
		invitation_find(app->store, app->config, arena, request->path_params[0], page_now(), invitation);
	int64_t users = 0;
	if (state == INVITATION_OPEN && invitation->setup) {
		if (store_user_count(app->store, &users) != STORE_OK)
			state = INVITATION_UNAVAILABLE;
		else if (users > 0)
			state = INVITATION_USED;
	}
	switch (state) {
	case INVITATION_UNKNOWN:
		page_error(app, request, response, 404, "Invitation not found",
			   "This invitation link is not valid: it may have been replaced by a newer one, or cancelled. "
			   "Ask the person who invited you for a new link.");
		return false;
	case INVITATION_USED:
		page_error(app, request, response, 410, "Invitation used up",
			   invitation->setup ? "This setup link was used already or has expired (it works for 24 hours, "
					       "and only until the first account exists). Make a new one with "
					       "keyward setup-link, or sign in."
					     : "This invitation link was used already or has expired (links work for 7 "
					       "days). Ask the person who invited you for a new one.");
		return false;
	case INVITATION_UNAVAILABLE:
		page_store_error(app, request, response, STORE_ERROR);
		return false;
	case INVITATION_OPEN:
		break;
	}
	if (invitation->setup) {
		*mode = JOIN_SETUP;
	} else if (request->visit->session != NULL) {
		*mode = strcasecmp(request->visit->session->email, invitation->email) == 0 ? JOIN_ACCEPT : JOIN_SOMEONE_ELSE;
	} else {
		char folded[ACCOUNT_EMAIL_MAX + 1];
		struct store_user user;
		enum store_status status = account_email_problem(invitation->email, folded) == NULL
						   ? store_user_find_by_email(app->store, arena, folded, &user)
						   : STORE_NOT_FOUND;
		if (status != STORE_OK && status != STORE_NOT_FOUND) {
			page_store_error(app, request, response, status);
			return false;
		}
		*mode = status == STORE_OK ? JOIN_SIGN_IN : JOIN_CREATE;
	}
	return true;
}

/* The join page in `mode`, with what was typed (never a password) and the problems found. */
static void render(struct app *app, struct http_request *request, struct http_response *response,
		   const struct store_invitation *invitation, enum join_mode mode, const char *email,
		   const struct page_field_error *errors, size_t error_count)
{
	struct arena *arena = request->arena;
	struct mustache_value *data =
		page_data(app, request, mode == JOIN_SETUP ? "Set up keyward" : "Join a workspace");
	view_set_string(arena, data, "workspace_name", invitation->workspace_name);
	view_set_string(arena, data, "role", invitation->console_role);
	view_set_string(arena, data, "invited_email", invitation->email);
	view_set_time(arena, data, "expires", invitation->expires_at, "");
	const char *link = page_url(app, request, arena_printf(arena, "/join/%s", request->path_params[0]));
	view_set_string(arena, data, "action_url", link);
	view_set_string(arena, data, "signin_url",
			page_url(app, request, arena_printf(arena, "/signin?next=%%2Fjoin%%2F%s", request->path_params[0])));
	static const char *const modes[] = { "setup", "create", "sign_in", "accept", "someone_else" };
	view_set_bool(arena, data, modes[mode], true);
	view_set_bool(arena, data, "needs_password", mode == JOIN_SETUP || mode == JOIN_CREATE);
	struct mustache_value *form = view_set(data, "form", view_map(arena));
	view_set_string(arena, form, "email", email ? email : "");
	struct page_errors noted;
	page_errors_begin(arena, &noted, form);
	page_errors_note_all(arena, &noted, errors, error_count);
	page_errors_end(arena, &noted);
	if (mode == JOIN_SOMEONE_ELSE && response->status == 200)
		response->status = 403;
	page_render(app, request, response, "join", data);
}

void page_join_show(struct app *app, struct http_request *request, struct http_response *response)
{
	struct store_invitation invitation;
	enum join_mode mode;
	if (load(app, request, response, &invitation, &mode))
		render(app, request, response, &invitation, mode, "", NULL, 0);
}

/* Join as the signed-in person, who is the one invited. */
static void accept_signed_in(struct app *app, struct http_request *request, struct http_response *response,
			     const struct store_invitation *invitation)
{
	if (!session_csrf_valid(app->config, request->visit->session_token, form_get(&request->form, "csrf"))) {
		page_error(app, request, response, 403, "Form expired",
			   "This form has expired or came from another site, so nothing was saved. Open the "
			   "invitation link again.");
		return;
	}
	struct audit_actor actor = page_actor(request);
	enum store_status status = invitation_accept(app->store, request->arena, &actor, invitation, page_now());
	if (status == STORE_NOT_FOUND) {
		page_error(app, request, response, 410, "Invitation used up",
			   "This invitation link was used or expired a moment ago. Ask for a new one.");
		return;
	}
	if (status != STORE_OK) {
		page_store_error(app, request, response, status);
		return;
	}
	http_response_redirect(response, page_url(app, request, arena_printf(request->arena, "/w/%lld/keys?done=joined",
										    (long long)invitation->workspace_id)));
}

/*
 * The account of `email` (`user_id`, password `hash`) was made and joined the workspace: sign it
 * in, or, when that fails, say that the account exists and how to sign in, for it does.
 */
static void accepted_sign_in(struct app *app, struct http_request *request, struct http_response *response,
			     const struct store_invitation *invitation, const char *email, const char *folded,
			     const char *hash, int64_t user_id, int64_t now)
{
	struct arena *arena = request->arena;
	struct store_user user = { .id = user_id, .email = email, .name = "", .password_hash = hash };
	enum store_status status = page_start_session(app, request, response, &user, NULL, NULL, now);
	if (status != STORE_OK) {
		page_error(app, request, response, 503, "Account made; not signed in",
			   arena_printf(arena, "Your account %s is made and is a member of “%s”, but keyward could not "
					       "sign you in just now. Sign in with your e-mail address and the password "
					       "you chose.",
					email, invitation->workspace_name));
		return;
	}
	page_trust_device(app, request, response, folded, hash, NULL);
	http_response_redirect(response, page_url(app, request, arena_printf(arena, "/w/%lld/keys?done=joined",
									    (long long)invitation->workspace_id)));
}

/* Make the account (for the invited address, or any for a setup link), join, and sign in. */
static void accept_new_account(struct app *app, struct http_request *request, struct http_response *response,
			       const struct store_invitation *invitation, enum join_mode mode)
{
	struct arena *arena = request->arena;
	const char *decode_error = NULL;
	const char *typed = page_form_value(form_find(&request->form, "email"), &decode_error);
	const char *password = page_form_value(form_find(&request->form, "password"), &decode_error);
	const char *again = page_form_value(form_find(&request->form, "password_again"), &decode_error);
	const char *email = mode == JOIN_SETUP ? text_trim(arena, typed ? typed : "") : invitation->email;
	password = password ? password : "";
	char folded[ACCOUNT_EMAIL_MAX + 1];
	struct page_field_error errors[] = {
		{ "email_error", account_email_problem(email, folded), "email" },
		{ "password_error", decode_error ? decode_error : account_password_problem(password, strlen(password)),
		  "password" },
		{ "password_again_error", NULL, "password_again" },
	};
	if (errors[1].message == NULL && (again == NULL || strcmp(password, again) != 0))
		errors[2].message = "The two passwords differ. Type the same password twice.";
	if (errors[0].message || errors[1].message || errors[2].message) {
		response->status = 422;
		render(app, request, response, invitation, mode, email, errors, 3);
		return;
	}
	char hash[ACCOUNT_HASH_MAX];
	if (!account_password_hash(password, strlen(password), hash)) {
		page_error(app, request, response, 503, "Busy",
			   "The server could not spare the memory to protect your password. Nothing was saved; try again "
			   "in a moment.");
		return;
	}
	int64_t user_id = 0, now = page_now();
	enum store_status status = invitation_accept_new_user(app->store, arena, invitation, email, folded, hash,
							      request->remote_addr, now, &user_id);
	if (status == STORE_OK) {
		accepted_sign_in(app, request, response, invitation, email, folded, hash, user_id, now);
		sodium_memzero(hash, sizeof hash);
		return;
	}
	sodium_memzero(hash, sizeof hash);
	if (status == STORE_CONFLICT) {
		response->status = 409;
		errors[0].message = "An account with this e-mail address exists already. Sign in with it, then open "
				    "the link again.";
		errors[1].message = NULL;
		render(app, request, response, invitation, mode, email, errors, 1);
		return;
	}
	if (status == STORE_NOT_FOUND) {
		page_error(app, request, response, 410, "Invitation used up",
			   "This link was used or expired a moment ago, so no account was made. Ask for a new one.");
		return;
	}
	page_store_error(app, request, response, status);
}

void page_join_accept(struct app *app, struct http_request *request, struct http_response *response)
{
	struct store_invitation invitation;
	enum join_mode mode;
	if (!load(app, request, response, &invitation, &mode))
		return;
	switch (mode) {
	case JOIN_ACCEPT:
		accept_signed_in(app, request, response, &invitation);
		break;
	case JOIN_SETUP:
	case JOIN_CREATE:
		if (!page_same_origin(app, request)) {
			page_error(app, request, response, 403, "Refused",
				   "This form was sent from another site. Open the invitation link itself and try again.");
			return;
		}
		accept_new_account(app, request, response, &invitation, mode);
		break;
	case JOIN_SIGN_IN:
		response->status = 409;
		render(app, request, response, &invitation, mode, "", NULL, 0);
		break;
	case JOIN_SOMEONE_ELSE:
		render(app, request, response, &invitation, mode, "", NULL, 0);
		break;
	}
}
