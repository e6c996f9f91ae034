/*
 * main.c: the keyward command: its global options, `help`, then settings, the database and the
 * server key, which every command needs, and dispatch: to a command of the table in
 * src/cli/commands.c, or, with none, to serving the web server that ran keyward.
 */
#include <fcgiapp.h>
#include <sodium.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cli/cli.h"
#include "core/config.h"
#include "domain/accounts.h"
#include "domain/server_key.h"
#include "domain/token.h"
#include "store/store.h"

/*
 * Settings, the database and the server key, which every command and every way of serving needs:
 * the database must exist and be migrated, and the key file must belong to it (server_key.h).
 * Only `creating` (`keyward init`) makes the database, its folder and the key file when missing.
 */
static bool prepare(struct config *config, const char *database, bool creating)
{
	char error[1024];
	if (!config_load(config, database, error, sizeof error)) {
		cli_fail(error);
		return false;
	}
	if (!token_prefix_valid(config->token_prefix)) {
		fprintf(stderr, "keyward: KEYWARD_TOKEN_PREFIX must be 1 to %d characters of a-z, 0-9 and _, ending in _ "
				"(got \"%s\")\n", TOKEN_PREFIX_MAX, config->token_prefix);
		config_wipe(config);
		return false;
	}
	if (creating && !config_make_database_folder(config, error, sizeof error)) {
		cli_fail(error);
		config_wipe(config);
		return false;
	}
	struct store *store = creating ? store_create(config->database_path, error, sizeof error)
				       : store_open(config->database_path, error, sizeof error);
	bool ready = store != NULL && server_key_load(store, config, creating, error, sizeof error);
	store_close(store);
	if (!ready) {
		cli_fail(error);
		config_wipe(config);
		return false;
	}
	account_password_concurrency((unsigned)config->password_checks);
	return true;
}

/* A web server that ran us as CGI waits for an answer even when we cannot serve: 503, the reason in the log. */
static void answer_unavailable(void)
{
	fputs("Status: 503 Service Unavailable\r\nContent-Type: text/plain; charset=utf-8\r\n\r\n"
	      "keyward cannot serve: its database or server key is not in order. The server's error log says why.\n",
	      stdout);
}

/* `keyward help [COMMAND]`: the whole help, or one command's. */
static int help(int argc, char **argv)
{
	if (argc == 0) {
		cli_print_help(stdout);
		return CLI_OK;
	}
	int used = 0;
	const struct cli_command *command = cli_find(argc, argv, &used);
	if (command == NULL || used != argc) {
		fprintf(stderr, "keyward: no command \"%s%s%s\"; keyward help lists them\n", argv[0], argc > 1 ? " " : "",
			argc > 1 ? argv[1] : "");
		return CLI_USAGE;
	}
	cli_print_command_help(stdout, command);
	return CLI_OK;
}

int main(int argc, char **argv)
{
	const char *database = NULL;
	int first = 1;
	while (first < argc && argv[first][0] == '-') {
		const char *option = argv[first];
		if (strcmp(option, "-h") == 0 || strcmp(option, "--help") == 0) {
			cli_print_help(stdout);
			return CLI_OK;
		}
		if (strcmp(option, "-V") == 0 || strcmp(option, "--version") == 0) {
			printf("keyward %s\n", KEYWARD_VERSION);
			return CLI_OK;
		}
		if (strcmp(option, "--db") == 0 && first + 1 < argc) {
			database = argv[first + 1];
			first += 2;
			continue;
		}
		if (strncmp(option, "--db=", 5) == 0) {
			database = option + 5;
			first++;
			continue;
		}
		fprintf(stderr, "keyward: unknown option %s; keyward help lists them\n", option);
		return CLI_USAGE;
	}
	if (first < argc && strcmp(argv[first], "help") == 0)
		return help(argc - first - 1, argv + first + 1);
	const struct cli_command *command = NULL;
	struct cli_args args;
	memset(&args, 0, sizeof args);
	if (first < argc) {
		int used = 0;
		command = cli_find(argc - first, argv + first, &used);
		if (command == NULL) {
			fprintf(stderr, "keyward: unknown command \"%s%s%s\"; keyward help lists them\n", argv[first],
				first + 1 < argc ? " " : "", first + 1 < argc ? argv[first + 1] : "");
			return CLI_USAGE;
		}
		int skip = first + used - 1; /* the command's last word becomes its argv[0] */
		int parsed = cli_parse(command, argc - skip, argv + skip, &args);
		if (parsed != CLI_OK) {
			cli_args_free(&args);
			return parsed < 0 ? CLI_OK : parsed;
		}
	} else if (FCGX_IsCGI() && getenv("GATEWAY_INTERFACE") == NULL) {
		cli_print_help(stderr); /* run by hand with no command */
		return CLI_USAGE;
	}
	int status = CLI_FAILED;
	struct config config;
	if (sodium_init() < 0)
		cli_fail("cannot initialise libsodium");
	else if (!prepare(&config, database, command != NULL && command->creates))
		status = CLI_FAILED;
	else
		status = CLI_OK;
	if (status != CLI_OK) {
		if (command == NULL && FCGX_IsCGI())
			answer_unavailable();
		cli_args_free(&args);
		return status;
	}
	status = command ? command->run(&config, &args) : cli_serve_web_server(&config);
	cli_args_free(&args);
	config_wipe(&config);
	return status;
}
