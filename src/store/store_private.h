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

/*
 * The tables `keyward migrate-to` copies (store_copy.c), in an order that puts every row after the
 * rows it references: X(NAME, name, "table", "columns", "placeholders", "kinds", "order", "seed").
 * kinds: a letter a column, i integer, t text, b blob (NULL in any). seed: the rows a new database's
 * schema makes (the Default workspace, its two key roles, the rollup's state at zero) or the start
 * of any keyward makes (a server key check); rows beyond it make a target not empty. Each gives
 * STMT_COPY_READ_NAME (every row, key order), STMT_COPY_WRITE_NAME (one row, ids as they are) and
 * STMT_COPY_CLEAR_NAME (every row), and a column of STMT_COPY_COUNTS and STMT_COPY_EXTRA.
 */
#define STORE_COPY_TABLES(X)                                                                                    \
	X(WORKSPACE, workspace, "workspace", "id, name, created_at, active_key_limit", "?1, ?2, ?3, ?4", "itii", \
	  "id", "id = 1")                                                                                       \
	X(ROLE, role, "role", "id, workspace_id, name, description, permissions", "?1, ?2, ?3, ?4, ?5", "iittt",   \
	  "id", "workspace_id = 1 AND name IN ('admin', 'read-only')")                                          \
	X(API_KEY, api_key, "api_key",                                                                           \
	  "id, workspace_id, key_id, name, name_folded, secret_hash, secret_hint, postback_url, off_record, "      \
	  "enabled, role_id, created_at, updated_at, revoked_at, secret_set_at, note, note_folded, created_by, "   \
	  "previous_secret_hash, previous_secret_hint, previous_secret_until, expires_at, allowlist_enabled",    \
	  "?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11, ?12, ?13, ?14, ?15, ?16, ?17, ?18, ?19, ?20, ?21, ?22, " \
	  "?23",                                                                                                 \
	  "iitttbttiiiiiiitttbtiii", "id", "1 = 0")                                                              \
	X(API_KEY_CIDR, api_key_cidr, "api_key_cidr", "id, workspace_id, api_key_id, position, cidr, label",      \
	  "?1, ?2, ?3, ?4, ?5, ?6", "iiiitt", "id", "1 = 0")                                                     \
	X(API_KEY_LAST_USED, api_key_last_used, "api_key_last_used", "api_key_id, at", "?1, ?2", "ii",             \
	  "api_key_id", "1 = 0")                                                                                 \
	X(USER, user, "\"user\"",                                                                                \
	  "id, email, email_folded, name, password_hash, created_at, updated_at, disabled_at",                   \
	  "?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8", "ittttiii", "id", "1 = 0")                                           \
	X(MEMBERSHIP, membership, "membership", "workspace_id, user_id, console_role, created_at",                \
	  "?1, ?2, ?3, ?4", "iiti", "workspace_id, user_id", "1 = 0")                                            \
	X(INVITATION, invitation, "invitation",                                                                  \
	  "id, workspace_id, token_hash, console_role, setup, created_by, created_at, expires_at, accepted_by, "  \
	  "accepted_at, email, email_folded",                                                                    \
	  "?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11, ?12", "iibtiiiiiitt", "id", "1 = 0")                     \
	X(AUDIT_EVENT, audit_event, "audit_event",                                                               \
	  "id, workspace_id, at, actor_user_id, actor_label, client_address, action, target_type, target_id, "    \
	  "summary", "?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10", "iiiitttttt", "id", "1 = 0")                      \
	X(USAGE_EVENT, usage_event, "usage_event",                                                               \
	  "id, workspace_id, api_key_id, at, endpoint, client_address, outcome, calls, previous_secret",          \
	  "?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9", "iiiitttii", "id", "1 = 0")                                      \
	X(USAGE_ANONYMOUS_HOURLY, usage_anonymous_hourly, "usage_anonymous_hourly",                              \
	  "workspace_id, api_key_id, hour, calls", "?1, ?2, ?3, ?4", "iiii", "api_key_id, hour", "1 = 0")        \
	X(USAGE_HOURLY, usage_hourly, "usage_hourly", "api_key_id, hour, outcome, workspace_id, calls",           \
	  "?1, ?2, ?3, ?4, ?5", "iitii", "api_key_id, hour, outcome", "1 = 0")                                   \
	X(USAGE_HOURLY_WORKSPACE, usage_hourly_workspace, "usage_hourly_workspace",                              \
	  "workspace_id, hour, outcome, calls", "?1, ?2, ?3, ?4", "iiti", "workspace_id, hour, outcome", "1 = 0") \
	X(USAGE_HOURLY_ENDPOINT, usage_hourly_endpoint, "usage_hourly_endpoint",                                 \
	  "api_key_id, hour, endpoint, calls, refused, last_seen", "?1, ?2, ?3, ?4, ?5, ?6", "iitiii",            \
	  "api_key_id, hour, endpoint", "1 = 0")                                                                 \
	X(USAGE_HOURLY_ADDRESS, usage_hourly_address, "usage_hourly_address",                                    \
	  "api_key_id, hour, client_address, calls, refused, first_seen, last_seen",                             \
	  "?1, ?2, ?3, ?4, ?5, ?6, ?7", "iitiiii", "api_key_id, hour, client_address", "1 = 0")                  \
	X(USAGE_DAILY_KEY, usage_daily_key, "usage_daily_key", "workspace_id, api_key_id, day, calls, refused",   \
	  "?1, ?2, ?3, ?4, ?5", "iiiii", "workspace_id, api_key_id, day", "1 = 0")                               \
	X(USAGE_DAILY_ENDPOINT, usage_daily_endpoint, "usage_daily_endpoint",                                    \
	  "api_key_id, endpoint, day, calls, refused, last_seen", "?1, ?2, ?3, ?4, ?5, ?6", "itiiii",             \
	  "api_key_id, endpoint, day", "1 = 0")                                                                  \
	X(USAGE_DAILY_ADDRESS, usage_daily_address, "usage_daily_address",                                       \
	  "api_key_id, client_address, day, calls, refused, first_seen, last_seen",                              \
	  "?1, ?2, ?3, ?4, ?5, ?6, ?7", "itiiiii", "api_key_id, client_address, day", "1 = 0")                   \
	X(USAGE_KEY_ADDRESS, usage_key_address, "usage_key_address",                                             \
	  "api_key_id, client_address, first_seen, last_seen", "?1, ?2, ?3, ?4", "itii",                         \
	  "api_key_id, client_address", "1 = 0")                                                                 \
	X(USAGE_NEW_ADDRESS, usage_new_address, "usage_new_address",                                             \
	  "workspace_id, api_key_id, client_address, at", "?1, ?2, ?3, ?4", "iiti",                              \
	  "api_key_id, client_address, at", "1 = 0")                                                             \
	X(USAGE_REFUSED_HOURLY, usage_refused_hourly, "usage_refused_hourly",                                    \
	  "hour, workspace_id, client_address, outcome, calls", "?1, ?2, ?3, ?4, ?5", "iitti",                   \
	  "hour, workspace_id, client_address, outcome", "1 = 0")                                                \
	X(USAGE_ROLLUP, usage_rollup, "usage_rollup", "id, rolled_to, pruned_at", "?1, ?2, ?3", "iii", "id",      \
	  "rolled_to = 0")                                                                                       \
	X(SERVER_KEY_CHECK, server_key_check, "server_key_check", "id, check_value, set_at", "?1, ?2, ?3", "ibi", \
	  "id", "1 = 1")

#define STORE_COPY_STATEMENTS(NAME, name, table, columns, placeholders, kinds, order, seed) \
	STMT_COPY_READ_##NAME, STMT_COPY_WRITE_##NAME, STMT_COPY_CLEAR_##NAME,

/* Every statement the program runs. Text is in statements.c's table, in this order. */
enum store_statement {
	STMT_BEGIN,
	STMT_BEGIN_READ,
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
	STMT_KEY_LIST_ACTIVE, /* each list newest first, then its _NEWER twin (oldest first): store_keys.c */
	STMT_KEY_LIST_ACTIVE_NEWER,
	STMT_KEY_LIST_ENABLED,
	STMT_KEY_LIST_ENABLED_NEWER,
	STMT_KEY_LIST_DISABLED,
	STMT_KEY_LIST_DISABLED_NEWER,
	STMT_KEY_LIST_REVOKED,
	STMT_KEY_LIST_REVOKED_NEWER,
	STMT_KEY_LIST_EXPIRING,
	STMT_KEY_LIST_EXPIRING_NEWER,
	STMT_KEY_LIST_EXPIRED,
	STMT_KEY_LIST_EXPIRED_NEWER,
	STMT_KEY_LIST_ROLE,
	STMT_KEY_LIST_ROLE_NEWER,
	STMT_KEY_LIST_SEARCH,
	STMT_KEY_LIST_SEARCH_NEWER,
	STMT_KEY_SEARCH_SAMPLE,
	STMT_KEY_SET_ENABLED,
	STMT_KEY_REVOKE,
	STMT_KEY_SET_SECRET,
	STMT_KEY_END_OVERLAP,
	STMT_KEY_LOCK,
	STMT_KEY_SET_ALLOWLIST,
	STMT_KEY_PREVIOUS_CALLS,
	STMT_KEY_EXPIRY_COUNTS,
	STMT_CIDR_INSERT,
	STMT_CIDR_DELETE_FOR_KEY,
	STMT_CIDR_LIST_FOR_KEY,
	STMT_CIDR_LIST_FOR_KEY_RANGE,
	STMT_CIDR_APPEND,
	STMT_CIDR_REMOVE,
	STMT_KEY_TOUCH_UPDATED,
	STMT_REVEAL_DELETE_FOR_KEY,
	STMT_REVEAL_DELETE_STALE,
	STMT_REVEAL_INSERT,
	STMT_REVEAL_GET,
	STMT_REVEAL_DELETE,
	STMT_IDEMPOTENCY_PRUNE,
	STMT_IDEMPOTENCY_CLAIM,
	STMT_IDEMPOTENCY_GET,
	STMT_IDEMPOTENCY_FINISH,
	STMT_KEY_FIND_BY_HASH,
	STMT_USAGE_WRITE_LOCK,
	STMT_USAGE_INSERT,
	STMT_USAGE_INSERT_MANY,
	STMT_USAGE_ANONYMOUS_ADD,
	STMT_USAGE_ANONYMOUS_ADD_MANY,
	STMT_USAGE_REFUSED_ADD,
	STMT_USAGE_REFUSED_ADD_MANY,
	STMT_USAGE_REFUSED_ADDRESSES,
	STMT_PRUNE_REFUSED,
	STMT_KEY_TOUCH,
	STMT_KEY_TOUCH_MANY,
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
	STMT_OWNERS_LOCK,
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
	STORE_COPY_TABLES(STORE_COPY_STATEMENTS)
	STMT_COPY_COUNTS,
	STMT_COPY_EXTRA,
	STMT_COPY_USAGE_SEQUENCE,
	STMT_COPY_SEQUENCES,
	STMT_COUNT
};

/*
 * A read made of several statements that must all see the same committed state (raw rows and
 * their rollups, say: a rollup committed between two of them would count its rows twice). Ends
 * with store_transaction_commit() or _finish(), like a transaction; inside one, it is a savepoint
 * of it (the outer transaction's own view).
 */
enum store_status store_read_begin(struct store *store);

/* What store_step() returns besides a failed store_status (which are all >= 0). */
#define STORE_ROW (-1)  /* a row is ready to read */
#define STORE_DONE (-2) /* the statement ran to its end */

/* The most parameters a statement in the table takes (?1 .. ?STORE_PARAMS_MAX). */
#define STORE_PARAMS_MAX 24

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
