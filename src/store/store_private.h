/*
 * store_private.h: what the store's own files share: the statement table, and the query layer
 * through which they run statements on either engine (SQLite or PostgreSQL, see engine.h).
 *
 * A query is one statement of the table, prepared once per connection:
 *
 *     struct store_query *query = store_query(store, STMT_X);   (reset, nothing bound)
 *     store_bind_int(query, 1, id);  store_bind_text(query, 2, name);
 *     int code = store_step(store, STMT_X);   (STORE_ROW, STORE_DONE, or a failed status)
 *     ... store_column_int(query, 0), store_column_text(arena, query, 1) ...
 *     store_query_reset(query);
 *
 * Bound text and blobs are not copied: they must live until the query is reset.
 */
#ifndef KEYWARD_STORE_PRIVATE_H
#define KEYWARD_STORE_PRIVATE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "store/store.h"

/* Every statement the program runs. Text is in store.c's statement table, in this order. */
enum store_statement {
	STMT_BEGIN,
	STMT_COMMIT,
	STMT_ROLLBACK,
	STMT_SAVEPOINT,
	STMT_RELEASE,
	STMT_ROLLBACK_TO,
	STMT_ROLE_LIST,
	STMT_ROLE_GET,
	STMT_ROLE_FIND_BY_NAME,
	STMT_KEY_INSERT,
	STMT_KEY_UPDATE,
	STMT_KEY_GET,
	STMT_KEY_LIST,
	STMT_KEY_COUNT,
	STMT_KEY_SET_ENABLED,
	STMT_KEY_REVOKE,
	STMT_KEY_SET_SECRET,
	STMT_CIDR_INSERT,
	STMT_CIDR_DELETE_FOR_KEY,
	STMT_CIDR_LIST_FOR_KEY,
	STMT_REVEAL_DELETE_FOR_KEY,
	STMT_REVEAL_DELETE_STALE,
	STMT_REVEAL_INSERT,
	STMT_REVEAL_GET,
	STMT_REVEAL_DELETE,
	STMT_KEY_FIND_BY_HASH,
	STMT_USAGE_WRITE_LOCK,
	STMT_USAGE_INSERT,
	STMT_USAGE_INSERT_MANY,
	STMT_USAGE_ANONYMOUS_ADD,
	STMT_USAGE_REFUSED_ADD,
	STMT_USAGE_REFUSED_ADDRESSES,
	STMT_PRUNE_REFUSED,
	STMT_KEY_TOUCH,
	STMT_GATE_GENERATION,
	STMT_KEY_CHECK_GET,
	STMT_KEY_CHECK_INSERT,
	STMT_KEY_CHECK_REPLACE,
	STMT_BACKUP,
	STMT_USER_INSERT,
	STMT_USER_FIND_BY_EMAIL,
	STMT_USER_GET,
	STMT_USER_COUNT,
	STMT_MEMBERSHIP_SET,
	STMT_MEMBERSHIP_LIST_FOR_USER,
	STMT_SESSION_INSERT,
	STMT_SESSION_FIND,
	STMT_SESSION_TOUCH,
	STMT_SESSION_DELETE,
	STMT_SESSION_DELETE_EXPIRED,
	STMT_SIGNIN_ATTEMPTS_LOCK,
	STMT_SIGNIN_FAILURE_INSERT,
	STMT_SIGNIN_FAILURE_COUNT,
	STMT_SIGNIN_FAILURE_CLEAR,
	STMT_SIGNIN_FAILURE_DELETE_OLD,
	STMT_SIGNIN_FAILURE_DELETE,
	STMT_SIGNIN_FAILURE_CLEAR_PREFIX,
	STMT_USER_SET_DISABLED,
	STMT_USER_SET_PASSWORD,
	STMT_USER_DELETE,
	STMT_SESSION_DELETE_FOR_USER,
	STMT_SESSION_COUNT_FOR_USER,
	STMT_SOLE_OWNER_WORKSPACES,
	STMT_KEY_ACTIVE_LIMIT,
	STMT_WORKSPACE_LOCK,
	STMT_ROLE_FIND_ANY_CASE,
	STMT_ROLE_INSERT,
	STMT_ROLE_UPDATE,
	STMT_ROLE_USAGE,
	STMT_ROLE_DELETE,
	STMT_AUDIT_INSERT,
	STMT_MEMBERSHIP_GET,
	STMT_MEMBER_GET,
	STMT_OWNER_COUNT,
	STMT_MEMBER_SET_ROLE,
	STMT_MEMBER_DELETE,
	STMT_WORKSPACE_INSERT,
	STMT_WORKSPACE_DEFAULT_ROLES,
	STMT_INVITATION_DELETE_PENDING_FOR_EMAIL,
	STMT_INVITATION_INSERT,
	STMT_INVITATION_FIND,
	STMT_INVITATION_LIST_PENDING,
	STMT_INVITATION_GET_PENDING,
	STMT_INVITATION_DELETE,
	STMT_INVITATION_USE,
	STMT_MEMBER_LIST,
	STMT_AUDIT_LIST,
	STMT_AUDIT_COUNT,
	STMT_AUDIT_ACTORS,
	STMT_ROLLUP_STATE,
	STMT_ROLLUP_CLAIM,
	STMT_ROLLUP_END,
	STMT_ROLLUP_HOURLY,
	STMT_ROLLUP_HOURLY_WORKSPACE,
	STMT_ROLLUP_DAILY_KEY,
	STMT_ROLLUP_ENDPOINT,
	STMT_ROLLUP_DAILY_ENDPOINT,
	STMT_ROLLUP_ADDRESS,
	STMT_ROLLUP_DAILY_ADDRESS,
	STMT_ROLLUP_NEW_ADDRESS,
	STMT_ROLLUP_KEY_ADDRESS,
	STMT_ROLLUP_ADVANCE,
	STMT_PRUNED_AT_SET,
	STMT_WORKSPACE_IDS,
	STMT_PRUNE_RAW,
	STMT_PRUNE_NEW_ADDRESS,
	STMT_PRUNE_HOURLY,
	STMT_PRUNE_HOURLY_WORKSPACE,
	STMT_PRUNE_DAILY_KEY,
	STMT_PRUNE_ANONYMOUS,
	STMT_PRUNE_ENDPOINT,
	STMT_PRUNE_DAILY_ENDPOINT,
	STMT_PRUNE_ADDRESS,
	STMT_PRUNE_DAILY_ADDRESS,
	STMT_PRUNE_KEY_ADDRESS,
	STMT_USAGE_SERIES_KEY,
	STMT_USAGE_SERIES_ENDPOINT,
	STMT_USAGE_SERIES_ADDRESS,
	STMT_USAGE_SERIES_WORKSPACE,
	STMT_USAGE_OUTCOMES,
	STMT_USAGE_ENDPOINTS,
	STMT_USAGE_ADDRESSES,
	STMT_USAGE_LATEST_TAIL,
	STMT_USAGE_LATEST_HOURS,
	STMT_USAGE_LATEST_HOUR,
	STMT_USAGE_ANONYMOUS_KEY,
	STMT_USAGE_ANONYMOUS_WORKSPACE,
	STMT_BRIEF_BUSIEST,
	STMT_BRIEF_NEVER_USED,
	STMT_BRIEF_UNUSED_SINCE,
	STMT_BRIEF_SECRET_OLDER,
	STMT_USAGE_SPIKES,
	STMT_USAGE_NEW_ADDRESSES,
	STMT_COUNT
};

/* What store_step() returns besides a failed store_status (which are all >= 0). */
#define STORE_ROW (-1)  /* a row is ready to read */
#define STORE_DONE (-2) /* the statement ran to its end */

/* The most parameters a statement in the table takes (?1 .. ?STORE_PARAMS_MAX). */
#define STORE_PARAMS_MAX 16

enum store_param_kind { STORE_PARAM_NULL, STORE_PARAM_INT, STORE_PARAM_TEXT, STORE_PARAM_BLOB };

struct store_param {
	enum store_param_kind kind;
	int64_t integer;
	const void *data; /* text (NUL-terminated) or blob bytes: the caller's, until reset */
	size_t length;
};

struct store_query {
	struct store *store; /* the store it belongs to */
	enum store_statement which;
	int param_count; /* the highest parameter bound */
	struct store_param params[STORE_PARAMS_MAX];
	bool started;    /* stepped since the last reset */
	void *prepared;  /* the engine's prepared statement (SQLite: sqlite3_stmt *) */
	void *result;    /* the engine's rows (PostgreSQL: PGresult *) */
	int row;         /* the row store_column_*() read (PostgreSQL) */
};

struct store_engine;

struct store {
	const struct store_engine *engine;
	void *connection; /* the engine's connection (sqlite3 *, PGconn *) */
	char *where;      /* the database as messages name it: a path, or a URI without its password */
	struct store_query queries[STMT_COUNT];
	int depth;           /* open transactions: 0 outside any, 1 inside BEGIN, more inside savepoints of it */
	int64_t changes;     /* rows the last statement changed (engines that do not keep it themselves) */
	int64_t last_insert_id;
	bool lost;       /* the connection was lost and is not back yet (PostgreSQL) */
	double retry_at; /* monotonic seconds before which it does not try to connect again */
	bool gate_dirty; /* the open transaction changed keys, networks or roles (PostgreSQL) */
	bool watched;    /* on the database the gate watcher listens to (PostgreSQL) */
};

/* The statement's name, for messages ("key_insert"). */
const char *store_statement_name(enum store_statement which);

/* The query of statement `which`, reset, with nothing bound, ready to bind. */
struct store_query *store_query(struct store *store, enum store_statement which);

/* Bind parameter `index` (1-based, as ?1 in the statement). Text NULL binds SQL NULL. */
void store_bind_int(struct store_query *query, int index, int64_t value);
void store_bind_text(struct store_query *query, int index, const char *text);
void store_bind_blob(struct store_query *query, int index, const void *data, size_t length);
void store_bind_null(struct store_query *query, int index);

/*
 * Step statement `which` once: STORE_ROW, STORE_DONE, or a failed status (STORE_BUSY after the
 * busy timeout, STORE_CONFLICT, ...; logged with the statement's name). Read the row with
 * store_column_*(); the caller resets via store_query_reset() or store_query().
 */
int store_step(struct store *store, enum store_statement which);

/* Forget the query's rows and bindings. */
void store_query_reset(struct store_query *query);

/* Run a statement that returns no rows, then reset it. */
enum store_status store_run(struct store *store, enum store_statement which);

/* A store_step() result as a status: STORE_ROW and STORE_DONE are STORE_OK. */
enum store_status store_status_from(int code);

/* Column `column` of the current row. NULL reads as 0, "" or no bytes. */
bool store_column_is_null(const struct store_query *query, int column);
int64_t store_column_int(const struct store_query *query, int column);
int store_column_count(const struct store_query *query);
/* A copy of the text in `arena` ("" for NULL). */
const char *store_column_text(struct arena *arena, const struct store_query *query, int column);
/* The bytes of a blob, and their count in *length; NULL when none (NULL, or empty). */
const void *store_column_blob(struct arena *arena, const struct store_query *query, int column, size_t *length);

/* Rows the last statement run on `store` inserted, changed or deleted. */
int64_t store_changes(struct store *store);

/* The id of the row the last INSERT made (a statement that ends "RETURNING id" on PostgreSQL). */
int64_t store_last_insert_id(struct store *store);

#endif
