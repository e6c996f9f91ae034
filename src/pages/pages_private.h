/* pages_private.h: what the page files share: handlers for the route table, and page helpers. */
#ifndef KEYWARD_PAGES_PRIVATE_H
#define KEYWARD_PAGES_PRIVATE_H

#include <stdint.h>

#include "core/app.h"
#include "domain/sessions.h"
#include "http/request.h"
#include "http/response.h"
#include "http/router.h"
#include "mustache/mustache.h"
#include "store/store.h"

struct audit_actor;
struct keys_secret;

#define PAGE_NUMBER_MAX 100000 /* the highest ?page= a list takes; past it, the first page */

/*
 * Who is asking, and in which workspace: the console's state of one request, made fresh for each
 * by pages_handle() in the request's arena (request->visit), so nothing carries over to the next.
 */
struct visit {
	const struct store_session *session; /* NULL: nobody is signed in */
	const char *session_token;           /* the session cookie's value, with `session` */
	int64_t workspace_id;                /* the /w/{id} of the path; 0 outside one, or not a member */
	const char *workspace_name;          /* set once the person is known to be a member */
	const char *console_role;            /* their role there: owner, admin, developer, viewer */
	unsigned permissions;                /* what that role may do (enum console_permission bits); 0 outside */
	bool session_unavailable;            /* the store could not tell who is signed in (or sign them in) */
};

/* keys.c */
void page_keys_list(struct app *app, struct http_request *request, struct http_response *response);
void page_keys_find(struct app *app, struct http_request *request, struct http_response *response);
void page_keys_show(struct app *app, struct http_request *request, struct http_response *response);
void page_keys_enable(struct app *app, struct http_request *request, struct http_response *response);
void page_keys_disable(struct app *app, struct http_request *request, struct http_response *response);
void page_keys_regenerate_confirm(struct app *app, struct http_request *request, struct http_response *response);
void page_keys_regenerate(struct app *app, struct http_request *request, struct http_response *response);
void page_keys_end_overlap(struct app *app, struct http_request *request, struct http_response *response);
void page_keys_revoke_confirm(struct app *app, struct http_request *request, struct http_response *response);
void page_keys_revoke(struct app *app, struct http_request *request, struct http_response *response);
void page_keys_secret_show(struct app *app, struct http_request *request, struct http_response *response);
void page_keys_secret_close(struct app *app, struct http_request *request, struct http_response *response);
/*
 * Hand the browser the cookie that opens the sealed `secret` (made by keys_create or
 * keys_regenerate) and redirect to its one showing with ?done=`done`. Wipes `secret`.
 */
void page_keys_send_to_secret(struct app *app, struct http_request *request, struct http_response *response,
			      struct keys_secret *secret, const char *done);
/*
 * Answer a key action that changed nothing (status is not STORE_OK): 404 for a key the
 * workspace does not have, 409 for a revoked one, the store error page otherwise.
 */
void page_keys_refused(struct app *app, struct http_request *request, struct http_response *response,
		       enum store_status status);

/*
 * keys.c, for keys_bulk.c: the key list's filters (q, status, role) and page, read as the list
 * reads them, and the addresses that carry them.
 */
struct list_query;
/* The filters in `form`; *error gets the filter text's problem (too long, a secret in it: then dropped) or NULL. */
const struct list_query *page_keys_list_query(struct http_request *request, const struct form *form,
					      const char **error);
/* The list's address with `query`'s filters and page, then `extra` ("&done=…"; "" for nothing more). */
const char *page_keys_list_address(struct app *app, struct http_request *request, const struct list_query *query,
				   const char *extra);
/* /keys.csv with `query`'s filters (no page: the export holds every key that matches). */
const char *page_keys_export_address(struct app *app, struct http_request *request, const struct list_query *query);
/* The store filter of `query`, judged at `now`, with no limit or offset yet. */
void page_keys_list_filter(struct arena *arena, const struct list_query *query, int64_t now,
			   struct store_key_filter *filter);
/* The fields every key view shows (name, key_id, url, state and state_label for the badge, ...), as a map. */
struct mustache_value *page_key_value(struct app *app, struct http_request *request, const struct store_key *key);
/* "enabled", "disabled", "expired", "revoked": a key's status at `now`. */
const char *page_key_state(const struct store_key *key, int64_t now);

/* keys_bulk.c: several keys at once, and the list as CSV */
void page_keys_bulk_disable_confirm(struct app *app, struct http_request *request, struct http_response *response);
void page_keys_bulk_enable_confirm(struct app *app, struct http_request *request, struct http_response *response);
void page_keys_bulk_revoke_confirm(struct app *app, struct http_request *request, struct http_response *response);
void page_keys_bulk_disable(struct app *app, struct http_request *request, struct http_response *response);
void page_keys_bulk_enable(struct app *app, struct http_request *request, struct http_response *response);
void page_keys_bulk_revoke(struct app *app, struct http_request *request, struct http_response *response);
void page_keys_export(struct app *app, struct http_request *request, struct http_response *response);
/*
 * What the key list adds for choosing keys (data.bulk: the selection form's hidden fields, taken
 * from the list's own `address`; whether ?select=page ticks every row; a refused empty selection)
 * and the Export link of `query`.
 */
void page_keys_bulk_list(struct app *app, struct http_request *request, struct mustache_value *data,
			 const struct list_query *query, const char *address);
/* Whether the list's address ticks key `key_id` (?key=… from a cancelled change, or ?select=page). */
bool page_keys_bulk_selected(struct http_request *request, const char *key_id);
/* The list's sentence after a change to several keys ("3 keys disabled; 1 was already disabled."), or NULL. */
const char *page_keys_bulk_notice(struct http_request *request);

/* key_allowlist.c: the Allowlist tab, its switch, one network added or removed. */
void page_keys_allowlist(struct app *app, struct http_request *request, struct http_response *response);
void page_keys_allowlist_on(struct app *app, struct http_request *request, struct http_response *response);
void page_keys_allowlist_off(struct app *app, struct http_request *request, struct http_response *response);
void page_keys_allowlist_add(struct app *app, struct http_request *request, struct http_response *response);
void page_keys_allowlist_remove(struct app *app, struct http_request *request, struct http_response *response);

/* key_form.c */
void page_key_form_new(struct app *app, struct http_request *request, struct http_response *response);
void page_key_form_create(struct app *app, struct http_request *request, struct http_response *response);
void page_key_form_edit(struct app *app, struct http_request *request, struct http_response *response);
void page_key_form_update(struct app *app, struct http_request *request, struct http_response *response);

/* roles.c */
void page_roles_list(struct app *app, struct http_request *request, struct http_response *response);
void page_roles_new(struct app *app, struct http_request *request, struct http_response *response);
void page_roles_create(struct app *app, struct http_request *request, struct http_response *response);
void page_roles_edit(struct app *app, struct http_request *request, struct http_response *response);
void page_roles_update(struct app *app, struct http_request *request, struct http_response *response);
void page_roles_delete_confirm(struct app *app, struct http_request *request, struct http_response *response);
void page_roles_delete(struct app *app, struct http_request *request, struct http_response *response);

/* signin.c */
void page_signin_form(struct app *app, struct http_request *request, struct http_response *response);
void page_signin(struct app *app, struct http_request *request, struct http_response *response);
void page_signout(struct app *app, struct http_request *request, struct http_response *response);

/* account.c */
void page_account(struct app *app, struct http_request *request, struct http_response *response);
void page_account_password(struct app *app, struct http_request *request, struct http_response *response);
void page_account_signout_everywhere(struct app *app, struct http_request *request, struct http_response *response);

/* workspaces.c */
void page_workspaces_list(struct app *app, struct http_request *request, struct http_response *response);
void page_workspaces_create(struct app *app, struct http_request *request, struct http_response *response);

/* members.c */
void page_members_list(struct app *app, struct http_request *request, struct http_response *response);
void page_members_invite(struct app *app, struct http_request *request, struct http_response *response);
void page_members_set_role(struct app *app, struct http_request *request, struct http_response *response);
void page_members_remove_confirm(struct app *app, struct http_request *request, struct http_response *response);
void page_members_remove(struct app *app, struct http_request *request, struct http_response *response);
void page_members_cancel_invitation(struct app *app, struct http_request *request, struct http_response *response);

/* join.c */
void page_join_show(struct app *app, struct http_request *request, struct http_response *response);
void page_join_accept(struct app *app, struct http_request *request, struct http_response *response);

/* usage.c */
void page_keys_usage(struct app *app, struct http_request *request, struct http_response *response);
void page_dashboard(struct app *app, struct http_request *request, struct http_response *response);
/*
 * Warnings of the last 24 hours into `data` as {has_warnings, warnings: [{key, with_key, text,
 * url}]} (templates/partials/warnings.mustache): refused spikes and addresses new to a key, of one
 * key (its row id) or of the whole workspace (0), each linking to the Usage tab narrowed to them.
 * A database failure only leaves them out.
 */
void page_set_warnings(struct app *app, struct http_request *request, struct mustache_value *data,
		       int64_t api_key_row_id, int64_t now);

/* audit.c */
void page_audit_list(struct app *app, struct http_request *request, struct http_response *response);
/* The last changes of `target_id` (a key ID): {events, has_events, more, all_url}. */
struct mustache_value *page_audit_activity(struct app *app, struct http_request *request, const char *target_id);

/* pages.c: helpers */

/* A form field's message, NULL when the field is fine. */
/*
 * A form's field errors, noted in page order: each message goes next to its field, into the
 * summary above the form (`errors`: [{id, message}], linking to the input), and the first field
 * with one gets the focus when the page loads (no script needed).
 */
struct page_errors {
	struct mustache_value *form; /* gets errors, error_count, error_one */
	struct mustache_value *list;
	size_t count;
};

struct page_field_error {
	const char *field;   /* template name, e.g. "name_error"; "name_focus" is set on the first */
	const char *message; /* NULL: the field is fine */
	const char *id;      /* the input's id, e.g. "name" */
};

void page_errors_begin(struct arena *arena, struct page_errors *errors, struct mustache_value *form);
/* Note `error` (nothing when its message is NULL) on `target`: the form, or one of its rows. */
void page_errors_note(struct arena *arena, struct page_errors *errors, struct mustache_value *target,
		      const struct page_field_error *error);
/* Note each of `count` errors on the form itself, in order. */
void page_errors_note_all(struct arena *arena, struct page_errors *errors, const struct page_field_error *list,
			  size_t count);
/* Set the counts; returns how many errors there were. */
size_t page_errors_end(struct arena *arena, struct page_errors *errors);

/* The value of one decoded form pair (NULL when absent), or "" with *error set (if not yet) when it could not be decoded. */
const char *page_form_value(const struct form_pair *pair, const char **error);

/* The data every page starts from: base path, title, version. */
struct mustache_value *page_data(struct app *app, struct http_request *request, const char *title);

/* Render template `name` with `data` into the response (500 page when the template is missing). */
void page_render(struct app *app, struct http_request *request, struct http_response *response, const char *name,
		 struct mustache_value *data);

/* Render the error page with `status`, a title and a sentence. */
void page_error(struct app *app, struct http_request *request, struct http_response *response, int status,
		const char *title, const char *message);

/* The error page for a store failure: 503 when the database is busy, 500 otherwise. */
void page_store_error(struct app *app, struct http_request *request, struct http_response *response,
		      enum store_status status);

/* Who makes the change the request asks for, as the audit log names them: the signed-in person, from its address. */
struct audit_actor page_actor(const struct http_request *request);

/* base path + `path` (which starts with '/'), for links and redirects. */
const char *page_url(struct app *app, struct http_request *request, const char *path);

/* The same within the request's workspace: base path + "/w/{id}" + `path`. */
const char *page_ws_url(struct app *app, struct http_request *request, const char *path);

/*
 * The same as a whole URL, for links people copy elsewhere: KEYWARD_PUBLIC_URL's scheme, host and
 * port when set, else the request's (its Host, and SERVER_PORT when the Host names no port).
 */
const char *page_absolute_url(struct app *app, struct http_request *request, const char *path);

/*
 * False when a browser says the form came from another site: an Origin that is not the console's
 * origin as page_absolute_url() reckons it (no Origin: true).
 */
bool page_same_origin(struct app *app, struct http_request *request);

/*
 * Sign `user` in (session_sign_in: one transaction with its "signin" lines, `summary` (NULL:
 * none), and the end of the session the request came with, request->visit->session_token), then
 * hand the browser the new session's cookie (HttpOnly, SameSite=Lax, Secure over HTTPS) and make the rest
 * of the request the new session's. `attempt`: the sign-in attempt that checked the password,
 * NULL when none did. Returns session_sign_in's status and answers nothing itself: on anything but
 * STORE_OK no cookie was set, nobody was signed in and the caller says so.
 */
enum store_status page_start_session(struct app *app, struct http_request *request, struct http_response *response,
				     const struct store_user *user, const struct signin_attempt *attempt,
				     const char *summary, int64_t now);

/* Tell the browser to drop its session cookie (the session itself was ended on the server). */
void page_forget_session_cookie(struct app *app, struct http_request *request, struct http_response *response);

/* Where to go after signing in: `next` when it is a path of this console, else its front door. */
const char *page_safe_next(struct app *app, struct http_request *request, const char *next);

/* The sentence of a throttled sign-in: wait `seconds`, or (locked) paused for that many minutes. */
const char *page_wait_message(struct arena *arena, int64_t seconds, bool locked);

/*
 * True when the request's device cookie is one of account `email_folded` with `password_hash`
 * (id[] gets its device id: sign-in from it is throttled per device, see domain/sessions.h).
 */
bool page_device_id(struct app *app, struct http_request *request, const char *email_folded,
		    const char *password_hash, char id[DEVICE_ID_LENGTH + 1]);

/* Hand the browser a device cookie of that account for device `id` (NULL: a new one), valid for 400 days. */
void page_trust_device(struct app *app, struct http_request *request, struct http_response *response,
		       const char *email_folded, const char *password_hash, const char *id);

/* Seconds since the epoch. */
int64_t page_now(void);

/* Load key path_params[0] of the workspace into *key; renders 404 and returns false when unknown. */
bool page_load_key(struct app *app, struct http_request *request, struct http_response *response,
		   struct store_key *key);

#endif
