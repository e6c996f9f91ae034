/* cli.h: the administrative commands of `keyward` (main.c dispatches): keys and users. */
#ifndef KEYWARD_CLI_H
#define KEYWARD_CLI_H

struct config;
struct store;

/* "keyward: MESSAGE" on standard error; returns 1, the exit status of a failed command. */
int cli_fail(const char *message);

/* The database of `config`, opened (and migrated); NULL after saying why on standard error. */
struct store *cli_open_store(const struct config *config);

/*
 * keyward user add --email EMAIL [--name NAME] [--role ROLE | --owner] [--workspace ID]
 * Makes a console user, a member of the workspace (default: the first) with ROLE (default
 * viewer; --owner is --role owner). The password is read from the terminal, twice, without echo;
 * or, when standard input is not a terminal, from its first line. Returns the exit status.
 */
int cli_user_add(const struct config *config, int argc, char **argv);

/* keyward user list: the members of the first workspace with their roles (a header line first). */
int cli_user_list(const struct config *config);

/*
 * keyward setup-link [--url http://HOST:PORT]: while no user exists, print a one-time link
 * (valid 24 hours) that makes the first owner of the first workspace in the browser.
 */
int cli_setup_link(const struct config *config, int argc, char **argv);

/*
 * keyward key create --name NAME [--role ROLE] [--cidr NETWORK[=LABEL]]... [--postback-url URL]
 * [--off-record] [--disabled]: make a key in the first workspace and print its secret, once, on
 * standard output (everything else goes to standard error). Returns the exit status.
 */
int cli_key_create(const struct config *config, int argc, char **argv);

/* keyward key list: the active keys of the first workspace, one per line. */
int cli_key_list(const struct config *config);

#endif
