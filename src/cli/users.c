/* users.c: `keyward user add`, `user list`, `setup-link`: console users from the command line (the first owner, say). */
#include "cli/cli.h"

#include <getopt.h>
#include <sodium.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <termios.h>
#include <time.h>
#include <unistd.h>

#include "core/alloc.h"
#include "core/config.h"
#include "core/text.h"
#include "domain/accounts.h"
#include "domain/audit.h"
#include "domain/members.h"
#include "store/store.h"

/*
 * Read one line of at most `size` - 1 bytes into `line` (without its newline), echo off when
 * standard input is a terminal. False at end of input or when the line is longer than fits.
 */
static bool read_secret_line(const char *prompt, char *line, size_t size)
{
	bool terminal = isatty(STDIN_FILENO);
	struct termios saved, quiet;
	if (terminal) {
		fprintf(stderr, "%s", prompt);
		tcgetattr(STDIN_FILENO, &saved);
		quiet = saved;
		quiet.c_lflag &= ~(tcflag_t)ECHO;
		tcsetattr(STDIN_FILENO, TCSAFLUSH, &quiet);
	}
	bool ok = fgets(line, (int)size, stdin) != NULL;
	if (terminal) {
		tcsetattr(STDIN_FILENO, TCSAFLUSH, &saved);
		fputc('\n', stderr);
	}
	if (!ok)
		return false;
	size_t length = strlen(line);
	if (length > 0 && line[length - 1] == '\n')
		line[--length] = '\0';
	else if (!feof(stdin))
		return false; /* longer than the buffer */
	if (length > 0 && line[length - 1] == '\r')
		line[--length] = '\0';
	return true;
}

/* The password, read and checked; false (with a message) when it will not do. */
static bool read_password(char *password, size_t size)
{
	char again[ACCOUNT_PASSWORD_MAX + 2];
	if (!read_secret_line("Password: ", password, size)) {
		cli_fail("no password was given (type it, or pipe it as the first line of standard input)");
		return false;
	}
	const char *problem = account_password_problem(password, strlen(password));
	if (problem != NULL) {
		fprintf(stderr, "keyward: %s\n", problem);
		return false;
	}
	if (isatty(STDIN_FILENO)) {
		bool same = read_secret_line("Password again: ", again, sizeof again) && strcmp(again, password) == 0;
		sodium_memzero(again, sizeof again);
		if (!same) {
			cli_fail("the two passwords differ; nothing was saved");
			return false;
		}
	}
	return true;
}

int cli_user_add(const struct config *config, int argc, char **argv)
{
	const char *email = NULL, *name = "", *role_name = "viewer";
	long long workspace_id = STORE_DEFAULT_WORKSPACE;
	static const struct option options[] = {
		{ "email", required_argument, NULL, 'e' }, { "name", required_argument, NULL, 'n' },
		{ "role", required_argument, NULL, 'r' },  { "owner", no_argument, NULL, 'o' },
		{ "workspace", required_argument, NULL, 'w' }, { NULL, 0, NULL, 0 },
	};
	int option;
	optind = 1;
	while ((option = getopt_long(argc, argv, "e:n:r:ow:", options, NULL)) != -1) {
		switch (option) {
		case 'e': email = optarg; break;
		case 'n': name = optarg; break;
		case 'r': role_name = optarg; break;
		case 'o': role_name = "owner"; break;
		case 'w':
			if (!cli_workspace_option(optarg, &workspace_id))
				return cli_fail("--workspace takes a workspace number");
			break;
		default: return cli_fail("usage: keyward user add --email EMAIL [--name NAME] [--role ROLE | --owner]");
		}
	}
	if (email == NULL)
		return cli_fail("user add needs --email EMAIL");
	char folded[ACCOUNT_EMAIL_MAX + 1];
	const char *problem = account_email_problem(email, folded);
	if (problem != NULL)
		return cli_fail(problem);
	if (!utf8_valid(name, strlen(name)) || utf8_length(name, strlen(name)) > ACCOUNT_NAME_MAX ||
	    text_has_control(name, NULL))
		return cli_fail("--name must be text of at most 100 characters");
	enum console_role role;
	if (!console_role_parse(role_name, &role))
		return cli_fail("--role must be one of owner, admin, developer, viewer");

	char password[ACCOUNT_PASSWORD_MAX + 2];
	if (!read_password(password, sizeof password)) {
		sodium_memzero(password, sizeof password);
		return 1;
	}
	char hash[ACCOUNT_HASH_MAX];
	bool hashed = account_password_hash(password, strlen(password), hash);
	sodium_memzero(password, sizeof password);
	if (!hashed)
		return cli_fail("not enough memory to hash the password (Argon2id needs 64 MiB)");

	struct store *store = cli_open_store(config);
	if (store == NULL)
		return 1;
	int64_t now = (int64_t)time(NULL), user_id = 0;
	int status = 1;
	if (store_bulk_begin(store) != STORE_OK) {
		cli_fail("the database is busy; try again");
	} else {
		enum store_status saved = store_user_insert(store, email, folded, name, hash, now, &user_id);
		if (saved == STORE_CONFLICT)
			fprintf(stderr, "keyward: there is already a user with the e-mail address %s; nothing was saved\n",
				email);
		if (saved == STORE_OK) {
			saved = store_membership_set(store, workspace_id, user_id, console_role_name(role), now);
			if (saved == STORE_CONFLICT)
				fprintf(stderr, "keyward: there is no workspace %lld; nothing was saved\n", workspace_id);
		}
		if (saved != STORE_OK && saved != STORE_CONFLICT)
			cli_fail("could not save the user; nothing was saved");
		if (saved == STORE_OK) {
			struct audit_actor actor = { 0, "command line", "" };
			struct arena *arena = arena_new();
			audit_record(store, workspace_id, &actor, "member.add", "member", email,
				     arena_printf(arena, "added as %s", console_role_name(role)), now);
			arena_free(arena);
		}
		if (saved == STORE_OK && store_bulk_commit(store) == STORE_OK) {
			fprintf(stderr, "keyward: added %s as %s of workspace %lld\n", email, console_role_name(role),
				workspace_id);
			status = 0;
		}
	}
	store_close(store); /* without a commit, the bulk transaction is discarded */
	return status;
}

int cli_user_list(const struct config *config, int argc, char **argv)
{
	long long workspace_id = STORE_DEFAULT_WORKSPACE;
	if (!cli_workspace_arguments(argc, argv, &workspace_id))
		return cli_fail("usage: keyward user list [--workspace ID]");
	struct store *store = cli_open_store(config);
	if (store == NULL)
		return 1;
	struct arena *arena = arena_new();
	struct store_member *members = NULL;
	size_t count = 0;
	int status = 0;
	enum store_status read = store_member_list(store, arena, workspace_id, &members, &count);
	if (read != STORE_OK) {
		status = cli_store_fail(config, read, "could not read the members");
	} else {
		printf("%-40s  %s\n", "E-MAIL", "ROLE");
		for (size_t i = 0; i < count; i++)
			printf("%-40s  %s\n", members[i].email, members[i].console_role);
	}
	arena_free(arena);
	store_close(store);
	return status;
}

int cli_setup_link(const struct config *config, int argc, char **argv)
{
	const char *url_base = "";
	static const struct option options[] = { { "url", required_argument, NULL, 'u' }, { NULL, 0, NULL, 0 } };
	int option;
	optind = 1;
	while ((option = getopt_long(argc, argv, "u:", options, NULL)) != -1) {
		if (option != 'u')
			return cli_fail("usage: keyward setup-link [--url http://HOST:PORT]");
		url_base = optarg;
	}
	struct store *store = cli_open_store(config);
	if (store == NULL)
		return 1;
	int64_t users = 0;
	int status = 0;
	enum store_status read = store_user_count(store, &users);
	if (read != STORE_OK) {
		status = cli_store_fail(config, read, "could not read the users");
	} else if (users > 0) {
		status = cli_fail("the first owner exists already: they invite everyone else from the Members page "
				  "(or use keyward user add)");
	} else {
		struct store_invitation invitation = { .workspace_id = STORE_DEFAULT_WORKSPACE, .email = "",
						       .console_role = "owner", .setup = true };
		char token[SESSION_TOKEN_LENGTH + 1];
		if (invitation_create(store, config, &invitation, "", 0, (int64_t)time(NULL), token) != STORE_OK) {
			status = cli_fail("could not store the setup link");
		} else {
			size_t end = strlen(url_base);
			while (end > 0 && url_base[end - 1] == '/')
				end--;
			printf("%.*s%s/join/%s\n", (int)end, url_base, config->base_path, token);
			sodium_memzero(token, sizeof token);
		}
	}
	store_close(store);
	return status;
}
