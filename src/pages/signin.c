/* signin.c: signing in and out of the console: the form, throttling, the session cookie. */
#include <stdio.h>
#include <string.h>

#include "core/alloc.h"
#include "core/config.h"
#include "domain/accounts.h"
#include "domain/audit.h"
#include "domain/sessions.h"
#include "pages/pages_private.h"
#include "view/view.h"

/* Where to go after signing in: a path of this console ("/w/1/keys..."), never another site. */
static const char *safe_next(struct app *app, struct http_request *request, const char *next)
{
	if (next == NULL || next[0] != '/' || next[1] == '/' || next[1] == '\\' || strlen(next) > HTTP_PATH_MAX ||
	    strpbrk(next, "\r\n") != NULL)
		return page_url(app, request, "/");
	return page_url(app, request, next);
}

void page_audit_everywhere(struct app *app, struct http_request *request, const struct audit_actor *actor,
			     const char *action, const char *summary)
{
	struct store_membership *memberships = NULL;
	size_t count = 0;
	if (store_membership_list_for_user(app->store, request->arena, actor->user_id, &memberships, &count) != STORE_OK)
		return;
	for (size_t i = 0; i < count; i++)
		audit_record(app->store, memberships[i].workspace_id, actor, action, "member", actor->label, summary,
			     page_now());
}

static void render_form(struct app *app, struct http_request *request, struct http_response *response,
			const char *email, const char *next, const char *error)
{
	struct arena *arena = request->arena;
	struct mustache_value *data = page_data(app, request, "Sign in");
	view_set_string(arena, data, "email", email ? email : "");
	view_set_string(arena, data, "next", next ? next : "");
	if (error != NULL)
		view_set_string(arena, data, "error", error);
	const char *done = form_get(&request->query, "done");
	if (done != NULL && strcmp(done, "signed-out") == 0)
		view_set_string(arena, data, "notice", "You are signed out.");
	page_render(app, request, response, "signin", data);
}

void page_signin_form(struct app *app, struct http_request *request, struct http_response *response)
{
	const char *next = form_get(&request->query, "next");
	if (request->visit->session != NULL) {
		http_response_redirect(response, safe_next(app, request, next));
		return;
	}
	render_form(app, request, response, "", next, NULL);
}

static const char *wait_message(struct arena *arena, int64_t seconds, bool locked)
{
	if (locked)
		return arena_printf(arena,
				    "Too many failed sign-ins. For your safety, signing in is paused for %lld more "
				    "minute%s; try again then, or ask an owner to check your account.",
				    (long long)((seconds + 59) / 60), (seconds + 59) / 60 == 1 ? "" : "s");
	return arena_printf(arena, "Several sign-ins failed. Wait %lld second%s before trying again.", (long long)seconds,
			    seconds == 1 ? "" : "s");
}

void page_signin(struct app *app, struct http_request *request, struct http_response *response)
{
	struct arena *arena = request->arena;
	const char *decode_error = NULL;
	const char *email = page_form_value(form_find(&request->form, "email"), &decode_error);
	const char *password = page_form_value(form_find(&request->form, "password"), &decode_error);
	const char *next = page_form_value(form_find(&request->form, "next"), &decode_error);
	if (!page_same_origin(request)) {
		page_error(app, request, response, 403, "Sign-in refused",
			   "This sign-in form was sent from another site. Open the console's own sign-in page and try again.");
		return;
	}
	char folded[ACCOUNT_EMAIL_MAX + 1];
	if (email == NULL || password == NULL || decode_error != NULL ||
	    account_email_problem(email, folded) != NULL || password[0] == '\0') {
		response->status = 422;
		render_form(app, request, response, email, next, "Enter your e-mail address and your password.");
		return;
	}
	int64_t now = page_now(), wait = 0;
	bool locked = false;
	enum store_status status = signin_wait(app->store, folded, request->remote_addr, now, &wait, &locked);
	if (status != STORE_OK) {
		page_store_error(app, request, response, status);
		return;
	}
	if (wait > 0) {
		response->status = 429;
		http_response_header(response, "Retry-After", arena_printf(arena, "%lld", (long long)wait));
		render_form(app, request, response, email, next, wait_message(arena, wait, locked));
		return;
	}
	struct store_user user;
	status = store_user_find_by_email(app->store, arena, folded, &user);
	if (status != STORE_OK && status != STORE_NOT_FOUND) {
		page_store_error(app, request, response, status);
		return;
	}
	bool known = status == STORE_OK;
	if (!account_password_verify(known ? user.password_hash : NULL, password, strlen(password))) {
		signin_failed(app->store, folded, request->remote_addr, now);
		if (known) { /* a known account's owners see the attempt; unknown addresses belong to no workspace */
			struct audit_actor actor = { user.id, user.email, request->remote_addr };
			page_audit_everywhere(app, request, &actor, "signin.failed", "wrong password");
		}
		response->status = 401;
		render_form(app, request, response, email, next,
			    "That e-mail address and password do not match. Check both and try again.");
		return;
	}
	signin_succeeded(app->store, folded);
	if (!page_start_session(app, request, response, user.id, now))
		return;
	struct audit_actor actor = { user.id, user.email, request->remote_addr };
	page_audit_everywhere(app, request, &actor, "signin", "signed in");
	http_response_redirect(response, safe_next(app, request, next));
}

bool page_start_session(struct app *app, struct http_request *request, struct http_response *response, int64_t user_id,
			int64_t now)
{
	/* The session this request came with, if any, ends: one sign-in, one live session per browser. */
	if (request->visit->session_token != NULL)
		session_end(app->store, app->config, request->visit->session_token);
	request->visit->session = NULL;
	request->visit->session_token = NULL;
	char token[SESSION_TOKEN_LENGTH + 1];
	enum store_status status = session_start(app->store, app->config, user_id, now, request->remote_addr, token);
	if (status != STORE_OK) {
		page_store_error(app, request, response, status);
		return false;
	}
	/* A fresh session each time: a cookie planted before sign-in is never promoted (no fixation). */
	http_response_header(response, "Set-Cookie",
			     arena_printf(request->arena, "%s=%s; Path=%s; Max-Age=%d; HttpOnly; SameSite=Lax%s",
					  SESSION_COOKIE, token, app->config->base_path[0] ? app->config->base_path : "/",
					  SESSION_ABSOLUTE_SECONDS, request->https ? "; Secure" : ""));
	/* From here on this request is the new session's (its pages show the person, forms get its token). */
	struct store_session *session = arena_alloc(request->arena, sizeof *session);
	if (session_resume(app->store, app->config, request->arena, token, now, session) == SESSION_VALID) {
		request->visit->session = session;
		request->visit->session_token = arena_strdup(request->arena, token);
	}
	sodium_memzero(token, sizeof token);
	return true;
}

void page_signout(struct app *app, struct http_request *request, struct http_response *response)
{
	const char *csrf = form_get(&request->form, "csrf");
	if (request->visit->session != NULL && !session_csrf_valid(app->config, request->visit->session_token, csrf)) {
		page_error(app, request, response, 403, "Sign-out refused",
			   "This form has expired or came from another site. Reload the page and sign out again.");
		return;
	}
	if (request->visit->session != NULL) {
		struct audit_actor actor = { request->visit->session->user_id, request->visit->session->email, request->remote_addr };
		page_audit_everywhere(app, request, &actor, "signout", "signed out");
		session_end(app->store, app->config, request->visit->session_token);
	}
	http_response_header(response, "Set-Cookie",
			     arena_printf(request->arena, "%s=; Path=%s; Max-Age=0; HttpOnly; SameSite=Lax", SESSION_COOKIE,
					  app->config->base_path[0] ? app->config->base_path : "/"));
	http_response_redirect(response, page_url(app, request, "/signin?done=signed-out"));
}
