/*
 * users.c: console users from the command line: `keyward user add | list | disable | enable |
 * remove | reset-password | unlock`, `workspace create`, `setup-link`.
 */
#include "cli/cli.h"

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
#include "domain/users.h"
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

/* Read a new password (as read_password) and hash it into hash[]; false after saying why. */
static bool read_password_hash(char hash[ACCOUNT_HASH_MAX])
{
	char password[ACCOUNT_PASSWORD_MAX + 2];
	if (!read_password(password, sizeof password)) {
		sodium_memzero(password, sizeof password);
		return false;
	}
	bool hashed = account_password_hash(password, strlen(password), hash);
	sodium_memzero(password, sizeof password);
	if (!hashed)
		cli_fail("not enough memory to hash the password (Argon2id needs 64 MiB)");
	return hashed;
}

int cli_user_add_check(const struct cli_args *args)
{
	if (cli_flag(args, "owner") && cli_text(args, "role") != NULL)
		return cli_usage(args, "--owner and --role are one choice: give one of them");
	return CLI_OK;
}

int cli_user_add(const struct config *config, const struct cli_args *args)
{
	const char *email = cli_text(args, "email");
	const char *name = cli_text(args, "name") ? cli_text(args, "name") : "";
	const char *role_name = cli_flag(args, "owner") ? "owner" : cli_text(args, "role") ? cli_text(args, "role") : "viewer";
	long long workspace_id = cli_number(args, "workspace", STORE_DEFAULT_WORKSPACE);
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

	char hash[ACCOUNT_HASH_MAX];
	if (!read_password_hash(hash))
		return CLI_FAILED;

	struct store *store = cli_open_store(config);
	if (store == NULL)
		return CLI_FAILED;
	struct arena *arena = arena_new();
	int64_t user_id = 0;
	enum store_status saved = members_add_user(store, arena, &cli_actor, workspace_id, email, folded, name, hash, role,
						   (int64_t)time(NULL), &user_id);
	sodium_memzero(hash, sizeof hash);
	arena_free(arena);
	store_close(store);
	if (saved == STORE_CONFLICT) {
		fprintf(stderr, "keyward: there is already a user with the e-mail address %s; nothing was saved\n", email);
		return CLI_FAILED;
	}
	if (saved == STORE_NOT_FOUND) {
		fprintf(stderr, "keyward: there is no workspace %lld; nothing was saved\n", workspace_id);
		return CLI_FAILED;
	}
	if (saved != STORE_OK)
		return cli_fail("could not save the user; nothing was saved");
	fprintf(stderr, "keyward: added %s as %s of workspace %lld\n", email, console_role_name(role), workspace_id);
	return CLI_OK;
}

int cli_user_list(const struct config *config, const struct cli_args *args)
{
	int64_t workspace_id = cli_number(args, "workspace", STORE_DEFAULT_WORKSPACE);
	struct store *store = cli_open_store(config);
	if (store == NULL)
		return CLI_FAILED;
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
			printf("%-40s  %s%s\n", members[i].email, members[i].console_role,
			       members[i].disabled ? " (disabled)" : "");
	}
	arena_free(arena);
	store_close(store);
	return status;
}

int cli_setup_link(const struct config *config, const struct cli_args *args)
{
	const char *url_base = cli_text(args, "url") ? cli_text(args, "url") : "";
	struct store *store = cli_open_store(config);
	if (store == NULL)
		return CLI_FAILED;
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
		struct arena *arena = arena_new();
		enum store_status saved =
			invitation_create(store, config, arena, &cli_actor, &invitation, "", (int64_t)time(NULL), token);
		arena_free(arena);
		if (saved != STORE_OK) {
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

/* ---- one person: disable, enable, remove, reset-password, unlock --------------------------------- */

enum person_action { PERSON_DISABLE, PERSON_ENABLE, PERSON_REMOVE, PERSON_RESET_PASSWORD, PERSON_UNLOCK };

static const char *const person_commands[] = { "disable", "enable", "remove", "reset-password", "unlock" };

/* "N sessions ended" for the messages. */
static const char *ended_text(struct arena *arena, int64_t ended)
{
	return ended == 0 ? "no session was open"
			  : arena_printf(arena, "%lld session%s ended", (long long)ended, ended == 1 ? "" : "s");
}

/* Say why `action` changed nothing for `email`; returns the exit status (1). */
static int person_refused(enum person_action action, const char *email, enum store_status status,
			  const char *blocking)
{
	if (status == STORE_NOT_FOUND)
		fprintf(stderr, "keyward: there is no user with the e-mail address %s; nothing was changed\n", email);
	else if (status == STORE_CONFLICT && blocking != NULL)
		fprintf(stderr, "keyward: %s is the only owner of the workspace “%s” who can sign in; make someone "
				"else its owner first (Members page). Nothing was changed\n", email, blocking);
	else if (status == STORE_BUSY)
		fprintf(stderr, "keyward: the database is busy; nothing was changed, try again (user %s)\n",
			person_commands[action]);
	else
		fprintf(stderr, "keyward: could not %s %s: the database failed (the messages above say how); nothing "
				"was changed\n", action == PERSON_RESET_PASSWORD ? "reset the password of" : person_commands[action],
			email);
	return CLI_FAILED;
}

static int person_command(const struct config *config, const struct cli_args *args, enum person_action action)
{
	char folded[ACCOUNT_EMAIL_MAX + 1];
	const char *email = cli_text(args, "email");
	const char *problem = account_email_problem(email, folded);
	if (problem != NULL)
		return cli_fail(problem);
	char hash[ACCOUNT_HASH_MAX] = "";
	struct store *store = cli_open_store(config);
	if (store == NULL)
		return CLI_FAILED;
	struct arena *arena = arena_new();
	struct store_user user;
	enum store_status status = store_user_find_by_email(store, arena, folded, &user);
	if (status == STORE_OK && action == PERSON_RESET_PASSWORD && !read_password_hash(hash)) {
		arena_free(arena);
		store_close(store);
		return CLI_FAILED;
	}
	int64_t now = (int64_t)time(NULL), ended = 0;
	const char *blocking = NULL;
	bool changed = true;
	if (status == STORE_OK) {
		switch (action) {
		case PERSON_DISABLE:
			status = users_disable(store, arena, &cli_actor, user.id, now, &blocking, &ended, &changed);
			break;
		case PERSON_ENABLE:
			status = users_enable(store, arena, &cli_actor, user.id, now, &changed);
			break;
		case PERSON_REMOVE:
			status = users_remove(store, arena, &cli_actor, user.id, now, &blocking);
			break;
		case PERSON_RESET_PASSWORD:
			status = users_reset_password(store, arena, &cli_actor, user.id, hash, now, &ended);
			break;
		case PERSON_UNLOCK:
			status = users_unlock(store, arena, &cli_actor, user.id, folded, now);
			break;
		}
	}
	sodium_memzero(hash, sizeof hash);
	int exit_status = 0;
	if (status != STORE_OK) {
		exit_status = person_refused(action, email, status, blocking);
	} else if (!changed) {
		fprintf(stderr, "keyward: %s was %s already; nothing was changed\n", user.email,
			action == PERSON_DISABLE ? "disabled" : "enabled");
	} else {
		switch (action) {
		case PERSON_DISABLE:
			fprintf(stderr, "keyward: disabled %s: they cannot sign in; %s\n", user.email, ended_text(arena, ended));
			break;
		case PERSON_ENABLE:
			fprintf(stderr, "keyward: enabled %s: they can sign in again\n", user.email);
			break;
		case PERSON_REMOVE:
			fprintf(stderr, "keyward: removed %s with their memberships and sessions; the audit log keeps their "
					"address\n", user.email);
			break;
		case PERSON_RESET_PASSWORD:
			fprintf(stderr, "keyward: new password for %s; sign-in unlocked; %s\n", user.email,
				ended_text(arena, ended));
			break;
		case PERSON_UNLOCK:
			fprintf(stderr, "keyward: sign-in for %s is no longer slowed down or paused (its failed attempts, and "
					"its browsers', are forgotten)\n", user.email);
			break;
		}
	}
	arena_free(arena);
	store_close(store);
	return exit_status;
}

int cli_user_disable(const struct config *config, const struct cli_args *args)
{
	return person_command(config, args, PERSON_DISABLE);
}

int cli_user_enable(const struct config *config, const struct cli_args *args)
{
	return person_command(config, args, PERSON_ENABLE);
}

int cli_user_remove(const struct config *config, const struct cli_args *args)
{
	return person_command(config, args, PERSON_REMOVE);
}

int cli_user_reset_password(const struct config *config, const struct cli_args *args)
{
	return person_command(config, args, PERSON_RESET_PASSWORD);
}

int cli_user_unlock(const struct config *config, const struct cli_args *args)
{
	return person_command(config, args, PERSON_UNLOCK);
}

int cli_workspace_create(const struct config *config, const struct cli_args *args)
{
	const char *name = cli_text(args, "name"), *owner = cli_text(args, "owner");
	const char *problem = workspace_name_problem(name);
	if (problem != NULL)
		return cli_fail(problem);
	char folded[ACCOUNT_EMAIL_MAX + 1];
	problem = account_email_problem(owner, folded);
	if (problem != NULL)
		return cli_fail(problem);
	struct store *store = cli_open_store(config);
	if (store == NULL)
		return CLI_FAILED;
	struct arena *arena = arena_new();
	struct store_user user;
	int exit_status = 0;
	enum store_status status = store_user_find_by_email(store, arena, folded, &user);
	if (status == STORE_NOT_FOUND) {
		fprintf(stderr, "keyward: there is no user with the e-mail address %s to own it (make them with keyward "
				"user add, or invite them to a workspace first); nothing was saved\n", owner);
		exit_status = CLI_FAILED;
	} else if (status == STORE_OK && user.disabled_at != 0) {
		fprintf(stderr, "keyward: %s is disabled and could not sign in to own it (keyward user enable); nothing "
				"was saved\n", user.email);
		exit_status = CLI_FAILED;
	} else if (status != STORE_OK) {
		exit_status = cli_fail("could not read the users; nothing was saved");
	} else {
		int64_t workspace_id = 0;
		status = workspaces_create(store, arena, &cli_actor, name, user.id, (int64_t)time(NULL), &workspace_id);
		if (status != STORE_OK) {
			exit_status = cli_fail("could not save the workspace; nothing was saved");
		} else {
			printf("%lld\n", (long long)workspace_id);
			fprintf(stderr, "keyward: made workspace %lld “%s”, owned by %s (its console: /w/%lld/)\n",
				(long long)workspace_id, name, user.email, (long long)workspace_id);
		}
	}
	arena_free(arena);
	store_close(store);
	return exit_status;
}
