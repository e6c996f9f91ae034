/* pages.c: the route table, request checks before any handler runs, and the shared page helpers. */
#include "pages/pages.h"

#include <stdio.h>
#include <string.h>
#include <strings.h>
#include <time.h>

#include "core/alloc.h"
#include "core/config.h"
#include "core/text.h"
#include "domain/accounts.h"
#include "domain/audit.h"
#include "domain/sessions.h"
#include "http/router.h"
#include "http/url.h"
#include "pages/pages_private.h"
#include "view/view.h"

/* The console's front door: the first of the person's workspaces, or the list when they have none. */
static void home(struct app *app, struct http_request *request, struct http_response *response)
{
	struct store_membership *memberships = NULL;
	size_t count = 0;
	enum store_status status =
		store_membership_list_for_user(app->store, request->arena, request->visit->session->user_id, &memberships, &count);
	if (status != STORE_OK) {
		page_store_error(app, request, response, status);
		return;
	}
	if (count == 0) {
		http_response_redirect(response, page_url(app, request, "/workspaces"));
		return;
	}
	http_response_redirect(response, page_url(app, request, arena_printf(request->arena, "/w/%lld/",
									    (long long)memberships[0].workspace_id)));
}

/* /w/{id} without the slash: to the dashboard at /w/{id}/. */
static void workspace_home(struct app *app, struct http_request *request, struct http_response *response)
{
	http_response_redirect(response, page_ws_url(app, request, "/"));
}

/*
 * What a route asks of the person: nothing (PUBLIC), or to be signed in (SIGNED_IN), and for a
 * workspace's routes to be a member whose console role holds the permissions named
 * (enum console_permission bits).
 */
#define PUBLIC 0u
#define SIGNED_IN (1u << 16)
#define NEEDS(permissions) (SIGNED_IN | (permissions))

/* Routes outside any workspace. */
static const struct http_route routes[] = {
	{ HTTP_GET, "/", home, SIGNED_IN },
	{ HTTP_GET, "/signin", page_signin_form, PUBLIC },
	{ HTTP_POST, "/signin", page_signin, PUBLIC },
	{ HTTP_POST, "/signout", page_signout, PUBLIC },
	{ HTTP_GET, "/account", page_account, SIGNED_IN },
	{ HTTP_POST, "/account/password", page_account_password, SIGNED_IN },
	{ HTTP_POST, "/account/signout-everywhere", page_account_signout_everywhere, SIGNED_IN },
	{ HTTP_GET, "/workspaces", page_workspaces_list, SIGNED_IN },
	{ HTTP_POST, "/workspaces", page_workspaces_create, SIGNED_IN },
	{ HTTP_GET, "/join/{token}", page_join_show, PUBLIC },
	{ HTTP_POST, "/join/{token}", page_join_accept, PUBLIC },
};

/* Routes of one workspace, below /w/{id}: only its members reach them; others get 404. */
static const struct http_route workspace_routes[] = {
	{ HTTP_GET, "", workspace_home, NEEDS(PERMISSION_KEY_VIEW) },
	{ HTTP_GET, "/", page_dashboard, NEEDS(PERMISSION_KEY_VIEW) },
	{ HTTP_GET, "/keys", page_keys_list, NEEDS(PERMISSION_KEY_VIEW) },
	{ HTTP_POST, "/keys/find", page_keys_find, NEEDS(PERMISSION_KEY_VIEW) },
	{ HTTP_GET, "/keys.csv", page_keys_export, NEEDS(PERMISSION_KEY_VIEW) },
	/* Before /keys/{key}/…, which "bulk" would match too (it is no key ID). */
	{ HTTP_GET, "/keys/bulk/disable", page_keys_bulk_disable_confirm, NEEDS(PERMISSION_KEY_UPDATE) },
	{ HTTP_POST, "/keys/bulk/disable", page_keys_bulk_disable, NEEDS(PERMISSION_KEY_UPDATE) },
	{ HTTP_GET, "/keys/bulk/enable", page_keys_bulk_enable_confirm, NEEDS(PERMISSION_KEY_UPDATE) },
	{ HTTP_POST, "/keys/bulk/enable", page_keys_bulk_enable, NEEDS(PERMISSION_KEY_UPDATE) },
	{ HTTP_GET, "/keys/bulk/revoke", page_keys_bulk_revoke_confirm, NEEDS(PERMISSION_KEY_DELETE) },
	{ HTTP_POST, "/keys/bulk/revoke", page_keys_bulk_revoke, NEEDS(PERMISSION_KEY_DELETE) },
	{ HTTP_GET, "/keys/new", page_key_form_new, NEEDS(PERMISSION_KEY_CREATE) },
	{ HTTP_POST, "/keys/new", page_key_form_create, NEEDS(PERMISSION_KEY_CREATE) },
	{ HTTP_GET, "/keys/{key}", page_keys_show, NEEDS(PERMISSION_KEY_VIEW) },
	{ HTTP_GET, "/keys/{key}/edit", page_key_form_edit, NEEDS(PERMISSION_KEY_UPDATE) },
	{ HTTP_POST, "/keys/{key}/edit", page_key_form_update, NEEDS(PERMISSION_KEY_UPDATE) },
	{ HTTP_POST, "/keys/{key}/enable", page_keys_enable, NEEDS(PERMISSION_KEY_UPDATE) },
	{ HTTP_POST, "/keys/{key}/disable", page_keys_disable, NEEDS(PERMISSION_KEY_UPDATE) },
	{ HTTP_GET, "/keys/{key}/regenerate", page_keys_regenerate_confirm, NEEDS(PERMISSION_KEY_UPDATE) },
	{ HTTP_POST, "/keys/{key}/regenerate", page_keys_regenerate, NEEDS(PERMISSION_KEY_UPDATE) },
	{ HTTP_POST, "/keys/{key}/end-overlap", page_keys_end_overlap, NEEDS(PERMISSION_KEY_UPDATE) },
	{ HTTP_GET, "/keys/{key}/revoke", page_keys_revoke_confirm, NEEDS(PERMISSION_KEY_DELETE) },
	{ HTTP_POST, "/keys/{key}/revoke", page_keys_revoke, NEEDS(PERMISSION_KEY_DELETE) },
	{ HTTP_GET, "/keys/{key}/usage", page_keys_usage, NEEDS(PERMISSION_KEY_VIEW) },
	{ HTTP_GET, "/keys/{key}/allowlist", page_keys_allowlist, NEEDS(PERMISSION_KEY_VIEW) },
	{ HTTP_POST, "/keys/{key}/allowlist/on", page_keys_allowlist_on, NEEDS(PERMISSION_KEY_UPDATE) },
	{ HTTP_POST, "/keys/{key}/allowlist/off", page_keys_allowlist_off, NEEDS(PERMISSION_KEY_UPDATE) },
	{ HTTP_POST, "/keys/{key}/allowlist/add", page_keys_allowlist_add, NEEDS(PERMISSION_KEY_UPDATE) },
	{ HTTP_POST, "/keys/{key}/allowlist/remove", page_keys_allowlist_remove, NEEDS(PERMISSION_KEY_UPDATE) },
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
	{ HTTP_GET, "/members", page_members_list, NEEDS(PERMISSION_KEY_VIEW) },
	{ HTTP_POST, "/members/invite", page_members_invite, NEEDS(PERMISSION_MEMBER_MANAGE) },
	{ HTTP_POST, "/members/{user}/role", page_members_set_role, NEEDS(PERMISSION_MEMBER_MANAGE) },
	{ HTTP_GET, "/members/{user}/remove", page_members_remove_confirm, NEEDS(PERMISSION_MEMBER_MANAGE) },
	{ HTTP_POST, "/members/{user}/remove", page_members_remove, NEEDS(PERMISSION_MEMBER_MANAGE) },
	{ HTTP_POST, "/invitations/{invitation}/cancel", page_members_cancel_invitation, NEEDS(PERMISSION_MEMBER_MANAGE) },
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
	case HTTP_BODY_TIMED_OUT:
		page_error(app, request, response, 408, "Form too slow",
			   arena_printf(request->arena, "The form did not arrive within %d seconds. Nothing was saved; "
							"please send it again.", HTTP_BODY_SECONDS));
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
 * With KEYWARD_TRUST_REMOTE_USER=1, the person the web server authenticated (REMOTE_USER, their
 * e-mail address) is signed in: a session is started for them when the cookie holds none of
 * theirs, so forms get their CSRF token as usual. A REMOTE_USER keyward does not know, or whose
 * account is disabled, signs no one in.
 */
static void remote_user_session(struct app *app, struct http_request *request, struct http_response *response)
{
	const char *remote_user = http_request_env(request, "REMOTE_USER");
	char folded[ACCOUNT_EMAIL_MAX + 1];
	if (!app->config->trust_remote_user || remote_user == NULL || remote_user[0] == '\0' ||
	    account_email_problem(remote_user, folded) != NULL)
		return;
	if (request->visit->session != NULL && strcasecmp(request->visit->session->email, folded) == 0)
		return;
	struct store_user user;
	enum store_status status = store_user_find_by_email(app->store, request->arena, folded, &user);
	if (status == STORE_NOT_FOUND) {
		fprintf(stderr, "keyward: REMOTE_USER is not a keyward user; nobody signed in\n");
		return;
	}
	if (status == STORE_OK && user.disabled_at != 0) {
		fprintf(stderr, "keyward: REMOTE_USER's keyward account is disabled; nobody signed in\n");
		return;
	}
	/* The web server's word wins over an older cookie: session_sign_in ends that session. */
	if (status == STORE_OK)
		status = page_start_session(app, request, response, &user, NULL, "signed in by the web server (REMOTE_USER)",
					    page_now());
	if (status != STORE_OK) {
		fprintf(stderr, "keyward: could not sign REMOTE_USER in (the database failed); nobody signed in\n");
		request->visit->session_unavailable = true;
	}
}

/* Who is signed in: the session cookie's person, or the web server's (visit->session NULL: nobody). */
static void resume_session(struct app *app, struct http_request *request, struct http_response *response)
{
	const char *token = http_request_cookie(request, SESSION_COOKIE);
	struct store_session *session = arena_alloc(request->arena, sizeof *session);
	enum session_state state =
		token != NULL ? session_resume(app->store, app->config, request->arena, token, page_now(), session)
			      : SESSION_NONE;
	if (state == SESSION_VALID) {
		request->visit->session = session;
		request->visit->session_token = token;
	}
	request->visit->session_unavailable = state == SESSION_UNAVAILABLE;
	remote_user_session(app, request, response);
}

static void not_found(struct app *app, struct http_request *request, struct http_response *response)
{
	page_error(app, request, response, 404, "Page not found", "There is no page at this address.");
}

/*
 * Check that the signed-in person is a member of the request's workspace and note their role
 * (request->visit->workspace_name, request->visit->console_role). When they are not (or nobody is signed in), the
 * workspace is forgotten and, with `response`, a 404 rendered as if it did not exist: a
 * workspace's URLs tell outsiders nothing. False then, or on a store error (rendered).
 */
static bool enter_workspace(struct app *app, struct http_request *request, struct http_response *response)
{
	struct store_membership membership;
	enum console_role role;
	enum store_status status = STORE_NOT_FOUND;
	if (request->visit->session != NULL)
		status = store_membership_get(app->store, request->arena, request->visit->workspace_id, request->visit->session->user_id,
					      &membership);
	if (status == STORE_OK && console_role_parse(membership.console_role, &role)) {
		request->visit->workspace_name = membership.workspace_name;
		request->visit->console_role = membership.console_role;
		request->visit->permissions = console_role_permissions(role);
		return true;
	}
	request->visit->workspace_id = 0;
	if (status != STORE_OK && status != STORE_NOT_FOUND)
		page_store_error(app, request, response, status);
	else
		not_found(app, request, response);
	return false;
}

/*
 * Let the request through to a route that needs `need`, or answer it here: not signed in (to
 * the sign-in page, coming back to `here` afterwards), not a member of the workspace (404, as
 * if it did not exist: a workspace's URLs tell outsiders nothing), the role does not allow it
 * (403, saying which role), a form without this session's CSRF token (403, nothing changed).
 */
static bool allowed(struct app *app, struct http_request *request, struct http_response *response, unsigned need,
		    const char *here)
{
	struct arena *arena = request->arena;
	if (!(need & SIGNED_IN))
		return true;
	if (request->visit->session == NULL && request->visit->session_unavailable) {
		page_error(app, request, response, 503, "Busy",
			   "keyward could not read its database to see who you are. Nothing was changed; please try again "
			   "in a moment.");
		return false;
	}
	if (request->visit->session == NULL) {
		if (request->method == HTTP_POST) {
			page_error(app, request, response, 401, "Signed out",
				   "You are not signed in (or your session ended), so nothing was saved. Sign in, then "
				   "send the form again.");
			return false;
		}
		const char *query = http_request_env(request, "QUERY_STRING");
		const char *back = query && query[0] ? arena_printf(arena, "%s?%s", here, query) : here;
		http_response_redirect(response, page_url(app, request,
							  arena_printf(arena, "/signin?next=%s", url_query_escape(arena, back))));
		return false;
	}
	if (request->visit->workspace_id != 0) {
		if (!enter_workspace(app, request, response))
			return false;
		unsigned wanted = need & ~SIGNED_IN;
		if ((request->visit->permissions & wanted) != wanted) {
			page_error(app, request, response, 403, "Not allowed",
				   arena_printf(arena, "Your role in this workspace (%s) does not allow this. Nothing was "
						       "changed; an owner or admin can change your role.",
						request->visit->console_role));
			return false;
		}
	}
	if (request->method == HTTP_POST &&
	    !session_csrf_valid(app->config, request->visit->session_token, form_get(&request->form, "csrf"))) {
		page_error(app, request, response, 403, "Form expired",
			   "This form has expired or came from another site, so nothing was saved. Go back, reload the "
			   "page, and send it again.");
		return false;
	}
	return true;
}

/*
 * The workspace a path is in: "/w/{id}" followed by nothing or "/...". Sets request->visit->workspace_id
 * and *rest (the path below it); false when the path is not in a workspace or the id is not a
 * plain positive number.
 */
static bool workspace_path(struct http_request *request, const char *path, const char **rest)
{
	if (strncmp(path, "/w/", 3) != 0)
		return false;
	size_t length = strcspn(path + 3, "/");
	int64_t id = 0;
	if (!text_to_integer(arena_strndup(request->arena, path + 3, length), 1, INT64_MAX, &id))
		return false;
	request->visit->workspace_id = id;
	*rest = path + 3 + length;
	return true;
}

/* Seconds on the monotonic clock. */
static double monotonic_seconds(void)
{
	struct timespec now;
	clock_gettime(CLOCK_MONOTONIC, &now);
	return (double)now.tv_sec + (double)now.tv_nsec / 1e9;
}

void pages_handle(struct app *app, struct http_request *request)
{
	double began = monotonic_seconds();
	struct http_response response;
	http_response_init(&response);
	request->visit = arena_alloc(request->arena, sizeof *request->visit);
	memset(request->visit, 0, sizeof *request->visit);
	resume_session(app, request, &response);
	if (!refuse_early(app, request, &response)) {
		const struct http_route *table = routes;
		size_t count = sizeof routes / sizeof routes[0];
		const char *here = request->path, *rest = NULL;
		bool routable = true;
		if (workspace_path(request, request->path, &rest)) {
			table = workspace_routes;
			count = sizeof workspace_routes / sizeof workspace_routes[0];
			request->path = rest;
		} else if (strncmp(request->path, "/w/", 3) == 0 || strcmp(request->path, "/w") == 0) {
			routable = false;
		}
		const struct http_route *route = NULL;
		char allow[32] = "";
		enum http_route_result found =
			routable ? http_route(table, count, request, &route, allow, sizeof allow) : HTTP_ROUTE_NOT_FOUND;
		request->path = here;
		switch (found) {
		case HTTP_ROUTE_FOUND:
			if (allowed(app, request, &response, route->need, here))
				route->handler(app, request, &response);
			break;
		case HTTP_ROUTE_WRONG_METHOD:
			if (request->visit->workspace_id != 0 && !enter_workspace(app, request, &response))
				break;
			http_response_header(&response, "Allow", arena_strdup(request->arena, allow));
			page_error(app, request, &response, 405, "Method not allowed",
				   arena_printf(request->arena, "This address accepts %s requests only.", allow));
			break;
		case HTTP_ROUTE_NOT_FOUND:
			if (request->visit->workspace_id == 0 || enter_workspace(app, request, &response))
				not_found(app, request, &response);
			break;
		}
	}
	/* What a signed-in person sees is theirs: no cache, the browser's own included, keeps a copy. */
	if (request->visit->session != NULL)
		response.no_store = true;
	/*
	 * How long keyward took (browsers' developer tools show it; make bench reads it), for pages
	 * only: a form may check a password (sign-in, joining, a new password), and how long that took
	 * must not be printed for anyone to compare. In microseconds: most pages take less than one
	 * millisecond, and make bench compares them.
	 */
	if (request->method != HTTP_POST)
		http_response_header(&response, "Server-Timing",
				     arena_printf(request->arena, "app;dur=%.3f", (monotonic_seconds() - began) * 1000));
	http_response_send(&response, request);
	http_response_free(&response);
}

void page_errors_begin(struct arena *arena, struct page_errors *errors, struct mustache_value *form)
{
	errors->form = form;
	errors->list = view_set(form, "errors", view_list(arena));
	errors->count = 0;
}

void page_errors_note(struct arena *arena, struct page_errors *errors, struct mustache_value *target,
		      const struct page_field_error *error)
{
	if (error->message == NULL)
		return;
	view_set_string(arena, target, error->field, error->message);
	if (errors->count == 0) { /* "name_error" -> "name_focus" */
		size_t length = strlen(error->field);
		size_t stem = length > 6 && strcmp(error->field + length - 6, "_error") == 0 ? length - 6 : length;
		view_set_bool(arena, target, arena_printf(arena, "%.*s_focus", (int)stem, error->field), true);
	}
	struct mustache_value *item = view_push_map(arena, errors->list);
	view_set_string(arena, item, "id", error->id);
	view_set_string(arena, item, "message", error->message);
	errors->count++;
}

void page_errors_note_all(struct arena *arena, struct page_errors *errors, const struct page_field_error *list,
			  size_t count)
{
	for (size_t i = 0; i < count; i++)
		page_errors_note(arena, errors, errors->form, &list[i]);
}

size_t page_errors_end(struct arena *arena, struct page_errors *errors)
{
	if (errors->count > 0) {
		view_set_int(arena, errors->form, "error_count", (int64_t)errors->count);
		view_set_bool(arena, errors->form, "error_one", errors->count == 1);
	}
	return errors->count;
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

struct audit_actor page_actor(const struct http_request *request)
{
	struct audit_actor actor = { 0, "console", request->remote_addr };
	if (request->visit->session != NULL) {
		actor.user_id = request->visit->session->user_id;
		actor.label = request->visit->session->email;
	}
	return actor;
}

const char *page_url(struct app *app, struct http_request *request, const char *path)
{
	return arena_printf(request->arena, "%s%s", app->config->base_path, path);
}

const char *page_ws_url(struct app *app, struct http_request *request, const char *path)
{
	return arena_printf(request->arena, "%s/w/%lld%s", app->config->base_path, (long long)request->visit->workspace_id,
			    path);
}

/*
 * The console's origin as browsers see it: KEYWARD_PUBLIC_URL's when set; else the request's scheme
 * and Host, with SERVER_PORT when the Host came without a port (Debian's nginx fastcgi_params send
 * $host, which has none). NULL when the request has no usable Host.
 */
static const char *console_origin(struct app *app, struct http_request *request)
{
	if (app->config->public_origin[0] != '\0')
		return app->config->public_origin;
	const char *host = http_request_env(request, "HTTP_HOST");
	char origin[TEXT_ORIGIN_MAX];
	if (host == NULL ||
	    !text_origin(origin, request->https, host, strlen(host), http_request_env(request, "SERVER_PORT")))
		return NULL;
	return arena_strdup(request->arena, origin);
}

const char *page_absolute_url(struct app *app, struct http_request *request, const char *path)
{
	const char *origin = console_origin(app, request);
	if (origin == NULL)
		return page_url(app, request, path);
	return arena_printf(request->arena, "%s%s%s", origin, app->config->base_path, path);
}

bool page_same_origin(struct app *app, struct http_request *request)
{
	const char *sent = http_request_env(request, "HTTP_ORIGIN");
	if (sent == NULL || sent[0] == '\0')
		return true;
	const char *expected = console_origin(app, request);
	if (expected == NULL)
		return false;
	/* As a browser writes it (lower case, no default port), however a client spelled it. */
	bool https = strncasecmp(sent, "https://", 8) == 0;
	if (!https && strncasecmp(sent, "http://", 7) != 0)
		return false;
	const char *authority = sent + (https ? 8 : 7);
	char origin[TEXT_ORIGIN_MAX];
	return text_origin(origin, https, authority, strlen(authority), NULL) && strcmp(origin, expected) == 0;
}

int64_t page_now(void)
{
	return (int64_t)time(NULL);
}

/* The signed-in person's workspaces, for the switcher in the header: {workspaces: [{name, url, current}]}. */
static void set_switcher(struct app *app, struct http_request *request, struct mustache_value *user)
{
	struct store_membership *memberships = NULL;
	size_t count = 0;
	if (store_membership_list_for_user(app->store, request->arena, request->visit->session->user_id, &memberships, &count) !=
	    STORE_OK)
		return;
	struct mustache_value *list = view_set(user, "workspaces", view_list(request->arena));
	for (size_t i = 0; i < count; i++) {
		struct mustache_value *item = view_push_map(request->arena, list);
		view_set_string(request->arena, item, "name", memberships[i].workspace_name);
		view_set_string(request->arena, item, "role", memberships[i].console_role);
		view_set_string(request->arena, item, "url",
				page_url(app, request, arena_printf(request->arena, "/w/%lld/keys",
								    (long long)memberships[i].workspace_id)));
		view_set_bool(request->arena, item, "current",
			      request->visit->workspace_name != NULL && memberships[i].workspace_id == request->visit->workspace_id);
	}
}

/*
 * The template name of each console permission: page_data() sets can.<name> for those the
 * signed-in person's role holds, from request->visit->permissions, the very bits allowed() checks
 * a route's NEEDS() against, so a page offers an action exactly when the server would do it.
 */
static const struct {
	unsigned permission;
	const char *flag;
} permission_flags[] = {
	{ PERMISSION_KEY_VIEW, "key_view" },
	{ PERMISSION_KEY_CREATE, "key_create" },
	{ PERMISSION_KEY_UPDATE, "key_update" },
	{ PERMISSION_KEY_DELETE, "key_delete" },
	{ PERMISSION_ROLE_MANAGE, "role_manage" },
	{ PERMISSION_MEMBER_MANAGE, "member_manage" },
};

struct mustache_value *page_data(struct app *app, struct http_request *request, const char *title)
{
	struct mustache_value *data = view_map(request->arena);
	view_set_string(request->arena, data, "base", app->config->base_path);
	view_set_string(request->arena, data, "title", title);
	view_set_string(request->arena, data, "version", KEYWARD_VERSION);
	if (request->visit->session != NULL) {
		struct mustache_value *user = view_set(data, "user", view_map(request->arena));
		view_set_string(request->arena, user, "email", request->visit->session->email);
		char csrf[SESSION_CSRF_LENGTH + 1];
		session_csrf_token(app->config, request->visit->session_token, csrf);
		view_set_string(request->arena, user, "csrf", csrf);
		view_set_string(request->arena, data, "csrf", csrf);
		set_switcher(app, request, user);
	}
	if (request->visit->workspace_id != 0 && request->visit->workspace_name != NULL) {
		view_set_string(request->arena, data, "ws", page_ws_url(app, request, ""));
		struct mustache_value *workspace = view_set(data, "workspace", view_map(request->arena));
		view_set_string(request->arena, workspace, "name", request->visit->workspace_name);
		view_set_string(request->arena, workspace, "role", request->visit->console_role);
		struct mustache_value *can = view_set(data, "can", view_map(request->arena));
		for (size_t i = 0; i < sizeof permission_flags / sizeof permission_flags[0]; i++)
			view_set_bool(request->arena, can, permission_flags[i].flag,
				      (request->visit->permissions & permission_flags[i].permission) != 0);
		/* The key page's Actions panel: shown when any of its buttons is. */
		view_set_bool(request->arena, can, "key_change",
			      (request->visit->permissions & (PERMISSION_KEY_UPDATE | PERMISSION_KEY_DELETE)) != 0);
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
	if (status == STORE_BUSY) {
		page_error(app, request, response, 503, "Busy",
			   "The database is busy. Nothing was changed; please try again in a moment.");
	} else if (status == STORE_DAMAGED) {
		store_report_damaged(app->config->database_label);
		page_error(app, request, response, 500, "Database damaged",
			   "keyward's database file is damaged, so this page cannot be shown. The operator should run "
			   "PRAGMA integrity_check on it (the server's error log names the file), and restore the "
			   "latest backup if it finds problems.");
	} else {
		page_error(app, request, response, 500, "Something went wrong",
			   "keyward could not read or write its database. Nothing was changed. The server's error log says more.");
	}
}

bool page_load_key(struct app *app, struct http_request *request, struct http_response *response,
		   struct store_key *key)
{
	enum store_status status =
		store_key_get(app->store, request->arena, request->visit->workspace_id, request->path_params[0], key);
	if (status == STORE_OK)
		return true;
	if (status == STORE_NOT_FOUND)
		page_error(app, request, response, 404, "Key not found",
			   "There is no key with this ID in this workspace.");
	else
		page_store_error(app, request, response, status);
	return false;
}
