/* main.c: the keyward command: settings, serving (FastCGI spawned, standalone or CGI), and dispatch to src/cli/. */
#include <fcgiapp.h>
#include <getopt.h>
#include <sodium.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cli/cli.h"
#include "core/config.h"
#include "domain/server_key.h"
#include "domain/token.h"
#include "server/server.h"
#include "store/store.h"
#include "view/view.h"

/*
 * The commands: one row each, with what it takes and a line of help; --help is made from this
 * table. `run` gets argv from the command's last word on (argv[0] is "create" for "key create").
 */
struct command {
	const char *name;     /* "key create" */
	const char *synopsis; /* its arguments, "" when none */
	const char *help;     /* what it does; '\n' starts a line of its own */
	int (*run)(const struct config *config, int argc, char **argv);
};

static int command_init(const struct config *config, int argc, char **argv);
static int command_serve(const struct config *config, int argc, char **argv);

static const struct command commands[] = {
	{ "serve", "--listen ADDRESS [--threads N]", "FastCGI server on HOST:PORT or a unix socket path",
	  command_serve },
	{ "init", "", "create the database and its server key, or check\nand upgrade them", command_init },
	{ "backup", "PATH [--without-key]",
	  "a consistent copy of the database, even under load,\nand of its server key as PATH.key", cli_backup },
	{ "key create",
	  "--name NAME [--role ROLE] [--cidr NETWORK[=LABEL]]... [--postback-url URL]\n"
	  "[--off-record] [--disabled] [--workspace ID]",
	  "make a key and print its secret, once", cli_key_create },
	{ "key list", "[--workspace ID]", "list the active keys", cli_key_list },
	{ "user add", "--email EMAIL [--name NAME] [--role ROLE | --owner] [--workspace ID]",
	  "make a console user (password from the terminal, or\nthe first line of standard input)", cli_user_add },
	{ "user list", "[--workspace ID]", "the members of a workspace and their roles", cli_user_list },
	{ "usage rollup", "", "roll usage up and apply retention now (servers do it themselves)", cli_usage_rollup },
	{ "setup-link", "[--url http://HOST:PORT]",
	  "while no user exists: a one-time link (24 hours) to make\nthe first owner in the browser", cli_setup_link },
};

#define COMMAND_COUNT (sizeof commands / sizeof commands[0])

static const char usage_head[] =
	"usage: keyward [--db PATH] [COMMAND]\n"
	"\n"
	"With no command, keyward serves the request(s) a web server hands it: FastCGI when its\n"
	"standard input is a listening socket (lighttpd bin-path, mod_fcgid), CGI otherwise.\n"
	"\n"
	"commands:\n";

static const char usage_tail[] =
	"\n"
	"options:\n"
	"  --db PATH      database file (default $KEYWARD_DB or " KEYWARD_STATEDIR "/keyward.db); the server key\n"
	"                 is PATH.key; only init creates them\n"
	"  -h, --help     this text\n"
	"  -V, --version  the version\n"
	"\n"
	"environment:\n"
	"  KEYWARD_DB            database file\n"
	"  KEYWARD_TEMPLATES     folder of the console's templates\n"
	"  KEYWARD_BASE_PATH     URL prefix the console is mounted at, e.g. /console\n"
	"  KEYWARD_TOKEN_PREFIX  prefix of new tokens (default kw_)\n"
	"  KEYWARD_CONFIG        the gatekeeper's rules file: lines \"require /path/prefix permission\"\n"
	"  KEYWARD_KEY_LIMIT     active keys a workspace may have (default 0: no limit)\n"
	"  KEYWARD_TRUST_REMOTE_USER  1: sign in the web server's REMOTE_USER (default 0)\n"
	"  KEYWARD_USAGE_RAW_DAYS     days each recorded decision is kept (default 30)\n"
	"  KEYWARD_USAGE_HOURLY_DAYS  days the hourly usage totals are kept (default 400)\n"
	"  KEYWARD_REFUSED_ALERT      refused calls of a key in an hour that warn (default 100)\n"
	"\n"
	"See keyward(8) and the README.\n";

/*
 * Print `text` from column `column` on, each line after the first indented to `indent`; returns
 * the column where it stopped.
 */
static int print_indented(FILE *out, const char *text, int indent, int column)
{
	for (const char *c = text; *c != '\0'; c++) {
		if (*c == '\n') {
			column = fprintf(out, "\n%*s", indent, "") - 1;
			continue;
		}
		fputc(*c, out);
		column++;
	}
	return column;
}

/* The usage text: the head, each command of the table with its arguments and help, the settings. */
static void print_usage(FILE *out)
{
	enum { HELP_COLUMN = 41 };
	fputs(usage_head, out);
	for (size_t i = 0; i < COMMAND_COUNT; i++) {
		const struct command *command = &commands[i];
		int column = fprintf(out, "  %s ", command->name);
		column = print_indented(out, command->synopsis, column, column);
		if (column >= HELP_COLUMN)
			column = fprintf(out, "\n") - 1;
		fprintf(out, "%*s", HELP_COLUMN - column, "");
		print_indented(out, command->help, HELP_COLUMN, HELP_COLUMN);
		fputc('\n', out);
	}
	fputs(usage_tail, out);
}

/*
 * The command the words at argv[0..argc) name: the row whose name's words are the first ones.
 * *used gets how many words the name took; NULL when none matches.
 */
static const struct command *find_command(int argc, char **argv, int *used)
{
	for (size_t i = 0; i < COMMAND_COUNT; i++) {
		const char *name = commands[i].name;
		const char *space = strchr(name, ' ');
		size_t first = space ? (size_t)(space - name) : strlen(name);
		if (strlen(argv[0]) != first || strncmp(argv[0], name, first) != 0)
			continue;
		if (space == NULL) {
			*used = 1;
			return &commands[i];
		}
		if (argc > 1 && strcmp(argv[1], space + 1) == 0) {
			*used = 2;
			return &commands[i];
		}
	}
	return NULL;
}

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
	}
	return ready;
}

/* A web server that ran us as CGI waits for an answer even when we cannot serve: 503, the reason in the log. */
static void answer_unavailable(void)
{
	fputs("Status: 503 Service Unavailable\r\nContent-Type: text/plain; charset=utf-8\r\n\r\n"
	      "keyward cannot serve: its database or server key is not in order. The server's error log says why.\n",
	      stdout);
}

static struct view *load_view(const struct config *config)
{
	char error[1024];
	struct view *view = view_load(config->template_dir, error, sizeof error);
	if (view == NULL)
		cli_fail(error);
	return view;
}

static int command_init(const struct config *config, int argc, char **argv)
{
	(void)argv;
	if (argc > 1)
		return cli_fail("usage: keyward init");
	struct store *store = cli_open_store(config);
	if (store == NULL)
		return 1;
	store_close(store);
	printf("database %s is ready; server key %s\n", config->database_path, config->server_key_path);
	return 0;
}

static int command_serve(const struct config *config, int argc, char **argv)
{
	const char *listen = NULL;
	int threads = SERVER_THREADS_DEFAULT;
	static const struct option options[] = {
		{ "listen", required_argument, NULL, 'l' },
		{ "threads", required_argument, NULL, 't' },
		{ NULL, 0, NULL, 0 },
	};
	int option;
	optind = 1;
	while ((option = getopt_long(argc, argv, "l:t:", options, NULL)) != -1) {
		if (option == 'l') {
			listen = optarg;
		} else if (option == 't') {
			char *end = NULL;
			long value = strtol(optarg, &end, 10);
			if (*end != '\0' || value < 1 || value > SERVER_THREADS_MAX)
				return cli_fail("--threads takes a number from 1 to 64");
			threads = (int)value;
		} else {
			return cli_fail("usage: keyward serve --listen ADDRESS [--threads N]");
		}
	}
	if (listen == NULL)
		return cli_fail("serve needs --listen HOST:PORT or --listen /path/to.sock");
	struct store *check = cli_open_store(config); /* migrate once, before the workers start */
	if (check == NULL)
		return 1;
	store_close(check);
	struct view *view = load_view(config);
	if (view == NULL)
		return 1;
	int fd = server_listen(listen);
	if (fd < 0) {
		view_free(view);
		return cli_fail("cannot listen on that address");
	}
	fprintf(stderr, "keyward: serving FastCGI on %s with %d threads\n", listen, threads);
	int status = server_run_fastcgi(config, view, fd, threads);
	view_free(view);
	return status;
}

/* No command: answer the web server that started us. */
static int serve_web_server(const struct config *config)
{
	bool fastcgi = !FCGX_IsCGI();
	struct view *view = load_view(config);
	if (view == NULL)
		return 1;
	int status;
	if (fastcgi) {
		struct store *check = cli_open_store(config);
		if (check == NULL) {
			view_free(view);
			return 1;
		}
		store_close(check);
		status = server_run_fastcgi(config, view, 0, 1);
	} else {
		status = server_run_cgi(config, view);
	}
	view_free(view);
	return status;
}

int main(int argc, char **argv)
{
	const char *database = NULL;
	int first = 1;
	while (first < argc && argv[first][0] == '-') {
		const char *option = argv[first];
		if (strcmp(option, "-h") == 0 || strcmp(option, "--help") == 0) {
			print_usage(stdout);
			return 0;
		}
		if (strcmp(option, "-V") == 0 || strcmp(option, "--version") == 0) {
			printf("keyward %s\n", KEYWARD_VERSION);
			return 0;
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
		fprintf(stderr, "keyward: unknown option %s; keyward --help lists them\n", option);
		return 2;
	}
	const struct command *command = NULL;
	int used = 0;
	if (first < argc) {
		command = find_command(argc - first, argv + first, &used);
		if (command == NULL) {
			fprintf(stderr, "keyward: unknown command \"%s%s%s\"; keyward --help lists them\n", argv[first],
				first + 1 < argc ? " " : "", first + 1 < argc ? argv[first + 1] : "");
			return 2;
		}
	} else if (FCGX_IsCGI() && getenv("GATEWAY_INTERFACE") == NULL) {
		print_usage(stderr); /* run by hand with no command */
		return 2;
	}
	if (sodium_init() < 0)
		return cli_fail("cannot initialise libsodium");
	struct config config;
	if (!prepare(&config, database, command != NULL && command->run == command_init)) {
		if (command == NULL && FCGX_IsCGI())
			answer_unavailable();
		return 1;
	}
	int skip = first + used - 1; /* the command's last word becomes its argv[0] */
	int status = command ? command->run(&config, argc - skip, argv + skip) : serve_web_server(&config);
	config_wipe(&config);
	return status;
}
