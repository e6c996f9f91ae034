/* cli.h: the administrative commands of `keyward` that are not serving (main.c dispatches). */
#ifndef KEYWARD_CLI_H
#define KEYWARD_CLI_H

struct config;

/*
 * keyward user add --email EMAIL [--name NAME] [--role ROLE | --owner] [--workspace ID]
 * Makes a console user, a member of the workspace (default: the first) with ROLE (default
 * viewer; --owner is --role owner). The password is read from the terminal, twice, without echo;
 * or, when standard input is not a terminal, from its first line. Returns the exit status.
 */
int cli_user_add(const struct config *config, int argc, char **argv);

#endif
