/*
 * migration.h: moving from one server's SQLite file to PostgreSQL (keyward migrate-to): the whole
 * database copied into an empty PostgreSQL one in one transaction, its rows counted on both sides,
 * and the server key that must move with it (every secret's hash is keyed with it).
 *
 * What moves: every table of STORE_COPY_TABLES (src/store/store_private.h): workspaces, key roles,
 * API keys with their networks and last use, users, memberships, invitations, the audit log, raw
 * usage and every rollup of it with the rollup's watermark, refusals, and the server key's check
 * value. What does not: browser sessions (everyone signs in again), sign-in throttling, secrets
 * waiting to be shown once (ten minutes at most), the gate generation (a counter each database
 * keeps for itself) and the schema version (the target's own, the same number).
 * The copy writes no audit line: the target holds the source's log as it was, row for row.
 */
#ifndef KEYWARD_DOMAIN_MIGRATION_H
#define KEYWARD_DOMAIN_MIGRATION_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "store/store.h"

struct config;

enum migration_outcome {
	MIGRATION_DONE,     /* copied and committed; every count matches */
	MIGRATION_REFUSED,  /* nothing was tried: the target is not empty, or the key is not in order */
	MIGRATION_MISMATCH, /* the counts differ: rolled back, nothing kept */
	MIGRATION_FAILED,   /* a store or file failed: rolled back, nothing kept */
};

struct migration_result {
	size_t table_count;
	const char *tables[STORE_COPY_TABLES_MAX]; /* static names, as SQL names them */
	int64_t source[STORE_COPY_TABLES_MAX];     /* rows counted on the source, inside the copy's moment */
	int64_t target[STORE_COPY_TABLES_MAX];     /* rows counted on the target, inside the copy's transaction */
	bool counted;     /* the counts hold both sides (a copy was made, kept or not) */
	bool key_written; /* the server key was written to the destination given */
	bool key_there;   /* the destination held this very key already */
};

/*
 * Copy SQLite `source` (config's database, whose key config->server_key holds) into PostgreSQL
 * `target`. First, before anything is written: the key must match the source's check value, and
 * `key_destination` (NULL: none), when given, must hold no file or this same key. Then, with the
 * source's write lock held (its servers' writes wait; nothing is written to it) and one target
 * transaction open: the target must hold nothing beyond a new database's seed (store_copy_extra()),
 * every row is copied, every table is counted on both sides, and the target's check value must be
 * the key's. Only then is the key written to `key_destination` (a new file, CONFIG_SERVER_KEY_MODE)
 * and the target committed; when the commit fails the new key file is removed.
 * On anything but MIGRATION_DONE, one sentence in error[] (no secret, no password), and the target
 * is as it was.
 */
enum migration_outcome migration_copy(struct store *source, struct store *target, const struct config *config,
				      const char *target_label, const char *key_destination,
				      struct migration_result *result, char *error, size_t error_size);

#endif
