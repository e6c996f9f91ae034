/* config.c: settings from the environment, and the server key file beside the database. */
#include "core/config.h"

#include <ctype.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <sodium.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/stat.h>
#include <unistd.h>

/* KEYWARD_DATADIR and KEYWARD_STATEDIR, the folders make install put keyward in (build/paths.h, which
 * the Makefile writes): included here alone, so that a changed one recompiles this file only. */
#include "paths.h"

#include "core/alloc.h"

static bool copy_setting(char *target, size_t size, const char *value, const char *what, char *error,
			 size_t error_size)
{
	if (strlen(value) >= size) {
		snprintf(error, error_size, "%s is too long (at most %zu bytes)", what, size - 1);
		return false;
	}
	memcpy(target, value, strlen(value) + 1);
	return true;
}

static const char *env_or(const char *name, const char *fallback)
{
	const char *value = getenv(name);
	return value != NULL && value[0] != '\0' ? value : fallback;
}

/*
 * A "workspace ID" line: ID must be a positive whole number (digits only) not named before.
 * False, with a sentence naming the file and line, otherwise.
 */
static bool parse_workspace(struct config *config, const char *id, size_t number, char *error, size_t error_size)
{
	char *end = NULL;
	errno = 0;
	long long value = id[0] >= '0' && id[0] <= '9' ? strtoll(id, &end, 10) : 0;
	if (end == NULL || *end != '\0' || errno != 0 || value < 1) {
		snprintf(error, error_size, "%s, line %zu: expected \"workspace ID\" with ID a positive whole number "
					    "(got \"%.40s\")", config->rules_path, number, id);
		return false;
	}
	for (size_t i = 0; i < config->workspace_count; i++)
		if (config->workspaces[i] == value) {
			snprintf(error, error_size, "%s, line %zu: workspace %lld is named twice", config->rules_path,
				 number, value);
			return false;
		}
	if (config->workspace_count == CONFIG_WORKSPACES_MAX) {
		snprintf(error, error_size, "%s: more than %d workspace lines", config->rules_path, CONFIG_WORKSPACES_MAX);
		return false;
	}
	config->workspaces[config->workspace_count++] = value;
	return true;
}

/* Parse one line of the rules file into config->rules or config->workspaces. False, with a sentence, when it is wrong. */
static bool parse_rule(struct config *config, char *line, size_t number, char *error, size_t error_size)
{
	char *comment = strchr(line, '#');
	if (comment != NULL)
		*comment = '\0';
	char *save = NULL;
	char *word = strtok_r(line, " \t\r\n", &save);
	if (word == NULL)
		return true;
	char *prefix = strtok_r(NULL, " \t\r\n", &save);
	char *permission = strtok_r(NULL, " \t\r\n", &save);
	char *extra = strtok_r(NULL, " \t\r\n", &save);
	if (strcmp(word, "workspace") == 0) {
		if (prefix == NULL || permission != NULL) {
			snprintf(error, error_size, "%s, line %zu: expected \"workspace ID\" (one workspace a line)",
				 config->rules_path, number);
			return false;
		}
		return parse_workspace(config, prefix, number, error, error_size);
	}
	if (strcmp(word, "require") != 0) {
		snprintf(error, error_size, "%s, line %zu: expected \"require /path/prefix permission\" or \"workspace ID\"",
			 config->rules_path, number);
		return false;
	}
	if (prefix == NULL || permission == NULL || extra != NULL || prefix[0] != '/') {
		snprintf(error, error_size, "%s, line %zu: expected \"require /path/prefix permission\"", config->rules_path,
			 number);
		return false;
	}
	if (strlen(prefix) >= CONFIG_RULE_TEXT_MAX || strlen(permission) >= CONFIG_RULE_TEXT_MAX) {
		snprintf(error, error_size, "%s, line %zu: path or permission longer than %d bytes", config->rules_path,
			 number, CONFIG_RULE_TEXT_MAX - 1);
		return false;
	}
	if (config->rule_count == CONFIG_RULES_MAX) {
		snprintf(error, error_size, "%s: more than %d rules", config->rules_path, CONFIG_RULES_MAX);
		return false;
	}
	struct config_rule *rule = &config->rules[config->rule_count++];
	memcpy(rule->path_prefix, prefix, strlen(prefix) + 1);
	memcpy(rule->permission, permission, strlen(permission) + 1);
	return true;
}

/* The default scope: workspace 1 only, not named by any rules file. */
static void serve_default_workspace(struct config *config)
{
	config->workspaces[0] = 1;
	config->workspace_count = 1;
	config->workspaces_named = false;
}

static bool load_rules(struct config *config, char *error, size_t error_size)
{
	FILE *file = fopen(config->rules_path, "r");
	if (file == NULL) {
		snprintf(error, error_size, "cannot read rules file %s: %s", config->rules_path, strerror(errno));
		return false;
	}
	config->rules = calloc(CONFIG_RULES_MAX, sizeof *config->rules);
	config->workspace_count = 0;
	char line[1024];
	size_t number = 0;
	bool ok = config->rules != NULL;
	while (ok && fgets(line, sizeof line, file) != NULL) {
		number++;
		if (strchr(line, '\n') == NULL && !feof(file)) {
			snprintf(error, error_size, "%s, line %zu: longer than %zu bytes", config->rules_path, number,
				 sizeof line - 2);
			ok = false;
			break;
		}
		ok = parse_rule(config, line, number, error, error_size);
	}
	fclose(file);
	if (!ok) { /* no half-loaded rules, and nothing for the caller to free */
		free(config->rules);
		config->rules = NULL;
		config->rule_count = 0;
	}
	if (ok && config->workspace_count > 0)
		config->workspaces_named = true;
	else
		serve_default_workspace(config);
	return ok;
}

const char *config_required_permission(const struct config *config, const char *path)
{
	const struct config_rule *best = NULL;
	size_t best_length = 0;
	for (size_t i = 0; i < config->rule_count; i++) {
		const char *prefix = config->rules[i].path_prefix;
		size_t length = strlen(prefix);
		/* Whole path segments only: "/admin" covers "/admin" and "/admin/x", not "/administrator". */
		if (length < best_length || strncmp(path, prefix, length) != 0)
			continue;
		if (prefix[length - 1] == '/' || path[length] == '\0' || path[length] == '/') {
			best = &config->rules[i];
			best_length = length;
		}
	}
	return best ? best->permission : NULL;
}

bool config_serves_workspace(const struct config *config, long long workspace_id)
{
	for (size_t i = 0; i < config->workspace_count; i++)
		if (config->workspaces[i] == workspace_id)
			return true;
	return false;
}

const char *config_default_workspace_note(const struct config *config)
{
	if (config->workspaces_named)
		return NULL;
	return config->rules_path[0] == '\0'
		       ? "keyward: the gatekeeper serves workspace 1 (no rules file: KEYWARD_CONFIG is not set)"
		       : "keyward: the gatekeeper serves workspace 1 (the rules file names none)";
}

/*
 * KEYWARD_PUBLIC_URL, when set: http:// or https://, a host and perhaps a port, then the base path
 * or no path (a final '/' allowed), and nothing else. Its origin goes into config->public_origin.
 */
static bool load_public_url(struct config *config, char *error, size_t error_size)
{
	const char *url = env_or("KEYWARD_PUBLIC_URL", "");
	if (url[0] == '\0')
		return true;
	bool https = strncasecmp(url, "https://", 8) == 0;
	if (!https && strncasecmp(url, "http://", 7) != 0) {
		snprintf(error, error_size, "KEYWARD_PUBLIC_URL must start with http:// or https:// (got \"%.200s\")", url);
		return false;
	}
	const char *authority = url + (https ? 8 : 7);
	size_t authority_length = strcspn(authority, "/?#");
	const char *path = authority + authority_length;
	if (strpbrk(url, "?#@ \t") != NULL || !text_origin(config->public_origin, https, authority, authority_length, NULL)) {
		config->public_origin[0] = '\0';
		snprintf(error, error_size, "KEYWARD_PUBLIC_URL must be the console's address as browsers use it: a scheme, "
					    "a host and perhaps a port, such as https://example.com%s or http://192.0.2.7:8080%s "
					    "(got \"%.200s\")", config->base_path, config->base_path, url);
		return false;
	}
	size_t path_length = strlen(path);
	if (path_length > 0 && path[path_length - 1] == '/')
		path_length--;
	if (path_length != strlen(config->base_path) || strncmp(path, config->base_path, path_length) != 0) {
		config->public_origin[0] = '\0';
		snprintf(error, error_size, "KEYWARD_PUBLIC_URL's path must be %s%s%s (got \"%.200s\")",
			 config->base_path[0] != '\0' ? "KEYWARD_BASE_PATH, \"" : "empty or \"/\"", config->base_path,
			 config->base_path[0] != '\0' ? "\"" : "", url);
		return false;
	}
	return true;
}

/* A whole-number setting `name` (default `fallback`) from `low` to `high`; false with a sentence otherwise. */
static bool number_setting(const char *name, const char *fallback, long long low, long long high, const char *low_text,
			   long long *value, char *error, size_t error_size)
{
	const char *text = env_or(name, fallback);
	char *end = NULL;
	errno = 0;
	*value = strtoll(text, &end, 10);
	if (errno != 0 || *end != '\0' || end == text || *value < low || *value > high) {
		snprintf(error, error_size, "%s must be a whole number from %s to %lld (got \"%s\")", name, low_text, high,
			 text);
		return false;
	}
	return true;
}

const char *config_default_database(void)
{
	return KEYWARD_STATEDIR "/keyward.db";
}

const char *config_default_key_file(void)
{
	return KEYWARD_STATEDIR "/keyward.key";
}

bool config_is_postgresql(const char *database)
{
	if (strncmp(database, "postgresql://", 13) == 0 || strncmp(database, "postgres://", 11) == 0)
		return true;
	size_t word = strspn(database, "abcdefghijklmnopqrstuvwxyz_");
	return word > 0 && database[word] == '=';
}

/* Remove from `text` the characters from `from` up to `end` (not included). */
static void cut(char *from, const char *end)
{
	memmove(from, end, strlen(end) + 1);
}

/* True when the URI parameter keyword from `start` to `end`, percent-decoded as libpq decodes it, is "password". */
static bool password_keyword(const char *start, const char *end)
{
	static const char wanted[] = "password";
	size_t matched = 0;
	for (const char *c = start; c < end; c++) {
		int byte = (unsigned char)*c;
		if (*c == '%' && end - c >= 3 && isxdigit((unsigned char)c[1]) && isxdigit((unsigned char)c[2])) {
			char hex[3] = { c[1], c[2], '\0' };
			byte = (int)strtol(hex, NULL, 16);
			c += 2;
		}
		if (matched == sizeof wanted - 1 || byte != wanted[matched])
			return false;
		matched++;
	}
	return matched == sizeof wanted - 1;
}

/* Leave out the URI's password: user:PASSWORD@ and any password=... parameter. */
static void label_uri(char *text, char *authority)
{
	/*
	 * The userinfo ends at an '@' before the path's '/' (libpq stops at the first; the last one
	 * hides more): the password runs from its first ':' to there, whatever ? or # it holds.
	 */
	char *path = authority + strcspn(authority, "/");
	char *at = NULL;
	for (char *c = authority; c < path; c++)
		if (*c == '@')
			at = c;
	char *colon = at == NULL ? NULL : memchr(authority, ':', (size_t)(at - authority));
	if (colon != NULL)
		cut(colon, at);
	char *query = strchr(authority, '?');
	for (char *parameter = query; parameter != NULL && *parameter != '\0';) {
		char *start = parameter + 1;
		char *end = start + strcspn(start, "&");
		char *equals = memchr(start, '=', (size_t)(end - start));
		if (equals != NULL && password_keyword(start, equals)) {
			cut(start, *end == '&' ? end + 1 : end);
			continue;
		}
		parameter = *end == '&' ? end : NULL;
	}
	size_t length = strlen(text);
	while (length > 0 && (text[length - 1] == '?' || text[length - 1] == '&'))
		text[--length] = '\0';
}

/*
 * Leave out a conninfo's password words: password = VALUE, spaces (any isspace(), as libpq reads
 * them) allowed around '=', the value quoted ('...', with \' inside) or not (up to a space; a
 * backslash takes the next character in, as libpq does).
 */
static void label_conninfo(char *text)
{
	char *word = strstr(text, "password");
	while (word != NULL) {
		char *c = word + 8;
		while (isspace((unsigned char)*c))
			c++;
		if ((word == text || isspace((unsigned char)word[-1])) && *c == '=') {
			c++;
			while (isspace((unsigned char)*c))
				c++;
			bool quoted = *c == '\'';
			if (quoted)
				c++;
			while (*c != '\0' && (quoted ? *c != '\'' : !isspace((unsigned char)*c)))
				c += *c == '\\' && c[1] != '\0' ? 2 : 1;
			if (quoted && *c == '\'')
				c++;
			while (isspace((unsigned char)*c))
				c++;
			cut(word, c);
			/* From the start again: the cut may have made a word before it the keyword of a value. */
			word = strstr(text, "password");
			continue;
		}
		word = strstr(word + 1, "password");
	}
}

void config_database_label(const char *database, char *label, size_t size)
{
	if (size == 0)
		return;
	/* The whole text first, then cut to size: a cut password would otherwise show its first characters. */
	char *text = xstrdup(database);
	if (config_is_postgresql(text)) {
		/* A URI by its scheme: "://" further on is just text of a conninfo's value. */
		size_t scheme = strncmp(text, "postgresql://", 13) == 0 ? 13 : strncmp(text, "postgres://", 11) == 0 ? 11 : 0;
		if (scheme > 0) {
			/* Until nothing more goes: one cut may bring the next's marks together ('@' before '/'). */
			size_t length;
			do {
				length = strlen(text);
				label_uri(text, text + scheme);
			} while (strlen(text) < length);
		} else
			label_conninfo(text);
	}
	snprintf(label, size, "%s", text);
	free(text);
}

bool config_load(struct config *config, const char *database_path, char *error, size_t error_size)
{
	memset(config, 0, sizeof *config);
	serve_default_workspace(config);
	const char *database = database_path ? database_path : env_or("KEYWARD_DB", config_default_database());
	if (!copy_setting(config->database_path, sizeof config->database_path, database, "the database path",
			  error, error_size))
		return false;
	config_database_label(config->database_path, config->database_label, sizeof config->database_label);
	const char *key_file = getenv("KEYWARD_KEY_FILE");
	if (key_file != NULL && key_file[0] != '\0') {
		if (!copy_setting(config->server_key_path, sizeof config->server_key_path, key_file, "KEYWARD_KEY_FILE",
				  error, error_size))
			return false;
	} else if (config_is_postgresql(config->database_path)) {
		snprintf(config->server_key_path, sizeof config->server_key_path, "%s", config_default_key_file());
	} else {
		snprintf(config->server_key_path, sizeof config->server_key_path, "%s.key", config->database_path);
	}
	if (!copy_setting(config->template_dir, sizeof config->template_dir,
			  env_or("KEYWARD_TEMPLATES", KEYWARD_DATADIR "/templates"), "KEYWARD_TEMPLATES", error,
			  error_size))
		return false;
	const char *base = env_or("KEYWARD_BASE_PATH", "");
	if (!copy_setting(config->base_path, sizeof config->base_path, base, "KEYWARD_BASE_PATH", error, error_size))
		return false;
	size_t base_length = strlen(config->base_path);
	if (base_length > 0 && (config->base_path[0] != '/' || config->base_path[base_length - 1] == '/')) {
		snprintf(error, error_size, "KEYWARD_BASE_PATH must start with '/' and not end with one (got \"%s\")",
			 config->base_path);
		return false;
	}
	if (!load_public_url(config, error, error_size))
		return false;
	const char *prefix = env_or("KEYWARD_TOKEN_PREFIX", "kw_");
	if (!copy_setting(config->token_prefix, sizeof config->token_prefix, prefix, "KEYWARD_TOKEN_PREFIX", error,
			  error_size))
		return false;
	if (!copy_setting(config->rules_path, sizeof config->rules_path, env_or("KEYWARD_CONFIG", ""), "KEYWARD_CONFIG",
			  error, error_size))
		return false;
	if (!number_setting("KEYWARD_KEY_LIMIT", "0", 0, 100000000, "0 (no limit)", &config->key_limit, error, error_size) ||
	    !number_setting("KEYWARD_USAGE_RAW_DAYS", "30", 1, 3650, "1", &config->usage_raw_days, error, error_size) ||
	    !number_setting("KEYWARD_USAGE_HOURLY_DAYS", "400", 1, 3650, "1", &config->usage_hourly_days, error,
			    error_size) ||
	    !number_setting("KEYWARD_REFUSED_ALERT", "100", 1, 1000000000, "1", &config->refused_alert, error,
			    error_size) ||
	    !number_setting("KEYWARD_PASSWORD_CHECKS", "0", 0, 256, "0 (one per CPU)", &config->password_checks, error,
			    error_size) ||
	    !number_setting("KEYWARD_STALE_SECONDS", "30", 0, 3600, "0 (fail closed)", &config->stale_seconds, error,
			    error_size) ||
	    !number_setting("KEYWARD_USAGE_BUFFER", "65536", 1, 1000000, "1", &config->usage_buffer, error, error_size))
		return false;
	if (config->usage_hourly_days < config->usage_raw_days) {
		snprintf(error, error_size, "KEYWARD_USAGE_HOURLY_DAYS (%lld) must be at least KEYWARD_USAGE_RAW_DAYS (%lld): "
					    "the hourly rollups are what remains of older usage",
			 config->usage_hourly_days, config->usage_raw_days);
		return false;
	}
	const char *trust = env_or("KEYWARD_TRUST_REMOTE_USER", "0");
	if (strcmp(trust, "0") != 0 && strcmp(trust, "1") != 0) {
		snprintf(error, error_size, "KEYWARD_TRUST_REMOTE_USER must be 1 (trust the web server's REMOTE_USER) or 0 "
					    "(got \"%s\")", trust);
		return false;
	}
	config->trust_remote_user = trust[0] == '1';
	return config->rules_path[0] == '\0' || load_rules(config, error, error_size);
}

bool config_make_database_folder(const struct config *config, char *error, size_t error_size)
{
	char folder[sizeof config->server_key_path];
	/* the SQLite file's folder; with PostgreSQL, the server key's */
	snprintf(folder, sizeof folder, "%s",
		 config_is_postgresql(config->database_path) ? config->server_key_path : config->database_path);
	char *slash = strrchr(folder, '/');
	if (slash == NULL || slash == folder)
		return true;
	*slash = '\0';
	if (mkdir(folder, 0700) != 0) {
		if (errno == EEXIST)
			return true; /* its owner's to set up: keyward changes nothing of an existing folder */
		snprintf(error, error_size, "cannot make folder %s: %s", folder, strerror(errno));
		return false;
	}
	if (chmod(folder, CONFIG_FOLDER_MODE) != 0) { /* mkdir() applies the umask and may drop set-group-ID */
		snprintf(error, error_size, "cannot set the mode of folder %s: %s", folder, strerror(errno));
		return false;
	}
	return true;
}

static bool read_key_file(struct config *config, int fd, char *error, size_t error_size)
{
	struct stat info;
	if (fstat(fd, &info) != 0 || !S_ISREG(info.st_mode) || info.st_size != CONFIG_SERVER_KEY_BYTES) {
		snprintf(error, error_size, "server key %s must be a file of exactly %d bytes", config->server_key_path,
			 CONFIG_SERVER_KEY_BYTES);
		return false;
	}
	if ((info.st_mode & 007) != 0)
		fprintf(stderr, "keyward: warning: server key %s is readable by others; chmod 640 it\n",
			config->server_key_path);
	ssize_t got = read(fd, config->server_key, CONFIG_SERVER_KEY_BYTES);
	if (got != CONFIG_SERVER_KEY_BYTES) {
		snprintf(error, error_size, "cannot read server key %s", config->server_key_path);
		return false;
	}
	return true;
}

/*
 * Write `key` to a private temporary file beside `path`, sync it, then link() it into place, so
 * that `path` is either absent or whole. *existed (when not NULL) is set when `path` existed
 * already: nothing is written then, and that is an error only when `existed` is NULL.
 */
static bool write_key_file(const char *path, const unsigned char key[CONFIG_SERVER_KEY_BYTES], bool *existed,
			   char *error, size_t error_size)
{
	char temporary[1200];
	snprintf(temporary, sizeof temporary, "%s.%ld.tmp", path, (long)getpid());
	int fd = open(temporary, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0600);
	if (fd < 0) {
		snprintf(error, error_size, "cannot create %s: %s", temporary, strerror(errno));
		return false;
	}
	bool written = fchmod(fd, CONFIG_SERVER_KEY_MODE) == 0 &&
		       write(fd, key, CONFIG_SERVER_KEY_BYTES) == CONFIG_SERVER_KEY_BYTES && fsync(fd) == 0;
	close(fd);
	if (!written) {
		unlink(temporary);
		snprintf(error, error_size, "cannot write %s", temporary);
		return false;
	}
	int linked = link(temporary, path);
	int saved = errno;
	unlink(temporary);
	if (existed != NULL)
		*existed = linked != 0 && saved == EEXIST;
	if (linked != 0 && (existed == NULL || saved != EEXIST)) {
		snprintf(error, error_size, "cannot create %s: %s", path, strerror(saved));
		return false;
	}
	return true;
}

bool config_read_server_key(struct config *config, bool *missing, char *error, size_t error_size)
{
	*missing = false;
	int fd = open(config->server_key_path, O_RDONLY | O_CLOEXEC);
	if (fd < 0) {
		*missing = errno == ENOENT;
		snprintf(error, error_size, "cannot open server key %s: %s", config->server_key_path, strerror(errno));
		return false;
	}
	bool ok = read_key_file(config, fd, error, error_size);
	close(fd);
	return ok;
}

bool config_create_server_key(struct config *config, char *error, size_t error_size)
{
	unsigned char key[CONFIG_SERVER_KEY_BYTES];
	randombytes_buf(key, sizeof key);
	bool existed = false;
	bool written = write_key_file(config->server_key_path, key, &existed, error, error_size);
	sodium_memzero(key, sizeof key);
	bool missing = false;
	return written && config_read_server_key(config, &missing, error, error_size); /* another process may have won */
}

bool config_copy_server_key(const struct config *config, const char *path, char *error, size_t error_size)
{
	return write_key_file(path, config->server_key, NULL, error, error_size);
}

bool config_server_key_at(const struct config *config, const char *path, bool *exists, bool *same, char *error,
			  size_t error_size)
{
	*exists = false;
	*same = false;
	int fd = open(path, O_RDONLY | O_CLOEXEC | O_NOFOLLOW);
	if (fd < 0) {
		if (errno == ENOENT)
			return true;
		snprintf(error, error_size, "cannot read %s: %s", path, strerror(errno));
		return false;
	}
	*exists = true;
	struct stat info;
	unsigned char key[CONFIG_SERVER_KEY_BYTES + 1];
	bool read_whole = fstat(fd, &info) == 0 && S_ISREG(info.st_mode) && info.st_size == CONFIG_SERVER_KEY_BYTES &&
			  read(fd, key, sizeof key) == CONFIG_SERVER_KEY_BYTES;
	close(fd);
	*same = read_whole && sodium_memcmp(key, config->server_key, CONFIG_SERVER_KEY_BYTES) == 0;
	sodium_memzero(key, sizeof key);
	return true;
}

void config_wipe(struct config *config)
{
	sodium_memzero(config->server_key, sizeof config->server_key);
	free(config->rules);
	config->rules = NULL;
	config->rule_count = 0;
}
