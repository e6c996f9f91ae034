/*
 * cli.h: keyward's commands, one convention for all of them.
 *
 * Every command is a row of the table in commands.c: its words ("key create"), the options it
 * takes (each with its kind, its value's name, whether it is needed, and a line of help), at most
 * one operand (backup's PATH), a line of help, and its handler. The table alone makes `keyward
 * help [COMMAND]`, `--help` and the usage lines of errors, and cli_parse() checks every argument
 * before a handler runs, so a handler reads typed values only: cli_text(), cli_flag(),
 * cli_number(), cli_list().
 *
 * Exit statuses: CLI_OK (0) done; CLI_FAILED (1) refused or failed (the reason on standard
 * error; nothing was changed unless it says so); CLI_USAGE (2) the command line itself was wrong.
 */
#ifndef KEYWARD_CLI_H
#define KEYWARD_CLI_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

#include "store/store.h"

struct config;

enum { CLI_OK = 0, CLI_FAILED = 1, CLI_USAGE = 2 };

enum cli_kind {
	CLI_FLAG,   /* --name alone */
	CLI_TEXT,   /* --name VALUE */
	CLI_NUMBER, /* --name N: a whole number from `min` to `max` (text_to_integer's canonical form) */
	CLI_LIST,   /* --name VALUE, as often as wanted, in order */
};

struct cli_option {
	const char *name; /* without the dashes: "email" */
	enum cli_kind kind;
	const char *value; /* its value's name in the synopsis ("EMAIL"); NULL for a flag */
	bool required;
	int64_t min, max; /* CLI_NUMBER */
	const char *help; /* one line */
};

#define CLI_OPTIONS_MAX 16

struct cli_args;

struct cli_command {
	const char *name;    /* its words: "key create" */
	const char *operand; /* the one operand it needs ("PATH"), NULL when it takes none */
	const struct cli_option *options; /* ends with a row whose name is NULL; NULL: none */
	const char *help;    /* what it does, one line */
	/* What the table cannot say (two options that exclude each other): CLI_OK or cli_usage(). NULL: none. */
	int (*check)(const struct cli_args *args);
	int (*run)(const struct config *config, const struct cli_args *args); /* returns the exit status */
	bool creates;        /* it may create the database and the server key (init) */
};

/* What cli_parse() read, by the command's option order. */
struct cli_args {
	const struct cli_command *command;
	bool given[CLI_OPTIONS_MAX];
	const char *text[CLI_OPTIONS_MAX]; /* TEXT and NUMBER: as typed */
	int64_t number[CLI_OPTIONS_MAX];
	const char **list[CLI_OPTIONS_MAX]; /* LIST: its values */
	size_t list_count[CLI_OPTIONS_MAX];
	const char *operand;
};

/*
 * The command that the words at argv[0..argc) name; *used gets how many words it took (1 or 2).
 * NULL when none does.
 */
const struct cli_command *cli_find(int argc, char **argv, int *used);

/*
 * Read `command`'s arguments (argv[0] is its last word) into *args, checking each against the
 * table and then the command's own check. CLI_OK; CLI_USAGE after saying what is wrong and the
 * command's usage line on standard error; or -1 when they asked for its help (--help, -h),
 * printed on standard output.
 * cli_args_free() releases what it kept.
 */
int cli_parse(const struct cli_command *command, int argc, char **argv, struct cli_args *args);
void cli_args_free(struct cli_args *args);

/* `keyward help`: every command, the global options and the settings. */
void cli_print_help(FILE *out);
/* `keyward help COMMAND`: its usage line, what it does, each option. */
void cli_print_command_help(FILE *out, const struct cli_command *command);

/* Typed values of the parsed arguments, by option name (a name the command does not have aborts). */
const char *cli_text(const struct cli_args *args, const char *name); /* NULL when not given */
bool cli_flag(const struct cli_args *args, const char *name);
int64_t cli_number(const struct cli_args *args, const char *name, int64_t fallback);
const char *const *cli_list(const struct cli_args *args, const char *name, size_t *count);

/* "keyward: MESSAGE" on standard error; returns CLI_FAILED. */
int cli_fail(const char *message);

/* "keyward: COMMAND: MESSAGE" and its usage line on standard error; returns CLI_USAGE. */
int cli_usage(const struct cli_args *args, const char *message);

/* The database of `config`, opened (and migrated); NULL after saying why on standard error. */
struct store *cli_open_store(const struct config *config);

/* Who the audit log names for every change made on the command line: "command line". */
struct audit_actor;
extern const struct audit_actor cli_actor;

/*
 * "keyward: WHAT: why" on standard error for a store status that is not STORE_OK: busy (try
 * again), damaged (run PRAGMA integrity_check on the database), or see the message above.
 * Returns CLI_FAILED.
 */
int cli_store_fail(const struct config *config, enum store_status status, const char *what);

/* ---- the commands (each file's header comment says more) ---------------------------------------- */

/* serve.c: keyward serve, and serving the web server that ran keyward with no command. */
int cli_serve_check(const struct cli_args *args);
int cli_serve(const struct config *config, const struct cli_args *args);
int cli_serve_web_server(const struct config *config);

/* database.c: keyward init, keyward backup PATH [--without-key], keyward migrate-to TARGET [--key-file PATH]. */
int cli_init(const struct config *config, const struct cli_args *args);
int cli_backup(const struct config *config, const struct cli_args *args);
int cli_migrate_to_check(const struct cli_args *args);
int cli_migrate_to(const struct config *config, const struct cli_args *args);

/* keys.c: keyward key create | list | show | edit | disable | enable | revoke | roll. */
int cli_key_create(const struct config *config, const struct cli_args *args);
int cli_key_list(const struct config *config, const struct cli_args *args);
int cli_key_show(const struct config *config, const struct cli_args *args);
int cli_key_edit_check(const struct cli_args *args);
int cli_key_edit(const struct config *config, const struct cli_args *args);
int cli_key_disable(const struct config *config, const struct cli_args *args);
int cli_key_enable(const struct config *config, const struct cli_args *args);
int cli_key_revoke(const struct config *config, const struct cli_args *args);
int cli_key_roll(const struct config *config, const struct cli_args *args);

/* users.c: keyward user add | list | disable | enable | remove | reset-password | unlock, workspace create, setup-link. */
int cli_user_add_check(const struct cli_args *args);
int cli_user_add(const struct config *config, const struct cli_args *args);
int cli_user_list(const struct config *config, const struct cli_args *args);
int cli_user_disable(const struct config *config, const struct cli_args *args);
int cli_user_enable(const struct config *config, const struct cli_args *args);
int cli_user_remove(const struct config *config, const struct cli_args *args);
int cli_user_reset_password(const struct config *config, const struct cli_args *args);
int cli_user_unlock(const struct config *config, const struct cli_args *args);
int cli_workspace_create(const struct config *config, const struct cli_args *args);
int cli_setup_link(const struct config *config, const struct cli_args *args);

/* usage.c: keyward usage rollup. */
int cli_usage_rollup(const struct config *config, const struct cli_args *args);

#endif
