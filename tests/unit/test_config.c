/* test_config.c: unit tests for the gatekeeper's rules file (KEYWARD_CONFIG): parsing, errors, longest prefix, workspaces. */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "core/alloc.h"
#include "core/config.h"
#include "paths.h" /* KEYWARD_STATEDIR */

struct fixture {
	char folder[64];
	char rules[128];
	struct config config;
	char error[512];
};

static int setup(void **state)
{
	struct fixture *fixture = xcalloc(1, sizeof *fixture);
	snprintf(fixture->folder, sizeof fixture->folder, "/tmp/keyward-test-config-XXXXXX");
	if (mkdtemp(fixture->folder) == NULL) {
		free(fixture);
		return -1;
	}
	snprintf(fixture->rules, sizeof fixture->rules, "%s/rules.conf", fixture->folder);
	unsetenv("KEYWARD_DB");
	unsetenv("KEYWARD_TEMPLATES");
	unsetenv("KEYWARD_BASE_PATH");
	unsetenv("KEYWARD_TOKEN_PREFIX");
	unsetenv("KEYWARD_CONFIG");
	unsetenv("KEYWARD_KEY_LIMIT");
	unsetenv("KEYWARD_TRUST_REMOTE_USER");
	unsetenv("KEYWARD_PUBLIC_URL");
	unsetenv("KEYWARD_KEY_FILE");
	*state = fixture;
	return 0;
}

static int teardown(void **state)
{
	struct fixture *fixture = *state;
	config_wipe(&fixture->config);
	unlink(fixture->rules);
	unsetenv("KEYWARD_CONFIG");
	int removed = rmdir(fixture->folder);
	free(fixture);
	return removed;
}

/* Write `text` as the rules file and load the config with it. */
static bool load_rules(struct fixture *fixture, const char *text)
{
	FILE *file = fopen(fixture->rules, "w");
	assert_non_null(file);
	fputs(text, file);
	fclose(file);
	setenv("KEYWARD_CONFIG", fixture->rules, 1);
	fixture->error[0] = '\0';
	return config_load(&fixture->config, "/tmp/keyward-test.db", fixture->error, sizeof fixture->error);
}

/* Load must fail with an error naming the file and holding `words`; and nothing may stay loaded. */
static void assert_refused(struct fixture *fixture, const char *text, const char *words)
{
	if (load_rules(fixture, text))
		fail_msg("rules accepted but should be refused (%s):\n%s", words, text);
	if (strstr(fixture->error, words) == NULL)
		fail_msg("error \"%s\" does not say \"%s\"", fixture->error, words);
	assert_non_null(strstr(fixture->error, fixture->rules));
	/* A refused file leaves no half-loaded rules behind (and nothing for the caller to free). */
	assert_int_equal(fixture->config.rule_count, 0);
	assert_null(fixture->config.rules);
	assert_int_equal(fixture->config.workspace_count, 1);
	assert_false(fixture->config.workspaces_named);
}

static const char *required(const struct fixture *fixture, const char *path)
{
	return config_required_permission(&fixture->config, path);
}

static void test_no_rules_file(void **state)
{
	struct fixture *fixture = *state;
	assert_true(config_load(&fixture->config, "/tmp/keyward-test.db", fixture->error, sizeof fixture->error));
	assert_int_equal(fixture->config.rule_count, 0);
	assert_string_equal(fixture->config.rules_path, "");
	assert_null(required(fixture, "/"));
	assert_null(required(fixture, "/api/anything"));
}

static void test_longest_prefix_wins(void **state)
{
	struct fixture *fixture = *state;
	/* Listed longest first, shortest last, and one in between: order in the file does not matter. */
	assert_true(load_rules(fixture, "require /api/admin/keys api.key.update\n"
					"require / api.key.view\n"
					"require /api/admin api.key.delete\n"
					"require /api api.key.create\n"));
	assert_int_equal(fixture->config.rule_count, 4);
	assert_string_equal(required(fixture, "/api/admin/keys/1"), "api.key.update");
	assert_string_equal(required(fixture, "/api/admin/keys"), "api.key.update");
	assert_string_equal(required(fixture, "/api/admin/other"), "api.key.delete");
	assert_string_equal(required(fixture, "/api/admin"), "api.key.delete");
	/* Whole segments only: /api/admin does not cover /api/administrator. */
	assert_string_equal(required(fixture, "/api/administrator"), "api.key.create");
	assert_string_equal(required(fixture, "/api/admin/keysmith"), "api.key.delete");
	assert_string_equal(required(fixture, "/api/v1"), "api.key.create");
	assert_string_equal(required(fixture, "/api"), "api.key.create");
	assert_string_equal(required(fixture, "/ap"), "api.key.view");
	assert_string_equal(required(fixture, "/"), "api.key.view");
	assert_string_equal(required(fixture, "/other"), "api.key.view");
}

static void test_no_match_needs_nothing(void **state)
{
	struct fixture *fixture = *state;
	assert_true(load_rules(fixture, "require /private/ api.key.view\n"));
	assert_string_equal(required(fixture, "/private/x"), "api.key.view");
	assert_string_equal(required(fixture, "/private/"), "api.key.view");
	assert_null(required(fixture, "/private"));
	assert_null(required(fixture, "/public/x"));
	assert_null(required(fixture, "/PRIVATE/x")); /* paths are matched as they are */
	assert_null(required(fixture, ""));
}

static void test_comments_blank_lines_and_spacing(void **state)
{
	struct fixture *fixture = *state;
	assert_true(load_rules(fixture, "# keyward rules\n"
					"\n"
					"   \n"
					"\t# an indented comment\n"
					"require /a perm.a # why: the a team\n"
					"  require\t/b\t\tperm.b  \n"
					"require /c perm.c\r\n"
					"require /d perm.d#no space before the comment\n"
					"require /e perm.e")); /* no newline at the end */
	assert_int_equal(fixture->config.rule_count, 5);
	assert_string_equal(required(fixture, "/a/1"), "perm.a");
	assert_string_equal(required(fixture, "/b/1"), "perm.b");
	assert_string_equal(required(fixture, "/c/1"), "perm.c");
	assert_string_equal(required(fixture, "/d/1"), "perm.d");
	assert_string_equal(required(fixture, "/e/1"), "perm.e");
}

static void test_only_comments(void **state)
{
	struct fixture *fixture = *state;
	assert_true(load_rules(fixture, "# nothing yet\n# require /x y\n"));
	assert_int_equal(fixture->config.rule_count, 0);
	assert_null(required(fixture, "/x"));
	config_wipe(&fixture->config);
	assert_true(load_rules(fixture, ""));
	assert_int_equal(fixture->config.rule_count, 0);
}

static void test_malformed_lines_are_refused_with_their_number(void **state)
{
	struct fixture *fixture = *state;
	static const struct {
		const char *text;
		const char *words;
	} cases[] = {
		{ "require /x\n", "line 1: expected \"require /path/prefix permission\"" },
		{ "# comment\nrequire /x a\nrequire /y\n", "line 3:" },
		{ "require /x a b\n", "line 1:" },
		{ "\n\nallow /x a\n", "line 3:" },
		{ "Require /x a\n", "line 1:" },
		{ "require x a\n", "line 1:" },
		{ "require\n", "line 1:" },
		{ "require # /x a\n", "line 1:" },
		{ "require /x a\nrequire /y b\n\n\n\nnonsense\n", "line 6:" },
	};
	for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
		assert_refused(fixture, cases[i].text, cases[i].words);
		config_wipe(&fixture->config);
	}
}

static void test_overlong_values_and_lines(void **state)
{
	struct fixture *fixture = *state;
	char text[4096];
	char long_word[CONFIG_RULE_TEXT_MAX + 1];
	memset(long_word, 'p', sizeof long_word - 1);
	long_word[sizeof long_word - 1] = '\0';
	/* A permission of CONFIG_RULE_TEXT_MAX bytes is one too many. */
	snprintf(text, sizeof text, "require /ok fine\nrequire /x %s\n", long_word);
	assert_refused(fixture, text, "line 2: path or permission longer than 255 bytes");
	config_wipe(&fixture->config);
	long_word[0] = '/';
	snprintf(text, sizeof text, "require %s p\n", long_word);
	assert_refused(fixture, text, "line 1: path or permission longer than");
	config_wipe(&fixture->config);
	/* One byte shorter fits. */
	long_word[sizeof long_word - 2] = '\0';
	snprintf(text, sizeof text, "require %s p\n", long_word);
	assert_true(load_rules(fixture, text));
	assert_string_equal(required(fixture, long_word), "p");
	config_wipe(&fixture->config);
	/* A line longer than the reader's buffer. */
	char line[2000];
	memset(line, ' ', sizeof line);
	memcpy(line, "require /x y #", 14);
	line[sizeof line - 2] = '\n';
	line[sizeof line - 1] = '\0';
	snprintf(text, sizeof text, "# first\n%s", line);
	assert_refused(fixture, text, "line 2: longer than");
}

static void test_rule_count_limit(void **state)
{
	struct fixture *fixture = *state;
	static char text[(CONFIG_RULES_MAX + 2) * 40];
	size_t size = sizeof text;
	size_t used = 0;
	for (int i = 0; i < CONFIG_RULES_MAX; i++)
		used += (size_t)snprintf(text + used, size - used, "require /r%d perm%d\n", i, i);
	assert_true(load_rules(fixture, text));
	assert_int_equal(fixture->config.rule_count, CONFIG_RULES_MAX);
	assert_string_equal(required(fixture, "/r0/x"), "perm0");
	assert_string_equal(required(fixture, "/r255"), "perm255");
	assert_string_equal(required(fixture, "/r25/x"), "perm25");
	config_wipe(&fixture->config);
	/* Comments and blank lines do not count; one more rule does. */
	snprintf(text + used, size - used, "# comment\n\nrequire /one-too-many p\n");
	assert_refused(fixture, text, "more than 256 rules");
}

static void test_missing_rules_file(void **state)
{
	struct fixture *fixture = *state;
	setenv("KEYWARD_CONFIG", "/nonexistent/keyward/rules.conf", 1);
	assert_false(config_load(&fixture->config, "/tmp/keyward-test.db", fixture->error, sizeof fixture->error));
	assert_non_null(strstr(fixture->error, "cannot read rules file /nonexistent/keyward/rules.conf"));
	assert_int_equal(fixture->config.rule_count, 0);
}

/* Loading twice (a config reused) starts from nothing each time. */
static void test_trust_remote_user_is_off_unless_set_to_1(void **state)
{
	struct fixture *fixture = *state;
	assert_true(config_load(&fixture->config, "/tmp/keyward-test.db", fixture->error, sizeof fixture->error));
	assert_false(fixture->config.trust_remote_user);
	setenv("KEYWARD_TRUST_REMOTE_USER", "1", 1);
	assert_true(config_load(&fixture->config, "/tmp/keyward-test.db", fixture->error, sizeof fixture->error));
	assert_true(fixture->config.trust_remote_user);
	setenv("KEYWARD_TRUST_REMOTE_USER", "", 1); /* empty: unset, like every setting */
	assert_true(config_load(&fixture->config, "/tmp/keyward-test.db", fixture->error, sizeof fixture->error));
	assert_false(fixture->config.trust_remote_user);
	static const char *const refused[] = { "yes", "true", "2", " 1", "1 " };
	for (size_t i = 0; i < sizeof refused / sizeof refused[0]; i++) {
		setenv("KEYWARD_TRUST_REMOTE_USER", refused[i], 1);
		if (config_load(&fixture->config, "/tmp/keyward-test.db", fixture->error, sizeof fixture->error))
			fail_msg("KEYWARD_TRUST_REMOTE_USER=\"%s\" accepted", refused[i]);
		assert_non_null(strstr(fixture->error, "KEYWARD_TRUST_REMOTE_USER"));
	}
	unsetenv("KEYWARD_TRUST_REMOTE_USER");
}

static void test_reload_replaces_rules(void **state)
{
	struct fixture *fixture = *state;
	assert_true(load_rules(fixture, "require /a one\n"));
	config_wipe(&fixture->config);
	assert_true(load_rules(fixture, "require /b two\n"));
	assert_int_equal(fixture->config.rule_count, 1);
	assert_null(required(fixture, "/a"));
	assert_string_equal(required(fixture, "/b"), "two");
}

/* ---- "workspace ID": whose keys the gatekeeper accepts ----------------------------------------- */

static void test_workspace_1_by_default(void **state)
{
	struct fixture *fixture = *state;
	/* No rules file. */
	assert_true(config_load(&fixture->config, "/tmp/keyward-test.db", fixture->error, sizeof fixture->error));
	assert_int_equal(fixture->config.workspace_count, 1);
	assert_int_equal(fixture->config.workspaces[0], 1);
	assert_false(fixture->config.workspaces_named);
	assert_true(config_serves_workspace(&fixture->config, 1));
	assert_false(config_serves_workspace(&fixture->config, 2));
	assert_false(config_serves_workspace(&fixture->config, 0));
	assert_string_equal(config_default_workspace_note(&fixture->config),
			    "keyward: the gatekeeper serves workspace 1 (no rules file: KEYWARD_CONFIG is not set)");
	config_wipe(&fixture->config);
	/* A rules file without a workspace line (comments naming one do not count). */
	assert_true(load_rules(fixture, "require /a b\n# workspace 2\n"));
	assert_int_equal(fixture->config.workspace_count, 1);
	assert_int_equal(fixture->config.workspaces[0], 1);
	assert_false(fixture->config.workspaces_named);
	assert_false(config_serves_workspace(&fixture->config, 2));
	assert_string_equal(config_default_workspace_note(&fixture->config),
			    "keyward: the gatekeeper serves workspace 1 (the rules file names none)");
}

static void test_workspace_lines(void **state)
{
	struct fixture *fixture = *state;
	assert_true(load_rules(fixture, "workspace 2\n"
					"require /a b\n"
					"  workspace\t7   # the billing team\n"
					"workspace 3\r\n"
					"workspace 9223372036854775807"));
	assert_int_equal(fixture->config.workspace_count, 4);
	assert_int_equal(fixture->config.workspaces[0], 2); /* the first named: strangers are counted there */
	assert_int_equal(fixture->config.workspaces[1], 7);
	assert_int_equal(fixture->config.workspaces[2], 3);
	assert_true(fixture->config.workspaces[3] == 9223372036854775807LL);
	assert_true(fixture->config.workspaces_named);
	assert_null(config_default_workspace_note(&fixture->config));
	assert_int_equal(fixture->config.rule_count, 1);
	for (long long id = -1; id <= 10; id++)
		assert_int_equal(config_serves_workspace(&fixture->config, id), id == 2 || id == 3 || id == 7);
	config_wipe(&fixture->config);
	/* Named, workspace 1 included: the note is not said either. */
	assert_true(load_rules(fixture, "workspace 1\n"));
	assert_int_equal(fixture->config.workspace_count, 1);
	assert_true(fixture->config.workspaces_named);
	assert_null(config_default_workspace_note(&fixture->config));
}

static void test_malformed_and_repeated_workspace_lines_are_refused(void **state)
{
	struct fixture *fixture = *state;
	static const struct {
		const char *text;
		const char *words;
	} cases[] = {
		{ "workspace\n", "line 1: expected \"workspace ID\"" },
		{ "workspace 2 3\n", "line 1: expected \"workspace ID\" (one workspace a line)" },
		{ "# x\nworkspace 0\n", "line 2: expected \"workspace ID\" with ID a positive whole number (got \"0\")" },
		{ "workspace -1\n", "line 1: expected \"workspace ID\" with ID a positive" },
		{ "workspace +2\n", "line 1: expected \"workspace ID\" with ID a positive" },
		{ "workspace 2x\n", "line 1: expected \"workspace ID\" with ID a positive" },
		{ "workspace 1.0\n", "line 1: expected \"workspace ID\" with ID a positive" },
		{ "workspace 0x10\n", "line 1: expected \"workspace ID\" with ID a positive" },
		{ "workspace 1e3\n", "line 1: expected \"workspace ID\" with ID a positive" },
		{ "workspace two\n", "line 1: expected \"workspace ID\" with ID a positive" },
		{ "workspace \xef\xbc\x91\n", "line 1: expected \"workspace ID\" with ID a positive" },
		{ "workspace 9223372036854775808\n", "line 1: expected \"workspace ID\" with ID a positive" },
		{ "workspace 99999999999999999999999999\n", "line 1: expected \"workspace ID\" with ID a positive" },
		{ "Workspace 2\n", "line 1: expected \"require /path/prefix permission\" or \"workspace ID\"" },
		{ "workspaces 2\n", "line 1: expected \"require /path/prefix permission\" or \"workspace ID\"" },
		{ "workspace 2\nrequire /a b\nworkspace 2\n", "line 3: workspace 2 is named twice" },
		{ "workspace 5\nworkspace 005\n", "line 2: workspace 5 is named twice" },
		/* A good line before a bad one: nothing of the file is kept. */
		{ "workspace 4\nworkspace x\n", "line 2:" },
	};
	for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
		assert_refused(fixture, cases[i].text, cases[i].words);
		assert_int_equal(fixture->config.workspaces[0], 1);
		config_wipe(&fixture->config);
	}
}

static void test_workspace_line_limit(void **state)
{
	struct fixture *fixture = *state;
	char text[CONFIG_WORKSPACES_MAX * 24 + 64];
	size_t used = 0;
	for (int i = 1; i <= CONFIG_WORKSPACES_MAX; i++)
		used += (size_t)snprintf(text + used, sizeof text - used, "workspace %d\n", i * 10);
	assert_true(load_rules(fixture, text));
	assert_int_equal(fixture->config.workspace_count, CONFIG_WORKSPACES_MAX);
	assert_true(config_serves_workspace(&fixture->config, 10 * CONFIG_WORKSPACES_MAX));
	config_wipe(&fixture->config);
	snprintf(text + used, sizeof text - used, "workspace 1\n");
	assert_refused(fixture, text, "more than 64 workspace lines");
}

/* ---- KEYWARD_PUBLIC_URL ------------------------------------------------------------------------ */

/* Load with these two settings; the origin it holds, or NULL when refused (the sentence in fixture->error). */
static const char *public_origin(struct fixture *fixture, const char *base_path, const char *url)
{
	setenv("KEYWARD_BASE_PATH", base_path, 1);
	setenv("KEYWARD_PUBLIC_URL", url, 1);
	fixture->error[0] = '\0';
	bool loaded = config_load(&fixture->config, "/tmp/keyward-test.db", fixture->error, sizeof fixture->error);
	unsetenv("KEYWARD_BASE_PATH");
	unsetenv("KEYWARD_PUBLIC_URL");
	return loaded ? fixture->config.public_origin : NULL;
}

static void test_public_url(void **state)
{
	struct fixture *fixture = *state;
	assert_true(config_load(&fixture->config, "/tmp/keyward-test.db", fixture->error, sizeof fixture->error));
	assert_string_equal(fixture->config.public_origin, "");
	assert_string_equal(public_origin(fixture, "", ""), ""); /* empty: unset */
	static const struct {
		const char *base_path, *url, *origin;
	} accepted[] = {
		{ "/keyward", "https://example.com/keyward", "https://example.com" },
		{ "/keyward", "https://example.com/keyward/", "https://example.com" },
		{ "/keyward", "HTTPS://Example.com:443/keyward", "https://example.com" },
		{ "/keyward", "http://192.0.2.7:8080/keyward", "http://192.0.2.7:8080" },
		{ "", "http://127.0.0.1:8443", "http://127.0.0.1:8443" },
		{ "", "https://[2001:db8::1]:8443/", "https://[2001:db8::1]:8443" },
	};
	for (size_t i = 0; i < sizeof accepted / sizeof accepted[0]; i++) {
		const char *origin = public_origin(fixture, accepted[i].base_path, accepted[i].url);
		if (origin == NULL)
			fail_msg("\"%s\" refused: %s", accepted[i].url, fixture->error);
		assert_string_equal(origin, accepted[i].origin);
	}
	static const struct {
		const char *base_path, *url, *words;
	} refused[] = {
		{ "", "example.com", "must start with http:// or https://" },
		{ "", "ftp://example.com", "must start with http:// or https://" },
		{ "", "//example.com", "must start with http:// or https://" },
		{ "", "https://", "a scheme, a host and perhaps a port" },
		{ "", "https://example.com:0", "a scheme, a host and perhaps a port" },
		{ "", "https://example.com:99999", "a scheme, a host and perhaps a port" },
		{ "", "https://user@example.com", "a scheme, a host and perhaps a port" },
		{ "", "https://example.com/?x=1", "a scheme, a host and perhaps a port" },
		{ "", "https://example.com#top", "a scheme, a host and perhaps a port" },
		{ "", "https://exa mple.com", "a scheme, a host and perhaps a port" },
		{ "", "https://example.com/keyward", "path must be empty or \"/\"" },
		{ "", "https://example.com//", "path must be empty or \"/\"" },
		{ "/keyward", "https://example.com", "path must be KEYWARD_BASE_PATH, \"/keyward\"" },
		{ "/keyward", "https://example.com/", "path must be KEYWARD_BASE_PATH, \"/keyward\"" },
		{ "/keyward", "https://example.com/console", "path must be KEYWARD_BASE_PATH" },
		{ "/keyward", "https://example.com/keyward/x", "path must be KEYWARD_BASE_PATH" },
		{ "/keyward", "https://example.com/keywards", "path must be KEYWARD_BASE_PATH" },
		{ "/keyward", "https://example.com/keyward//", "path must be KEYWARD_BASE_PATH" },
	};
	for (size_t i = 0; i < sizeof refused / sizeof refused[0]; i++) {
		if (public_origin(fixture, refused[i].base_path, refused[i].url) != NULL)
			fail_msg("\"%s\" accepted", refused[i].url);
		if (strstr(fixture->error, refused[i].words) == NULL || strstr(fixture->error, "KEYWARD_PUBLIC_URL") == NULL ||
		    strstr(fixture->error, refused[i].url) == NULL)
			fail_msg("\"%s\": %s", refused[i].url, fixture->error);
		assert_string_equal(fixture->config.public_origin, "");
	}
}

/* Which engine a database setting names, and what messages may show of it. */
static void test_postgresql_settings(void **state)
{
	(void)state;
	assert_true(config_is_postgresql("postgresql://keyward@db.example/keyward"));
	assert_true(config_is_postgresql("postgres://db/keyward"));
	assert_true(config_is_postgresql("host=/run/postgresql dbname=keyward"));
	assert_false(config_is_postgresql("/var/lib/keyward/keyward.db"));
	assert_false(config_is_postgresql("keyward.db"));
	assert_false(config_is_postgresql("./a=b.db"));
	assert_false(config_is_postgresql("=x"));
	assert_false(config_is_postgresql(""));

	static const struct {
		const char *setting;
		const char *label;
	} cases[] = {
		{ "postgresql://keyward:s3cret@db.example:5433/keyward", "postgresql://keyward@db.example:5433/keyward" },
		{ "postgresql://keyward@db.example/keyward", "postgresql://keyward@db.example/keyward" },
		{ "postgresql://db/keyward?password=s3cret", "postgresql://db/keyward" },
		{ "postgresql://db/keyward?sslmode=require&password=s3cret&application_name=x",
		  "postgresql://db/keyward?sslmode=require&application_name=x" },
		{ "postgresql://db/keyward?password=s3cret&sslmode=require", "postgresql://db/keyward?sslmode=require" },
		{ "postgresql://u:p%40ss@h/d", "postgresql://u@h/d" },
		{ "postgresql://u:p@ss@h/d", "postgresql://u@h/d" },
		{ "host=db password=s3cret dbname=keyward", "host=db dbname=keyward" },
		{ "host=db password = 's3 cr\\'et' dbname=keyward", "host=db dbname=keyward" },
		{ "password=s3cret", "" },
		{ "host=db passwordless=1", "host=db passwordless=1" },
		{ "/var/lib/keyward/password.db", "/var/lib/keyward/password.db" },
	};
	for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
		char label[256];
		config_database_label(cases[i].setting, label, sizeof label);
		if (strcmp(label, cases[i].label) != 0)
			fail_msg("%s: got \"%s\", expected \"%s\"", cases[i].setting, label, cases[i].label);
	}
}

/* The server key's file: KEYWARD_KEY_FILE, else beside the SQLite file, else in the state folder. */
static void test_server_key_file(void **state)
{
	(void)state;
	struct config config;
	char error[256];
	unsetenv("KEYWARD_KEY_FILE");
	assert_true(config_load(&config, "/tmp/x/keyward.db", error, sizeof error));
	assert_string_equal(config.server_key_path, "/tmp/x/keyward.db.key");
	assert_string_equal(config.database_label, "/tmp/x/keyward.db");
	assert_true(config_load(&config, "postgresql://k:pw@db/keyward", error, sizeof error));
	assert_string_equal(config.server_key_path, KEYWARD_STATEDIR "/keyward.key");
	assert_string_equal(config.database_label, "postgresql://k@db/keyward");
	setenv("KEYWARD_KEY_FILE", "/etc/keyward/node.key", 1);
	assert_true(config_load(&config, "postgresql://db/keyward", error, sizeof error));
	assert_string_equal(config.server_key_path, "/etc/keyward/node.key");
	assert_true(config_load(&config, "/tmp/x/keyward.db", error, sizeof error));
	assert_string_equal(config.server_key_path, "/etc/keyward/node.key");
	unsetenv("KEYWARD_KEY_FILE");
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(test_no_rules_file, setup, teardown),
		cmocka_unit_test_setup_teardown(test_longest_prefix_wins, setup, teardown),
		cmocka_unit_test_setup_teardown(test_no_match_needs_nothing, setup, teardown),
		cmocka_unit_test_setup_teardown(test_comments_blank_lines_and_spacing, setup, teardown),
		cmocka_unit_test_setup_teardown(test_only_comments, setup, teardown),
		cmocka_unit_test_setup_teardown(test_malformed_lines_are_refused_with_their_number, setup, teardown),
		cmocka_unit_test_setup_teardown(test_overlong_values_and_lines, setup, teardown),
		cmocka_unit_test_setup_teardown(test_rule_count_limit, setup, teardown),
		cmocka_unit_test_setup_teardown(test_missing_rules_file, setup, teardown),
		cmocka_unit_test_setup_teardown(test_reload_replaces_rules, setup, teardown),
		cmocka_unit_test_setup_teardown(test_trust_remote_user_is_off_unless_set_to_1, setup, teardown),
		cmocka_unit_test_setup_teardown(test_workspace_1_by_default, setup, teardown),
		cmocka_unit_test_setup_teardown(test_workspace_lines, setup, teardown),
		cmocka_unit_test_setup_teardown(test_malformed_and_repeated_workspace_lines_are_refused, setup, teardown),
		cmocka_unit_test_setup_teardown(test_workspace_line_limit, setup, teardown),
		cmocka_unit_test_setup_teardown(test_public_url, setup, teardown),
		cmocka_unit_test_setup_teardown(test_postgresql_settings, setup, teardown),
		cmocka_unit_test_setup_teardown(test_server_key_file, setup, teardown),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
