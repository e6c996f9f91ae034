/* store_audit.c: reading the audit log (writing it is store_audit_insert(), in store_accounts.c). */
#include "store/store_private.h"

#include <string.h>

#include "core/alloc.h"

static void bind_filter(struct store_query *statement, int64_t workspace_id, const struct store_audit_filter *filter)
{
	store_bind_int(statement, 1, workspace_id);
	store_bind_text(statement, 2, filter->actor_label ? filter->actor_label : "");
	store_bind_text(statement, 3, filter->action ? filter->action : "");
	store_bind_text(statement, 4, filter->target_id ? filter->target_id : "");
}

enum store_status store_audit_list(struct store *store, struct arena *arena, int64_t workspace_id,
				   const struct store_audit_filter *filter, struct store_audit_event **events,
				   size_t *count, size_t *total)
{
	struct store_query *statement = store_query(store, STMT_AUDIT_COUNT);
	bind_filter(statement, workspace_id, filter);
	int code = store_step(store, STMT_AUDIT_COUNT);
	*total = code == STORE_ROW ? (size_t)store_column_int(statement, 0) : 0;
	store_query_reset(statement);
	if (code != STORE_ROW)
		return store_status_from(code == STORE_DONE ? STORE_ERROR : code);

	statement = store_query(store, STMT_AUDIT_LIST);
	bind_filter(statement, workspace_id, filter);
	store_bind_int(statement, 5, (int64_t)filter->limit);
	store_bind_int(statement, 6, (int64_t)filter->offset);
	*events = arena_alloc(arena, (filter->limit + 1) * sizeof **events);
	*count = 0;
	while ((code = store_step(store, STMT_AUDIT_LIST)) == STORE_ROW && *count < filter->limit) {
		struct store_audit_event *event = &(*events)[(*count)++];
		event->workspace_id = workspace_id;
		event->at = store_column_int(statement, 0);
		event->actor_label = store_column_text(arena, statement, 1);
		event->client_address = store_column_text(arena, statement, 2);
		event->action = store_column_text(arena, statement, 3);
		event->target_type = store_column_text(arena, statement, 4);
		event->target_id = store_column_text(arena, statement, 5);
		event->summary = store_column_text(arena, statement, 6);
	}
	store_query_reset(statement);
	return store_status_from(code);
}

enum store_status store_audit_actors(struct store *store, struct arena *arena, int64_t workspace_id,
				     const char ***actors, size_t *count)
{
	struct store_query *statement = store_query(store, STMT_AUDIT_ACTORS);
	store_bind_int(statement, 1, workspace_id);
	*actors = arena_alloc(arena, 201 * sizeof **actors);
	*count = 0;
	int code;
	while ((code = store_step(store, STMT_AUDIT_ACTORS)) == STORE_ROW && *count < 200)
		(*actors)[(*count)++] = store_column_text(arena, statement, 0);
	store_query_reset(statement);
	return store_status_from(code);
}
