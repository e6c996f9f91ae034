/* server_key.c: the server key file held against the check value its database keeps (see server_key.h). */
#include "domain/server_key.h"

#include <sodium.h>
#include <stdio.h>
#include <time.h>

#include "core/config.h"

/* What the check value hashes; a new label would make every stored check a mismatch. */
static const char check_label[] = "keyward server key check v1";

void server_key_check_value(const unsigned char *key, size_t key_length, unsigned char value[STORE_KEY_CHECK_BYTES])
{
	crypto_generichash(value, STORE_KEY_CHECK_BYTES, (const unsigned char *)check_label, sizeof check_label - 1, key,
			   key_length);
}

/* The sentence for a store status met while checking the key. */
static bool store_failed(const struct config *config, enum store_status status, char *error, size_t error_size)
{
	if (status == STORE_DAMAGED)
		snprintf(error, error_size, "database damaged: run PRAGMA integrity_check on %s", config->database_label);
	else if (status == STORE_BUSY)
		snprintf(error, error_size, "database %s stayed busy while checking the server key; try again",
			 config->database_label);
	else
		snprintf(error, error_size, "cannot check server key %s against database %s", config->server_key_path,
			 config->database_label);
	return false;
}

/* Store the check of config->server_key: in place of another only while nothing was made with that one. */
static bool store_check(struct store *store, const struct config *config, bool replace, char *error, size_t error_size)
{
	unsigned char value[STORE_KEY_CHECK_BYTES];
	server_key_check_value(config->server_key, sizeof config->server_key, value);
	enum store_status status = store_key_check_set(store, value, replace, (int64_t)time(NULL));
	if (status == STORE_CONFLICT) {
		snprintf(error, error_size, "server key %s does not match database %s, which holds keys or users made "
					    "with another key", config->server_key_path, config->database_label);
		return false;
	}
	return status == STORE_OK || store_failed(config, status, error, error_size);
}

bool server_key_load(struct store *store, struct config *config, bool initialising, char *error, size_t error_size)
{
	bool missing = false;
	bool read = config_read_server_key(config, &missing, error, error_size);
	if (!read && !missing)
		return false;
	unsigned char stored[STORE_KEY_CHECK_BYTES];
	bool present = false;
	bool holds_secrets = false;
	enum store_status status = store_key_check_get(store, stored, &present, &holds_secrets);
	if (status != STORE_OK)
		return store_failed(config, status, error, error_size);
	if (missing) {
		if (holds_secrets) {
			snprintf(error, error_size, "server key %s is missing, and database %s holds keys or users made with "
						    "it: put that key file back (from the backup made with the database); "
						    "a new key would turn every existing key away",
				 config->server_key_path, config->database_label);
			return false;
		}
		if (!initialising) {
			snprintf(error, error_size, "no server key at %s for database %s: run \"keyward --db %s init\" to "
						    "make one", config->server_key_path, config->database_label,
				 config->database_label);
			return false;
		}
		return config_create_server_key(config, error, error_size) &&
		       store_check(store, config, true, error, error_size);
	}
	unsigned char value[STORE_KEY_CHECK_BYTES];
	server_key_check_value(config->server_key, sizeof config->server_key, value);
	if (!present) {
		/* A database from before the check: trust the key at hand, once. Several processes
		   may start together: the check that stands is read again below. */
		if (!store_check(store, config, false, error, error_size))
			return false;
		if (holds_secrets)
			fprintf(stderr, "keyward: database %s had no server key check yet: it now holds the check of %s "
					"(trust on first use)\n", config->database_label, config->server_key_path);
		status = store_key_check_get(store, stored, &present, &holds_secrets);
		if (status != STORE_OK)
			return store_failed(config, status, error, error_size);
	}
	if (sodium_memcmp(value, stored, sizeof value) == 0)
		return true;
	if (!holds_secrets)
		return store_check(store, config, true, error, error_size);
	snprintf(error, error_size, "server key %s does not match database %s, which holds keys or users made with "
				    "another key: put back the key file that belongs to this database (from the backup "
				    "made with it), or point --db at the database this key belongs to",
		 config->server_key_path, config->database_label);
	return false;
}
