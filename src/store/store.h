/*
 * store.h: all persistent data, behind typed functions. The only file set that speaks SQL.
 *
 * One `struct store` is one connection (SQLite or PostgreSQL, src/store/engine.h) with every
 * statement prepared once at open; give each thread its own. Rows come back as plain structs
 * whose strings live in the caller's arena. Functions return a `store_status`; on STORE_ERROR
 * the reason went to stderr (never a secret).
 */
#ifndef KEYWARD_STORE_H
#define KEYWARD_STORE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

struct arena;
struct store;

enum store_status {
	STORE_OK,
	STORE_NOT_FOUND,
	STORE_CONFLICT, /* a uniqueness rule refused the write */
	STORE_LIMIT,    /* a limit refused the write (a workspace's active keys) */
	STORE_BUSY,     /* the database stayed locked past the busy timeout */
	STORE_DAMAGED,  /* the file is damaged or not a database (SQLITE_CORRUPT, SQLITE_NOTADB) */
	STORE_ERROR,
};

#define STORE_DEFAULT_WORKSPACE 1

struct store_role {
	int64_t id;
	const char *name;
	const char *description;
	const char *permissions; /* space-separated */
};

struct store_cidr {
	const char *cidr;  /* canonical text */
	const char *label; /* may be "" */
};

enum store_key_state { STORE_KEY_ENABLED, STORE_KEY_DISABLED, STORE_KEY_REVOKED };

struct store_key {
	int64_t id; /* internal row id */
	int64_t workspace_id;
	const char *key_id; /* public */
	const char *name;
	const char *secret_hint;
	const char *postback_url; /* "" when none */
	bool off_record;
	bool enabled;
	int64_t role_id;
	const char *role_name;
	int64_t created_at;
	int64_t updated_at;
	int64_t last_used_at; /* 0: never */
	int64_t revoked_at;   /* 0: not revoked */
	int64_t expires_at;   /* 0: never */
	const char *previous_secret_hint; /* "" when no previous secret is kept */
	int64_t previous_secret_until;    /* 0: none; the previous secret works while now < this */
	const char *note;       /* "" when none */
	const char *created_by; /* e-mail, "command line", ...; "" when not known */
	bool allowlist_enabled; /* the networks below are enforced; false: kept, but any address may use the key */
	struct store_cidr *cidrs;
	size_t cidr_count;
};

/* The editable fields of a key, as written by insert and update. */
struct store_key_fields {
	const char *name;
	const char *name_folded;
	const char *postback_url;
	const char *note; /* "" when none */
	const char *note_folded;
	bool off_record;
	bool enabled;
	int64_t role_id;
	int64_t expires_at; /* 0: never */
	const struct store_cidr *cidrs;
	size_t cidr_count;
};

enum store_key_filter_state {
	STORE_FILTER_ACTIVE,
	STORE_FILTER_ENABLED,
	STORE_FILTER_DISABLED,
	STORE_FILTER_REVOKED,
	STORE_FILTER_EXPIRING, /* not revoked, expiring after `now` and no later than `soon` */
	STORE_FILTER_EXPIRED,  /* not revoked, expired at or before `now` */
};

/*
 * With `text_folded` NULL or "", any key matches the filter's text. Otherwise a key matches when
 * its folded name or note holds `text_folded`, its lowered key ID holds `key_id_folded`, or its
 * lowered secret hint is `hint_folded` (each of the last two NULL or "": not looked at).
 */
struct store_key_filter {
	const char *text_folded;        /* substring of the folded name or note */
	const char *key_id_folded;      /* substring of the lowered key ID */
	const char *hint_folded;        /* the lowered secret hint, whole */
	enum store_key_filter_state state; /* ACTIVE = enabled and disabled, not revoked */
	int64_t role_id;                /* 0 for any */
	int64_t now;                    /* the moment EXPIRING and EXPIRED are judged at */
	int64_t soon;                   /* EXPIRING: expires no later than this */
	size_t limit;
	int64_t before_id;  /* 0: from the newest; else only keys whose row id < before_id */
	int64_t after_id;   /* 0: none; else only keys whose row id > after_id (see store_key_list()) */
};

/*
 * True when `database` names a PostgreSQL database (a postgresql:// or postgres:// URI, or a
 * conninfo string "keyword=value ..."), false for an SQLite file's path.
 */
bool store_is_postgresql(const char *database);

/*
 * Open `database`, which must exist: an SQLite file (in WAL mode with a busy timeout) or a
 * PostgreSQL database (see store_is_postgresql()); apply pending migrations (taking the write
 * lock only when one is due: an up-to-date database opens without waiting for a writer), and
 * prepare every statement. Returns NULL and writes a sentence into error[error_size] on failure:
 * for a missing file, `no database at PATH: run "keyward --db PATH init" to create one (is the
 * path right?)`; for a damaged one, the advice of store_report_damaged().
 * Never creates a file or a schema.
 */
struct store *store_open(const char *database, char *error, size_t error_size);

/*
 * store_open(), but a missing file is created (an empty, fully migrated database, with
 * CONFIG_DATABASE_MODE whatever the umask), and an empty PostgreSQL database is given keyward's
 * schema: `keyward init` only.
 */
struct store *store_create(const char *database, char *error, size_t error_size);

void store_close(struct store *store);

/* Say on standard error "keyward: database damaged: run PRAGMA integrity_check on PATH" (for STORE_DAMAGED). */
void store_report_damaged(const char *path);

#define STORE_KEY_CHECK_BYTES 32

/*
 * The server key's check value (src/domain/server_key.c makes it): *present false when none is
 * stored yet. *holds_secrets: whether the database holds API keys or users, whose hashes the key
 * made (revoked keys included).
 */
enum store_status store_key_check_get(struct store *store, unsigned char value[STORE_KEY_CHECK_BYTES], bool *present,
				      bool *holds_secrets);

/*
 * Store the check value unless one is there already (several processes may start together;
 * read it again to see which one stands), or, with `replace`, in place of the one there, but only
 * while the database holds no API keys and no users: STORE_CONFLICT when it does.
 */
enum store_status store_key_check_set(struct store *store, const unsigned char value[STORE_KEY_CHECK_BYTES],
				      bool replace, int64_t now);

/*
 * A consistent copy of the whole database, in one pass, into the file `path`, which must not exist
 * or be empty (SQLite's VACUUM INTO: a read transaction, so writers carry on and do not restart
 * it). The copy is not synced: the caller fsyncs it before trusting it.
 */
enum store_status store_backup(struct store *store, const char *path);

/* ---- moving to PostgreSQL (keyward migrate-to, src/store/store_copy.c) ---- */

#define STORE_COPY_TABLES_MAX 32

/*
 * The tables a copy carries, in the order it copies them: how many, and each one's name as SQL
 * names it ("workspace", "api_key", ...; static text).
 */
size_t store_copy_table_count(void);
const char *store_copy_table_name(size_t index);

/* The rows of each copied table, counted on `store` (either engine) by one statement: counts[index]. */
enum store_status store_copy_count(struct store *store, int64_t counts[STORE_COPY_TABLES_MAX]);

/*
 * On PostgreSQL `target`: the rows of each copied table beyond what a new database holds (the
 * Default workspace 1 and its two key roles admin and read-only, the usage rollup's state at
 * zero, any server key check): extra[index], all 0 when the target is empty.
 */
enum store_status store_copy_extra(struct store *target, int64_t extra[STORE_COPY_TABLES_MAX]);

/*
 * Copy SQLite `source` into PostgreSQL `target`, both inside a transaction the caller opened (the
 * source's holds the write lock, so the copy is one moment of it; the target's keeps the copy
 * all or nothing): delete the target's rows of the copied tables (its seed: check that it is empty
 * first), insert every row of the source's with its ids as they are, then move each identity
 * sequence past the ids copied (usage_event's past the source's own sequence and the rollup's
 * watermark too). STORE_ERROR (the reason on standard error, never a value) when a row is refused
 * or the engines are not SQLite and PostgreSQL. Writes nothing to the source.
 */
enum store_status store_copy_rows(struct store *source, struct store *target);

/*
 * A unit of work. Between store_transaction_begin() and store_transaction_commit() every write
 * joins one IMMEDIATE transaction: a domain action writes its change, its audit line and any
 * one-time secret together, or nothing at all. Transactions nest: a store function that opens
 * one of its own inside another becomes a savepoint of it (undone alone when it fails, kept only
 * if the outer one commits). store_transaction_rollback() undoes everything since its begin.
 * Closing a store inside a transaction discards it. Bulk loads (seeding a benchmark, imports)
 * use the same: thousands of writes, one commit, and no other connection can write meanwhile.
 * Commit returns STORE_ERROR, having undone the lot, when the transaction was already gone
 * (SQLite rolls back by itself after some errors: a full disk, an I/O error).
 */
enum store_status store_transaction_begin(struct store *store);
enum store_status store_transaction_commit(struct store *store);
void store_transaction_rollback(struct store *store);
/* Commit when `status` is STORE_OK, else roll back; returns the outcome (STORE_OK: all saved). */
enum store_status store_transaction_finish(struct store *store, enum store_status status);

enum store_status store_role_list(struct store *store, struct arena *arena, int64_t workspace_id,
				  struct store_role **roles, size_t *count);
enum store_status store_role_get(struct store *store, struct arena *arena, int64_t workspace_id, int64_t role_id,
				 struct store_role *role);
enum store_status store_role_find_by_name(struct store *store, struct arena *arena, int64_t workspace_id,
					  const char *name, struct store_role *role);

/* The id of the role of the workspace whose name equals `name` ignoring (ASCII) case. */
enum store_status store_role_find_id_any_case(struct store *store, int64_t workspace_id, const char *name,
					      int64_t *role_id);
enum store_status store_role_insert(struct store *store, int64_t workspace_id, const char *name,
				    const char *description, const char *permissions, int64_t *role_id);
/* STORE_NOT_FOUND when the workspace has no such role; STORE_CONFLICT when another has the name. */
enum store_status store_role_update(struct store *store, int64_t workspace_id, int64_t role_id, const char *name,
				    const char *description, const char *permissions);
/* How many keys have the role, and how many of those are revoked. */
enum store_status store_role_usage(struct store *store, int64_t workspace_id, int64_t role_id, int64_t *keys,
				   int64_t *revoked);
/*
 * Delete a role no key has (revoked ones included: they keep their role). STORE_CONFLICT when
 * keys have it, STORE_NOT_FOUND when there is no such role; both checked in one transaction.
 */
enum store_status store_role_delete(struct store *store, int64_t workspace_id, int64_t role_id);

/*
 * Insert a key with its CIDRs in one transaction. *row_id gets the new internal id. STORE_LIMIT
 * when the workspace already has as many active keys as its limit (its own, else `default_limit`;
 * 0: none); checked inside the transaction, so concurrent inserts cannot pass it together.
 */
enum store_status store_key_insert(struct store *store, int64_t workspace_id, const char *key_id,
				   const unsigned char *secret_hash, size_t hash_length, const char *secret_hint,
				   const struct store_key_fields *fields, const char *created_by, int64_t now,
				   int64_t default_limit,
				   int64_t *row_id);

/*
 * The active-key limit of a workspace (its own, else `default_limit`; 0: no limit) and, when it
 * has one, how many active (not revoked) keys it has (0 without a limit: counting costs a pass
 * over the workspace's keys, which every key creation would pay).
 */
enum store_status store_key_active_limit(struct store *store, int64_t workspace_id, int64_t default_limit,
					 int64_t *limit, int64_t *active);

/* Replace the editable fields and the CIDR list of a key that is not revoked, in one transaction. */
enum store_status store_key_update(struct store *store, int64_t workspace_id, const char *key_id,
				   const struct store_key_fields *fields, int64_t now);

/* One key with its role name and CIDRs. */
enum store_status store_key_get(struct store *store, struct arena *arena, int64_t workspace_id, const char *key_id,
				struct store_key *key);

/*
 * A page of at most filter->limit keys (without CIDRs) that match the filter, newest first (by row
 * id, which grows with time), in *keys[*count] (the arena's). *more is true when more keys match
 * past the last one returned: the next page is the one with before_id = the last key's id.
 * With after_id set, the page is the `limit` matching keys just newer than after_id (a page back
 * towards the newest), still newest first, and *more says whether keys newer than its first match.
 * Each page reads about as many rows as it returns, whatever the size of the workspace (indexes by
 * state and role, and a trigram index for text of 3 characters or more); no count of all matches.
 */
enum store_status store_key_list(struct store *store, struct arena *arena, int64_t workspace_id,
				 const struct store_key_filter *filter, struct store_key **keys, size_t *count,
				 bool *more);

/*
 * The networks of keys[0..count-1] (rows of one store_key_list() page, of one workspace, which
 * leaves them out) into each key's cidrs and cidr_count, in their order, from `arena`: for a page
 * that shows them for many keys (an export). One read for the page when its keys' row ids lie
 * close together (the list unfiltered, or nearly), else one read per key.
 */
enum store_status store_key_list_cidrs(struct store *store, struct arena *arena, struct store_key *keys, size_t count);

/* Enable or disable a key that is not revoked (STORE_NOT_FOUND otherwise). */
enum store_status store_key_set_enabled(struct store *store, int64_t workspace_id, const char *key_id, bool enabled,
					int64_t now);

/* Revoke a key for good (STORE_NOT_FOUND if unknown or already revoked); drops pending reveals. */
enum store_status store_key_revoke(struct store *store, int64_t workspace_id, const char *key_id, int64_t now);

/*
 * Replace the secret hash and hint of a key that is not revoked. With `previous_until` > 0 the
 * secret it had (hash and hint) is kept as its previous secret, working until then; with 0 any
 * previous secret is dropped.
 */
enum store_status store_key_set_secret(struct store *store, int64_t workspace_id, const char *key_id,
				       const unsigned char *secret_hash, size_t hash_length, const char *secret_hint,
				       int64_t now, int64_t previous_until);

/* Drop the previous secret of a key that is not revoked (STORE_NOT_FOUND otherwise). */
enum store_status store_key_end_overlap(struct store *store, int64_t workspace_id, const char *key_id, int64_t now);

/*
 * Inside a transaction, before reading key `key_id` to change it: wait until no other transaction
 * is changing it, so that what is read stays true until this one ends (PostgreSQL: the key's row
 * is locked until then; SQLite's write lock does this already). STORE_OK whether or not there is
 * such a key: the read after it says.
 */
enum store_status store_key_lock(struct store *store, int64_t workspace_id, const char *key_id);

/*
 * Turn the allowlist of a key that is not revoked on or off (`enabled`); *changed false when it
 * was so already, or there is no such key (the caller has read it first), and then nothing changed.
 */
enum store_status store_key_set_allowlist(struct store *store, int64_t workspace_id, const char *key_id, bool enabled,
					  int64_t now, bool *changed);

/*
 * Add `network` (canonical text, label) after the last network of key row `api_key_id`, and move
 * the key's updated_at to `now`. No check of duplicates or limits: the caller's (src/domain/allowlist.c).
 * STORE_NOT_FOUND when the key is revoked or gone.
 */
enum store_status store_cidr_append(struct store *store, int64_t workspace_id, int64_t api_key_id,
				    const struct store_cidr *network, int64_t now);

/*
 * Remove network `cidr` (its text as stored) from the allowlist of key row `api_key_id`, and move
 * the key's updated_at to `now`. STORE_NOT_FOUND when the list holds no such network, or the key is revoked.
 */
enum store_status store_cidr_remove(struct store *store, int64_t workspace_id, int64_t api_key_id, const char *cidr,
				    int64_t now);

/* Calls of key row `api_key_id` (granted or refused) made with its previous secret since `since` (recorded usage only). */
enum store_status store_key_previous_calls(struct store *store, int64_t workspace_id, int64_t api_key_id,
					   int64_t since, int64_t *calls);

/* Keys of the workspace, not revoked, that expire after `now` and by `soon`, and that expired by `now`. */
enum store_status store_key_expiry_counts(struct store *store, int64_t workspace_id, int64_t now, int64_t soon,
					  int64_t *expiring, int64_t *expired);

/* Keep a sealed secret for one showing, replacing any earlier one of that key, and drop stale ones. */
enum store_status store_reveal_put(struct store *store, int64_t workspace_id, int64_t api_key_row_id,
				   const unsigned char *sealed, size_t sealed_length, int64_t now, int64_t max_age);

/*
 * The sealed secret waiting for key row `api_key_row_id`, if one younger than max_age waits.
 * Reading does not use it up: the caller deletes it with store_reveal_delete() once it opened.
 */
enum store_status store_reveal_get(struct store *store, struct arena *arena, int64_t workspace_id,
				   int64_t api_key_row_id, int64_t now, int64_t max_age, int64_t *reveal_id,
				   unsigned char **sealed, size_t *sealed_length);

/* Delete reveal `reveal_id`; STORE_NOT_FOUND when it was already gone (someone else showed it). */
enum store_status store_reveal_delete(struct store *store, int64_t workspace_id, int64_t reveal_id);

/* ---- recorded answers of the management API (Idempotency-Key) ---- */

/* Whose Idempotency-Key: the calling key's row and the keyed hash of the header's value. */
struct store_idempotency_key {
	int64_t workspace_id;
	int64_t api_key_row_id;
	const unsigned char *hash;
	size_t hash_length;
};

/* A recorded answer; `answer` is sealed (domain/idempotency.c). Strings and blobs in the arena. */
struct store_idempotency {
	int64_t status; /* the HTTP status answered; 0 while its request runs (in another transaction) */
	unsigned char *request_hash;
	size_t request_hash_length;
	unsigned char *answer;
	size_t answer_length;
	int64_t created_at;
};

/*
 * Inside the caller's transaction: delete answers older than `max_age`, then claim `key` for a
 * request: *claimed true with its row in *row_id when no answer is recorded for it (the row is
 * the caller's to finish before it commits); false when there is one (read it with
 * store_idempotency_get: on PostgreSQL the claim waits for another transaction holding the same
 * key to end, on SQLite the write lock already keeps them apart).
 */
enum store_status store_idempotency_claim(struct store *store, const struct store_idempotency_key *key,
					  const unsigned char *request_hash, size_t request_hash_length, int64_t now,
					  int64_t max_age, bool *claimed, int64_t *row_id);

/* The answer recorded for `key`; STORE_NOT_FOUND when none. */
enum store_status store_idempotency_get(struct store *store, struct arena *arena,
					const struct store_idempotency_key *key, struct store_idempotency *found);

/* Record the answer of claimed row `row_id`. */
enum store_status store_idempotency_finish(struct store *store, int64_t row_id, int64_t status_code,
					   const unsigned char *answer, size_t answer_length);

/* ---- the gatekeeper ---- */

/* What verification needs to know of a key, found by its keyed hash. */
struct store_key_auth {
	int64_t id;
	int64_t workspace_id;
	const char *key_id;
	const char *name;
	bool enabled;
	bool revoked;
	bool off_record;
	const char *role_name;
	const char *permissions;
	const char **cidrs; /* canonical texts */
	size_t cidr_count;
	bool allowlist_enabled; /* the cidrs are enforced; false: any address passes (they are kept) */
	int64_t expires_at;     /* 0: never */
	bool previous_secret;   /* the hash is the key's previous secret's, which works while now < previous_until */
	int64_t previous_until;
};

/* The key whose current or previous secret has keyed hash `hash`. */
enum store_status store_key_find_by_hash(struct store *store, struct arena *arena, const unsigned char *hash,
					 size_t hash_length, struct store_key_auth *key);

/*
 * The gate generation: a number that changes with every change to keys, their allowlists or
 * roles (triggers in schema/003_gate.sql), and not with usage. Copies of keys kept in memory are
 * good while it stays the same.
 */
enum store_status store_gate_generation(struct store *store, int64_t *generation);

struct store_usage_event {
	int64_t workspace_id;
	int64_t api_key_id; /* 0: no key identified */
	int64_t at;
	const char *endpoint;
	const char *client_address;
	const char *outcome;
	int64_t calls; /* how many such decisions (same second, key, endpoint, address, outcome, secret) */
	bool previous_secret; /* made with the key's previous secret (an overlap after a roll) */
};

struct store_usage_count {
	int64_t workspace_id;
	int64_t api_key_id;
	int64_t hour;
	int64_t calls;
};

struct store_last_used {
	int64_t api_key_id;
	int64_t at;
};

/* Requests without a valid key of one hour, workspace, client address (as shown) and outcome. */
struct store_refusal_count {
	int64_t hour;
	int64_t workspace_id;
	const char *client_address; /* "192.0.2.7", "2001:db8:1:2::/64", "(invalid)", "(none)" */
	const char *outcome;        /* missing_key, invalid_key */
	int64_t calls;
};

/*
 * Write a batch in one transaction: events (one row each, with its count of decisions), anonymous
 * hourly counts and counts of requests without a valid key (each added to what is there),
 * and last-used times (only ever moved forward). All or nothing.
 */
enum store_status store_usage_write(struct store *store, const struct store_usage_event *events, size_t event_count,
				    const struct store_usage_count *counts, size_t count_count,
				    const struct store_last_used *last_used, size_t last_used_count,
				    const struct store_refusal_count *refusals, size_t refusal_count);

/* A client address that sent requests without a valid key, with its calls in a period. */
struct store_refused_address {
	const char *address;
	int64_t calls;
	int64_t missing_key; /* of them: no key sent */
	int64_t invalid_key; /* a malformed, unknown or foreign key */
};

/*
 * Requests without a valid key counted in `workspace_id` since hour `since`: the busiest `limit`
 * addresses (most calls first) into *addresses (in `arena`), how many addresses in all and
 * their calls in all (0 and 0 when none).
 */
enum store_status store_usage_refused(struct store *store, struct arena *arena, int64_t workspace_id, int64_t since,
				      size_t limit, struct store_refused_address **addresses, size_t *count,
				      int64_t *address_total, int64_t *calls_total);

/* ---- insight: usage rollups and what the Usage tab and dashboard read (store_insight.c) ----------- */

/*
 * Roll up at most `max_rows` raw usage rows past the watermark into the hourly and daily tables,
 * in one transaction; *rolled gets how many (0: nothing was waiting). On the way, a key's call
 * from an address it had not called from in the `new_address_seconds` before (for keys that were
 * called in that time) is noted for the new-address warning.
 */
enum store_status store_usage_rollup(struct store *store, size_t max_rows, int64_t new_address_seconds,
				     size_t *rolled);

/*
 * Retention: delete up to `max_rows` rolled-up raw rows (and new-address notes, and counts of
 * requests without a valid key) older than `raw_before`, hourly rows older than `hourly_before` and daily rows older than `daily_before`,
 * per table (and workspace, where the table has them); *deleted gets how many in all.
 */
enum store_status store_usage_prune(struct store *store, int64_t raw_before, int64_t hourly_before,
				    int64_t daily_before, size_t max_rows, size_t *deleted);

/* When retention last ran, and noting that it ran now. */
enum store_status store_usage_pruned_at(struct store *store, int64_t *at);
enum store_status store_usage_set_pruned_at(struct store *store, int64_t at);

/* Calls in one bucket of a series: index = (hour - since) / step. */
struct store_usage_bucket {
	int64_t index;
	int64_t granted;
	int64_t refused;
};

/* Calls per outcome ("granted" or a refusal code). */
struct store_usage_outcome {
	const char *outcome;
	int64_t calls;
};

/* An endpoint or a client address of a key, with its calls in the period. */
struct store_usage_item {
	const char *name;    /* the endpoint, or the address */
	int64_t calls;
	int64_t refused;
	int64_t first_seen;  /* addresses only */
	int64_t last_seen;
};

/*
 * A period as the store reads it: from hour `since` on, the hours before `days_from` (a UTC
 * midnight, since <= days_from) from the hourly tables and the days from it on (today so far
 * included) from the daily ones.
 */
struct store_usage_span {
	int64_t since;
	int64_t days_from;
};

/* Which of a key's calls: all, or those of one endpoint or one client address; maybe refused only. */
struct store_usage_slice {
	const char *endpoint; /* NULL or "": any */
	const char *address;  /* NULL or "": any; when both are set, the address counts */
	bool refused_only;
};

/*
 * What the Usage tab and dashboard read: from the rollups plus the raw rows not yet rolled up.
 * `api_key_row_id` is the key's internal id; for the series, 0 means every key of `workspace_id`
 * (and `slice` is ignored; NULL: every call). Buckets from hour `since` on, `step` seconds each,
 * come in index order, without the empty ones.
 */
enum store_status store_usage_series(struct store *store, struct arena *arena, int64_t workspace_id,
				     int64_t api_key_row_id, const struct store_usage_slice *slice, int64_t since,
				     int64_t step, struct store_usage_bucket **buckets, size_t *count);
enum store_status store_usage_outcomes(struct store *store, struct arena *arena, int64_t api_key_row_id, int64_t since,
				       struct store_usage_outcome **outcomes, size_t *count);
/* Which endpoints or addresses: since an hour, the busiest `limit`, maybe one only, maybe refused ones only. */
struct store_usage_filter {
	struct store_usage_span span;
	size_t limit;
	const char *only;  /* NULL or "": all; else just this endpoint or address */
	bool refused_only; /* only those with refused calls, the most refused first */
};

/* The endpoints or addresses the filter picks, busiest first; *total gets how many it picks in all. */
enum store_status store_usage_endpoints(struct store *store, struct arena *arena, int64_t api_key_row_id,
					const struct store_usage_filter *filter, struct store_usage_item **items, size_t *count,
					int64_t *total);
enum store_status store_usage_addresses(struct store *store, struct arena *arena, int64_t api_key_row_id,
					const struct store_usage_filter *filter, struct store_usage_item **items, size_t *count,
					int64_t *total);
/* A raw usage row, as the Usage tab lists the latest calls of a slice. */
struct store_usage_call {
	int64_t at;
	const char *endpoint;
	const char *address;
	const char *outcome;
	int64_t calls;
};

/*
 * The latest calls of key `api_key_row_id` (of `workspace_id`) in `slice` since `since`, newest
 * first, up to `limit` (at most STORE_LATEST_MAX): the raw rows not rolled up yet, then those of
 * the latest STORE_LATEST_HOURS hours that the rollups say hold some. Raw rows are kept for
 * KEYWARD_USAGE_RAW_DAYS only, so older calls are counted in the rollups but not listed.
 */
#define STORE_LATEST_MAX 100
#define STORE_LATEST_HOURS 3
enum store_status store_usage_latest(struct store *store, struct arena *arena, int64_t workspace_id,
				     int64_t api_key_row_id, const struct store_usage_slice *slice, int64_t since, size_t limit,
				     struct store_usage_call **calls, size_t *count);

/* The anonymous count of an off-the-record key (api_key_row_id), or of a workspace's (0), since `since`. */
enum store_status store_usage_anonymous(struct store *store, int64_t workspace_id, int64_t api_key_row_id,
					int64_t since, int64_t *calls);

/* A key as the dashboard lists it. */
struct store_key_brief {
	const char *key_id;
	const char *name;
	int64_t calls;    /* busiest keys: calls in the period; spikes: refused calls in the latest hour */
	int64_t refused;  /* spikes: refused calls in all the key's hours over the threshold */
	int64_t at;       /* created, last used, secret set, or the latest spike's hour, as the list says */
	const char *address; /* new addresses */
	int64_t hours;    /* spikes: how many hours were over the threshold */
};

enum store_key_brief_list {
	STORE_BRIEF_BUSIEST,      /* most calls since `since` */
	STORE_BRIEF_NEVER_USED,   /* active keys without a single granted call, oldest first */
	STORE_BRIEF_UNUSED_SINCE, /* active keys last used before `since` */
	STORE_BRIEF_SECRET_OLDER, /* active keys whose secret was set before `since` */
};

/*
 * Up to `limit` keys of a list; *total gets how many the list holds in all (BUSIEST: with calls in
 * the span; the others take `span->since` as their date).
 */
enum store_status store_key_briefs(struct store *store, struct arena *arena, int64_t workspace_id,
				   enum store_key_brief_list list, const struct store_usage_span *span, size_t limit,
				   struct store_key_brief **keys, size_t *count, int64_t *total);

/*
 * Warnings, from the rollups: the keys (api_key_row_id, or every key of the workspace when 0)
 * refused more than `threshold` times in an hour since `since`, one each, the latest first (with
 * *total, how many keys in all); and the keys called since
 * `since` from addresses new to them (noted by store_usage_rollup), the latest first, each with
 * how many (calls), the latest time (at) and the latest three addresses (address, ", " between);
 * *total gets how many keys in all.
 */
enum store_status store_usage_spikes(struct store *store, struct arena *arena, int64_t workspace_id,
				     int64_t api_key_row_id, int64_t since, int64_t threshold, size_t limit,
				     struct store_key_brief **spikes, size_t *count, int64_t *total);
enum store_status store_usage_new_addresses(struct store *store, struct arena *arena, int64_t workspace_id,
					    int64_t api_key_row_id, int64_t since, size_t limit,
					    struct store_key_brief **found, size_t *count, int64_t *total);

/* ---- accounts (store_accounts.c) ------------------------------------------------------------- */

struct store_user {
	int64_t id;
	const char *email;         /* as typed */
	const char *name;
	const char *password_hash; /* "" when the account cannot sign in with a password */
	int64_t disabled_at;       /* 0: may sign in; else when it was disabled */
};


struct store_session {
	int64_t id;
	int64_t user_id;
	int64_t created_at;
	int64_t last_seen_at;
	int64_t expires_at;
	const char *email;
	const char *user_name;
};

/* STORE_CONFLICT when a user with that folded e-mail exists. */
enum store_status store_user_insert(struct store *store, const char *email, const char *email_folded,
				    const char *name, const char *password_hash, int64_t now, int64_t *user_id);
enum store_status store_user_find_by_email(struct store *store, struct arena *arena, const char *email_folded,
					   struct store_user *user);
enum store_status store_user_get(struct store *store, struct arena *arena, int64_t user_id, struct store_user *user);
enum store_status store_user_count(struct store *store, int64_t *count);

enum store_status store_session_insert(struct store *store, const unsigned char *token_hash, size_t hash_length,
				       int64_t user_id, int64_t now, int64_t expires_at, const char *client_address);
enum store_status store_session_find(struct store *store, struct arena *arena, const unsigned char *token_hash,
				     size_t hash_length, struct store_session *session);
enum store_status store_session_touch(struct store *store, int64_t session_id, int64_t now);
enum store_status store_session_delete(struct store *store, const unsigned char *token_hash, size_t hash_length);
/* Delete sessions past their absolute expiry (`now`) or idle since before `idle_since`. */
enum store_status store_session_delete_expired(struct store *store, int64_t now, int64_t idle_since);

/* Disable user `user_id` at `disabled_at` (0: enable again). STORE_NOT_FOUND when there is no such user. */
enum store_status store_user_set_disabled(struct store *store, int64_t user_id, int64_t disabled_at, int64_t now);
/* Give user `user_id` a new password hash. STORE_NOT_FOUND when there is no such user. */
enum store_status store_user_set_password(struct store *store, int64_t user_id, const char *password_hash,
					  int64_t now);
/*
 * Delete user `user_id`: their memberships and sessions go with them (ON DELETE CASCADE); audit
 * lines keep their e-mail in actor_label and target_id. STORE_NOT_FOUND when there is no such user.
 */
enum store_status store_user_delete(struct store *store, int64_t user_id);
/* End every session of `user_id` but `keep_session_id` (0: all of them); *ended (may be NULL) gets how many. */
enum store_status store_session_delete_for_user(struct store *store, int64_t user_id, int64_t keep_session_id,
						int64_t *ended);
/* How many sessions of `user_id` are live at `now` (not past expiry, seen since `idle_since`). */
enum store_status store_session_count_for_user(struct store *store, int64_t user_id, int64_t now, int64_t idle_since,
					       int64_t *count);
struct store_membership;
/*
 * Inside a transaction, before a check that a change leaves every workspace an owner who can sign
 * in: wait for the other such changes to end (PostgreSQL: an advisory lock held until the
 * transaction ends; SQLite's write lock already serialises them). store_member_set_role() and
 * store_member_remove() take it themselves.
 */
enum store_status store_owners_lock(struct store *store);
/*
 * The workspaces where `user_id` is the only owner who can sign in (every other owner, if any, is
 * disabled), by name: disabling or removing them would leave the workspace without one.
 */
enum store_status store_sole_owner_workspaces(struct store *store, struct arena *arena, int64_t user_id,
					      struct store_membership **workspaces, size_t *count);

/* ---- workspaces, members, invitations (store_members.c) ----------------------------------------- */

struct store_membership {
	int64_t workspace_id;
	const char *workspace_name;
	const char *console_role; /* owner, admin, developer, viewer */
};

struct store_member {
	int64_t user_id;
	const char *email;
	const char *name;
	const char *console_role;
	int64_t joined_at;
	bool disabled; /* the account cannot sign in (keyward user disable) */
};

/* An invitation to join a workspace, or (setup) the link that makes the first owner. */
struct store_invitation {
	int64_t id;
	int64_t workspace_id;
	const char *workspace_name; /* filled when read */
	const char *email;          /* who may accept it; "" for a setup link */
	const char *console_role;
	bool setup;
	int64_t created_at;
	int64_t expires_at;
	bool accepted; /* filled when read */
};

/* A new workspace with the default key roles (admin, read-only), `owner_user_id` its owner. */
enum store_status store_workspace_create(struct store *store, const char *name, int64_t owner_user_id, int64_t now,
					 int64_t *workspace_id);

/* Make `user_id` a member of `workspace_id` with `console_role`, or change the role it has. */
enum store_status store_membership_set(struct store *store, int64_t workspace_id, int64_t user_id,
				       const char *console_role, int64_t now);
/* The workspace's name and the user's role there (STORE_NOT_FOUND: not a member). */
enum store_status store_membership_get(struct store *store, struct arena *arena, int64_t workspace_id, int64_t user_id,
				       struct store_membership *membership);
/* The workspaces of a user, by name. */
enum store_status store_membership_list_for_user(struct store *store, struct arena *arena, int64_t user_id,
						 struct store_membership **memberships, size_t *count);

/* The members of a workspace, by e-mail address. */
enum store_status store_member_list(struct store *store, struct arena *arena, int64_t workspace_id,
				    struct store_member **members, size_t *count);
enum store_status store_member_get(struct store *store, struct arena *arena, int64_t workspace_id, int64_t user_id,
				   struct store_member *member);
/*
 * Change a member's role, or remove them. STORE_NOT_FOUND when not a member; STORE_CONFLICT
 * (nothing changed) when the workspace would be left without an owner who can sign in (one who
 * is not disabled).
 */
enum store_status store_member_set_role(struct store *store, int64_t workspace_id, int64_t user_id,
					const char *console_role);
enum store_status store_member_remove(struct store *store, int64_t workspace_id, int64_t user_id);

/*
 * Store an invitation (workspace_id, email, console_role, setup, created_at, expires_at of
 * `invitation`) under the keyed hash of its token; a pending invitation of the same address to
 * the same workspace is replaced. `created_by` 0: the command line.
 */
enum store_status store_invitation_insert(struct store *store, const struct store_invitation *invitation,
					  const unsigned char *token_hash, size_t hash_length, const char *email_folded,
					  int64_t created_by, int64_t *invitation_id);
enum store_status store_invitation_find(struct store *store, struct arena *arena, const unsigned char *token_hash,
					size_t hash_length, struct store_invitation *invitation);
/* Invitations of a workspace not yet accepted nor expired at `now`, newest first. */
enum store_status store_invitation_list_pending(struct store *store, struct arena *arena, int64_t workspace_id,
						int64_t now, struct store_invitation **invitations, size_t *count);
/* Withdraw a pending invitation (its link stops working); *cancelled gets what it was. */
enum store_status store_invitation_cancel(struct store *store, struct arena *arena, int64_t workspace_id,
					  int64_t invitation_id, struct store_invitation *cancelled);
/*
 * Accept an invitation as `user_id`: membership with its role, the invitation used up; in one
 * transaction. STORE_NOT_FOUND when it was used or expired meanwhile.
 */
enum store_status store_invitation_accept(struct store *store, const struct store_invitation *invitation,
					  int64_t user_id, int64_t now);
/*
 * Make a new account and accept the invitation with it, in one transaction. STORE_CONFLICT when
 * the address has an account; STORE_NOT_FOUND when the invitation was used or expired meanwhile,
 * or, for a setup link, when any account exists already.
 */
enum store_status store_invitation_accept_new_user(struct store *store, const struct store_invitation *invitation,
						   const char *email, const char *email_folded, const char *name,
						   const char *password_hash, int64_t now, int64_t *user_id);

/* One line of the audit log. */
struct store_audit_event {
	int64_t workspace_id;
	int64_t at;
	int64_t actor_user_id;      /* 0: not a signed-in user (the command line, say) */
	const char *actor_label;    /* the user's e-mail, or "command line" */
	const char *client_address; /* "" when none */
	const char *action;         /* key.create, key.update, role.delete, member.add, ... */
	const char *target_type;    /* key, role, member */
	const char *target_id;      /* key_..., a role's name, a member's e-mail */
	const char *summary;        /* what changed, before -> after; never a secret */
};

enum store_status store_audit_insert(struct store *store, const struct store_audit_event *event);

struct store_audit_filter {
	const char *actor_label; /* "" or NULL: anyone */
	const char *action;      /* "" or NULL: any */
	const char *target_id;   /* "" or NULL: any */
	size_t limit;
	size_t offset;
};

/* A page of audit lines, newest first, and how many match in all. */
enum store_status store_audit_list(struct store *store, struct arena *arena, int64_t workspace_id,
				   const struct store_audit_filter *filter, struct store_audit_event **events,
				   size_t *count, size_t *total);

/* The distinct actors of the workspace's audit log, by name (at most 200). */
enum store_status store_audit_actors(struct store *store, struct arena *arena, int64_t workspace_id,
				     const char ***actors, size_t *count);

/*
 * Sign-in attempts per subject ("email:...", "address:...", "device:..."), for throttling: each
 * is recorded when it is let through, before its password is checked, and stays a failure unless
 * it is deleted again (the password was right). Add one at `now_ms` (milliseconds); *id (may be
 * NULL) gets its row, for store_signin_failure_delete().
 */
enum store_status store_signin_failure_add(struct store *store, const char *subject, int64_t now_ms, int64_t *id);
/*
 * Inside the transaction that counts a sign-in's failures and records it: wait until no other
 * attempt is between its count and its record, so that concurrent guesses are let through one
 * after another, each seeing the ones before (SQLite's write lock does this already; PostgreSQL
 * takes a lock of its own, held to the transaction's end).
 */
enum store_status store_signin_attempts_lock(struct store *store);
/* How many failures `subject` had after `since` (seconds), and when the latest was, in milliseconds (0: none). */
enum store_status store_signin_failure_count(struct store *store, const char *subject, int64_t since, int64_t *count,
					     int64_t *latest_ms);
enum store_status store_signin_failure_delete(struct store *store, int64_t id);
enum store_status store_signin_failure_clear(struct store *store, const char *subject);
/* Forget the failures of every subject that starts with `prefix` (a device's of one account). */
enum store_status store_signin_failure_clear_prefix(struct store *store, const char *prefix);
/* Forget failures at or before `before` (seconds): housekeeping. */
enum store_status store_signin_failure_forget(struct store *store, int64_t before);

#endif
