/* account.c: the signed-in person's own account: their workspaces, a new password, signing out everywhere. */
#include <stdio.h>
#include <string.h>

#include "core/alloc.h"
#include "core/config.h"
#include "domain/accounts.h"
#include "domain/sessions.h"
#include "domain/users.h"
#include "pages/pages_private.h"
#include "view/view.h"

#define FIELD_COUNT 3 /* current_password, password, password_again */

/* The account page, with the password form's problems (`errors`, NULL: none) and a notice. */
static void render(struct app *app, struct http_request *request, struct http_response *response,
		   const struct page_field_error *errors, const char *notice)
{
	struct arena *arena = request->arena;
	const struct store_session *session = request->visit->session;
	struct store_membership *memberships = NULL;
	size_t count = 0;
	int64_t now = page_now(), live = 0;
	enum store_status status =
		store_membership_list_for_user(app->store, arena, session->user_id, &memberships, &count);
	if (status == STORE_OK)
		status = store_session_count_for_user(app->store, session->user_id, now, now - SESSION_IDLE_SECONDS, &live);
	if (status != STORE_OK) {
		page_store_error(app, request, response, status);
		return;
	}
	struct mustache_value *data = page_data(app, request, "Your account");
	view_set_string(arena, data, "account_email", session->email);
	if (notice != NULL)
		view_set_string(arena, data, "notice", notice);
	struct mustache_value *list = view_set(data, "workspaces", view_list(arena));
	for (size_t i = 0; i < count; i++) {
		struct mustache_value *item = view_push_map(arena, list);
		view_set_string(arena, item, "name", memberships[i].workspace_name);
		view_set_string(arena, item, "role", memberships[i].console_role);
		view_set_string(arena, item, "url", page_url(app, request, arena_printf(arena, "/w/%lld/",
										       (long long)memberships[i].workspace_id)));
	}
	view_set_bool(arena, data, "has_workspaces", count > 0);
	view_set_string(arena, data, "sessions_text",
			live <= 1 ? "here only"
				  : arena_printf(arena, "in %lld browsers (this one included)", (long long)live));
	struct mustache_value *form = view_set(data, "form", view_map(arena));
	view_set_string(arena, form, "account_email", session->email);
	struct page_errors noted;
	page_errors_begin(arena, &noted, form);
	if (errors != NULL)
		page_errors_note_all(arena, &noted, errors, FIELD_COUNT);
	page_errors_end(arena, &noted);
	page_render(app, request, response, "account", data);
}

void page_account(struct app *app, struct http_request *request, struct http_response *response)
{
	const char *done = form_get(&request->query, "done");
	const char *notice = NULL;
	if (done != NULL && strcmp(done, "password-changed") == 0)
		notice = "Your password is changed. You are still signed in here; every other browser was signed out.";
	render(app, request, response, NULL, notice);
}

/* Answer the password form with its problems (status 422, or what the caller set). */
static void refuse(struct app *app, struct http_request *request, struct http_response *response, int status,
		   struct page_field_error errors[FIELD_COUNT])
{
	response->status = status;
	render(app, request, response, errors, NULL);
}

void page_account_password(struct app *app, struct http_request *request, struct http_response *response)
{
	struct arena *arena = request->arena;
	const struct store_session *session = request->visit->session;
	const char *decode_error = NULL;
	const char *current = page_form_value(form_find(&request->form, "current_password"), &decode_error);
	const char *password = page_form_value(form_find(&request->form, "password"), &decode_error);
	const char *again = page_form_value(form_find(&request->form, "password_again"), &decode_error);
	current = current ? current : "";
	password = password ? password : "";
	again = again ? again : "";
	struct page_field_error errors[FIELD_COUNT] = {
		{ "current_password_error", NULL, "current_password" },
		{ "password_error", NULL, "password" },
		{ "password_again_error", NULL, "password_again" },
	};
	if (decode_error != NULL)
		errors[1].message = decode_error;
	if (current[0] == '\0')
		errors[0].message = "Enter your current password.";
	if (errors[1].message == NULL)
		errors[1].message = account_password_problem(password, strlen(password));
	if (errors[1].message == NULL && strcmp(password, again) != 0)
		errors[2].message = "The two new passwords differ. Type the same password twice.";
	if (errors[1].message == NULL && errors[2].message == NULL && strcmp(password, current) == 0)
		errors[1].message = "That is your current password. Choose a new one.";
	if (errors[0].message || errors[1].message || errors[2].message) {
		refuse(app, request, response, 422, errors);
		return;
	}

	/* The current password is checked as a sign-in is: counted first, throttled the same way. */
	struct store_user user;
	enum store_status status = store_user_get(app->store, arena, session->user_id, &user);
	char folded[ACCOUNT_EMAIL_MAX + 1];
	if (status == STORE_OK && account_email_problem(user.email, folded) != NULL)
		status = STORE_ERROR;
	char device[DEVICE_ID_LENGTH + 1];
	bool trusted = status == STORE_OK && page_device_id(app, request, folded, user.password_hash, device);
	struct signin_attempt attempt;
	int64_t wait = 0;
	bool locked = false;
	if (status == STORE_OK)
		status = signin_attempt_begin(app->store, folded, trusted ? device : NULL, request->remote_addr,
					      signin_now_ms(), &attempt, &wait, &locked);
	if (status != STORE_OK) {
		page_error(app, request, response, 503, "Password not changed",
			   "keyward could not read your account or record this attempt, so it checked nothing and your "
			   "password is unchanged. Try again in a moment.");
		return;
	}
	if (wait > 0) {
		http_response_header(response, "Retry-After", arena_printf(arena, "%lld", (long long)wait));
		errors[0].message = page_wait_message(arena, wait, locked);
		refuse(app, request, response, 429, errors);
		return;
	}
	if (!account_password_verify(user.password_hash, current, strlen(current))) {
		if (signin_note_failure(app->store, arena, &user, request->remote_addr,
					"wrong current password (changing the password)", page_now()) != STORE_OK)
			fprintf(stderr, "keyward: could not write the audit lines of a wrong current password (the attempt "
					"itself is counted)\n");
		errors[0].message = "That is not your current password.";
		refuse(app, request, response, 422, errors);
		return;
	}
	char hash[ACCOUNT_HASH_MAX];
	if (!account_password_hash(password, strlen(password), hash)) {
		page_error(app, request, response, 503, "Password not changed",
			   "The server could not spare the memory to protect your new password, so your password is "
			   "unchanged. Try again in a moment.");
		return;
	}
	struct audit_actor actor = page_actor(request);
	int64_t ended = 0;
	status = users_change_password(app->store, arena, &actor, &attempt, user.password_hash, hash, session->id,
				       page_now(), &ended);
	if (status == STORE_CONFLICT) {
		sodium_memzero(hash, sizeof hash);
		page_error(app, request, response, 409, "Password not changed",
			   "Your password was changed elsewhere a moment ago (or your account was disabled), so this one "
			   "was not saved. Reload the page to see where things stand.");
		return;
	}
	if (status != STORE_OK) {
		sodium_memzero(hash, sizeof hash);
		page_store_error(app, request, response, status);
		return;
	}
	/* This browser just proved the password: it stays trusted, now for the new one. */
	page_trust_device(app, request, response, folded, hash, trusted ? device : NULL);
	sodium_memzero(hash, sizeof hash);
	http_response_redirect(response, page_url(app, request, "/account?done=password-changed"));
}

void page_account_signout_everywhere(struct app *app, struct http_request *request, struct http_response *response)
{
	struct audit_actor actor = page_actor(request);
	int64_t ended = 0;
	enum store_status status = users_sign_out_everywhere(app->store, request->arena, &actor, page_now(), &ended);
	if (status != STORE_OK) {
		page_error(app, request, response, status == STORE_BUSY ? 503 : 500, "Not signed out",
			   "keyward could not end your sessions, so you are still signed in, here and elsewhere. Try "
			   "again in a moment; if it keeps failing, the server's error log says why.");
		return;
	}
	page_forget_session_cookie(app, request, response);
	http_response_redirect(response, page_url(app, request, "/signin?done=signed-out-everywhere"));
}
