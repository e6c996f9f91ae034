/*
 * statements.c: every SQL statement keyward runs, in one table: each in SQLite's words with
 * numbered parameters (?1, ?2 ...), and PostgreSQL's words beside it where they differ (engine.h).
 * The engines prepare them; store_*.c bind and step them.
 */
#include "store/engine.h"

#define KEY_COLUMNS                                                                              \
	"k.id, k.workspace_id, k.key_id, k.name, k.secret_hint, k.postback_url, k.off_record, "   \
	"k.enabled, k.role_id, r.name, k.created_at, k.updated_at, "                                   \
	"(SELECT u.at FROM api_key_last_used u WHERE u.api_key_id = k.id), k.revoked_at, k.expires_at, " \
	"k.previous_secret_hint, k.previous_secret_until, k.note, k.created_by, k.allowlist_enabled "

/*
 * The key lists (store_key_list()). Parameters: ?1 the workspace, ?2 the folded text (never '' in
 * a search), ?3 the state (a CASE of the role and search lists), ?4 the role, ?5 a key ID's part,
 * ?6 a last 4, ?7 the rows to read (a page and one), ?8 the row id every key is below, ?11 the one
 * every key is above, ?9 now and ?10 soon (the expiry states), ?12 and ?13 what a search asks the
 * trigram index for (KEY_SEARCH_MATCH).
 *
 * Each list reads rows in row id order from an index that holds only the keys it may show, and
 * stops at ?7 rows: one statement a state (its partial index: SQLite is told which, PostgreSQL's
 * planner finds it for the workspace asked about), one for a role (the role's keys in id order,
 * the state checked on each), and one for a text of 3 characters or more, which the trigram index
 * finds (SQLite's FTS5 table api_key_search, PostgreSQL's pg_trgm index api_key_search;
 * 016_key_search.sql), in id order too. Each in two directions: newest first (the next page) and
 * oldest first (a page back; the store turns it round).
 */
#define KEY_TEXT(D)                                                                              \
	"AND (?2 = '' OR " D("instr", "strpos") "(k.name_folded, ?2) > 0 "                        \
	"     OR " D("instr", "strpos") "(k.note_folded, ?2) > 0 "                               \
	"     OR (?5 <> '' AND " D("instr", "strpos") "(lower(k.key_id), ?5) > 0) "              \
	"     OR (?6 <> '' AND lower(k.secret_hint) = ?6)) "
/* ?N's text as a LIKE pattern that means just that text (and, in CONTAINING, anywhere in the value). */
#define LIKE_LITERAL(N) "replace(replace(replace(" N ", '\\', '\\\\'), '%', '\\%'), '_', '\\_')"
#define LIKE_CONTAINING(N) "'%' || " LIKE_LITERAL(N) " || '%'"
/*
 * What the search asks the trigram index: ?12 (the part of the text the store guessed rarest, see
 * search_window() in store_keys.c), the key ID's part or the last 4; every key it finds is then
 * checked against the whole text by KEY_TEXT. PostgreSQL's words are LIKE's, which its trigram
 * index answers (the column's "C" collation compares bytes, as strpos() does); SQLite's are an FTS5
 * query of phrases (a phrase of trigrams is a substring, to the trigram tokenizer), in any column
 * (FTS5 keeps one list a trigram for all of them). ?13 is the part of the key ID's part the index
 * is asked for, '' when that is the text (the console's filter): then ?12 finds every key that holds
 * it (SQLite's phrase in any column; PostgreSQL's LIKE on the key ID, which ?12 is part of).
 */
#define KEY_SEARCH_INDEXED                                                                       \
	"AND (k.name_folded LIKE " LIKE_CONTAINING("?12") " "                                     \
	"     OR k.note_folded LIKE " LIKE_CONTAINING("?12") " "                                  \
	"     OR (?5 <> '' AND lower(k.key_id) LIKE " LIKE_CONTAINING("coalesce(nullif(?13, ''), ?12)") ") " \
	"     OR (?6 <> '' AND lower(k.secret_hint) LIKE " LIKE_LITERAL("?6") ")) "
#define FTS_PHRASE(N) "'\"' || replace(" N ", '\"', '\"\"') || '\"'"
/* The workspace's keys (016 writes its id «1» in the column workspace) AND the parts asked for. */
#define KEY_SEARCH_MATCH                                                                         \
	"'workspace : \"«' || ?1 || '»\" AND (' || " FTS_PHRASE("?12") " "                        \
	"|| CASE WHEN ?13 <> '' THEN ' OR ' || " FTS_PHRASE("?13") " ELSE '' END "                 \
	"|| CASE WHEN ?6 <> '' THEN ' OR ' || " FTS_PHRASE("?6") " ELSE '' END || ')'"
#define KEY_STATE                                                                                \
	"AND CASE CAST(?3 AS INTEGER) WHEN 0 THEN k.revoked_at IS NULL "                         \
	"            WHEN 1 THEN k.revoked_at IS NULL AND k.enabled = 1 "                        \
	"            WHEN 2 THEN k.revoked_at IS NULL AND k.enabled = 0 "                        \
	"            WHEN 3 THEN k.revoked_at IS NOT NULL "                                      \
	"            WHEN 4 THEN k.revoked_at IS NULL AND k.expires_at > ?9 AND k.expires_at <= ?10 " \
	"            ELSE k.revoked_at IS NULL AND k.expires_at <= ?9 END "
/* One state's list: its rows from `index` (SQLite's words; PostgreSQL picks alone), in `order`. */
#define KEY_LIST_STATE(D, order, reverse, index, state)                                          \
	"SELECT " KEY_COLUMNS "FROM api_key k" D(" INDEXED BY " index, "")                       \
	" JOIN role r ON r.id = k.role_id "                                                      \
	"WHERE k.workspace_id = ?1 AND " state " AND k.id < ?8 AND k.id > ?11 " KEY_TEXT(D)      \
	"ORDER BY k.id " order " LIMIT ?7"
#define KEY_LIST_ROLE(D, order, reverse)                                                         \
	"SELECT " KEY_COLUMNS "FROM api_key k" D(" INDEXED BY api_key_role", "")                 \
	" JOIN role r ON r.id = k.role_id "                                                      \
	"WHERE k.workspace_id = ?1 AND k.role_id = ?4 AND k.id < ?8 AND k.id > ?11 " KEY_STATE   \
	KEY_TEXT(D) "ORDER BY k.id " order " LIMIT ?7"
/*
 * The search. SQLite: the FTS5 table first (CROSS JOIN keeps it the outer loop), which hands its
 * rowids over in order, so the LIMIT stops it; a rowid there is minus the key's id (016), so that
 * newest first is its rowids ascending, which FTS5 reads several times faster than descending.
 * PostgreSQL: the planner weighs the trigram index (then a sort of what it found) against the id
 * order (then the LIKE on each row).
 */
#define KEY_LIST_SEARCH(D, order, reverse)                                                       \
	"SELECT " KEY_COLUMNS                                                                    \
	D("FROM api_key_search s CROSS JOIN api_key k ON k.id = -s.rowid ", "FROM api_key k ")     \
	"JOIN role r ON r.id = k.role_id WHERE "                                                 \
	D("api_key_search MATCH " KEY_SEARCH_MATCH " AND s.rowid > -?8 AND s.rowid < -?11 AND ", "") \
	"k.workspace_id = ?1 AND k.id < ?8 AND k.id > ?11 AND (?4 = 0 OR k.role_id = ?4) "       \
	KEY_STATE D("", KEY_SEARCH_INDEXED) KEY_TEXT(D)                                          \
	"ORDER BY " D("s.rowid " reverse, "k.id " order) " LIMIT ?7"
#define KEY_LIST_ACTIVE(D, order, reverse)                                                       \
	KEY_LIST_STATE(D, order, reverse, "api_key_live", "k.revoked_at IS NULL")
#define KEY_LIST_ENABLED(D, order, reverse)                                                      \
	KEY_LIST_STATE(D, order, reverse, "api_key_state", "k.revoked_at IS NULL AND k.enabled = 1")
#define KEY_LIST_DISABLED(D, order, reverse)                                                     \
	KEY_LIST_STATE(D, order, reverse, "api_key_state", "k.revoked_at IS NULL AND k.enabled = 0")
#define KEY_LIST_REVOKED(D, order, reverse)                                                      \
	KEY_LIST_STATE(D, order, reverse, "api_key_revoked", "k.revoked_at IS NOT NULL")
/* The keys with an expiry in id order, each one's expiry read from the index: a row only for a match. */
#define KEY_LIST_EXPIRING(D, order, reverse)                                                     \
	KEY_LIST_STATE(D, order, reverse, "api_key_expires",                                     \
		       "k.revoked_at IS NULL AND k.expires_at IS NOT NULL AND k.expires_at > ?9 "  \
		       "AND k.expires_at <= ?10")
#define KEY_LIST_EXPIRED(D, order, reverse)                                                      \
	KEY_LIST_STATE(D, order, reverse, "api_key_expires",                                     \
		       "k.revoked_at IS NULL AND k.expires_at IS NOT NULL AND k.expires_at <= ?9")
/* Both directions of a list, two entries of the statement table: `order` of ids, `reverse` its opposite. */
#define KEY_LIST_ENTRIES(WHICH, name, LIST, each_run)                                            \
	[WHICH] = { name, LIST(SQLITE_WORDS, "DESC", "ASC"), LIST(POSTGRESQL_WORDS, "DESC", "ASC"), \
		    each_run },                                                                  \
	[WHICH##_NEWER] = { name "_newer", LIST(SQLITE_WORDS, "ASC", "DESC"),                    \
			    LIST(POSTGRESQL_WORDS, "ASC", "DESC"), each_run },

#define AUDIT_FILTER                                                                             \
	"WHERE workspace_id = ?1 AND (?2 = '' OR actor_label = ?2) AND (?3 = '' OR action = ?3) "    \
	"AND (?4 = '' OR target_id = ?4) "

/*
 * Where the engines need other words, a statement is a macro of D, and D(SQLite's words,
 * PostgreSQL's words) picks: DIALECTS() gives the table both texts from the one macro. (SQLite's
 * words are mostly its planner's hints: INDEXED BY, NOT INDEXED, a unary + that keeps a column's
 * index out of use.)
 */
#define SQLITE_WORDS(sqlite, postgresql) sqlite
#define POSTGRESQL_WORDS(sqlite, postgresql) postgresql
#define DIALECTS(name, statement) name, statement(SQLITE_WORDS), statement(POSTGRESQL_WORDS)
#define UNARY_PLUS(D) D("+", "")

/*
 * Upsert assignments that both engines read alike: the row's column named with its table (a bare
 * name is ambiguous in PostgreSQL), and the greater or smaller of two without SQLite's scalar
 * max()/min() (PostgreSQL's greatest()/least()).
 */
#define ADDED(table, column) column " = " table "." column " + excluded." column
#define LATER(table, column) \
	column " = CASE WHEN excluded." column " > " table "." column " THEN excluded." column " ELSE " table "." column " END"
#define EARLIER(table, column) \
	column " = CASE WHEN excluded." column " < " table "." column " THEN excluded." column " ELSE " table "." column " END"

/* Pieces the insight statements share: the refused part of usage rows, the rollup watermark. */
#define GRANTED_CALLS "sum(CASE WHEN outcome = 'granted' THEN calls ELSE 0 END)"
#define REFUSED_CALLS "sum(CASE WHEN outcome = 'granted' THEN 0 ELSE calls END)"
#define REFUSED_ROW "CASE WHEN outcome = 'granted' THEN 0 ELSE calls END"
#define ROLLED_TO "(SELECT rolled_to FROM usage_rollup WHERE id = 1)"

/* The columns read_member() and read_invitation() (store_members.c) expect. */
#define MEMBER_SELECT \
	"SELECT u.id, u.email, u.name, m.console_role, m.created_at, u.disabled_at IS NOT NULL FROM membership m " \
	"JOIN \"user\" u ON u.id = m.user_id "
#define INVITATION_SELECT                                                                                          \
	"SELECT i.id, i.workspace_id, w.name, i.email, i.console_role, i.setup, i.created_at, i.expires_at, "        \
	"i.accepted_at IS NOT NULL FROM invitation i JOIN workspace w ON w.id = i.workspace_id "

/*
 * Every statement: its name (for messages), its SQL in SQLite's words with numbered parameters,
 * and, where PostgreSQL needs other words, PostgreSQL's (its parameters are the same ?N, which
 * engine_postgresql.c writes as $N). A PostgreSQL text of "" means the statement does not exist
 * there (what it does, the engine does otherwise). `each_run`: PostgreSQL plans it for the values
 * of each run instead of preparing it once (see store_statement_each_run()).
 */
static const struct {
	const char *name;
	const char *sql;
	const char *postgresql;
	bool each_run;
} statement_table[STMT_COUNT] = {
	[STMT_BEGIN] = { "begin", "BEGIN IMMEDIATE", "BEGIN" },
	/* A read in several statements that must see one state (store_read_begin): SQLite's snapshot
	   starts at the first read and takes no lock; PostgreSQL's holds from the first statement. */
	[STMT_BEGIN_READ] = { "begin_read", "BEGIN DEFERRED", "BEGIN ISOLATION LEVEL REPEATABLE READ READ ONLY" },
	[STMT_COMMIT] = { "commit", "COMMIT" },
	[STMT_ROLLBACK] = { "rollback", "ROLLBACK" },
	[STMT_SAVEPOINT] = { "savepoint", "SAVEPOINT unit" },
	[STMT_RELEASE] = { "release", "RELEASE unit" },
	[STMT_ROLLBACK_TO] = { "rollback_to", "ROLLBACK TO unit" },
	[STMT_ROLE_LIST] = { "role_list",
		"SELECT id, name, description, permissions FROM role WHERE workspace_id = ?1 ORDER BY name, id" },
	[STMT_ROLE_GET] = { "role_get",
		"SELECT id, name, description, permissions FROM role WHERE workspace_id = ?1 AND id = ?2" },
	[STMT_ROLE_FIND_BY_NAME] = { "role_find_by_name",
		"SELECT id, name, description, permissions FROM role WHERE workspace_id = ?1 AND name = ?2" },
	[STMT_KEY_INSERT] = { "key_insert",
		"INSERT INTO api_key (workspace_id, key_id, name, name_folded, secret_hash, secret_hint, "
		"postback_url, off_record, enabled, role_id, created_at, updated_at, secret_set_at, expires_at, note, "
		"note_folded, created_by) "
		"VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11, ?11, ?11, nullif(?12, 0), ?13, ?14, ?15) RETURNING id" },
	[STMT_KEY_UPDATE] = { "key_update",
		"UPDATE api_key SET name = ?3, name_folded = ?4, postback_url = ?5, off_record = ?6, "
		"enabled = ?7, role_id = ?8, updated_at = ?9, expires_at = nullif(?10, 0), note = ?11, note_folded = ?12 "
		"WHERE workspace_id = ?1 AND key_id = ?2 AND revoked_at IS NULL RETURNING id" },
	[STMT_KEY_GET] = { "key_get",
		"SELECT " KEY_COLUMNS "FROM api_key k JOIN role r ON r.id = k.role_id "
		"WHERE k.workspace_id = ?1 AND k.key_id = ?2" },
	/*
	 * How a list is best read depends on its values, so PostgreSQL plans each run for them (a
	 * prepared statement settles on one plan for any values after five runs). A search: the
	 * trigram index for a rare text, the id order for one most keys hold ("key"); a plan for any
	 * text read all 100,000 keys for either, and a part not given (?5, ?6 '') drops out only when
	 * planned for. A state or a role: a plan for any workspace read the primary key backwards,
	 * fine for a workspace that holds most keys, and 100,000 keys of another one deep for one of
	 * 100 made before them (31 ms); planned for the workspace, its partial index (0.2 ms).
	 */
	KEY_LIST_ENTRIES(STMT_KEY_LIST_ACTIVE, "key_list_active", KEY_LIST_ACTIVE, true)
	KEY_LIST_ENTRIES(STMT_KEY_LIST_ENABLED, "key_list_enabled", KEY_LIST_ENABLED, true)
	KEY_LIST_ENTRIES(STMT_KEY_LIST_DISABLED, "key_list_disabled", KEY_LIST_DISABLED, true)
	KEY_LIST_ENTRIES(STMT_KEY_LIST_REVOKED, "key_list_revoked", KEY_LIST_REVOKED, true)
	KEY_LIST_ENTRIES(STMT_KEY_LIST_EXPIRING, "key_list_expiring", KEY_LIST_EXPIRING, true)
	KEY_LIST_ENTRIES(STMT_KEY_LIST_EXPIRED, "key_list_expired", KEY_LIST_EXPIRED, true)
	KEY_LIST_ENTRIES(STMT_KEY_LIST_ROLE, "key_list_role", KEY_LIST_ROLE, true)
	KEY_LIST_ENTRIES(STMT_KEY_LIST_SEARCH, "key_list_search", KEY_LIST_SEARCH, true)
	/* What the search index holds of the ?2 newest and ?2 oldest keys: a search guesses from it. */
#define KEY_SEARCH_SAMPLE_END(D, order)                                                          \
	"SELECT * FROM (SELECT name_folded, note_folded, lower(key_id), lower(secret_hint) "      \
	"FROM api_key" D(" INDEXED BY api_key_live", "") " WHERE workspace_id = ?1 "              \
	"AND revoked_at IS NULL ORDER BY id " order " LIMIT ?2) AS " order "_end"
#define KEY_SEARCH_SAMPLE_SQL(D) KEY_SEARCH_SAMPLE_END(D, "DESC") " UNION ALL " KEY_SEARCH_SAMPLE_END(D, "ASC")
	[STMT_KEY_SEARCH_SAMPLE] = { DIALECTS("key_search_sample", KEY_SEARCH_SAMPLE_SQL) },
	[STMT_KEY_SET_ENABLED] = { "key_set_enabled",
		"UPDATE api_key SET enabled = ?3, updated_at = ?4 "
		"WHERE workspace_id = ?1 AND key_id = ?2 AND revoked_at IS NULL" },
	[STMT_KEY_REVOKE] = { "key_revoke",
		"UPDATE api_key SET revoked_at = ?3, updated_at = ?3 "
		"WHERE workspace_id = ?1 AND key_id = ?2 AND revoked_at IS NULL RETURNING id" },
	/* With ?6 > 0 the secret being replaced becomes the previous one, until ?6 (SET reads the row as it was). */
	[STMT_KEY_SET_SECRET] = { "key_set_secret",
		"UPDATE api_key SET secret_hash = ?3, secret_hint = ?4, updated_at = ?5, secret_set_at = ?5, "
		"previous_secret_hash = CASE WHEN ?6 > 0 THEN secret_hash END, "
		"previous_secret_hint = CASE WHEN ?6 > 0 THEN secret_hint END, "
		"previous_secret_until = nullif(?6, 0) "
		"WHERE workspace_id = ?1 AND key_id = ?2 AND revoked_at IS NULL" },
	[STMT_KEY_END_OVERLAP] = { "key_end_overlap",
		"UPDATE api_key SET previous_secret_hash = NULL, previous_secret_hint = NULL, "
		"previous_secret_until = NULL, updated_at = ?3 "
		"WHERE workspace_id = ?1 AND key_id = ?2 AND revoked_at IS NULL" },
	/* SQLite's IMMEDIATE transaction holds the write lock already; PostgreSQL locks the key's row. */
	[STMT_KEY_LOCK] = { "key_lock", "SELECT ?1, ?2",
		"SELECT id FROM api_key WHERE workspace_id = ?1 AND key_id = ?2 FOR UPDATE" },
	/* Only a switch that changes counts as a change (changes() 0 otherwise). */
	[STMT_KEY_SET_ALLOWLIST] = { "key_set_allowlist",
		"UPDATE api_key SET allowlist_enabled = ?3, updated_at = ?4 "
		"WHERE workspace_id = ?1 AND key_id = ?2 AND revoked_at IS NULL AND allowlist_enabled <> ?3" },
	/* Raw usage rows are kept for days (KEYWARD_RAW_DAYS and the like): an hour's are always there. */
	[STMT_KEY_PREVIOUS_CALLS] = { "key_previous_calls",
		"SELECT coalesce(sum(calls), 0) FROM usage_event "
		"WHERE workspace_id = ?1 AND at >= ?3 AND api_key_id = ?2 AND previous_secret = 1" },
	[STMT_KEY_EXPIRY_COUNTS] = { "key_expiry_counts",
		"SELECT coalesce(sum(CASE WHEN expires_at > ?2 AND expires_at <= ?3 THEN 1 ELSE 0 END), 0), "
		"coalesce(sum(CASE WHEN expires_at <= ?2 THEN 1 ELSE 0 END), 0) FROM api_key "
		"WHERE workspace_id = ?1 AND expires_at IS NOT NULL AND revoked_at IS NULL AND expires_at <= ?3" },
	[STMT_CIDR_INSERT] = { "cidr_insert",
		"INSERT INTO api_key_cidr (workspace_id, api_key_id, position, cidr, label) VALUES (?1, ?2, ?3, ?4, ?5)" },
	[STMT_CIDR_DELETE_FOR_KEY] = { "cidr_delete_for_key",
		"DELETE FROM api_key_cidr WHERE workspace_id = ?1 AND api_key_id = ?2" },
	[STMT_CIDR_LIST_FOR_KEY] = { "cidr_list_for_key",
		"SELECT cidr, label FROM api_key_cidr WHERE workspace_id = ?1 AND api_key_id = ?2 ORDER BY position" },
	/* The networks of a page of keys at once (an export): those of every key whose row id is in [?2, ?3]. */
	[STMT_CIDR_LIST_FOR_KEY_RANGE] = { "cidr_list_for_key_range",
		"SELECT api_key_id, cidr, label FROM api_key_cidr WHERE workspace_id = ?1 AND api_key_id BETWEEN ?2 AND ?3 "
		"ORDER BY api_key_id, position" },
	/* One network after the key's last (positions keep the order; gaps left by removals do no harm). */
	[STMT_CIDR_APPEND] = { "cidr_append",
		"INSERT INTO api_key_cidr (workspace_id, api_key_id, position, cidr, label) "
		"SELECT ?1, ?2, coalesce(max(position) + 1, 0), ?3, ?4 FROM api_key_cidr WHERE api_key_id = ?2" },
	[STMT_CIDR_REMOVE] = { "cidr_remove",
		"DELETE FROM api_key_cidr WHERE workspace_id = ?1 AND api_key_id = ?2 AND cidr = ?3" },
	[STMT_KEY_TOUCH_UPDATED] = { "key_touch_updated",
		"UPDATE api_key SET updated_at = ?3 WHERE workspace_id = ?1 AND id = ?2 AND revoked_at IS NULL" },
	[STMT_REVEAL_DELETE_FOR_KEY] = { "reveal_delete_for_key",
		"DELETE FROM secret_reveal WHERE workspace_id = ?1 AND api_key_id = ?2" },
	[STMT_REVEAL_DELETE_STALE] = { "reveal_delete_stale",
		"DELETE FROM secret_reveal WHERE created_at < ?1" },
	[STMT_REVEAL_INSERT] = { "reveal_insert",
		"INSERT INTO secret_reveal (workspace_id, api_key_id, sealed, created_at) VALUES (?1, ?2, ?3, ?4)" },
	[STMT_REVEAL_GET] = { "reveal_get",
		"SELECT id, sealed FROM secret_reveal WHERE workspace_id = ?1 AND api_key_id = ?2 AND created_at >= ?3" },
	[STMT_REVEAL_DELETE] = { "reveal_delete",
		"DELETE FROM secret_reveal WHERE workspace_id = ?1 AND id = ?2" },
	[STMT_IDEMPOTENCY_PRUNE] = { "idempotency_prune", "DELETE FROM api_idempotency WHERE created_at < ?1" },
	/* The answer is filled in by FINISH before the claiming transaction commits. */
	[STMT_IDEMPOTENCY_CLAIM] = { "idempotency_claim",
		"INSERT INTO api_idempotency (workspace_id, api_key_id, key_hash, request_hash, status, answer, created_at) "
		"VALUES (?1, ?2, ?3, ?4, 0, ?4, ?5) ON CONFLICT (api_key_id, key_hash) DO NOTHING RETURNING id" },
	[STMT_IDEMPOTENCY_GET] = { "idempotency_get",
		"SELECT status, request_hash, answer, created_at FROM api_idempotency WHERE api_key_id = ?1 AND key_hash = ?2" },
	[STMT_IDEMPOTENCY_FINISH] = { "idempotency_finish",
		"UPDATE api_idempotency SET status = ?2, answer = ?3 WHERE id = ?1" },
#define KEY_FIND_BY_HASH_SQL(D) \
	"SELECT k.id, k.workspace_id, k.key_id, k.name, k.enabled, k.revoked_at IS NOT NULL, k.off_record, " \
	"r.name, r.permissions, " \
	"(SELECT " D("group_concat(c.cidr, ' ')", "string_agg(c.cidr, ' ')") " FROM api_key_cidr c WHERE c.api_key_id = k.id), " \
	"k.expires_at, k.secret_hash <> ?1, k.previous_secret_until, k.allowlist_enabled " \
	"FROM api_key k JOIN role r ON r.id = k.role_id WHERE k.secret_hash = ?1 OR k.previous_secret_hash = ?1"
	[STMT_KEY_FIND_BY_HASH] = { DIALECTS("key_find_by_hash", KEY_FIND_BY_HASH_SQL) },
	/*
	 * Before a batch of raw usage rows: on PostgreSQL, a share of the rollup's state row, so that a
	 * rollup (which locks it for update) waits until every batch that took ids has committed, and
	 * no batch takes ids while a rollup runs: its watermark, an id, then never passes a row that
	 * commits later. SQLite has one writer at a time: nothing to do.
	 */
	[STMT_USAGE_WRITE_LOCK] = { "usage_write_lock", "SELECT 1",
				    "SELECT 1 FROM usage_rollup WHERE id = 1 FOR SHARE" },
	[STMT_USAGE_INSERT] = { "usage_insert",
		"INSERT INTO usage_event (workspace_id, api_key_id, at, endpoint, client_address, outcome, calls, "
		"previous_secret) VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8)" },
	/*
	 * A whole batch in one statement where the engine takes arrays (PostgreSQL: one round trip,
	 * not one per row): ?1 .. ?8 are array literals of the columns of usage_insert, row by row.
	 */
	[STMT_USAGE_INSERT_MANY] = { "usage_insert_many", "",
		"INSERT INTO usage_event (workspace_id, api_key_id, at, endpoint, client_address, outcome, calls, "
		"previous_secret) "
		"SELECT * FROM unnest(CAST(?1 AS bigint[]), CAST(?2 AS bigint[]), CAST(?3 AS bigint[]), CAST(?4 AS text[]), "
		"CAST(?5 AS text[]), CAST(?6 AS text[]), CAST(?7 AS bigint[]), CAST(?8 AS bigint[]))" },
	[STMT_USAGE_ANONYMOUS_ADD] = { "usage_anonymous_add",
		"INSERT INTO usage_anonymous_hourly (workspace_id, api_key_id, hour, calls) VALUES (?1, ?2, ?3, ?4) "
		"ON CONFLICT (api_key_id, hour) DO UPDATE SET " ADDED("usage_anonymous_hourly", "calls") },
	/*
	 * The _many statements below take a batch as array literals, as usage_insert_many does, and
	 * add up rows that would meet the same conflict row first (one statement may not update a row
	 * twice).
	 */
	[STMT_USAGE_ANONYMOUS_ADD_MANY] = { "usage_anonymous_add_many", "",
		"INSERT INTO usage_anonymous_hourly (workspace_id, api_key_id, hour, calls) "
		"SELECT max(w), k, h, sum(c) FROM unnest(CAST(?1 AS bigint[]), CAST(?2 AS bigint[]), CAST(?3 AS bigint[]), "
		"CAST(?4 AS bigint[])) AS batch (w, k, h, c) GROUP BY k, h "
		"ON CONFLICT (api_key_id, hour) DO UPDATE SET " ADDED("usage_anonymous_hourly", "calls") },
	/* Requests without a valid key: a count per hour, workspace, address and outcome (009_refusals.sql). */
	[STMT_USAGE_REFUSED_ADD] = { "usage_refused_add",
		"INSERT INTO usage_refused_hourly (hour, workspace_id, client_address, outcome, calls) "
		"VALUES (?1, ?2, ?3, ?4, ?5) ON CONFLICT (hour, workspace_id, client_address, outcome) "
		"DO UPDATE SET " ADDED("usage_refused_hourly", "calls") },
	[STMT_USAGE_REFUSED_ADD_MANY] = { "usage_refused_add_many", "",
		"INSERT INTO usage_refused_hourly (hour, workspace_id, client_address, outcome, calls) "
		"SELECT h, w, a, o, sum(c) FROM unnest(CAST(?1 AS bigint[]), CAST(?2 AS bigint[]), CAST(?3 AS text[]), "
		"CAST(?4 AS text[]), CAST(?5 AS bigint[])) AS batch (h, w, a, o, c) GROUP BY h, w, a, o "
		"ON CONFLICT (hour, workspace_id, client_address, outcome) DO UPDATE SET " ADDED("usage_refused_hourly", "calls") },
	/* The busiest ?3 addresses of workspace ?1 since hour ?2, and (before the limit) how many and their calls. */
	[STMT_USAGE_REFUSED_ADDRESSES] = { "usage_refused_addresses",
		"SELECT client_address, sum(calls), sum(CASE WHEN outcome = 'missing_key' THEN calls ELSE 0 END), "
		"sum(CASE WHEN outcome = 'invalid_key' THEN calls ELSE 0 END), count(*) OVER (), sum(sum(calls)) OVER () "
		"FROM usage_refused_hourly WHERE hour >= ?2 AND workspace_id = ?1 GROUP BY client_address "
		"ORDER BY 2 DESC, 1 LIMIT ?3" },
	[STMT_PRUNE_REFUSED] = { "prune_refused",
		"DELETE FROM usage_refused_hourly WHERE (hour, workspace_id, client_address, outcome) IN (SELECT hour, "
		"workspace_id, client_address, outcome FROM usage_refused_hourly WHERE hour < ?1 LIMIT ?2)" },
	[STMT_KEY_TOUCH] = { "key_touch",
		"INSERT INTO api_key_last_used (api_key_id, at) VALUES (?1, ?2) "
		"ON CONFLICT (api_key_id) DO UPDATE SET at = excluded.at WHERE excluded.at > api_key_last_used.at" },
	[STMT_KEY_TOUCH_MANY] = { "key_touch_many", "",
		"INSERT INTO api_key_last_used (api_key_id, at) SELECT k, max(t) FROM unnest(CAST(?1 AS bigint[]), "
		"CAST(?2 AS bigint[])) AS batch (k, t) GROUP BY k "
		"ON CONFLICT (api_key_id) DO UPDATE SET at = excluded.at WHERE excluded.at > api_key_last_used.at" },
	[STMT_GATE_GENERATION] = { "gate_generation",
		"SELECT generation FROM gate_state WHERE id = 1" },
	/* NOT INDEXED: each table's first row, whatever indexes it has (every start reads these pages). */
#define KEY_CHECK_GET_SQL(D) \
	"SELECT (SELECT check_value FROM server_key_check WHERE id = 1), " \
	"EXISTS (SELECT 1 FROM api_key" D(" NOT INDEXED", "") ") OR EXISTS (SELECT 1 FROM \"user\"" D(" NOT INDEXED", "") ")"
	[STMT_KEY_CHECK_GET] = { DIALECTS("key_check_get", KEY_CHECK_GET_SQL) },
	[STMT_KEY_CHECK_INSERT] = { "key_check_insert",
		"INSERT INTO server_key_check (id, check_value, set_at) VALUES (1, ?1, ?2) ON CONFLICT (id) DO NOTHING" },
	[STMT_KEY_CHECK_REPLACE] = { "key_check_replace",
		"INSERT INTO server_key_check (id, check_value, set_at) SELECT 1, ?1, ?2 "
		"WHERE NOT EXISTS (SELECT 1 FROM api_key) AND NOT EXISTS (SELECT 1 FROM \"user\") "
		"ON CONFLICT (id) DO UPDATE SET check_value = excluded.check_value, set_at = excluded.set_at" },
	[STMT_BACKUP] = { "backup",
		"VACUUM INTO ?1", "" },
	[STMT_USER_INSERT] = { "user_insert",
		"INSERT INTO \"user\" (email, email_folded, name, password_hash, created_at, updated_at) "
		"VALUES (?1, ?2, ?3, ?4, ?5, ?5) RETURNING id" },
	[STMT_USER_FIND_BY_EMAIL] = { "user_find_by_email",
		"SELECT id, email, name, password_hash, coalesce(disabled_at, 0) FROM \"user\" WHERE email_folded = ?1" },
	[STMT_USER_GET] = { "user_get",
		"SELECT id, email, name, password_hash, coalesce(disabled_at, 0) FROM \"user\" WHERE id = ?1" },
	[STMT_USER_COUNT] = { "user_count",
		"SELECT count(*) FROM \"user\"" },
	[STMT_MEMBERSHIP_SET] = { "membership_set",
		"INSERT INTO membership (workspace_id, user_id, console_role, created_at) VALUES (?1, ?2, ?3, ?4) "
		"ON CONFLICT (workspace_id, user_id) DO UPDATE SET console_role = excluded.console_role" },
	[STMT_MEMBERSHIP_LIST_FOR_USER] = { "membership_list_for_user",
		"SELECT w.id, w.name, m.console_role FROM membership m JOIN workspace w ON w.id = m.workspace_id "
		"WHERE m.user_id = ?1 ORDER BY w.name, w.id" },
	[STMT_SESSION_INSERT] = { "session_insert",
		"INSERT INTO session (token_hash, user_id, created_at, last_seen_at, expires_at, client_address) "
		"VALUES (?1, ?2, ?3, ?3, ?4, ?5)" },
	[STMT_SESSION_FIND] = { "session_find",
		"SELECT s.id, s.user_id, s.created_at, s.last_seen_at, s.expires_at, u.email, u.name "
		"FROM session s JOIN \"user\" u ON u.id = s.user_id WHERE s.token_hash = ?1 AND u.disabled_at IS NULL" },
	[STMT_SESSION_TOUCH] = { "session_touch",
		"UPDATE session SET last_seen_at = ?2 WHERE id = ?1 AND last_seen_at < ?2" },
	[STMT_SESSION_DELETE] = { "session_delete",
		"DELETE FROM session WHERE token_hash = ?1" },
	[STMT_SESSION_DELETE_EXPIRED] = { "session_delete_expired",
		"DELETE FROM session WHERE expires_at <= ?1 OR last_seen_at <= ?2" },
	/* A transaction-level advisory lock of sign-in attempts (any fixed number), released at its end. */
	[STMT_SIGNIN_ATTEMPTS_LOCK] = { "signin_attempts_lock", "SELECT 1",
					"SELECT pg_advisory_xact_lock(7738725088349021186)" },
	[STMT_SIGNIN_FAILURE_INSERT] = { "signin_failure_insert",
		"INSERT INTO signin_failure (subject, at, at_ms) VALUES (?1, ?2 / 1000, ?2) RETURNING rowid AS id" },
	[STMT_SIGNIN_FAILURE_COUNT] = { "signin_failure_count",
		"SELECT count(*), coalesce(max(coalesce(at_ms, at * 1000)), 0) FROM signin_failure "
		"WHERE subject = ?1 AND at > ?2" },
	[STMT_SIGNIN_FAILURE_CLEAR] = { "signin_failure_clear",
		"DELETE FROM signin_failure WHERE subject = ?1" },
	[STMT_KEY_ACTIVE_LIMIT] = { "key_active_limit",
		"SELECT coalesce(w.active_key_limit, ?2), CASE WHEN coalesce(w.active_key_limit, ?2) > 0 THEN "
		"(SELECT count(*) FROM api_key k WHERE k.workspace_id = w.id AND k.revoked_at IS NULL) ELSE 0 END "
		"FROM workspace w WHERE w.id = ?1" },
	/*
	 * In the transaction that adds a key, before its count: on PostgreSQL the workspace's row is
	 * locked, so that keys made at once are counted one after another (a statement of its own: the
	 * count that follows takes a new snapshot, which sees the keys committed while it waited).
	 * SQLite's write lock does this already.
	 */
	[STMT_WORKSPACE_LOCK] = { "workspace_lock", "SELECT ?1", "SELECT id FROM workspace WHERE id = ?1 FOR UPDATE" },
	[STMT_ROLE_FIND_ANY_CASE] = { "role_find_any_case",
		"SELECT id FROM role WHERE workspace_id = ?1 AND lower(name) = lower(?2) ORDER BY id LIMIT 1" },
	[STMT_ROLE_INSERT] = { "role_insert",
		"INSERT INTO role (workspace_id, name, description, permissions) VALUES (?1, ?2, ?3, ?4) RETURNING id" },
	[STMT_ROLE_UPDATE] = { "role_update",
		"UPDATE role SET name = ?3, description = ?4, permissions = ?5 WHERE workspace_id = ?1 AND id = ?2" },
	[STMT_ROLE_USAGE] = { "role_usage",
		"SELECT count(*), count(revoked_at) FROM api_key WHERE workspace_id = ?1 AND role_id = ?2" },
	[STMT_ROLE_DELETE] = { "role_delete",
		"DELETE FROM role WHERE workspace_id = ?1 AND id = ?2" },
	[STMT_AUDIT_INSERT] = { "audit_insert",
		"INSERT INTO audit_event (workspace_id, at, actor_user_id, actor_label, client_address, action, "
		"target_type, target_id, summary) VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9) RETURNING id" },
	[STMT_AUDIT_LIST] = { "audit_list",
		"SELECT at, actor_label, client_address, action, target_type, target_id, summary FROM audit_event "
		AUDIT_FILTER "ORDER BY at DESC, id DESC LIMIT ?5 OFFSET ?6" },
	[STMT_AUDIT_COUNT] = { "audit_count",
		"SELECT count(*) FROM audit_event " AUDIT_FILTER },
	[STMT_AUDIT_ACTORS] = { "audit_actors",
		"SELECT DISTINCT actor_label FROM audit_event WHERE workspace_id = ?1 ORDER BY actor_label LIMIT 200" },
	[STMT_MEMBER_LIST] = { "member_list",
		MEMBER_SELECT
		"WHERE m.workspace_id = ?1 ORDER BY u.email_folded" },
	[STMT_MEMBER_GET] = { "member_get",
		MEMBER_SELECT
		"WHERE m.workspace_id = ?1 AND m.user_id = ?2" },
	[STMT_MEMBERSHIP_GET] = { "membership_get",
		"SELECT w.name, m.console_role FROM membership m JOIN workspace w ON w.id = m.workspace_id "
		"WHERE m.workspace_id = ?1 AND m.user_id = ?2" },
	/*
	 * Changes that may leave a workspace without an owner who can sign in take turns (SQLite's write
	 * lock already makes them): each counts the owners with the others' changes committed.
	 */
	[STMT_OWNERS_LOCK] = { "owners_lock", "SELECT 1", "SELECT pg_advisory_xact_lock(7738725088349021187)" },
	[STMT_OWNER_COUNT] = { "owner_count",
		"SELECT count(*) FROM membership m JOIN \"user\" u ON u.id = m.user_id "
		"WHERE m.workspace_id = ?1 AND m.console_role = 'owner' AND u.disabled_at IS NULL" },
	[STMT_MEMBER_SET_ROLE] = { "member_set_role",
		"UPDATE membership SET console_role = ?3 WHERE workspace_id = ?1 AND user_id = ?2" },
	[STMT_MEMBER_DELETE] = { "member_delete",
		"DELETE FROM membership WHERE workspace_id = ?1 AND user_id = ?2" },
	[STMT_WORKSPACE_INSERT] = { "workspace_insert",
		"INSERT INTO workspace (name, created_at) VALUES (?1, ?2) RETURNING id" },
	[STMT_WORKSPACE_DEFAULT_ROLES] = { "workspace_default_roles",
		"INSERT INTO role (workspace_id, name, description, permissions) VALUES "
		"(?1, 'admin', 'Full access to the API', "
		"'api.key.view api.key.create api.key.update api.key.delete api.key.verify'), "
		"(?1, 'read-only', 'May read, may not change anything', 'api.key.view')" },
	[STMT_INVITATION_DELETE_PENDING_FOR_EMAIL] = { "invitation_delete_pending_for_email",
		"DELETE FROM invitation WHERE workspace_id = ?1 AND email_folded = ?2 AND accepted_at IS NULL "
		"AND setup = 0" },
	[STMT_INVITATION_INSERT] = { "invitation_insert",
		"INSERT INTO invitation (workspace_id, token_hash, console_role, setup, created_by, created_at, "
		"expires_at, email, email_folded) VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9) RETURNING id" },
	[STMT_INVITATION_FIND] = { "invitation_find",
		INVITATION_SELECT
		"WHERE i.token_hash = ?1" },
	[STMT_INVITATION_LIST_PENDING] = { "invitation_list_pending",
		INVITATION_SELECT
		"WHERE i.workspace_id = ?1 AND i.accepted_at IS NULL AND i.expires_at > ?2 AND i.setup = 0 "
		"ORDER BY i.created_at DESC, i.id DESC" },
	[STMT_INVITATION_GET_PENDING] = { "invitation_get_pending",
		INVITATION_SELECT
		"WHERE i.workspace_id = ?1 AND i.id = ?2 AND i.accepted_at IS NULL" },
	[STMT_INVITATION_DELETE] = { "invitation_delete",
		"DELETE FROM invitation WHERE workspace_id = ?1 AND id = ?2 AND accepted_at IS NULL" },
	[STMT_INVITATION_USE] = { "invitation_use",
		"UPDATE invitation SET accepted_by = ?2, accepted_at = ?3 "
		"WHERE id = ?1 AND accepted_at IS NULL AND expires_at > ?3" },
	[STMT_SIGNIN_FAILURE_DELETE_OLD] = { "signin_failure_delete_old",
		"DELETE FROM signin_failure WHERE at <= ?1" },
	[STMT_SIGNIN_FAILURE_DELETE] = { "signin_failure_delete",
		"DELETE FROM signin_failure WHERE rowid = ?1" },
	/* Every subject that starts with ?1 (a device's of one account: "device:<address> "). */
	[STMT_SIGNIN_FAILURE_CLEAR_PREFIX] = { "signin_failure_clear_prefix",
		"DELETE FROM signin_failure WHERE substr(subject, 1, length(CAST(?1 AS TEXT))) = CAST(?1 AS TEXT)" },
	[STMT_USER_SET_DISABLED] = { "user_set_disabled",
		"UPDATE \"user\" SET disabled_at = ?2, updated_at = ?3 WHERE id = ?1" },
	[STMT_USER_SET_PASSWORD] = { "user_set_password",
		"UPDATE \"user\" SET password_hash = ?2, updated_at = ?3 WHERE id = ?1" },
	[STMT_USER_DELETE] = { "user_delete",
		"DELETE FROM \"user\" WHERE id = ?1" },
	[STMT_SESSION_DELETE_FOR_USER] = { "session_delete_for_user",
		"DELETE FROM session WHERE user_id = ?1 AND id <> ?2" },
	[STMT_SESSION_COUNT_FOR_USER] = { "session_count_for_user",
		"SELECT count(*) FROM session WHERE user_id = ?1 AND expires_at > ?2 AND last_seen_at > ?3" },
	/* The workspaces where user ?1 is the only owner who can sign in (no other enabled owner). */
	[STMT_SOLE_OWNER_WORKSPACES] = { "sole_owner_workspaces",
		"SELECT w.id, w.name, m.console_role FROM membership m JOIN workspace w ON w.id = m.workspace_id "
		"WHERE m.user_id = ?1 AND m.console_role = 'owner' AND NOT EXISTS (SELECT 1 FROM membership o "
		"JOIN \"user\" u ON u.id = o.user_id WHERE o.workspace_id = m.workspace_id AND o.console_role = 'owner' "
		"AND o.user_id <> ?1 AND u.disabled_at IS NULL) ORDER BY w.name, w.id" },
	[STMT_ROLLUP_STATE] = { "rollup_state",
		"SELECT rolled_to, pruned_at FROM usage_rollup WHERE id = 1" },
	/*
	 * The watermark, held until the rollup's transaction ends: SQLite's BEGIN IMMEDIATE already
	 * lets one writer in; PostgreSQL's writers run side by side, and two rollups that both read the
	 * old watermark would each add the same raw rows to the sums, so the row is locked.
	 */
	[STMT_ROLLUP_CLAIM] = { "rollup_claim",
		"SELECT rolled_to, pruned_at FROM usage_rollup WHERE id = 1",
		"SELECT rolled_to, pruned_at FROM usage_rollup WHERE id = 1 FOR UPDATE" },
	[STMT_ROLLUP_END] = { "rollup_end",
		"SELECT max(id), count(*) FROM (SELECT id FROM usage_event WHERE id > ?1 ORDER BY id LIMIT ?2) AS batch" },
	/* The rollups: raw rows (?1, ?2] of keys that exist, into the hourly and daily tables. */
	[STMT_ROLLUP_HOURLY] = { "rollup_hourly",
		"INSERT INTO usage_hourly (api_key_id, hour, outcome, workspace_id, calls) "
		"SELECT api_key_id, at - at % 3600, outcome, min(workspace_id), sum(calls) FROM usage_event "
		"WHERE id > ?1 AND id <= ?2 AND api_key_id IS NOT NULL GROUP BY 1, 2, 3 "
		"ON CONFLICT (api_key_id, hour, outcome) DO UPDATE SET " ADDED("usage_hourly", "calls") },
	[STMT_ROLLUP_HOURLY_WORKSPACE] = { "rollup_hourly_workspace",
		"INSERT INTO usage_hourly_workspace (workspace_id, hour, outcome, calls) "
		"SELECT workspace_id, at - at % 3600, outcome, sum(calls) FROM usage_event "
		"WHERE id > ?1 AND id <= ?2 AND api_key_id IS NOT NULL GROUP BY 1, 2, 3 "
		"ON CONFLICT (workspace_id, hour, outcome) DO UPDATE SET " ADDED("usage_hourly_workspace", "calls") },
	[STMT_ROLLUP_DAILY_KEY] = { "rollup_daily_key",
		"INSERT INTO usage_daily_key (workspace_id, api_key_id, day, calls, refused) "
		"SELECT workspace_id, api_key_id, at - at % 86400, sum(calls), " REFUSED_CALLS " FROM usage_event "
		"WHERE id > ?1 AND id <= ?2 AND api_key_id IS NOT NULL GROUP BY 1, 2, 3 "
		"ON CONFLICT (workspace_id, api_key_id, day) DO UPDATE SET " ADDED("usage_daily_key", "calls") ", "
		ADDED("usage_daily_key", "refused") },
	[STMT_ROLLUP_ENDPOINT] = { "rollup_endpoint",
		"INSERT INTO usage_hourly_endpoint (api_key_id, hour, endpoint, calls, refused, last_seen) "
		"SELECT api_key_id, at - at % 3600, endpoint, sum(calls), " REFUSED_CALLS ", max(at) FROM usage_event "
		"WHERE id > ?1 AND id <= ?2 AND api_key_id IS NOT NULL GROUP BY 1, 2, 3 "
		"ON CONFLICT (api_key_id, hour, endpoint) DO UPDATE SET " ADDED("usage_hourly_endpoint", "calls") ", "
		ADDED("usage_hourly_endpoint", "refused") ", " LATER("usage_hourly_endpoint", "last_seen") },
	[STMT_ROLLUP_DAILY_ENDPOINT] = { "rollup_daily_endpoint",
		"INSERT INTO usage_daily_endpoint (api_key_id, endpoint, day, calls, refused, last_seen) "
		"SELECT api_key_id, endpoint, at - at % 86400, sum(calls), " REFUSED_CALLS ", max(at) FROM usage_event "
		"WHERE id > ?1 AND id <= ?2 AND api_key_id IS NOT NULL GROUP BY 1, 2, 3 "
		"ON CONFLICT (api_key_id, endpoint, day) DO UPDATE SET " ADDED("usage_daily_endpoint", "calls") ", "
		ADDED("usage_daily_endpoint", "refused") ", " LATER("usage_daily_endpoint", "last_seen") },
	[STMT_ROLLUP_ADDRESS] = { "rollup_address",
		"INSERT INTO usage_hourly_address (api_key_id, hour, client_address, calls, refused, first_seen, last_seen) "
		"SELECT api_key_id, at - at % 3600, client_address, sum(calls), " REFUSED_CALLS ", min(at), max(at) "
		"FROM usage_event WHERE id > ?1 AND id <= ?2 AND api_key_id IS NOT NULL GROUP BY 1, 2, 3 "
		"ON CONFLICT (api_key_id, hour, client_address) DO UPDATE SET " ADDED("usage_hourly_address", "calls") ", "
		ADDED("usage_hourly_address", "refused") ", " EARLIER("usage_hourly_address", "first_seen") ", "
		LATER("usage_hourly_address", "last_seen") },
	[STMT_ROLLUP_DAILY_ADDRESS] = { "rollup_daily_address",
		"INSERT INTO usage_daily_address (api_key_id, client_address, day, calls, refused, first_seen, last_seen) "
		"SELECT api_key_id, client_address, at - at % 86400, sum(calls), " REFUSED_CALLS ", min(at), max(at) "
		"FROM usage_event WHERE id > ?1 AND id <= ?2 AND api_key_id IS NOT NULL GROUP BY 1, 2, 3 "
		"ON CONFLICT (api_key_id, client_address, day) DO UPDATE SET " ADDED("usage_daily_address", "calls") ", "
		ADDED("usage_daily_address", "refused") ", " EARLIER("usage_daily_address", "first_seen") ", "
		LATER("usage_daily_address", "last_seen") },
	/*
	 * Before the addresses of (?1, ?2] are noted: those a key used in the ?3 seconds before had
	 * not, when the key has that much history: called in those seconds (from elsewhere), and first
	 * called at least ?3 seconds before. A key younger than that says nothing of new addresses: it
	 * has no "before" to compare with.
	 */
	[STMT_ROLLUP_NEW_ADDRESS] = { "rollup_new_address",
		"INSERT INTO usage_new_address (workspace_id, api_key_id, client_address, at) "
		"SELECT n.workspace_id, n.api_key_id, n.client_address, n.first FROM (SELECT min(workspace_id) AS "
		"workspace_id, api_key_id, client_address, min(at) AS first FROM usage_event WHERE id > ?1 AND id <= ?2 "
		"AND api_key_id IS NOT NULL GROUP BY api_key_id, client_address) n "
		"WHERE NOT EXISTS (SELECT 1 FROM usage_key_address s WHERE s.api_key_id = n.api_key_id "
		"AND s.client_address = n.client_address AND s.last_seen >= n.first - ?3) "
		"AND EXISTS (SELECT 1 FROM usage_key_address s WHERE s.api_key_id = n.api_key_id "
		"AND s.last_seen >= n.first - ?3) AND EXISTS (SELECT 1 FROM usage_key_address s "
		"WHERE s.api_key_id = n.api_key_id AND s.first_seen <= n.first - ?3) ON CONFLICT DO NOTHING" },
	[STMT_ROLLUP_KEY_ADDRESS] = { "rollup_key_address",
		"INSERT INTO usage_key_address (api_key_id, client_address, first_seen, last_seen) "
		"SELECT api_key_id, client_address, min(at), max(at) FROM usage_event WHERE id > ?1 AND id <= ?2 "
		"AND api_key_id IS NOT NULL GROUP BY 1, 2 "
		"ON CONFLICT (api_key_id, client_address) DO UPDATE SET " EARLIER("usage_key_address", "first_seen") ", "
		LATER("usage_key_address", "last_seen") },
	[STMT_ROLLUP_ADVANCE] = { "rollup_advance",
		"UPDATE usage_rollup SET rolled_to = ?1 WHERE id = 1" },
	[STMT_PRUNED_AT_SET] = { "pruned_at_set",
		"UPDATE usage_rollup SET pruned_at = ?1 WHERE id = 1" },
	[STMT_WORKSPACE_IDS] = { "workspace_ids",
		"SELECT id FROM workspace ORDER BY id" },
	/* Retention: ?1 the workspace (where the table has one), then the cutoff, then how many at most. */
	[STMT_PRUNE_RAW] = { "prune_raw",
		"DELETE FROM usage_event WHERE id IN (SELECT id FROM usage_event WHERE workspace_id = ?1 AND at < ?2 "
		"AND id <= (SELECT rolled_to FROM usage_rollup WHERE id = 1) LIMIT ?3)" },
	[STMT_PRUNE_NEW_ADDRESS] = { "prune_new_address",
		"DELETE FROM usage_new_address WHERE (api_key_id, client_address, at) IN (SELECT api_key_id, "
		"client_address, at FROM usage_new_address WHERE workspace_id = ?1 AND at < ?2 LIMIT ?3)" },
	[STMT_PRUNE_HOURLY] = { "prune_hourly",
		"DELETE FROM usage_hourly WHERE (api_key_id, hour, outcome) IN (SELECT api_key_id, hour, outcome "
		"FROM usage_hourly WHERE workspace_id = ?1 AND hour < ?2 LIMIT ?3)" },
	[STMT_PRUNE_HOURLY_WORKSPACE] = { "prune_hourly_workspace",
		"DELETE FROM usage_hourly_workspace WHERE (workspace_id, hour, outcome) IN (SELECT workspace_id, hour, "
		"outcome FROM usage_hourly_workspace WHERE workspace_id = ?1 AND hour < ?2 LIMIT ?3)" },
	[STMT_PRUNE_DAILY_KEY] = { "prune_daily_key",
		"DELETE FROM usage_daily_key WHERE (workspace_id, api_key_id, day) IN (SELECT workspace_id, api_key_id, "
		"day FROM usage_daily_key WHERE day < ?1 LIMIT ?2)" },
	[STMT_PRUNE_ANONYMOUS] = { "prune_anonymous",
		"DELETE FROM usage_anonymous_hourly WHERE (api_key_id, hour) IN (SELECT api_key_id, hour FROM "
		"usage_anonymous_hourly WHERE workspace_id = ?1 AND hour < ?2 LIMIT ?3)" },
	[STMT_PRUNE_ENDPOINT] = { "prune_endpoint",
		"DELETE FROM usage_hourly_endpoint WHERE (api_key_id, hour, endpoint) IN (SELECT api_key_id, hour, "
		"endpoint FROM usage_hourly_endpoint WHERE hour < ?1 LIMIT ?2)" },
	[STMT_PRUNE_DAILY_ENDPOINT] = { "prune_daily_endpoint",
		"DELETE FROM usage_daily_endpoint WHERE (api_key_id, endpoint, day) IN (SELECT api_key_id, endpoint, "
		"day FROM usage_daily_endpoint WHERE day < ?1 LIMIT ?2)" },
	[STMT_PRUNE_ADDRESS] = { "prune_address",
		"DELETE FROM usage_hourly_address WHERE (api_key_id, hour, client_address) IN (SELECT api_key_id, "
		"hour, client_address FROM usage_hourly_address WHERE hour < ?1 LIMIT ?2)" },
	[STMT_PRUNE_DAILY_ADDRESS] = { "prune_daily_address",
		"DELETE FROM usage_daily_address WHERE (api_key_id, client_address, day) IN (SELECT api_key_id, "
		"client_address, day FROM usage_daily_address WHERE day < ?1 LIMIT ?2)" },
	[STMT_PRUNE_KEY_ADDRESS] = { "prune_key_address",
		"DELETE FROM usage_key_address WHERE (api_key_id, client_address) IN (SELECT api_key_id, "
		"client_address FROM usage_key_address WHERE last_seen < ?1 LIMIT ?2)" },
	/*
	 * The pages' reads. Each adds the raw rows past the watermark (its `+` columns keep SQLite on
	 * the id range: the few rows not rolled up yet, not every raw row of the period). Endpoints,
	 * addresses and the busiest keys read the hours [since, days_from) from the hourly tables and
	 * the days from days_from on from the daily ones, each part summed on its own (the daily
	 * tables' order makes that a single pass) before the parts are added up.
	 */
#define USAGE_SERIES_KEY_SQL(D) \
	"SELECT (hour - ?2) / ?3, " GRANTED_CALLS ", " REFUSED_CALLS " FROM (" \
	"SELECT hour, outcome, calls FROM usage_hourly WHERE api_key_id = ?1 AND hour >= ?2 UNION ALL " \
	"SELECT at - at % 3600, outcome, calls FROM usage_event WHERE id > " ROLLED_TO " AND " UNARY_PLUS(D) "api_key_id = ?1 " \
	"AND " UNARY_PLUS(D) "at >= ?2) AS rows WHERE ?4 = 0 OR outcome <> 'granted' GROUP BY 1 ORDER BY 1"
	[STMT_USAGE_SERIES_KEY] = { DIALECTS("usage_series_key", USAGE_SERIES_KEY_SQL) },
#define USAGE_SERIES_ENDPOINT_SQL(D) \
	"SELECT (hour - ?2) / ?3, sum(calls) - sum(refused), sum(refused) FROM (" \
	"SELECT hour, calls, refused FROM usage_hourly_endpoint " D("INDEXED BY usage_hourly_endpoint_seen ", "") \
	"WHERE api_key_id = ?1 AND endpoint = ?4 " \
	"AND hour >= ?2 UNION ALL SELECT at - at % 3600, calls, " REFUSED_ROW " FROM usage_event " \
	"WHERE id > " ROLLED_TO " AND " UNARY_PLUS(D) "api_key_id = ?1 AND " UNARY_PLUS(D) "endpoint = ?4 AND " UNARY_PLUS(D) "at >= ?2) AS rows GROUP BY 1 ORDER BY 1"
	[STMT_USAGE_SERIES_ENDPOINT] = { DIALECTS("usage_series_endpoint", USAGE_SERIES_ENDPOINT_SQL) },
#define USAGE_SERIES_ADDRESS_SQL(D) \
	"SELECT (hour - ?2) / ?3, sum(calls) - sum(refused), sum(refused) FROM (" \
	"SELECT hour, calls, refused FROM usage_hourly_address " D("INDEXED BY usage_hourly_address_seen ", "") \
	"WHERE api_key_id = ?1 AND client_address = ?4 " \
	"AND hour >= ?2 UNION ALL SELECT at - at % 3600, calls, " REFUSED_ROW " FROM usage_event " \
	"WHERE id > " ROLLED_TO " AND " UNARY_PLUS(D) "api_key_id = ?1 AND " UNARY_PLUS(D) "client_address = ?4 AND " UNARY_PLUS(D) "at >= ?2) AS rows " \
	"GROUP BY 1 ORDER BY 1"
	[STMT_USAGE_SERIES_ADDRESS] = { DIALECTS("usage_series_address", USAGE_SERIES_ADDRESS_SQL) },
#define USAGE_SERIES_WORKSPACE_SQL(D) \
	"SELECT (hour - ?2) / ?3, " GRANTED_CALLS ", " REFUSED_CALLS " FROM (" \
	"SELECT hour, outcome, calls FROM usage_hourly_workspace WHERE workspace_id = ?1 AND hour >= ?2 " \
	"UNION ALL SELECT at - at % 3600, outcome, calls FROM usage_event WHERE id > " ROLLED_TO " " \
	"AND " UNARY_PLUS(D) "workspace_id = ?1 AND api_key_id IS NOT NULL AND " UNARY_PLUS(D) "at >= ?2) AS rows GROUP BY 1 ORDER BY 1"
	[STMT_USAGE_SERIES_WORKSPACE] = { DIALECTS("usage_series_workspace", USAGE_SERIES_WORKSPACE_SQL) },
#define USAGE_OUTCOMES_SQL(D) \
	"SELECT outcome, sum(calls) FROM (SELECT outcome, calls FROM usage_hourly WHERE api_key_id = ?1 " \
	"AND hour >= ?2 UNION ALL SELECT outcome, calls FROM usage_event WHERE id > " ROLLED_TO " " \
	"AND " UNARY_PLUS(D) "api_key_id = ?1 AND " UNARY_PLUS(D) "at >= ?2) AS rows GROUP BY outcome ORDER BY 2 DESC, 1"
	[STMT_USAGE_OUTCOMES] = { DIALECTS("usage_outcomes", USAGE_OUTCOMES_SQL) },
#define USAGE_ENDPOINTS_SQL(D) \
	"SELECT endpoint, sum(calls), sum(refused), 0, max(last_seen), count(*) OVER () FROM (" \
	"SELECT endpoint, sum(calls) AS calls, sum(refused) AS refused, max(last_seen) AS last_seen " \
	"FROM usage_hourly_endpoint WHERE api_key_id = ?1 AND hour >= ?2 AND hour < ?6 GROUP BY endpoint " \
	"UNION ALL SELECT endpoint, sum(calls), sum(refused), max(last_seen) FROM usage_daily_endpoint " \
	"WHERE api_key_id = ?1 AND day >= ?6 GROUP BY endpoint " \
	"UNION ALL SELECT endpoint, sum(calls), sum(" REFUSED_ROW "), max(at) FROM usage_event " \
	"WHERE id > " ROLLED_TO " AND " UNARY_PLUS(D) "api_key_id = ?1 AND " UNARY_PLUS(D) "at >= ?2 GROUP BY endpoint) AS rows " \
	"WHERE ?4 = '' OR endpoint = ?4 GROUP BY endpoint HAVING ?5 = 0 OR sum(refused) > 0 " \
	"ORDER BY CASE WHEN ?5 <> 0 THEN sum(refused) ELSE sum(calls) END DESC, 1 LIMIT ?3"
	[STMT_USAGE_ENDPOINTS] = { DIALECTS("usage_endpoints", USAGE_ENDPOINTS_SQL) },
#define USAGE_ADDRESSES_SQL(D) \
	"SELECT a.client_address, a.calls, a.refused, coalesce(" D("min", "least") "(s.first_seen, a.first_seen), a.first_seen), " \
	"a.last_seen, a.total FROM (SELECT client_address, sum(calls) AS calls, sum(refused) AS refused, " \
	"min(first_seen) AS first_seen, max(last_seen) AS last_seen, count(*) OVER () AS total, " \
	"CASE WHEN ?5 <> 0 THEN sum(refused) ELSE sum(calls) END AS rank FROM (" \
	"SELECT client_address, sum(calls) AS calls, sum(refused) AS refused, min(first_seen) AS first_seen, " \
	"max(last_seen) AS last_seen FROM usage_hourly_address WHERE api_key_id = ?1 AND hour >= ?2 " \
	"AND hour < ?6 GROUP BY client_address " \
	"UNION ALL SELECT client_address, sum(calls), sum(refused), min(first_seen), max(last_seen) " \
	"FROM usage_daily_address WHERE api_key_id = ?1 AND day >= ?6 GROUP BY client_address " \
	"UNION ALL SELECT client_address, sum(calls), sum(" REFUSED_ROW "), min(at), max(at) FROM usage_event " \
	"WHERE id > " ROLLED_TO " AND " UNARY_PLUS(D) "api_key_id = ?1 AND " UNARY_PLUS(D) "at >= ?2 GROUP BY client_address) AS rows " \
	"WHERE ?4 = '' OR client_address = ?4 GROUP BY client_address " \
	"HAVING ?5 = 0 OR sum(refused) > 0 ORDER BY rank DESC, 1 LIMIT ?3) a " \
	"LEFT JOIN usage_key_address s ON s.api_key_id = ?1 AND s.client_address = a.client_address " \
	"ORDER BY a.rank DESC, 1"
	[STMT_USAGE_ADDRESSES] = { DIALECTS("usage_addresses", USAGE_ADDRESSES_SQL) },
	/*
	 * The latest raw rows of a slice (?3 endpoint, ?4 address, ?5 refused only; '' and 0: any):
	 * those past the watermark, then those of the latest hours the rollups say hold some. Rows of
	 * the same second, endpoint, address and outcome are one, their calls added: each process
	 * writes its own row of them, and a list of the same line twice tells nothing.
	 */
#define USAGE_LATEST_TAIL_SQL(D) \
	"SELECT at, endpoint, client_address, outcome, sum(calls) FROM usage_event WHERE id > " ROLLED_TO " " \
	"AND " UNARY_PLUS(D) "api_key_id = ?1 AND " UNARY_PLUS(D) "at >= ?2 AND (?3 = '' OR " UNARY_PLUS(D) "endpoint = ?3) AND (?4 = '' OR " UNARY_PLUS(D) "client_address = ?4) " \
	"AND (?5 = 0 OR " UNARY_PLUS(D) "outcome <> 'granted') GROUP BY at, endpoint, client_address, outcome " \
	"ORDER BY max(id) DESC LIMIT ?6"
	[STMT_USAGE_LATEST_TAIL] = { DIALECTS("usage_latest_tail", USAGE_LATEST_TAIL_SQL) },
#define USAGE_LATEST_HOURS_SQL(D) \
	"SELECT hour FROM (SELECT hour FROM usage_hourly_address " D("INDEXED BY usage_hourly_address_seen ", "") \
	"WHERE ?4 <> '' AND api_key_id = ?1 AND client_address = ?4 AND hour >= ?2 AND (?5 = 0 OR refused > 0) " \
	"UNION SELECT hour FROM usage_hourly_endpoint " D("INDEXED BY usage_hourly_endpoint_seen ", "") "WHERE ?4 = '' " \
	"AND ?3 <> '' AND api_key_id = ?1 AND endpoint = ?3 AND hour >= ?2 AND (?5 = 0 OR refused > 0) " \
	"UNION SELECT hour FROM usage_hourly WHERE ?4 = '' AND ?3 = '' AND api_key_id = ?1 AND hour >= ?2 " \
	"AND (?5 = 0 OR outcome <> 'granted')) AS hours ORDER BY hour DESC LIMIT ?6"
	[STMT_USAGE_LATEST_HOURS] = { DIALECTS("usage_latest_hours", USAGE_LATEST_HOURS_SQL) },
	[STMT_USAGE_LATEST_HOUR] = { "usage_latest_hour",
		"SELECT at, endpoint, client_address, outcome, sum(calls) FROM usage_event WHERE workspace_id = ?7 "
		"AND at >= ?8 AND at < ?8 + 3600 AND id <= " ROLLED_TO " AND api_key_id = ?1 AND (?3 = '' OR endpoint = ?3) "
		"AND (?4 = '' OR client_address = ?4) AND (?5 = 0 OR outcome <> 'granted') "
		"GROUP BY at, endpoint, client_address, outcome ORDER BY at DESC, max(id) DESC LIMIT ?6" },
	[STMT_USAGE_ANONYMOUS_KEY] = { "usage_anonymous_key",
		"SELECT coalesce(sum(calls), 0) FROM usage_anonymous_hourly WHERE api_key_id = ?1 AND hour >= ?2" },
	[STMT_USAGE_ANONYMOUS_WORKSPACE] = { "usage_anonymous_workspace",
		"SELECT coalesce(sum(calls), 0) FROM usage_anonymous_hourly WHERE workspace_id = ?1 AND hour >= ?2" },
#define BRIEF_BUSIEST_SQL(D) \
	"SELECT k.key_id, k.name, s.calls, s.refused, 0, '', s.total FROM (SELECT api_key_id, sum(calls) AS calls, " \
	"sum(refused) AS refused, count(*) OVER () AS total FROM (" \
	"SELECT api_key_id, sum(calls) AS calls, sum(" REFUSED_ROW ") AS refused FROM usage_hourly " \
	"WHERE workspace_id = ?1 AND hour >= ?2 AND hour < ?4 GROUP BY api_key_id " \
	"UNION ALL SELECT api_key_id, sum(calls), sum(refused) FROM usage_daily_key WHERE workspace_id = ?1 " \
	"AND day >= ?4 GROUP BY api_key_id " \
	"UNION ALL SELECT api_key_id, sum(calls), sum(" REFUSED_ROW ") FROM usage_event WHERE id > " ROLLED_TO " " \
	"AND " UNARY_PLUS(D) "workspace_id = ?1 AND api_key_id IS NOT NULL AND " UNARY_PLUS(D) "at >= ?2 GROUP BY api_key_id) AS rows " \
	"GROUP BY api_key_id ORDER BY calls DESC LIMIT ?3) s JOIN api_key k ON k.id = s.api_key_id " \
	"ORDER BY s.calls DESC, k.key_id"
	[STMT_BRIEF_BUSIEST] = { DIALECTS("brief_busiest", BRIEF_BUSIEST_SQL) },
	/* The lists count their keys once (an uncorrelated subquery) and read the first few in index order. */
#define BRIEF_NEVER_USED_SQL(D) \
	"SELECT key_id, name, 0, 0, created_at, '', (SELECT count(*) FROM api_key c WHERE c.workspace_id = ?1 " \
	"AND c.revoked_at IS NULL AND NOT EXISTS (SELECT 1 FROM api_key_last_used u WHERE u.api_key_id = c.id)) " \
	"FROM api_key k" D(" INDEXED BY api_key_list", "") " WHERE workspace_id = ?1 AND revoked_at IS NULL AND NOT EXISTS " \
	"(SELECT 1 FROM api_key_last_used u WHERE u.api_key_id = k.id) AND ?2 = ?2 ORDER BY created_at, id " \
	"LIMIT ?3"
	[STMT_BRIEF_NEVER_USED] = { DIALECTS("brief_never_used", BRIEF_NEVER_USED_SQL) },
	[STMT_BRIEF_UNUSED_SINCE] = { "brief_unused_since",
		"SELECT k.key_id, k.name, 0, 0, u.at, '', (SELECT count(*) FROM api_key c JOIN api_key_last_used v "
		"ON v.api_key_id = c.id WHERE c.workspace_id = ?1 AND c.revoked_at IS NULL AND v.at < ?2) "
		"FROM api_key k JOIN api_key_last_used u ON u.api_key_id = k.id WHERE k.workspace_id = ?1 "
		"AND k.revoked_at IS NULL AND u.at < ?2 ORDER BY u.at, k.id LIMIT ?3" },
	[STMT_BRIEF_SECRET_OLDER] = { "brief_secret_older",
		"SELECT key_id, name, 0, 0, coalesce(secret_set_at, created_at), '', (SELECT count(*) FROM api_key c "
		"WHERE c.workspace_id = ?1 AND c.revoked_at IS NULL AND coalesce(c.secret_set_at, c.created_at) < ?2) "
		"FROM api_key WHERE workspace_id = ?1 AND revoked_at IS NULL AND coalesce(secret_set_at, created_at) < ?2 "
		"ORDER BY coalesce(secret_set_at, created_at), id LIMIT ?3" },
	/*
	 * Per key, its hours since ?3 with more than ?4 refusals: the latest of them and its refusals
	 * (the bare s.refused beside the one max() comes from the latest hour's row, as SQLite
	 * documents), all their refusals, how many hours, and how many such keys in all.
	 */
#define USAGE_SPIKES_SQL(D) \
	"SELECT k.key_id, k.name, g.latest, g.refused, g.hour, '', g.total, g.hours FROM (SELECT api_key_id, " \
	"max(s.hour) AS hour, " D("s.refused", "(array_agg(s.refused ORDER BY s.hour DESC))[1]") " AS latest, sum(s.refused) AS refused, count(*) AS hours, count(*) OVER () " \
	"AS total FROM (SELECT api_key_id, hour, sum(calls) AS refused FROM usage_hourly WHERE workspace_id = ?1 " \
	"AND (?2 = 0 OR api_key_id = ?2) AND hour >= ?3 AND outcome <> 'granted' GROUP BY api_key_id, hour " \
	"HAVING sum(calls) > ?4) s GROUP BY api_key_id ORDER BY hour DESC, latest DESC LIMIT ?5) g " \
	"JOIN api_key k ON k.id = g.api_key_id ORDER BY g.hour DESC, g.latest DESC"
	[STMT_USAGE_SPIKES] = { DIALECTS("usage_spikes", USAGE_SPIKES_SQL) },
	/* Per key: how many addresses were new to it since ?3, the latest three of them, and when. */
#define USAGE_NEW_ADDRESSES_SQL(D) \
	"SELECT k.key_id, k.name, g.found, 0, g.latest, g.addresses, g.total FROM (SELECT api_key_id, " \
	"count(*) AS found, max(at) AS latest, count(*) OVER () AS total, (SELECT " D("group_concat(client_address, ', ')", "string_agg(client_address, ', ' ORDER BY at DESC, client_address)") " " \
	"FROM (SELECT client_address, at FROM usage_new_address m WHERE m.api_key_id = n.api_key_id AND m.at >= ?3 " \
	"ORDER BY m.at DESC, m.client_address LIMIT 3) AS latest) AS addresses FROM usage_new_address n " \
	"WHERE workspace_id = ?1 AND at >= ?3 AND (?2 = 0 OR api_key_id = ?2) GROUP BY api_key_id " \
	"ORDER BY latest DESC LIMIT ?4) g JOIN api_key k ON k.id = g.api_key_id ORDER BY g.latest DESC, k.key_id"
	[STMT_USAGE_NEW_ADDRESSES] = { DIALECTS("usage_new_addresses", USAGE_NEW_ADDRESSES_SQL) },
	/*
	 * keyward migrate-to (store_copy.c): each table of STORE_COPY_TABLES read on SQLite, written
	 * and cleared on PostgreSQL only (no SQLite process prepares a statement that empties a table);
	 * the counts of every table (a column each, in the list's order, and a 0 after the last comma)
	 * on both; the rows beyond the seed on PostgreSQL.
	 */
#define COPY_STATEMENTS(NAME, name, table, columns, placeholders, kinds, order, seed)                          \
	[STMT_COPY_READ_##NAME] = { "copy_read_" #name, "SELECT " columns " FROM " table " ORDER BY " order, "" }, \
	[STMT_COPY_WRITE_##NAME] = { "copy_write_" #name, "",                                                    \
				     "INSERT INTO " table " (" columns ") VALUES (" placeholders ")" },        \
	[STMT_COPY_CLEAR_##NAME] = { "copy_clear_" #name, "", "DELETE FROM " table },
	STORE_COPY_TABLES(COPY_STATEMENTS)
#define COPY_COUNT_COLUMN(NAME, name, table, columns, placeholders, kinds, order, seed) \
	"(SELECT count(*) FROM " table "), "
	[STMT_COPY_COUNTS] = { "copy_counts", "SELECT " STORE_COPY_TABLES(COPY_COUNT_COLUMN) "0" },
#define COPY_EXTRA_COLUMN(NAME, name, table, columns, placeholders, kinds, order, seed) \
	"(SELECT count(*) FROM " table " WHERE NOT (" seed ")), "
	[STMT_COPY_EXTRA] = { "copy_extra", "", "SELECT " STORE_COPY_TABLES(COPY_EXTRA_COLUMN) "0" },
	/* The last usage_event id SQLite handed out (AUTOINCREMENT: retention may have deleted it). */
	[STMT_COPY_USAGE_SEQUENCE] = { "copy_usage_sequence",
		"SELECT coalesce((SELECT seq FROM sqlite_sequence WHERE name = 'usage_event'), 0)", "" },
	/*
	 * Each identity sequence of a copied table past the greatest id copied (setval() of NULL, an
	 * empty table, changes nothing), usage_event's past ?1 (SQLite's sequence) and the rollup's
	 * watermark too: a raw row id below it would never be rolled up.
	 */
#define COPY_SEQUENCE(table) "setval(pg_get_serial_sequence('" table "', 'id'), (SELECT max(id) FROM " table ")), "
	[STMT_COPY_SEQUENCES] = { "copy_sequences", "",
		"SELECT " COPY_SEQUENCE("workspace") COPY_SEQUENCE("role") COPY_SEQUENCE("api_key")
		COPY_SEQUENCE("api_key_cidr") COPY_SEQUENCE("\"user\"") COPY_SEQUENCE("invitation")
		COPY_SEQUENCE("audit_event")
		"setval(pg_get_serial_sequence('usage_event', 'id'), nullif(greatest(?1, (SELECT coalesce(max(id), 0) "
		"FROM usage_event), (SELECT rolled_to FROM usage_rollup WHERE id = 1)), 0))" },
};

const char *store_statement_name(enum store_statement which)
{
	return statement_table[which].name;
}

const char *store_statement_sql(enum store_statement which)
{
	return statement_table[which].sql;
}

const char *store_statement_postgresql(enum store_statement which)
{
	return statement_table[which].postgresql;
}

bool store_statement_each_run(enum store_statement which)
{
	return statement_table[which].each_run;
}
