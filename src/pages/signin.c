/* signin.c: signing in and out of the console: the form, throttling, the session and device cookies. */
#include <stdio.h>
#include <string.h>

#include "core/alloc.h"
#include "core/config.h"
#include "core/text.h"
#include "domain/accounts.h"
#include "domain/audit.h"
#include "domain/sessions.h"
#include "pages/pages_private.h"
#include "view/view.h"

const char *page_safe_next(struct app *app, struct http_request *request, const char *next)
{
	size_t length = next != NULL ? strlen(next) : 0;
	/* One '/' then a path: "//host" and "/\host" name another site, and browsers drop tabs and newlines. */
	if (length == 0 || next[0] != '/' || next[1] == '/' || next[1] == '\\' || length > HTTP_PATH_MAX ||
	    !utf8_valid(next, length) || text_has_control(next, NULL))
		return page_url(app, request, "/");
	return page_url(app, request, next);
}

static void render_form(struct app *app, struct http_request *request, struct http_response *response,
			const char *email, const char *next, const char *error)
{
	struct arena *arena = request->arena;
	struct mustache_value *data = page_data(app, request, "Sign in");
	view_set_string(arena, data, "email", email ? email : "");
	/* The cursor goes to the first empty field: the address, or the password once it is typed. */
	view_set_bool(arena, data, email != NULL && email[0] != '\0' ? "password_focus" : "email_focus", true);
	view_set_string(arena, data, "next", next ? next : "");
	if (error != NULL)
		view_set_string(arena, data, "error", error);
	const char *done = form_get(&request->query, "done");
	if (done != NULL && strcmp(done, "signed-out") == 0)
		view_set_string(arena, data, "notice", "You are signed out.");
	else if (done != NULL && strcmp(done, "signed-out-everywhere") == 0)
		view_set_string(arena, data, "notice", "You are signed out everywhere: every browser signed in as you "
						      "has to sign in again.");
	page_render(app, request, response, "signin", data);
}

void page_signin_form(struct app *app, struct http_request *request, struct http_response *response)
{
	const char *next = form_get(&request->query, "next");
	if (request->visit->session != NULL) {
		http_response_redirect(response, page_safe_next(app, request, next));
		return;
	}
	render_form(app, request, response, "", next, NULL);
}

const char *page_wait_message(struct arena *arena, int64_t seconds, bool locked)
{
	if (locked)
		return arena_printf(arena,
				    "Too many failed sign-ins. For your safety, signing in is paused for %lld more "
				    "minute%s; try again then, or ask an owner to check your account.",
				    (long long)((seconds + 59) / 60), (seconds + 59) / 60 == 1 ? "" : "s");
	return arena_printf(arena, "Several sign-ins failed. Wait %lld second%s before trying again.", (long long)seconds,
			    seconds == 1 ? "" : "s");
}

bool page_device_id(struct app *app, struct http_request *request, const char *email_folded,
		    const char *password_hash, char id[DEVICE_ID_LENGTH + 1])
{
	return device_cookie_check(app->config, http_request_cookie(request, DEVICE_COOKIE), email_folded, password_hash,
				   id);
}

void page_trust_device(struct app *app, struct http_request *request, struct http_response *response,
		       const char *email_folded, const char *password_hash, const char *id)
{
	char cookie[DEVICE_COOKIE_LENGTH + 1];
	device_cookie_make(app->config, email_folded, password_hash, id, cookie);
	http_response_header(response, "Set-Cookie",
			     arena_printf(request->arena, "%s=%s; Path=%s; Max-Age=%d; HttpOnly; SameSite=Strict%s",
					  DEVICE_COOKIE, cookie, app->config->base_path[0] ? app->config->base_path : "/",
					  DEVICE_COOKIE_SECONDS, request->https ? "; Secure" : ""));
}

/* Note a failed sign-in of a known account in its workspaces' audit logs; the attempt is counted already. */
static void note_failure(struct app *app, struct http_request *request, const struct store_user *user,
			 const char *summary)
{
	if (signin_note_failure(app->store, request->arena, user, request->remote_addr, summary, page_now()) != STORE_OK)
		fprintf(stderr, "keyward: could not write the audit lines of a failed sign-in (the attempt itself is "
				"counted)\n");
}

void page_signin(struct app *app, struct http_request *request, struct http_response *response)
{
	struct arena *arena = request->arena;
	const char *decode_error = NULL;
	const char *email = page_form_value(form_find(&request->form, "email"), &decode_error);
	const char *password = page_form_value(form_find(&request->form, "password"), &decode_error);
	const char *next = page_form_value(form_find(&request->form, "next"), &decode_error);
	if (!page_same_origin(app, request)) {
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
	struct store_user user;
	enum store_status status = store_user_find_by_email(app->store, arena, folded, &user);
	if (status != STORE_OK && status != STORE_NOT_FOUND) {
		page_store_error(app, request, response, status);
		return;
	}
	bool known = status == STORE_OK;
	char device[DEVICE_ID_LENGTH + 1];
	bool trusted = known && page_device_id(app, request, folded, user.password_hash, device);

	/* Counted before the password is checked, so that guesses at the same moment share one budget. */
	struct signin_attempt attempt;
	int64_t wait = 0;
	bool locked = false;
	status = signin_attempt_begin(app->store, folded, trusted ? device : NULL, request->remote_addr, signin_now_ms(),
				      &attempt, &wait, &locked);
	if (status != STORE_OK) {
		page_error(app, request, response, 503, "Sign-in unavailable",
			   "keyward could not record this sign-in attempt, and it checks no password it cannot count, so "
			   "you are not signed in. Try again in a moment; if it keeps failing, the server's error log "
			   "says why.");
		return;
	}
	if (wait > 0) {
		response->status = 429;
		http_response_header(response, "Retry-After", arena_printf(arena, "%lld", (long long)wait));
		render_form(app, request, response, email, next, page_wait_message(arena, wait, locked));
		return;
	}
	if (!account_password_verify(known ? user.password_hash : NULL, password, strlen(password))) {
		if (known) /* a known account's owners see the attempt; unknown addresses belong to no workspace */
			note_failure(app, request, &user, "wrong password");
		response->status = 401;
		render_form(app, request, response, email, next,
			    "That e-mail address and password do not match. Check both and try again.");
		return;
	}
	/* Only someone who knows the password learns that the account is disabled. */
	if (user.disabled_at != 0) {
		note_failure(app, request, &user, "right password, but the account is disabled");
		response->status = 403;
		render_form(app, request, response, email, next,
			    "This account is disabled, so it cannot sign in. Ask whoever runs keyward to enable it "
			    "(keyward user enable).");
		return;
	}
	status = page_start_session(app, request, response, &user, &attempt, "signed in", page_now());
	if (status == STORE_CONFLICT || status == STORE_NOT_FOUND) {
		response->status = 409;
		render_form(app, request, response, email, next,
			    "Your account changed while you were signing in (a new password, or it was disabled or "
			    "removed). You are not signed in; sign in again.");
		return;
	}
	if (status != STORE_OK) {
		page_error(app, request, response, status == STORE_BUSY ? 503 : 500, "Not signed in",
			   "Your password was right, but keyward could not start your session, so you are not signed in. "
			   "Try again in a moment; if it keeps failing, the server's error log says why.");
		return;
	}
	page_trust_device(app, request, response, folded, user.password_hash, trusted ? device : NULL);
	http_response_redirect(response, page_safe_next(app, request, next));
}

enum store_status page_start_session(struct app *app, struct http_request *request, struct http_response *response,
				     const struct store_user *user, const struct signin_attempt *attempt,
				     const char *summary, int64_t now)
{
	char token[SESSION_TOKEN_LENGTH + 1];
	struct signin_success success = {
		.user = user,
		.attempt = attempt,
		.previous_token = request->visit->session_token,
		.client_address = request->remote_addr,
		.summary = summary,
	};
	enum store_status status = session_sign_in(app->store, app->config, request->arena, &success, now, token);
	if (status != STORE_OK)
		return status; /* the browser's session, if any, still works: nothing changed */
	/* A fresh session each time: a cookie planted before sign-in is never promoted (no fixation). */
	http_response_header(response, "Set-Cookie",
			     arena_printf(request->arena, "%s=%s; Path=%s; Max-Age=%d; HttpOnly; SameSite=Lax%s",
					  SESSION_COOKIE, token, app->config->base_path[0] ? app->config->base_path : "/",
					  SESSION_ABSOLUTE_SECONDS, request->https ? "; Secure" : ""));
	/* From here on this request is the new session's (its pages show the person, forms get its token). */
	request->visit->session = NULL;
	request->visit->session_token = NULL;
	struct store_session *session = arena_alloc(request->arena, sizeof *session);
	if (session_resume(app->store, app->config, request->arena, token, now, session) == SESSION_VALID) {
		request->visit->session = session;
		request->visit->session_token = arena_strdup(request->arena, token);
	}
	sodium_memzero(token, sizeof token);
	return STORE_OK;
}

void page_signout(struct app *app, struct http_request *request, struct http_response *response)
{
	const char *csrf = form_get(&request->form, "csrf");
	if (request->visit->session != NULL && !session_csrf_valid(app->config, request->visit->session_token, csrf)) {
		page_error(app, request, response, 403, "Sign-out refused",
			   "This form has expired or came from another site. Reload the page and sign out again.");
		return;
	}
	if (request->visit->session == NULL && request->visit->session_unavailable) {
		page_error(app, request, response, 503, "Not signed out",
			   "keyward could not read its database to find your session, so it could not end it: you may "
			   "still be signed in. Try again in a moment.");
		return;
	}
	if (request->visit->session != NULL) {
		struct audit_actor actor = page_actor(request);
		enum store_status status = session_sign_out(app->store, app->config, request->arena, &actor,
							    request->visit->session_token, page_now());
		if (status != STORE_OK) {
			page_error(app, request, response, status == STORE_BUSY ? 503 : 500, "Not signed out",
				   "keyward could not end your session, so you are still signed in. Try again in a moment; "
				   "if it keeps failing, the server's error log says why.");
			return;
		}
	}
	page_forget_session_cookie(app, request, response);
	http_response_redirect(response, page_url(app, request, "/signin?done=signed-out"));
}

void page_forget_session_cookie(struct app *app, struct http_request *request, struct http_response *response)
{
	http_response_header(response, "Set-Cookie",
			     arena_printf(request->arena, "%s=; Path=%s; Max-Age=0; HttpOnly; SameSite=Lax", SESSION_COOKIE,
					  app->config->base_path[0] ? app->config->base_path : "/"));
}
