/*
 * server_key.h: the server key belongs to one database, and keyward will not run with another.
 *
 * Every token, session and invitation hash is keyed with the server key (<database>.key). With a
 * lost or replaced key file, every existing API key would be refused as if it were made up, with
 * nothing in the log. So the database keeps a check value derived from the key (a keyed BLAKE2b
 * of a fixed label; never the key itself), and every start holds the key file against it.
 */
#ifndef KEYWARD_DOMAIN_SERVER_KEY_H
#define KEYWARD_DOMAIN_SERVER_KEY_H

#include <stdbool.h>
#include <stddef.h>

#include "store/store.h"

struct config;

/*
 * Read the server key file into config->server_key and hold it against the database's check
 * value. True when the key belongs to the database:
 *   - the check matches; or the database has no check yet (made before checks existed) and gets
 *     the one of this key (trust on first use, said on standard error);
 *   - the database holds no API keys and no users: the check is set to this key's (nothing made
 *     with another key can be lost), and with `initialising` (`keyward init` only) a missing key
 *     file is made.
 * False, with one sentence naming the key file and the database, when the key file is missing or
 * does not match while the database holds keys or users, when it is missing and not
 * `initialising`, or when it cannot be read. Needs sodium_init(); `store` is open on the database.
 */
bool server_key_load(struct store *store, struct config *config, bool initialising, char *error, size_t error_size);

/* The check value of `key`: BLAKE2b of a fixed label, keyed with the key. */
void server_key_check_value(const unsigned char *key, size_t key_length, unsigned char value[STORE_KEY_CHECK_BYTES]);

#endif
