/*
 * cli.h: the administrative commands of `keyward`: keys, users, usage. main.c's command table
 * dispatches to them; each takes argv from its last word on (argv[0] is "create" for "key create")
 * and returns the exit status.
 */
#ifndef KEYWARD_CLI_H
#define KEYWARD_CLI_H

#include <stdbool.h>

#include "store/store.h"

struct config;

/* "keyward: MESSAGE" on standard error; returns 1, the exit status of a failed command. */
int cli_fail(const char *message);

/* --workspace ID: a workspace number (1, 2, ...); false when `text` is not one. */
bool cli_workspace_option(const char *text, long long *workspace_id);

/* The arguments of a listing command (argv[0] is its name): nothing, or --workspace ID. */
bool cli_workspace_arguments(int argc, char **argv, long long *workspace_id);

/* The database of `config`, opened (and migrated); NULL after saying why on standard error. */
struct store *cli_open_store(const struct config *config);

/*
 * "keyward: WHAT: why" on standard error for a store status that is not STORE_OK: busy (try
 * again), damaged (run PRAGMA integrity_check on the database), or see the message above.
 * Returns 1, the exit status of a failed command.
 */
int cli_store_fail(const struct config *config, enum store_status status, const char *what);

/*
 * keyward user add --email EMAIL [--name NAME] [--role ROLE | --owner] [--workspace ID]
 * Makes a console user, a member of the workspace (default: the first) with ROLE (default
 * viewer; --owner is --role owner). The password is read from the terminal, twice, without echo;
 * or, when standard input is not a terminal, from its first line. Returns the exit status.
 */
int cli_user_add(const struct config *config, int argc, char **argv);

/* keyward user list [--workspace ID]: the members of a workspace (default the first) with their roles. */
int cli_user_list(const struct config *config, int argc, char **argv);

/*
 * keyward user disable | enable | remove | reset-password | unlock --email EMAIL: one person's
 * account (domain/users.h): disable ends every session of theirs and refuses a workspace's only
 * owner who can sign in, as does remove; reset-password reads the new password as user add does;
 * unlock forgets the failed sign-ins of the account and its browsers. Returns the exit status.
 */
int cli_user_disable(const struct config *config, int argc, char **argv);
int cli_user_enable(const struct config *config, int argc, char **argv);
int cli_user_remove(const struct config *config, int argc, char **argv);
int cli_user_reset_password(const struct config *config, int argc, char **argv);
int cli_user_unlock(const struct config *config, int argc, char **argv);

/*
 * keyward workspace create --name NAME --owner EMAIL: a new workspace owned by an existing (and
 * not disabled) user, with its audit line; prints its number on standard output.
 */
int cli_workspace_create(const struct config *config, int argc, char **argv);

/*
 * keyward setup-link [--url http://HOST:PORT]: while no user exists, print a one-time link
 * (valid 24 hours) that makes the first owner of the first workspace in the browser.
 */
int cli_setup_link(const struct config *config, int argc, char **argv);

/*
 * keyward key create --name NAME [--role ROLE] [--cidr NETWORK[=LABEL]]... [--postback-url URL]
 * [--off-record] [--disabled] [--workspace ID]: make a key in a workspace (default the first) and print its secret, once, on
 * standard output (everything else goes to standard error). Returns the exit status.
 */
int cli_key_create(const struct config *config, int argc, char **argv);

/* keyward key list [--workspace ID]: the active keys of a workspace (default the first), one per line. */
int cli_key_list(const struct config *config, int argc, char **argv);

/*
 * keyward usage rollup: roll every waiting usage row up into the hourly tables and apply
 * retention now (each server process does both on its own every few seconds and hourly).
 */
int cli_usage_rollup(const struct config *config, int argc, char **argv);

/*
 * keyward backup PATH [--without-key]: a consistent copy of the database in one pass, even while
 * the servers write (VACUUM INTO a temporary file beside PATH, synced, then linked into place: an
 * interrupted backup leaves nothing at PATH), and a copy of the server key as PATH.key (0600)
 * unless --without-key. Refuses to replace an existing file. Prints how to restore.
 */
int cli_backup(const struct config *config, int argc, char **argv);

#endif
