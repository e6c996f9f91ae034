/*
 * database.c: the database file itself: `keyward init` (the one command that creates a database
 * and its server key, or checks and upgrades them), `keyward backup PATH` (a consistent copy
 * in one pass, with its server key) and `keyward migrate-to TARGET` (the whole database copied
 * into an empty PostgreSQL one, src/domain/migration.h).
 */
#include "cli/cli.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "core/config.h"
#include "domain/migration.h"
#include "store/store.h"

/* fsync() the file or folder at `path`; false with errno set when it cannot. */
static bool sync_path(const char *path, int flags)
{
	int fd = open(path, O_RDONLY | O_CLOEXEC | flags);
	if (fd < 0)
		return false;
	bool synced = fsync(fd) == 0;
	int saved = errno;
	close(fd);
	errno = saved;
	return synced;
}

/* The folder that holds `path` ("." when it names none), into `folder`. */
static void folder_of(const char *path, char *folder, size_t size)
{
	snprintf(folder, size, "%s", path);
	char *slash = strrchr(folder, '/');
	if (slash == NULL)
		snprintf(folder, size, ".");
	else if (slash == folder)
		slash[1] = '\0';
	else
		*slash = '\0';
}

static double seconds_since(const struct timespec *start)
{
	struct timespec now;
	clock_gettime(CLOCK_MONOTONIC, &now);
	return (double)(now.tv_sec - start->tv_sec) + (double)(now.tv_nsec - start->tv_nsec) / 1e9;
}

/* How to put the copy back, on standard output. */
static void print_restore(const struct config *config, const char *path, const char *key_path)
{
	const char *database = config->database_path;
	printf("to restore it: stop every keyward server of %s (lighttpd or Apache, keyward serve), then\n", database);
	printf("  rm -f '%s-wal' '%s-shm'\n", database, database);
	printf("  cp '%s' '%s'\n", path, database);
	if (key_path != NULL)
		printf("  cp '%s' '%s'\n", key_path, config->server_key_path);
	else
		printf("  (--without-key: put the server key that belongs to this copy at %s yourself)\n",
		       config->server_key_path);
	printf("and start them again. Run the cp lines as the servers' user (sudo -u keyward …) so that both files stay\n"
	       "its own, with their modes (database 0660, key 0640).\n");
}

int cli_init(const struct config *config, const struct cli_args *args)
{
	(void)args; /* main's start-up made or checked the database and its key already: say where */
	printf("database %s is ready; server key %s\n", config->database_label, config->server_key_path);
	return CLI_OK;
}

int cli_backup(const struct config *config, const struct cli_args *args)
{
	if (config_is_postgresql(config->database_path))
		return cli_fail("backup copies an SQLite file; a PostgreSQL database is backed up with pg_dump "
				"(and the server key file with it: KEYWARD_KEY_FILE)");
	bool with_key = !cli_flag(args, "without-key");
	const char *path = args->operand;
	char key_path[2048];
	char temporary[2048];
	char folder[2048];
	if ((size_t)snprintf(key_path, sizeof key_path, "%s.key", path) >= sizeof key_path ||
	    (size_t)snprintf(temporary, sizeof temporary, "%s.partial-XXXXXX", path) >= sizeof temporary)
		return cli_fail("the backup's path is too long");
	struct stat info;
	if (lstat(path, &info) == 0 || (with_key && lstat(key_path, &info) == 0)) {
		fprintf(stderr, "keyward: %s exists: a backup never replaces a file; name a new one\n",
			lstat(path, &info) == 0 ? path : key_path);
		return CLI_FAILED;
	}
	folder_of(path, folder, sizeof folder);
	/* An empty private file for VACUUM INTO, beside PATH (so that the rename stays in one file system). */
	int fd = mkstemp(temporary);
	if (fd < 0) {
		fprintf(stderr, "keyward: cannot write in %s: %s\n", folder, strerror(errno));
		return CLI_FAILED;
	}
	close(fd);
	struct store *store = cli_open_store(config);
	if (store == NULL) {
		unlink(temporary);
		return CLI_FAILED;
	}
	struct timespec start;
	clock_gettime(CLOCK_MONOTONIC, &start);
	enum store_status status = store_backup(store, temporary);
	store_close(store);
	if (status != STORE_OK) {
		unlink(temporary);
		return cli_store_fail(config, status, "cannot back the database up (nothing was written)");
	}
	if (!sync_path(temporary, 0) || stat(temporary, &info) != 0) {
		fprintf(stderr, "keyward: cannot sync %s: %s; nothing was written\n", temporary, strerror(errno));
		unlink(temporary);
		return CLI_FAILED;
	}
	char error[1024];
	if (with_key && !config_copy_server_key(config, key_path, error, sizeof error)) {
		fprintf(stderr, "keyward: %s; nothing was written\n", error);
		unlink(temporary);
		return CLI_FAILED;
	}
	/* link(), not rename(): PATH appears whole or not at all, and never replaces a file made meanwhile. */
	if (link(temporary, path) != 0) {
		fprintf(stderr, "keyward: cannot create %s: %s; nothing was written\n", path, strerror(errno));
		unlink(temporary);
		if (with_key)
			unlink(key_path);
		return CLI_FAILED;
	}
	unlink(temporary);
	if (!sync_path(folder, O_DIRECTORY))
		fprintf(stderr, "keyward: warning: cannot sync folder %s: %s\n", folder, strerror(errno));
	printf("backup of %s: %s (%lld bytes, %.2f s)%s%s\n", config->database_label, path, (long long)info.st_size,
	       seconds_since(&start), with_key ? ", server key " : "", with_key ? key_path : "");
	print_restore(config, path, with_key ? key_path : NULL);
	return CLI_OK;
}

/* The longest TARGET and --key-file: what a database setting and a key path may hold (config.h). */
#define MIGRATE_TARGET_MAX 1023
#define MIGRATE_KEY_PATH_MAX 1023

int cli_migrate_to_check(const struct cli_args *args)
{
	if (!store_is_postgresql(args->operand))
		return cli_usage(args, "TARGET must be a PostgreSQL database: a postgresql:// URI, or a conninfo "
				       "string such as \"host=db.example dbname=keyward\"");
	if (strlen(args->operand) > MIGRATE_TARGET_MAX)
		return cli_usage(args, "TARGET is too long (at most 1023 bytes)");
	const char *key_file = cli_text(args, "key-file");
	if (key_file != NULL && (key_file[0] == '\0' || strlen(key_file) > MIGRATE_KEY_PATH_MAX))
		return cli_usage(args, "--key-file takes a path of 1 to 1023 bytes");
	return CLI_OK;
}

/* Each copied table's rows on both sides, one line each. */
static void print_counts(const struct migration_result *result)
{
	printf("%-24s %12s %12s\n", "table", "SQLite", "PostgreSQL");
	for (size_t i = 0; i < result->table_count; i++)
		printf("%-24s %12lld %12lld%s\n", result->tables[i], (long long)result->source[i],
		       (long long)result->target[i], result->source[i] == result->target[i] ? "" : "  differs");
}

/* Where the server key must go, and how nodes are pointed at the database, on standard output. */
static void print_next_steps(const struct config *config, const char *target_label, const char *key_file,
			     const struct migration_result *result)
{
	const char *node_key = key_file != NULL ? key_file : config_default_key_file();
	if (result->key_written)
		printf("server key %s copied to %s (mode 0640)\n", config->server_key_path, key_file);
	else if (result->key_there)
		printf("server key %s: %s holds it already\n", config->server_key_path, key_file);
	printf("Every node needs this same server key (every secret's hash is keyed with it), owned by keyward's\n"
	       "user, mode 0640. Copy it to each node as it is, never through a world-readable place, e.g.:\n"
	       "  install -o keyward -g keyward -m 0640 %s %s\n"
	       "then start each node with KEYWARD_DB='%s' (and its password) and KEYWARD_KEY_FILE=%s.\n"
	       "%s is unchanged: keep it and its key until the nodes serve from PostgreSQL.\n",
	       config->server_key_path, node_key, target_label, node_key, config->database_label);
}

int cli_migrate_to(const struct config *config, const struct cli_args *args)
{
	if (config_is_postgresql(config->database_path)) {
		fprintf(stderr, "keyward: migrate-to copies an SQLite file into PostgreSQL, and --db (or KEYWARD_DB) "
				"names PostgreSQL database %s: name the SQLite file to copy\n", config->database_label);
		return CLI_FAILED;
	}
	const char *key_file = cli_text(args, "key-file");
	char target_label[MIGRATE_TARGET_MAX + 1];
	config_database_label(args->operand, target_label, sizeof target_label);
	struct store *source = cli_open_store(config);
	if (source == NULL)
		return CLI_FAILED;
	char error[1024];
	struct store *target = store_create(args->operand, error, sizeof error);
	if (target == NULL) {
		store_close(source);
		fprintf(stderr, "keyward: %s; nothing was copied\n", error);
		return CLI_FAILED;
	}
	struct timespec start;
	clock_gettime(CLOCK_MONOTONIC, &start);
	struct migration_result result;
	enum migration_outcome outcome =
		migration_copy(source, target, config, target_label, key_file, &result, error, sizeof error);
	store_close(target);
	store_close(source);
	if (result.counted)
		print_counts(&result);
	if (outcome != MIGRATION_DONE) {
		fprintf(stderr, "keyward: %s\n", error);
		return CLI_FAILED;
	}
	printf("copied %s into %s in %.2f s: every count matches\n", config->database_label, target_label,
	       seconds_since(&start));
	print_next_steps(config, target_label, key_file, &result);
	return CLI_OK;
}
