/* pages.c: the route table, request checks before any handler runs, and the shared page helpers. */
#include "pages/pages.h"

#include <stdio.h>
#include <string.h>
#include <time.h>

#include "core/alloc.h"
#include "core/config.h"
#include "domain/accounts.h"
#include "domain/audit.h"
#include "domain/sessions.h"
#include "http/router.h"
#include "http/url.h"
#include "pages/pages_private.h"
#include "view/view.h"

static void home(struct app *app, struct http_request *request, struct http_response *response)
{
	http_response_redirect(response, page_url(app, request, "/keys"));
}

/*
 * What a route asks of the person: nothing (PUBLIC), or to be signed in as a member of the
 * workspace whose console role holds the permissions named (enum console_permission bits).
 */
#define PUBLIC 0u
#define SIGNED_IN (1u << 16)
#define NEEDS(permissions) (SIGNED_IN | (permissions))

static const struct http_route routes[] = {
	{ HTTP_GET, "/", home, SIGNED_IN },
	{ HTTP_GET, "/signin", page_signin_form, PUBLIC },
	{ HTTP_POST, "/signin", page_signin, PUBLIC },
	{ HTTP_POST, "/signout", page_signout, PUBLIC },
	{ HTTP_GET, "/keys", page_keys_list, NEEDS(PERMISSION_KEY_VIEW) },
	{ HTTP_GET, "/keys/new", page_key_form_new, NEEDS(PERMISSION_KEY_CREATE) },
	{ HTTP_POST, "/keys/new", page_key_form_create, NEEDS(PERMISSION_KEY_CREATE) },
	{ HTTP_GET, "/keys/{key}", page_keys_show, NEEDS(PERMISSION_KEY_VIEW) },
	{ HTTP_GET, "/keys/{key}/edit", page_key_form_edit, NEEDS(PERMISSION_KEY_UPDATE) },
	{ HTTP_POST, "/keys/{key}/edit", page_key_form_update, NEEDS(PERMISSION_KEY_UPDATE) },
	{ HTTP_POST, "/keys/{key}/enable", page_keys_enable, NEEDS(PERMISSION_KEY_UPDATE) },
	{ HTTP_POST, "/keys/{key}/disable", page_keys_disable, NEEDS(PERMISSION_KEY_UPDATE) },
	{ HTTP_GET, "/keys/{key}/regenerate", page_keys_regenerate_confirm, NEEDS(PERMISSION_KEY_UPDATE) },
	{ HTTP_POST, "/keys/{key}/regenerate", page_keys_regenerate, NEEDS(PERMISSION_KEY_UPDATE) },
	{ HTTP_GET, "/keys/{key}/revoke", page_keys_revoke_confirm, NEEDS(PERMISSION_KEY_DELETE) },
	{ HTTP_POST, "/keys/{key}/revoke", page_keys_revoke, NEEDS(PERMISSION_KEY_DELETE) },
	{ HTTP_GET, "/keys/{key}/secret", page_keys_secret_show, NEEDS(PERMISSION_KEY_VIEW) },
	{ HTTP_POST, "/keys/{key}/secret", page_keys_secret_close, NEEDS(PERMISSION_KEY_VIEW) },
	{ HTTP_GET, "/audit", page_audit_list, NEEDS(PERMISSION_KEY_VIEW) },
	{ HTTP_GET, "/roles", page_roles_list, NEEDS(PERMISSION_KEY_VIEW) },
	{ HTTP_GET, "/roles/new", page_roles_new, NEEDS(PERMISSION_ROLE_MANAGE) },
	{ HTTP_POST, "/roles/new", page_roles_create, NEEDS(PERMISSION_ROLE_MANAGE) },
	{ HTTP_GET, "/roles/{role}/edit", page_roles_edit, NEEDS(PERMISSION_ROLE_MANAGE) },
	{ HTTP_POST, "/roles/{role}/edit", page_roles_update, NEEDS(PERMISSION_ROLE_MANAGE) },
	{ HTTP_GET, "/roles/{role}/delete", page_roles_delete_confirm, NEEDS(PERMISSION_ROLE_MANAGE) },
	{ HTTP_POST, "/roles/{role}/delete", page_roles_delete, NEEDS(PERMISSION_ROLE_MANAGE) },
};

/* Refuse what no handler should see: bad paths, oversize or foreign bodies. True when refused. */
static bool refuse_early(struct app *app, struct http_request *request, struct http_response *response)
{
	if (!request->path_valid) {
		page_error(app, request, response, strlen(request->path) > HTTP_PATH_MAX ? 414 : 404, "Page not found",
			   "There is no page at this address.");
		return true;
	}
	switch (request->body_status) {
	case HTTP_BODY_TOO_LARGE:
		page_error(app, request, response, 413, "Form too large",
			   "The form sent more than 64 KiB, which is more than any keyward form needs. Nothing was saved.");
		return true;
	case HTTP_BODY_WRONG_TYPE:
	case HTTP_BODY_JSON:
		page_error(app, request, response, 415, "Unsupported form encoding",
			   "keyward accepts forms sent as application/x-www-form-urlencoded. Nothing was saved.");
		return true;
	case HTTP_BODY_INCOMPLETE:
		page_error(app, request, response, 400, "Form incomplete",
			   "The form arrived incomplete. Nothing was saved; please send it again.");
		return true;
	default:
		break;
	}
	if (request->form.truncated) {
		page_error(app, request, response, 413, "Form too large",
			   "The form has more fields than keyward accepts. Nothing was saved.");
		return true;
	}
	return false;
}

/*
 * Who is signed in, from the session cookie (app->session stays NULL when nobody is). Sign-in is
 * not required yet (issue 4 goes on): a signed-in person's changes are logged under their name.
 */
static void resume_session(struct app *app, struct http_request *request)
{
	app->session = NULL;
	app->session_token = NULL;
	const char *token = http_request_cookie(request, SESSION_COOKIE);
	if (token == NULL)
		return;
	struct store_session *session = arena_alloc(request->arena, sizeof *session);
	if (session_resume(app->store, app->config, request->arena, token, page_now(), session) == SESSION_VALID) {
		app->session = session;
		app->session_token = token;
	}
}

static unsigned need_of(http_handler handler)
{
	for (size_t i = 0; i < sizeof routes / sizeof routes[0]; i++)
		if (routes[i].handler == handler)
			return routes[i].need;
	return SIGNED_IN;
}

/*
 * Let the request through to a route that needs `need`, or answer it here: not signed in (to
 * the sign-in page, coming back afterwards), not a member or the role does not allow it (403,
 * saying which role), a form without this session's CSRF token (403, nothing changed).
 */
static bool allowed(struct app *app, struct http_request *request, struct http_response *response, unsigned need)
{
	struct arena *arena = request->arena;
	if (!(need & SIGNED_IN))
		return true;
	if (app->session == NULL) {
		if (request->method == HTTP_POST) {
			response->status = 401;
			page_error(app, request, response, 401, "Signed out",
				   "You are not signed in (or your session ended), so nothing was saved. Sign in, then "
				   "send the form again.");
			return false;
		}
		const char *query = http_request_env(request, "QUERY_STRING");
		const char *here = query && query[0] ? arena_printf(arena, "%s?%s", request->path, query) : request->path;
		http_response_redirect(response, page_url(app, request,
							  arena_printf(arena, "/signin?next=%s", url_query_escape(arena, here))));
		return false;
	}
	const char *role_name = NULL;
	enum console_role role;
	if (store_membership_role(app->store, arena, STORE_DEFAULT_WORKSPACE, app->session->user_id, &role_name) !=
		    STORE_OK ||
	    !console_role_parse(role_name, &role)) {
		page_error(app, request, response, 403, "Not a member",
			   "You are signed in, but not a member of this workspace. Ask one of its owners to invite you.");
		return false;
	}
	unsigned wanted = need & ~SIGNED_IN;
	if ((console_role_permissions(role) & wanted) != wanted) {
		page_error(app, request, response, 403, "Not allowed",
			   arena_printf(arena, "Your role in this workspace (%s) does not allow this. Nothing was changed; an "
					       "owner or admin can change your role.", role_name));
		return false;
	}
	if (request->method == HTTP_POST &&
	    !session_csrf_valid(app->config, app->session_token, form_get(&request->form, "csrf"))) {
		page_error(app, request, response, 403, "Form expired",
			   "This form has expired or came from another site, so nothing was saved. Go back, reload the "
			   "page, and send it again.");
		return false;
	}
	return true;
}

void pages_handle(struct app *app, struct http_request *request)
{
	struct http_response response;
	http_response_init(&response);
	resume_session(app, request);
	if (!refuse_early(app, request, &response)) {
		http_handler handler = NULL;
		char allow[32] = "";
		switch (http_route(routes, sizeof routes / sizeof routes[0], request, &handler, allow, sizeof allow)) {
		case HTTP_ROUTE_FOUND:
			if (allowed(app, request, &response, need_of(handler)))
				handler(app, request, &response);
			break;
		case HTTP_ROUTE_WRONG_METHOD:
			http_response_header(&response, "Allow", arena_strdup(request->arena, allow));
			page_error(app, request, &response, 405, "Method not allowed",
				   arena_printf(request->arena, "This address accepts %s requests only.", allow));
			break;
		case HTTP_ROUTE_NOT_FOUND:
			page_error(app, request, &response, 404, "Page not found", "There is no page at this address.");
			break;
		}
	}
	http_response_send(&response, request);
	http_response_free(&response);
	app->session = NULL;
	app->session_token = NULL;
}

size_t page_field_errors(struct arena *arena, struct mustache_value *form, const struct page_field_error *errors,
			 size_t count)
{
	size_t set = 0;
	for (size_t i = 0; i < count; i++)
		if (errors[i].message != NULL) {
			view_set_string(arena, form, errors[i].field, errors[i].message);
			set++;
		}
	return set;
}

const char *page_form_value(const struct form_pair *pair, const char **error)
{
	if (pair == NULL)
		return NULL;
	if (pair->status != FORM_VALUE_OK) {
		if (*error == NULL)
			*error = form_value_status_message(pair->status);
		return "";
	}
	return pair->value;
}

void page_audit(struct app *app, struct http_request *request, const char *action, const char *target_type,
		const char *target_id, const char *summary)
{
	struct audit_actor actor = { 0, "console", request->remote_addr };
	if (app->session != NULL) {
		actor.user_id = app->session->user_id;
		actor.label = app->session->email;
	}
	audit_record(app->store, STORE_DEFAULT_WORKSPACE, &actor, action, target_type, target_id, summary, page_now());
}

const char *page_role_name(struct app *app, struct http_request *request, int64_t role_id)
{
	struct store_role role;
	if (store_role_get(app->store, request->arena, STORE_DEFAULT_WORKSPACE, role_id, &role) == STORE_OK)
		return role.name;
	return "";
}

const char *page_url(struct app *app, struct http_request *request, const char *path)
{
	return arena_printf(request->arena, "%s%s", app->config->base_path, path);
}

int64_t page_now(void)
{
	return (int64_t)time(NULL);
}

struct mustache_value *page_data(struct app *app, struct http_request *request, const char *title)
{
	struct mustache_value *data = view_map(request->arena);
	view_set_string(request->arena, data, "base", app->config->base_path);
	view_set_string(request->arena, data, "title", title);
	view_set_string(request->arena, data, "version", KEYWARD_VERSION);
	if (app->session != NULL) {
		struct mustache_value *user = view_set(data, "user", view_map(request->arena));
		view_set_string(request->arena, user, "email", app->session->email);
		char csrf[SESSION_CSRF_LENGTH + 1];
		session_csrf_token(app->config, app->session_token, csrf);
		view_set_string(request->arena, user, "csrf", csrf);
		view_set_string(request->arena, data, "csrf", csrf);
	}
	return data;
}

void page_render(struct app *app, struct http_request *request, struct http_response *response, const char *name,
		 struct mustache_value *data)
{
	(void)request;
	buf_clear(&response->body);
	if (!view_render(app->view, name, data, &response->body)) {
		buf_clear(&response->body);
		response->status = 500;
		response->content_type = "text/plain; charset=utf-8";
		buf_puts(&response->body, "keyward: a page template is missing; see the server's error log.\n");
	}
}

void page_error(struct app *app, struct http_request *request, struct http_response *response, int status,
		const char *title, const char *message)
{
	response->status = status;
	struct mustache_value *data = page_data(app, request, title);
	view_set_int(request->arena, data, "status", status);
	view_set_string(request->arena, data, "status_text", http_status_text(status));
	view_set_string(request->arena, data, "message", message);
	page_render(app, request, response, "error", data);
}

void page_store_error(struct app *app, struct http_request *request, struct http_response *response,
		      enum store_status status)
{
	if (status == STORE_BUSY)
		page_error(app, request, response, 503, "Busy",
			   "The database is busy. Nothing was changed; please try again in a moment.");
	else
		page_error(app, request, response, 500, "Something went wrong",
			   "keyward could not read or write its database. Nothing was changed. The server's error log says more.");
}

bool page_load_key(struct app *app, struct http_request *request, struct http_response *response,
		   struct store_key *key)
{
	enum store_status status =
		store_key_get(app->store, request->arena, STORE_DEFAULT_WORKSPACE, request->path_params[0], key);
	if (status == STORE_OK)
		return true;
	if (status == STORE_NOT_FOUND)
		page_error(app, request, response, 404, "Key not found",
			   "There is no key with this ID in this workspace.");
	else
		page_store_error(app, request, response, status);
	return false;
}
