/* store_private.h: what the store's own files share: the statement table and step helpers. */
#ifndef KEYWARD_STORE_PRIVATE_H
#define KEYWARD_STORE_PRIVATE_H

#include <sqlite3.h>

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
	STMT_USAGE_INSERT,
	STMT_USAGE_ANONYMOUS_ADD,
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
	STMT_SIGNIN_FAILURE_INSERT,
	STMT_SIGNIN_FAILURE_COUNT,
	STMT_SIGNIN_FAILURE_CLEAR,
	STMT_SIGNIN_FAILURE_DELETE_OLD,
	STMT_KEY_ACTIVE_LIMIT,
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

struct store {
	sqlite3 *db;
	sqlite3_stmt *statements[STMT_COUNT];
	bool bulk; /* inside store_bulk_begin(): each unit of work is a savepoint of the one transaction */
};

/* The prepared statement, reset and with bindings cleared, ready to bind. */
sqlite3_stmt *store_statement(struct store *store, enum store_statement which);

/*
 * Step a statement once. Returns SQLITE_ROW, SQLITE_DONE, or an error code (logged with the
 * statement's name; SQLITE_BUSY after the busy timeout). The caller resets via store_statement().
 */
int store_step(struct store *store, enum store_statement which);

/* Run a statement that returns no rows, then reset it. */
enum store_status store_run(struct store *store, enum store_statement which);

/* Map an SQLite result code to a store status. */
enum store_status store_status_from(int code);

/*
 * One unit of work: BEGIN IMMEDIATE ... COMMIT, or ROLLBACK on failure. Inside a bulk load
 * (store_bulk_begin) the unit is a savepoint instead, so a failed unit undoes only itself.
 */
enum store_status store_begin(struct store *store);
enum store_status store_commit(struct store *store);
void store_rollback(struct store *store);

/* A copy of column `column` as text in `arena` ("" for NULL). */
const char *store_column_text(struct arena *arena, sqlite3_stmt *statement, int column);

#endif
