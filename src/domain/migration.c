/* migration.c: keyward migrate-to, an SQLite database copied into an empty PostgreSQL one (see migration.h). */
#include "domain/migration.h"

#include <sodium.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include "core/config.h"
#include "domain/server_key.h"

/* True when `store`'s check value is the one of config->server_key. */
static bool check_matches(struct store *store, const struct config *config, enum store_status *status)
{
	unsigned char stored[STORE_KEY_CHECK_BYTES];
	unsigned char ours[STORE_KEY_CHECK_BYTES];
	bool present = false;
	bool holds_secrets = false;
	*status = store_key_check_get(store, stored, &present, &holds_secrets);
	server_key_check_value(config->server_key, sizeof config->server_key, ours);
	return *status == STORE_OK && present && sodium_memcmp(stored, ours, sizeof ours) == 0;
}

/* The key's destination must be free or hold this key: *there says which. False with a sentence otherwise. */
static bool destination_ready(const struct config *config, const char *path, bool *there, char *error,
			      size_t error_size)
{
	bool exists = false;
	if (!config_server_key_at(config, path, &exists, there, error, error_size))
		return false;
	if (exists && !*there) {
		snprintf(error, error_size, "%s exists and is not server key %s: migrate-to never replaces a key file "
					    "(another key there would turn every copied key away); name a new path, or "
					    "remove that file if it is not in use",
			 path, config->server_key_path);
		return false;
	}
	return true;
}

/* The copied tables that hold rows beyond a new database's seed, "api_key (3), user (1)", into `list`. */
static void list_extra(const int64_t *extra, char *list, size_t size)
{
	size_t used = 0;
	list[0] = '\0';
	for (size_t i = 0; i < store_copy_table_count() && used < size; i++)
		if (extra[i] > 0)
			used += (size_t)snprintf(list + used, size - used, "%s%s (%lld)", used > 0 ? ", " : "",
						 store_copy_table_name(i), (long long)extra[i]);
}

/* Copy and count inside the open transactions; MIGRATION_DONE when all is ready to commit. */
static enum migration_outcome copy_and_count(struct store *source, struct store *target, const struct config *config,
					     const char *target_label, struct migration_result *result, char *error,
					     size_t error_size)
{
	int64_t extra[STORE_COPY_TABLES_MAX] = { 0 };
	enum store_status status = store_copy_extra(target, extra);
	if (status != STORE_OK) {
		snprintf(error, error_size, "cannot tell whether %s is empty (the message above says why); nothing "
					    "was copied", target_label);
		return MIGRATION_FAILED;
	}
	char list[512];
	list_extra(extra, list, sizeof list);
	if (list[0] != '\0') {
		snprintf(error, error_size, "%s is not empty: it holds rows of %s. migrate-to copies only into a "
					    "database that holds nothing but what init makes (the Default workspace and "
					    "its two key roles); nothing was changed in it",
			 target_label, list);
		return MIGRATION_REFUSED;
	}
	status = store_copy_rows(source, target);
	if (status != STORE_OK) {
		snprintf(error, error_size, "the copy into %s failed (the message above says why); nothing was kept "
					    "there", target_label);
		return MIGRATION_FAILED;
	}
	if (store_copy_count(source, result->source) != STORE_OK || store_copy_count(target, result->target) != STORE_OK) {
		snprintf(error, error_size, "cannot count the rows on both sides (the message above says why); "
					    "nothing was kept in %s", target_label);
		return MIGRATION_FAILED;
	}
	result->counted = true;
	for (size_t i = 0; i < result->table_count; i++)
		if (result->source[i] != result->target[i]) {
			snprintf(error, error_size, "the counts differ (%s: %lld in SQLite, %lld in PostgreSQL); "
						    "nothing was kept in %s",
				 result->tables[i], (long long)result->source[i], (long long)result->target[i],
				 target_label);
			return MIGRATION_MISMATCH;
		}
	if (!check_matches(target, config, &status)) {
		snprintf(error, error_size, "the server key check copied into %s is not the key's; nothing was kept there",
			 target_label);
		return MIGRATION_FAILED;
	}
	return MIGRATION_DONE;
}

enum migration_outcome migration_copy(struct store *source, struct store *target, const struct config *config,
				      const char *target_label, const char *key_destination,
				      struct migration_result *result, char *error, size_t error_size)
{
	memset(result, 0, sizeof *result);
	result->table_count = store_copy_table_count();
	for (size_t i = 0; i < result->table_count; i++)
		result->tables[i] = store_copy_table_name(i);
	enum store_status status;
	if (!check_matches(source, config, &status)) {
		snprintf(error, error_size, "server key %s is not the one database %s holds the check of%s; nothing "
					    "was copied", config->server_key_path, config->database_label,
			 status == STORE_OK ? "" : " (or the check cannot be read: the message above says why)");
		return MIGRATION_REFUSED;
	}
	if (key_destination != NULL && !destination_ready(config, key_destination, &result->key_there, error, error_size))
		return MIGRATION_REFUSED;
	if (store_transaction_begin(target) != STORE_OK) {
		snprintf(error, error_size, "cannot begin a transaction on %s; nothing was copied", target_label);
		return MIGRATION_FAILED;
	}
	if (store_transaction_begin(source) != STORE_OK) {
		store_transaction_rollback(target);
		snprintf(error, error_size, "cannot lock %s for the copy (its servers may be writing: stop them); "
					    "nothing was copied", config->database_label);
		return MIGRATION_FAILED;
	}
	enum migration_outcome outcome =
		copy_and_count(source, target, config, target_label, result, error, error_size);
	if (outcome == MIGRATION_DONE && key_destination != NULL && !result->key_there) {
		char why[512];
		result->key_written = config_copy_server_key(config, key_destination, why, sizeof why);
		if (!result->key_written) {
			snprintf(error, error_size, "%s; nothing was kept in %s", why, target_label);
			outcome = MIGRATION_FAILED;
		}
	}
	if (outcome == MIGRATION_DONE && store_transaction_commit(target) != STORE_OK) {
		snprintf(error, error_size, "cannot commit the copy into %s (the message above says why); nothing was "
					    "kept there", target_label);
		if (result->key_written)
			unlink(key_destination); /* the key file this copy made, useless without it */
		result->key_written = false;
		outcome = MIGRATION_FAILED;
	} else if (outcome != MIGRATION_DONE) {
		store_transaction_rollback(target);
	}
	store_transaction_rollback(source); /* it wrote nothing: this ends the read and frees its lock */
	return outcome;
}
