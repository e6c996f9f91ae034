/* main.c: the keyward command: settings, serving (FastCGI spawned, standalone or CGI), and dispatch to src/cli/. */
#include <fcgiapp.h>
#include <getopt.h>
#include <sodium.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cli/cli.h"
#include "core/config.h"
#include "domain/accounts.h"
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
	{ "serve", "--listen ADDRESS [--threads N]\n[--gatekeeper ADDRESS [--gatekeeper-threads N]]",
	  "FastCGI server on HOST:PORT or a unix socket path;\n--gatekeeper: a second listener with threads of its\n"
	  "own that answers authorizer requests and /api/ only",
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
	{ "user disable", "--email EMAIL", "stop someone signing in; their sessions end at once", cli_user_disable },
	{ "user enable", "--email EMAIL", "let a disabled user sign in again", cli_user_enable },
	{ "user remove", "--email EMAIL",
	  "delete an account with its memberships and sessions\n(the audit log keeps the address)", cli_user_remove },
	{ "user reset-password", "--email EMAIL",
	  "a new password (read as for user add); their sessions\nend and their sign-in is unlocked",
	  cli_user_reset_password },
	{ "user unlock", "--email EMAIL",
	  "forget an account's failed sign-ins (and its browsers'),\nso sign-in is no longer slowed down or paused",
	  cli_user_unlock },
	{ "workspace create", "--name NAME --owner EMAIL", "a new workspace owned by an existing user",
	  cli_workspace_create },
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
	"  KEYWARD_PUBLIC_URL    the console's address as browsers use it, e.g. https://example.com/console\n"
	"  KEYWARD_TOKEN_PREFIX  prefix of new tokens (default kw_)\n"
	"  KEYWARD_CONFIG        the gatekeeper's rules file: lines \"workspace ID\" (whose keys it accepts;\n"
	"                        default 1) and \"require /path/prefix permission\"\n"
	"  KEYWARD_KEY_LIMIT     active keys a workspace may have (default 0: no limit)\n"
	"  KEYWARD_TRUST_REMOTE_USER  1: sign in the web server's REMOTE_USER (default 0)\n"
	"  KEYWARD_USAGE_RAW_DAYS     days each recorded decision is kept (default 30)\n"
	"  KEYWARD_USAGE_HOURLY_DAYS  days the hourly usage totals are kept (default 400)\n"
	"  KEYWARD_REFUSED_ALERT      refused calls of a key in an hour that warn (default 100)\n"
	"  KEYWARD_PASSWORD_CHECKS    Argon2id password checks at once, each 64 MiB (default:\n"
	"                             the number of CPUs; the others wait in line)\n"
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

/* A thread count from 1 to SERVER_THREADS_MAX, or false. */
static bool parse_threads(const char *text, int *threads)
{
	char *end = NULL;
	long value = strtol(text, &end, 10);
	if (end == text || *end != '\0' || value < 1 || value > SERVER_THREADS_MAX)
		return false;
	*threads = (int)value;
	return true;
}

/* Open each listener's socket; on failure say which and return false. */
static bool open_listeners(struct server_listener *listeners, size_t count)
{
	for (size_t i = 0; i < count; i++) {
		listeners[i].fd = server_listen(listeners[i].address);
		if (listeners[i].fd < 0) {
			fprintf(stderr, "keyward: cannot listen on %s\n", listeners[i].address);
			return false;
		}
	}
	return true;
}

static int command_serve(const struct config *config, int argc, char **argv)
{
	struct server_listener listeners[2] = {
		{ .threads = SERVER_THREADS_DEFAULT, .fd = -1, .serves = SERVER_SERVES_ALL },
		{ .threads = SERVER_THREADS_DEFAULT, .fd = -1, .serves = SERVER_SERVES_GATEKEEPER },
	};
	bool gatekeeper_threads = false;
	static const struct option options[] = {
		{ "listen", required_argument, NULL, 'l' },
		{ "threads", required_argument, NULL, 't' },
		{ "gatekeeper", required_argument, NULL, 'g' },
		{ "gatekeeper-threads", required_argument, NULL, 'G' },
		{ NULL, 0, NULL, 0 },
	};
	int option;
	optind = 1;
	opterr = 0;
	while ((option = getopt_long(argc, argv, ":l:t:g:G:", options, NULL)) != -1) {
		if (option == 'l') {
			listeners[0].address = optarg;
		} else if (option == 't') {
			if (!parse_threads(optarg, &listeners[0].threads))
				return cli_fail("--threads takes a number from 1 to 64");
		} else if (option == 'g') {
			listeners[1].address = optarg;
		} else if (option == 'G') {
			if (!parse_threads(optarg, &listeners[1].threads))
				return cli_fail("--gatekeeper-threads takes a number from 1 to 64");
			gatekeeper_threads = true;
		} else if (option == ':') {
			fprintf(stderr, "keyward: %s needs a value\n", argv[optind - 1]);
			return 1;
		} else {
			return cli_fail("usage: keyward serve --listen ADDRESS [--threads N] "
					"[--gatekeeper ADDRESS [--gatekeeper-threads N]]");
		}
	}
	if (optind < argc)
		return cli_fail("serve takes no arguments besides its options; keyward --help lists them");
	if (listeners[0].address == NULL || listeners[0].address[0] == '\0')
		return cli_fail("serve needs --listen HOST:PORT or --listen /path/to.sock");
	if (listeners[1].address != NULL && listeners[1].address[0] == '\0')
		return cli_fail("--gatekeeper needs HOST:PORT or /path/to.sock");
	if (gatekeeper_threads && listeners[1].address == NULL)
		return cli_fail("--gatekeeper-threads needs --gatekeeper ADDRESS");
	if (listeners[1].address != NULL && strcmp(listeners[0].address, listeners[1].address) == 0)
		return cli_fail("--listen and --gatekeeper need two different addresses");
	size_t count = listeners[1].address != NULL ? 2 : 1;
	struct store *check = cli_open_store(config); /* migrate once, before the workers start */
	if (check == NULL)
		return 1;
	store_close(check);
	struct view *view = load_view(config);
	if (view == NULL)
		return 1;
	if (!open_listeners(listeners, count)) {
		view_free(view);
		return 1;
	}
	fprintf(stderr, "keyward: serving FastCGI on %s with %d thread%s (at most %u password checks at once)\n",
		listeners[0].address, listeners[0].threads, listeners[0].threads == 1 ? "" : "s",
		account_password_concurrency(0));
	if (count == 2)
		fprintf(stderr, "keyward: serving the gatekeeper (authorizer requests and /api/) on %s with %d thread%s\n",
			listeners[1].address, listeners[1].threads, listeners[1].threads == 1 ? "" : "s");
	int status = server_run_fastcgi(config, view, listeners, count);
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
		struct server_listener spawned = { "the socket the web server passed (fd 0)", 0, 1, SERVER_SERVES_ALL };
		status = server_run_fastcgi(config, view, &spawned, 1);
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
