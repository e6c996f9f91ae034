/*
 * config.h: where keyward keeps its data and how it presents itself, from the environment and flags.
 *
 *   KEYWARD_DB         database file                        default var/keyward.db
 *   KEYWARD_TEMPLATES  folder of *.mustache templates        default <datadir>/templates
 *   KEYWARD_BASE_PATH  URL prefix the console is mounted at default "" (e.g. "/console")
 *   KEYWARD_TOKEN_PREFIX  token prefix                       default kw_
 * The server key lives beside the database as <db>.key (0600), made at first start.
 */
#ifndef KEYWARD_CORE_CONFIG_H
#define KEYWARD_CORE_CONFIG_H

#include <stdbool.h>
#include <stddef.h>

#ifndef KEYWARD_DATADIR
#define KEYWARD_DATADIR "/usr/local/share/keyward"
#endif

#define CONFIG_TOKEN_PREFIX_MAX 16
#define CONFIG_SERVER_KEY_BYTES 32

struct config {
	char database_path[1024];
	char server_key_path[1040];
	char template_dir[1024];
	char base_path[256];
	char token_prefix[CONFIG_TOKEN_PREFIX_MAX + 1]; /* its rules are token_prefix_valid()'s, checked by main */
	unsigned char server_key[CONFIG_SERVER_KEY_BYTES];
};

/*
 * Fill *config from the environment, then `database_path` if not NULL. False, with a sentence, on
 * values that do not fit or are malformed. The token prefix is only copied; main checks its rules.
 */
bool config_load(struct config *config, const char *database_path, char *error, size_t error_size);

/*
 * Read the server key, creating it (random, mode 0600, written atomically so that several
 * processes starting together agree on one key) when it does not exist. Also makes the
 * database's folder when missing. Needs sodium_init().
 */
bool config_load_server_key(struct config *config, char *error, size_t error_size);

/* Wipe the server key from memory. */
void config_wipe(struct config *config);

#endif
