/*
 * config.h: where keyward keeps its data and how it presents itself, from the environment and flags.
 *
 *   KEYWARD_DB         database file                        default var/keyward.db
 *   KEYWARD_TEMPLATES  folder of *.mustache templates        default <datadir>/templates
 *   KEYWARD_BASE_PATH  URL prefix the console is mounted at default "" (e.g. "/console")
 *   KEYWARD_TOKEN_PREFIX  token prefix                       default kw_
 *   KEYWARD_CONFIG     the gatekeeper's rules file           default none
 *   KEYWARD_PUBLIC_URL the console's address as browsers use it, e.g. https://example.com/keyward
 *                      (scheme, host, optional port, and the base path or no path); default none:
 *                      each request's own scheme, host and port
 *
 * The rules file holds lines "require PATH-PREFIX PERMISSION": a request whose path starts with
 * PATH-PREFIX, on a segment boundary ("/admin" covers /admin and /admin/x, not /administrator),
 * needs a key whose role holds PERMISSION (the longest matching prefix wins; no match: any valid
 * key). Lines "workspace ID" (one or more, each ID a positive whole number named once) say whose
 * keys the gatekeeper accepts; without any (or without a rules file) it serves workspace 1 only.
 * '#' starts a comment.
 * The server key lives beside the database as <db>.key (0640), made by `keyward init`.
 *
 * Modes: one ownership model for every way of serving (README: Installing). keyward's files belong
 * to the keyward user and group, and the web server's user (www-data) is a member of that group,
 * because lighttpd's bin-path, mod_fcgid and CGI run keyward as the web server's user: it must
 * write the database and its -wal and -shm files (SQLite gives those the database's mode and, run
 * by root, its owner), make and remove them in the folder, and read the server key. Nobody else
 * gets anything. The modes are set explicitly, whatever the umask.
 */
#ifndef KEYWARD_CORE_CONFIG_H
#define KEYWARD_CORE_CONFIG_H

#include <stdbool.h>
#include <stddef.h>

#include "core/text.h"
#define CONFIG_DATABASE_MODE 0660   /* the database file (and so its -wal and -shm) */
#define CONFIG_SERVER_KEY_MODE 0640 /* the server key, and its copy beside a backup */
#define CONFIG_FOLDER_MODE 02770    /* a database folder init makes: set-group-ID, so that files
				       the web server's user makes in it belong to the group too */


#define CONFIG_TOKEN_PREFIX_MAX 16
#define CONFIG_SERVER_KEY_BYTES 32

#define CONFIG_RULES_MAX 256
#define CONFIG_RULE_TEXT_MAX 256
#define CONFIG_WORKSPACES_MAX 64 /* "workspace" lines in a rules file */

struct config_rule {
	char path_prefix[CONFIG_RULE_TEXT_MAX];
	char permission[CONFIG_RULE_TEXT_MAX];
};

struct config {
	char database_path[1024];  /* an SQLite file, or a PostgreSQL URI or conninfo (config_is_postgresql()) */
	char database_label[1024]; /* the same without a password: what messages and pages may show */
	char server_key_path[1040]; /* KEYWARD_KEY_FILE; else beside the SQLite file, or STATEDIR/keyward.key */
	char template_dir[1024];
	char base_path[256];
	char public_origin[TEXT_ORIGIN_MAX]; /* KEYWARD_PUBLIC_URL's origin ("https://example.com"), "" when unset */
	char token_prefix[CONFIG_TOKEN_PREFIX_MAX + 1]; /* its rules are token_prefix_valid()'s, checked by main */
	unsigned char server_key[CONFIG_SERVER_KEY_BYTES];
	char rules_path[1024]; /* "" when no rules file */
	long long key_limit;   /* active (not revoked) keys a workspace may have unless it says otherwise; 0: no limit */
	bool trust_remote_user; /* KEYWARD_TRUST_REMOTE_USER=1: the web server's REMOTE_USER signs that user in */
	long long usage_raw_days;    /* KEYWARD_USAGE_RAW_DAYS: raw usage rows are kept this long (default 30) */
	long long usage_hourly_days; /* KEYWARD_USAGE_HOURLY_DAYS: hourly rollups (default 400) */
	long long refused_alert;     /* KEYWARD_REFUSED_ALERT: refused calls of a key in an hour that warn (default 100) */
	long long stale_seconds;     /* KEYWARD_STALE_SECONDS: while the database is away, keys checked this
					recently keep their answers (default 30; 0: refuse at once) */
	long long usage_buffer;      /* KEYWARD_USAGE_BUFFER: decisions of known keys a process holds for the
					database at most (default 65536); past it new ones are dropped and counted */
	long long password_checks;   /* KEYWARD_PASSWORD_CHECKS: Argon2id computations at once (default 0: one per CPU) */
	struct config_rule *rules;
	size_t rule_count;
	/*
	 * The workspaces whose keys the gatekeeper accepts, in the rules file's order (the first is
	 * where requests without a valid key are counted); {1} unless the rules file names some.
	 */
	long long workspaces[CONFIG_WORKSPACES_MAX];
	size_t workspace_count;   /* 1 or more after config_load() */
	bool workspaces_named;    /* false: the default, workspace 1, because the rules file named none */
};

/* The database make install chose (STATEDIR/keyward.db): used unless KEYWARD_DB or --db say otherwise. */
const char *config_default_database(void);

/* The server key of a PostgreSQL database unless KEYWARD_KEY_FILE says otherwise: STATEDIR/keyward.key. */
const char *config_default_key_file(void);

/*
 * True when `database` names a PostgreSQL database: a postgresql:// or postgres:// URI, or a
 * conninfo string ("host=db dbname=keyward": a word of a-z and _, then '='). Anything else is the
 * path of an SQLite file (one with '=' in its first word is written ./a=b.db).
 */
bool config_is_postgresql(const char *database);

/*
 * `database` without its password, into label[size]: postgresql://user:SECRET@host/db becomes
 * postgresql://user@host/db, a password=... parameter or conninfo word is left out. A path stays.
 */
void config_database_label(const char *database, char *label, size_t size);

/*
 * Fill *config from the environment, then `database_path` if not NULL. False, with a sentence, on
 * values that do not fit or are malformed (then no rules are held). The token prefix is only
 * copied; main checks its rules.
 */
bool config_load(struct config *config, const char *database_path, char *error, size_t error_size);

/*
 * Make the folder that holds the SQLite file (with PostgreSQL, the server key), when missing (one
 * level, CONFIG_FOLDER_MODE): for `keyward init`.
 */
bool config_make_database_folder(const struct config *config, char *error, size_t error_size);

/*
 * Read the server key file into config->server_key. False with a sentence when it cannot be read
 * or is not 32 bytes; *missing is set when there is no such file. Whether the key belongs to the
 * database is src/domain/server_key.c's question.
 */
bool config_read_server_key(struct config *config, bool *missing, char *error, size_t error_size);

/*
 * Make a new random server key file (CONFIG_SERVER_KEY_MODE, written whole and linked into place, so that
 * several processes starting together agree on one key: the first wins) and read it. Needs
 * sodium_init(). Only `keyward init` makes one, through server_key_load().
 */
bool config_create_server_key(struct config *config, char *error, size_t error_size);

/* Write the key in config->server_key to a new file `path` (CONFIG_SERVER_KEY_MODE, synced; never over an existing file). */
bool config_copy_server_key(const struct config *config, const char *path, char *error, size_t error_size);

/*
 * Whether the file `path` holds the key in config->server_key: true with *exists false when there is
 * no such file, true with *exists and *same when it holds that key (compared in constant time),
 * true with *exists and not *same when it holds another (or is no key file: not 32 bytes). False
 * with a sentence when it cannot be read.
 */
bool config_server_key_at(const struct config *config, const char *path, bool *exists, bool *same, char *error,
			  size_t error_size);

/* The permission a request for `path` needs under the rules, or NULL when none. */
const char *config_required_permission(const struct config *config, const char *path);

/* True when the gatekeeper accepts keys of `workspace_id` (config->workspaces holds it). */
bool config_serves_workspace(const struct config *config, long long workspace_id);

/*
 * The sentence a gatekeeper logs once when it serves workspace 1 by default, because no rules
 * file or no "workspace" line names any ("keyward: the gatekeeper serves workspace 1 (…)");
 * NULL when the rules file names the workspaces. Static text.
 */
const char *config_default_workspace_note(const struct config *config);

/* Wipe the server key from memory and free the rules. */
void config_wipe(struct config *config);

#endif
