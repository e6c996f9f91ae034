/* store_insight.c: rolling usage up by the hour and day, retention, and what the Usage tab and dashboard read. */
#include "store/store_private.h"

#include <string.h>

#include "core/alloc.h"

/* Room for one more row in an arena array that doubles when full. */
static void *grow(struct arena *arena, void *rows, size_t size, size_t count, size_t *capacity)
{
	if (count < *capacity)
		return rows;
	void *grown = arena_alloc(arena, 2 * *capacity * size);
	memcpy(grown, rows, *capacity * size);
	*capacity *= 2;
	return grown;
}

/* The rollup's watermark and the last prune, read with `which`: STMT_ROLLUP_STATE, or STMT_ROLLUP_CLAIM
 * inside the rollup's transaction (it keeps other rollups waiting until that ends). */
static enum store_status rollup_state(struct store *store, enum store_statement which, int64_t *rolled_to,
				      int64_t *pruned_at)
{
	struct store_query *statement = store_query(store, which);
	int code = store_step(store, which);
	if (code == STORE_ROW) {
		*rolled_to = store_column_int(statement, 0);
		*pruned_at = store_column_int(statement, 1);
	}
	store_query_reset(statement);
	return code == STORE_ROW ? STORE_OK : store_status_from(code == STORE_DONE ? STORE_ERROR : code);
}

/* Bind the raw-row range (from, to] and run a rollup statement. */
static enum store_status roll(struct store *store, enum store_statement which, int64_t from, int64_t to)
{
	struct store_query *statement = store_query(store, which);
	store_bind_int(statement, 1, from);
	store_bind_int(statement, 2, to);
	return store_run(store, which);
}

/* The rollups in order: new addresses are found before usage_key_address learns of them. */
static enum store_status roll_all(struct store *store, int64_t from, int64_t to, int64_t new_address_seconds)
{
	static const enum store_statement tables[] = {
		STMT_ROLLUP_HOURLY,	  STMT_ROLLUP_HOURLY_WORKSPACE, STMT_ROLLUP_DAILY_KEY,
		STMT_ROLLUP_ENDPOINT,	  STMT_ROLLUP_DAILY_ENDPOINT,	STMT_ROLLUP_ADDRESS,
		STMT_ROLLUP_DAILY_ADDRESS,
	};
	enum store_status status = STORE_OK;
	for (size_t i = 0; i < sizeof tables / sizeof tables[0] && status == STORE_OK; i++)
		status = roll(store, tables[i], from, to);
	if (status != STORE_OK)
		return status;
	struct store_query *statement = store_query(store, STMT_ROLLUP_NEW_ADDRESS);
	store_bind_int(statement, 1, from);
	store_bind_int(statement, 2, to);
	store_bind_int(statement, 3, new_address_seconds);
	status = store_run(store, STMT_ROLLUP_NEW_ADDRESS);
	if (status == STORE_OK)
		status = roll(store, STMT_ROLLUP_KEY_ADDRESS, from, to);
	return status;
}

enum store_status store_usage_rollup(struct store *store, size_t max_rows, int64_t new_address_seconds, size_t *rolled)
{
	*rolled = 0;
	enum store_status status = store_transaction_begin(store);
	if (status != STORE_OK)
		return status;
	int64_t from = 0, pruned_at = 0, to = 0, rows = 0;
	status = rollup_state(store, STMT_ROLLUP_CLAIM, &from, &pruned_at);
	if (status == STORE_OK) {
		struct store_query *statement = store_query(store, STMT_ROLLUP_END);
		store_bind_int(statement, 1, from);
		store_bind_int(statement, 2, (int64_t)max_rows);
		int code = store_step(store, STMT_ROLLUP_END);
		if (code == STORE_ROW) {
			to = store_column_int(statement, 0);
			rows = store_column_int(statement, 1);
		}
		store_query_reset(statement);
		if (code != STORE_ROW)
			status = store_status_from(code == STORE_DONE ? STORE_ERROR : code);
	}
	if (status == STORE_OK && rows > 0) {
		status = roll_all(store, from, to, new_address_seconds);
		if (status == STORE_OK) {
			struct store_query *statement = store_query(store, STMT_ROLLUP_ADVANCE);
			store_bind_int(statement, 1, to);
			status = store_run(store, STMT_ROLLUP_ADVANCE);
		}
	}
	if (status != STORE_OK) {
		store_transaction_rollback(store);
		return status;
	}
	status = store_transaction_commit(store);
	if (status == STORE_OK)
		*rolled = (size_t)rows;
	return status;
}

/* Run a retention statement: ?1 workspace (when `per_workspace`), then the cutoff, then the limit. */
static enum store_status prune_one(struct store *store, enum store_statement which, bool per_workspace,
				   int64_t workspace_id, int64_t before, size_t max_rows, size_t *deleted)
{
	struct store_query *statement = store_query(store, which);
	int column = 1;
	if (per_workspace)
		store_bind_int(statement, column++, workspace_id);
	store_bind_int(statement, column++, before);
	store_bind_int(statement, column, (int64_t)max_rows);
	enum store_status status = store_run(store, which);
	if (status == STORE_OK)
		*deleted += (size_t)store_changes(store);
	return status;
}

enum store_status store_usage_prune(struct store *store, int64_t raw_before, int64_t hourly_before,
				    int64_t daily_before, size_t max_rows, size_t *deleted)
{
	static const enum store_statement per_workspace[] = {
		STMT_PRUNE_NEW_ADDRESS,
		STMT_PRUNE_HOURLY,
		STMT_PRUNE_HOURLY_WORKSPACE,
		STMT_PRUNE_ANONYMOUS,
	};
	static const enum store_statement per_key[] = { STMT_PRUNE_ENDPOINT, STMT_PRUNE_ADDRESS, STMT_PRUNE_KEY_ADDRESS };
	static const enum store_statement daily[] = { STMT_PRUNE_DAILY_KEY, STMT_PRUNE_DAILY_ENDPOINT,
						      STMT_PRUNE_DAILY_ADDRESS };
	*deleted = 0;
	int64_t workspaces[64];
	size_t count = 0;
	int64_t after = 0;
	enum store_status status = STORE_OK;
	/* Workspaces a few at a time, each delete its own short transaction: the writers never wait long. */
	do {
		count = 0;
		struct store_query *statement = store_query(store, STMT_WORKSPACE_IDS);
		int code;
		while ((code = store_step(store, STMT_WORKSPACE_IDS)) == STORE_ROW && count < 64) {
			int64_t id = store_column_int(statement, 0);
			if (id > after)
				workspaces[count++] = id;
		}
		store_query_reset(statement);
		if (code != STORE_ROW && code != STORE_DONE)
			return store_status_from(code);
		for (size_t i = 0; i < count && status == STORE_OK; i++) {
			status = prune_one(store, STMT_PRUNE_RAW, true, workspaces[i], raw_before, max_rows, deleted);
			for (size_t t = 0; t < sizeof per_workspace / sizeof per_workspace[0] && status == STORE_OK; t++)
				status = prune_one(store, per_workspace[t], true, workspaces[i],
						   per_workspace[t] == STMT_PRUNE_NEW_ADDRESS ? raw_before : hourly_before,
						   max_rows, deleted);
			after = workspaces[i];
		}
	} while (status == STORE_OK && count == 64);
	for (size_t t = 0; t < sizeof per_key / sizeof per_key[0] && status == STORE_OK; t++)
		status = prune_one(store, per_key[t], false, 0, hourly_before, max_rows, deleted);
	for (size_t t = 0; t < sizeof daily / sizeof daily[0] && status == STORE_OK; t++)
		status = prune_one(store, daily[t], false, 0, daily_before, max_rows, deleted);
	/* Every workspace's at once, those counted in a workspace not made (or no more) included. */
	if (status == STORE_OK)
		status = prune_one(store, STMT_PRUNE_REFUSED, false, 0, raw_before, max_rows, deleted);
	return status;
}

enum store_status store_usage_pruned_at(struct store *store, int64_t *at)
{
	int64_t rolled_to = 0;
	return rollup_state(store, STMT_ROLLUP_STATE, &rolled_to, at);
}

enum store_status store_usage_set_pruned_at(struct store *store, int64_t at)
{
	struct store_query *statement = store_query(store, STMT_PRUNED_AT_SET);
	store_bind_int(statement, 1, at);
	return store_run(store, STMT_PRUNED_AT_SET);
}

enum store_status store_usage_series(struct store *store, struct arena *arena, int64_t workspace_id,
				     int64_t api_key_row_id, const struct store_usage_slice *slice, int64_t since,
				     int64_t step, struct store_usage_bucket **buckets, size_t *count)
{
	static const struct store_usage_slice everything = { NULL, NULL, false };
	if (slice == NULL || api_key_row_id == 0)
		slice = &everything;
	bool by_address = slice->address != NULL && slice->address[0] != '\0';
	bool by_endpoint = !by_address && slice->endpoint != NULL && slice->endpoint[0] != '\0';
	enum store_statement which = api_key_row_id == 0 ? STMT_USAGE_SERIES_WORKSPACE
				     : by_address	 ? STMT_USAGE_SERIES_ADDRESS
				     : by_endpoint	 ? STMT_USAGE_SERIES_ENDPOINT
							 : STMT_USAGE_SERIES_KEY;
	struct store_query *statement = store_query(store, which);
	store_bind_int(statement, 1, api_key_row_id ? api_key_row_id : workspace_id);
	store_bind_int(statement, 2, since);
	store_bind_int(statement, 3, step > 0 ? step : 3600);
	if (by_address || by_endpoint)
		store_bind_text(statement, 4, by_address ? slice->address : slice->endpoint);
	else if (which == STMT_USAGE_SERIES_KEY)
		store_bind_int(statement, 4, slice->refused_only ? 1 : 0);
	size_t capacity = 32;
	*buckets = arena_alloc(arena, capacity * sizeof **buckets);
	*count = 0;
	int code;
	while ((code = store_step(store, which)) == STORE_ROW) {
		*buckets = grow(arena, *buckets, sizeof **buckets, *count, &capacity);
		struct store_usage_bucket *bucket = &(*buckets)[(*count)++];
		bucket->index = store_column_int(statement, 0);
		bucket->granted = slice->refused_only ? 0 : store_column_int(statement, 1);
		bucket->refused = store_column_int(statement, 2);
	}
	store_query_reset(statement);
	return store_status_from(code);
}

enum store_status store_usage_outcomes(struct store *store, struct arena *arena, int64_t api_key_row_id, int64_t since,
				       struct store_usage_outcome **outcomes, size_t *count)
{
	struct store_query *statement = store_query(store, STMT_USAGE_OUTCOMES);
	store_bind_int(statement, 1, api_key_row_id);
	store_bind_int(statement, 2, since);
	size_t capacity = 8;
	*outcomes = arena_alloc(arena, capacity * sizeof **outcomes);
	*count = 0;
	int code;
	while ((code = store_step(store, STMT_USAGE_OUTCOMES)) == STORE_ROW) {
		*outcomes = grow(arena, *outcomes, sizeof **outcomes, *count, &capacity);
		struct store_usage_outcome *outcome = &(*outcomes)[(*count)++];
		outcome->outcome = store_column_text(arena, statement, 0);
		outcome->calls = store_column_int(statement, 1);
	}
	store_query_reset(statement);
	return store_status_from(code);
}

/* Endpoints or addresses: name, calls, refused, first_seen, last_seen, total. */
static enum store_status read_items(struct store *store, enum store_statement which, struct arena *arena,
				   int64_t api_key_row_id, const struct store_usage_filter *filter,
				   struct store_usage_item **items, size_t *count, int64_t *total)
{
	size_t limit = filter->limit;
	struct store_query *statement = store_query(store, which);
	store_bind_int(statement, 1, api_key_row_id);
	store_bind_int(statement, 2, filter->span.since);
	store_bind_int(statement, 3, (int64_t)limit);
	store_bind_text(statement, 4, filter->only ? filter->only : "");
	store_bind_int(statement, 5, filter->refused_only ? 1 : 0);
	store_bind_int(statement, 6, filter->span.days_from);
	*items = arena_alloc(arena, (limit ? limit : 1) * sizeof **items);
	*count = 0;
	*total = 0;
	int code;
	while ((code = store_step(store, which)) == STORE_ROW && *count < limit) {
		struct store_usage_item *item = &(*items)[(*count)++];
		item->name = store_column_text(arena, statement, 0);
		item->calls = store_column_int(statement, 1);
		item->refused = store_column_int(statement, 2);
		item->first_seen = store_column_int(statement, 3);
		item->last_seen = store_column_int(statement, 4);
		*total = store_column_int(statement, 5);
	}
	store_query_reset(statement);
	return code == STORE_ROW ? STORE_OK : store_status_from(code);
}

enum store_status store_usage_endpoints(struct store *store, struct arena *arena, int64_t api_key_row_id,
					const struct store_usage_filter *filter, struct store_usage_item **items, size_t *count,
					int64_t *total)
{
	return read_items(store, STMT_USAGE_ENDPOINTS, arena, api_key_row_id, filter, items, count, total);
}

enum store_status store_usage_addresses(struct store *store, struct arena *arena, int64_t api_key_row_id,
					const struct store_usage_filter *filter, struct store_usage_item **items, size_t *count,
					int64_t *total)
{
	return read_items(store, STMT_USAGE_ADDRESSES, arena, api_key_row_id, filter, items, count, total);
}

/* Bind a slice as ?1 key, ?2 since, ?3 endpoint, ?4 address, ?5 refused only, ?6 limit. */
static struct store_query *bind_slice(struct store *store, enum store_statement which, int64_t api_key_row_id,
				const struct store_usage_slice *slice, int64_t since, size_t limit)
{
	struct store_query *statement = store_query(store, which);
	store_bind_int(statement, 1, api_key_row_id);
	store_bind_int(statement, 2, since);
	store_bind_text(statement, 3, slice->endpoint ? slice->endpoint : "");
	store_bind_text(statement, 4, slice->address ? slice->address : "");
	store_bind_int(statement, 5, slice->refused_only ? 1 : 0);
	store_bind_int(statement, 6, (int64_t)limit);
	return statement;
}

/* The row of calls[count] with the same second, endpoint, address and outcome as `call`; NULL when none. */
static struct store_usage_call *same_call(struct store_usage_call *calls, size_t count,
					  const struct store_usage_call *call)
{
	for (size_t i = 0; i < count; i++)
		if (calls[i].at == call->at && strcmp(calls[i].endpoint, call->endpoint) == 0 &&
		    strcmp(calls[i].address, call->address) == 0 && strcmp(calls[i].outcome, call->outcome) == 0)
			return &calls[i];
	return NULL;
}

/*
 * Append the rows of a bound latest-calls statement to calls[*count], up to `limit` in all. A row
 * like one an earlier statement gave (a second whose rows the watermark split) adds its calls to
 * that one; each statement merges its own rows already.
 */
static enum store_status read_calls(struct store *store, enum store_statement which, struct arena *arena,
				    struct store_usage_call *calls, size_t *count, size_t limit)
{
	struct store_query *statement = &store->queries[which];
	size_t earlier = *count;
	int code = STORE_DONE;
	while (*count < limit && (code = store_step(store, which)) == STORE_ROW) {
		struct store_usage_call *call = &calls[*count];
		call->at = store_column_int(statement, 0);
		call->endpoint = store_column_text(arena, statement, 1);
		call->address = store_column_text(arena, statement, 2);
		call->outcome = store_column_text(arena, statement, 3);
		call->calls = store_column_int(statement, 4);
		struct store_usage_call *same = same_call(calls, earlier, call);
		if (same != NULL)
			same->calls += call->calls;
		else
			(*count)++;
	}
	if (*count >= limit)
		code = STORE_DONE;
	store_query_reset(statement);
	return store_status_from(code);
}

/* store_usage_latest()'s reads, inside its snapshot. */
static enum store_status latest_calls(struct store *store, struct arena *arena, int64_t workspace_id,
				      int64_t api_key_row_id, const struct store_usage_slice *slice, int64_t since,
				      size_t limit, struct store_usage_call *calls, size_t *count)
{
	bind_slice(store, STMT_USAGE_LATEST_TAIL, api_key_row_id, slice, since, limit);
	enum store_status status = read_calls(store, STMT_USAGE_LATEST_TAIL, arena, calls, count, limit);
	if (status != STORE_OK || *count >= limit)
		return status;
	int64_t hours[STORE_LATEST_HOURS];
	size_t hour_count = 0;
	struct store_query *statement = bind_slice(store, STMT_USAGE_LATEST_HOURS, api_key_row_id, slice, since,
					     STORE_LATEST_HOURS);
	int code = STORE_DONE;
	while (hour_count < STORE_LATEST_HOURS && (code = store_step(store, STMT_USAGE_LATEST_HOURS)) == STORE_ROW)
		hours[hour_count++] = store_column_int(statement, 0);
	if (hour_count == STORE_LATEST_HOURS)
		code = STORE_DONE;
	store_query_reset(statement);
	if ((status = store_status_from(code)) != STORE_OK)
		return status;
	for (size_t i = 0; i < hour_count && status == STORE_OK && *count < limit; i++) {
		statement = bind_slice(store, STMT_USAGE_LATEST_HOUR, api_key_row_id, slice, since, limit - *count);
		store_bind_int(statement, 7, workspace_id);
		store_bind_int(statement, 8, hours[i]);
		status = read_calls(store, STMT_USAGE_LATEST_HOUR, arena, calls, count, limit);
	}
	return status;
}

enum store_status store_usage_latest(struct store *store, struct arena *arena, int64_t workspace_id,
				     int64_t api_key_row_id, const struct store_usage_slice *slice, int64_t since, size_t limit,
				     struct store_usage_call **calls, size_t *count)
{
	if (limit > STORE_LATEST_MAX)
		limit = STORE_LATEST_MAX;
	*calls = arena_alloc(arena, (limit ? limit : 1) * sizeof **calls);
	*count = 0;
	/* The raw tail and the rolled-up hours in one snapshot: a rollup between them would count twice. */
	enum store_status status = store_read_begin(store);
	if (status != STORE_OK)
		return status;
	status = latest_calls(store, arena, workspace_id, api_key_row_id, slice, since, limit, *calls, count);
	return store_transaction_finish(store, status);
}

enum store_status store_usage_anonymous(struct store *store, int64_t workspace_id, int64_t api_key_row_id,
					int64_t since, int64_t *calls)
{
	enum store_statement which = api_key_row_id ? STMT_USAGE_ANONYMOUS_KEY : STMT_USAGE_ANONYMOUS_WORKSPACE;
	struct store_query *statement = store_query(store, which);
	store_bind_int(statement, 1, api_key_row_id ? api_key_row_id : workspace_id);
	store_bind_int(statement, 2, since);
	int code = store_step(store, which);
	*calls = code == STORE_ROW ? store_column_int(statement, 0) : 0;
	store_query_reset(statement);
	return code == STORE_ROW ? STORE_OK : store_status_from(code == STORE_DONE ? STORE_ERROR : code);
}

/* Columns: key_id, name, calls, refused, at, address[, total[, hours]]. */
static enum store_status read_briefs(struct store *store, enum store_statement which, struct arena *arena, size_t limit,
				     struct store_key_brief **keys, size_t *count, int64_t *total)
{
	struct store_query *statement = &store->queries[which];
	*keys = arena_alloc(arena, (limit ? limit : 1) * sizeof **keys);
	*count = 0;
	if (total != NULL)
		*total = 0;
	int code;
	while ((code = store_step(store, which)) == STORE_ROW && *count < limit) {
		struct store_key_brief *key = &(*keys)[(*count)++];
		key->key_id = store_column_text(arena, statement, 0);
		key->name = store_column_text(arena, statement, 1);
		key->calls = store_column_int(statement, 2);
		key->refused = store_column_int(statement, 3);
		key->at = store_column_int(statement, 4);
		key->address = store_column_text(arena, statement, 5);
		if (total != NULL)
			*total = store_column_int(statement, 6);
		key->hours = store_column_count(statement) > 7 ? store_column_int(statement, 7) : 0;
	}
	store_query_reset(statement);
	return code == STORE_ROW ? STORE_OK : store_status_from(code);
}

enum store_status store_key_briefs(struct store *store, struct arena *arena, int64_t workspace_id,
				   enum store_key_brief_list list, const struct store_usage_span *span, size_t limit,
				   struct store_key_brief **keys, size_t *count, int64_t *total)
{
	static const enum store_statement statements[] = {
		[STORE_BRIEF_BUSIEST] = STMT_BRIEF_BUSIEST,
		[STORE_BRIEF_NEVER_USED] = STMT_BRIEF_NEVER_USED,
		[STORE_BRIEF_UNUSED_SINCE] = STMT_BRIEF_UNUSED_SINCE,
		[STORE_BRIEF_SECRET_OLDER] = STMT_BRIEF_SECRET_OLDER,
	};
	enum store_statement which = statements[list];
	struct store_query *statement = store_query(store, which);
	store_bind_int(statement, 1, workspace_id);
	store_bind_int(statement, 2, span->since);
	store_bind_int(statement, 3, (int64_t)limit);
	if (which == STMT_BRIEF_BUSIEST)
		store_bind_int(statement, 4, span->days_from);
	return read_briefs(store, which, arena, limit, keys, count, total);
}

enum store_status store_usage_spikes(struct store *store, struct arena *arena, int64_t workspace_id,
				     int64_t api_key_row_id, int64_t since, int64_t threshold, size_t limit,
				     struct store_key_brief **spikes, size_t *count, int64_t *total)
{
	struct store_query *statement = store_query(store, STMT_USAGE_SPIKES);
	store_bind_int(statement, 1, workspace_id);
	store_bind_int(statement, 2, api_key_row_id);
	store_bind_int(statement, 3, since);
	store_bind_int(statement, 4, threshold);
	store_bind_int(statement, 5, (int64_t)limit);
	return read_briefs(store, STMT_USAGE_SPIKES, arena, limit, spikes, count, total);
}

enum store_status store_usage_new_addresses(struct store *store, struct arena *arena, int64_t workspace_id,
					    int64_t api_key_row_id, int64_t since, size_t limit,
					    struct store_key_brief **found, size_t *count, int64_t *total)
{
	struct store_query *statement = store_query(store, STMT_USAGE_NEW_ADDRESSES);
	store_bind_int(statement, 1, workspace_id);
	store_bind_int(statement, 2, api_key_row_id);
	store_bind_int(statement, 3, since);
	store_bind_int(statement, 4, (int64_t)limit);
	return read_briefs(store, STMT_USAGE_NEW_ADDRESSES, arena, limit, found, count, total);
}

enum store_status store_usage_refused(struct store *store, struct arena *arena, int64_t workspace_id, int64_t since,
				      size_t limit, struct store_refused_address **addresses, size_t *count,
				      int64_t *address_total, int64_t *calls_total)
{
	struct store_query *statement = store_query(store, STMT_USAGE_REFUSED_ADDRESSES);
	store_bind_int(statement, 1, workspace_id);
	store_bind_int(statement, 2, since);
	store_bind_int(statement, 3, (int64_t)limit);
	*addresses = arena_alloc(arena, (limit ? limit : 1) * sizeof **addresses);
	*count = 0;
	*address_total = 0;
	*calls_total = 0;
	int code;
	while ((code = store_step(store, STMT_USAGE_REFUSED_ADDRESSES)) == STORE_ROW && *count < limit) {
		struct store_refused_address *row = &(*addresses)[(*count)++];
		row->address = store_column_text(arena, statement, 0);
		row->calls = store_column_int(statement, 1);
		row->missing_key = store_column_int(statement, 2);
		row->invalid_key = store_column_int(statement, 3);
		*address_total = store_column_int(statement, 4);
		*calls_total = store_column_int(statement, 5);
	}
	store_query_reset(statement);
	return code == STORE_ROW || code == STORE_DONE ? STORE_OK : store_status_from(code);
}
