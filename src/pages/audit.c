/* audit.c: the audit log page (filter by actor, action, key or role) and a key's Activity section. */
#include <stdlib.h>
#include <string.h>

#include "core/alloc.h"
#include "http/url.h"
#include "pages/pages_private.h"
#include "view/view.h"

#define AUDIT_PAGE_SIZE 50
#define AUDIT_ACTIVITY_SIZE 10
#define AUDIT_FILTER_MAX 254 /* bytes of a filter value: an e-mail address at most */

/* Every action the log may hold, in the order the filter lists them, with a label. */
static const struct {
	const char *action;
	const char *label;
} actions[] = {
	{ "key.create", "Key created" },       { "key.update", "Key edited" },
	{ "key.enable", "Key enabled" },       { "key.disable", "Key disabled" },
	{ "key.regenerate", "Secret regenerated" }, { "key.revoke", "Key revoked" },
	{ "key.overlap_end", "Overlap ended" },
	{ "key.allowlist_on", "Allowlist switched on" }, { "key.allowlist_off", "Allowlist switched off" },
	{ "key.network_add", "Network added" }, { "key.network_remove", "Network removed" },
	{ "role.create", "Role created" },     { "role.update", "Role edited" },
	{ "role.delete", "Role deleted" },     { "member.add", "Member added" },
	{ "member.invite", "Member invited" }, { "invitation.cancel", "Invitation cancelled" },
	{ "member.join", "Member joined" },    { "member.setup", "First owner set up" },
	{ "member.role", "Member's role changed" }, { "member.remove", "Member removed" },
	{ "workspace.create", "Workspace created" }, { "signin", "Signed in" },
	{ "signin.failed", "Sign-in failed" }, { "signout", "Signed out" },
	{ "signout.everywhere", "Signed out everywhere" }, { "user.password", "Password changed" },
	{ "user.disable", "Account disabled" }, { "user.enable", "Account enabled" },
	{ "user.unlock", "Sign-in unlocked" }, { "user.remove", "Account removed" },
};

static const char *action_label(const char *action)
{
	for (size_t i = 0; i < sizeof actions / sizeof actions[0]; i++)
		if (strcmp(action, actions[i].action) == 0)
			return actions[i].label;
	return action;
}

/* A list item per event: when, who, from where, what, on what, what changed. */
static struct mustache_value *event_list(struct app *app, struct http_request *request,
					 const struct store_audit_event *events, size_t count)
{
	struct arena *arena = request->arena;
	struct mustache_value *list = view_list(arena);
	for (size_t i = 0; i < count; i++) {
		struct mustache_value *item = view_push_map(arena, list);
		view_set_time(arena, item, "at", events[i].at, "");
		view_set_string(arena, item, "actor", events[i].actor_label);
		view_set_string(arena, item, "address", events[i].client_address);
		view_set_string(arena, item, "action", action_label(events[i].action));
		view_set_string(arena, item, "target_type", events[i].target_type);
		view_set_string(arena, item, "target_id", events[i].target_id);
		if (strcmp(events[i].target_type, "key") == 0)
			view_set_string(arena, item, "target_url",
					page_ws_url(app, request, arena_printf(arena, "/keys/%s", events[i].target_id)));
		view_set_string(arena, item, "summary", events[i].summary);
	}
	return list;
}

/* A filter value from the query: "" when absent, undecodable or longer than any real value. */
static const char *filter_value(struct http_request *request, const char *name, bool *ignored)
{
	const struct form_pair *pair = form_find(&request->query, name);
	if (pair == NULL)
		return "";
	if (pair->status != FORM_VALUE_OK || strlen(pair->value) > AUDIT_FILTER_MAX) {
		*ignored = true;
		return "";
	}
	return pair->value;
}

void page_audit_list(struct app *app, struct http_request *request, struct http_response *response)
{
	struct arena *arena = request->arena;
	bool ignored = false;
	struct store_audit_filter filter = {
		.actor_label = filter_value(request, "actor", &ignored),
		.action = filter_value(request, "action", &ignored),
		.target_id = filter_value(request, "target", &ignored),
		.limit = AUDIT_PAGE_SIZE,
	};
	int64_t page = 1;
	form_get_integer(&request->query, "page", 1, PAGE_NUMBER_MAX, &page); /* a wrong one: the first page */
	filter.offset = (size_t)(page - 1) * AUDIT_PAGE_SIZE;

	struct store_audit_event *events = NULL;
	size_t count = 0, total = 0;
	enum store_status status = store_audit_list(app->store, arena, request->visit->workspace_id, &filter, &events, &count,
						    &total);
	if (status != STORE_OK) {
		page_store_error(app, request, response, status);
		return;
	}
	struct mustache_value *data = page_data(app, request, "Audit log");
	view_set(data, "events", event_list(app, request, events, count));
	view_set_bool(arena, data, "has_events", count > 0);
	view_set_int(arena, data, "total", (int64_t)total);
	view_set_bool(arena, data, "total_one", total == 1);
	view_set_string(arena, data, "target", filter.target_id);
	view_set_bool(arena, data, "filtered",
		      filter.actor_label[0] != '\0' || filter.action[0] != '\0' || filter.target_id[0] != '\0');
	view_set_bool(arena, data, "ignored", ignored);

	const char **actors = NULL;
	size_t actor_count = 0;
	status = store_audit_actors(app->store, arena, request->visit->workspace_id, &actors, &actor_count);
	if (status != STORE_OK) {
		page_store_error(app, request, response, status);
		return;
	}
	struct mustache_value *actor_options = view_set(data, "actor_options", view_list(arena));
	for (size_t i = 0; i < actor_count; i++) {
		struct mustache_value *option = view_push_map(arena, actor_options);
		view_set_string(arena, option, "value", actors[i]);
		view_set_bool(arena, option, "selected", strcmp(actors[i], filter.actor_label) == 0);
	}
	struct mustache_value *action_options = view_set(data, "action_options", view_list(arena));
	for (size_t i = 0; i < sizeof actions / sizeof actions[0]; i++) {
		struct mustache_value *option = view_push_map(arena, action_options);
		view_set_string(arena, option, "value", actions[i].action);
		view_set_string(arena, option, "label", actions[i].label);
		view_set_bool(arena, option, "selected", strcmp(actions[i].action, filter.action) == 0);
	}
	if (total > AUDIT_PAGE_SIZE) {
		const char *base = arena_printf(arena, "/audit?actor=%s&action=%s&target=%s&page=",
						url_query_escape(arena, filter.actor_label), url_query_escape(arena, filter.action),
						url_query_escape(arena, filter.target_id));
		struct mustache_value *pagination = view_set(data, "pagination", view_map(arena));
		size_t pages = (total + AUDIT_PAGE_SIZE - 1) / AUDIT_PAGE_SIZE;
		view_set_int(arena, pagination, "page", page);
		view_set_int(arena, pagination, "pages", (int64_t)pages);
		if (page > 1)
			view_set_string(arena, pagination, "newer_url",
					page_ws_url(app, request, arena_printf(arena, "%s%ld", base, page - 1)));
		if ((size_t)page < pages)
			view_set_string(arena, pagination, "older_url",
					page_ws_url(app, request, arena_printf(arena, "%s%ld", base, page + 1)));
	}
	page_render(app, request, response, "audit", data);
}

struct mustache_value *page_audit_activity(struct app *app, struct http_request *request, const char *target_id)
{
	struct store_audit_filter filter = { .target_id = target_id, .limit = AUDIT_ACTIVITY_SIZE };
	struct store_audit_event *events = NULL;
	size_t count = 0, total = 0;
	if (store_audit_list(app->store, request->arena, request->visit->workspace_id, &filter, &events, &count, &total) !=
	    STORE_OK)
		count = total = 0;
	struct mustache_value *activity = view_map(request->arena);
	view_set(activity, "events", event_list(app, request, events, count));
	view_set_bool(request->arena, activity, "has_events", count > 0);
	view_set_bool(request->arena, activity, "more", total > count);
	view_set_string(request->arena, activity, "all_url",
			page_ws_url(app, request, arena_printf(request->arena, "/audit?target=%s",
							    url_query_escape(request->arena, target_id))));
	return activity;
}
