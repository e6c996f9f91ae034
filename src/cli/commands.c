/* commands.c: the command table, and everything made from it: finding a command, reading its arguments, its help. */
#include "cli/cli.h"

#include <getopt.h>
#include <stdlib.h>
#include <string.h>

#include "core/alloc.h"
#include "core/config.h"
#include "core/text.h"
#include "server/server.h"

#define END { NULL, CLI_FLAG, NULL, false, 0, 0, NULL }
#define WORKSPACE_OPTION                                                                                  \
	{ "workspace", CLI_NUMBER, "ID", false, 1, 999999999999999, "the workspace (default 1; IDs are in the " \
								      "console's addresses, /w/ID/...)" }
#define EMAIL_OPTION(what) { "email", CLI_TEXT, "EMAIL", true, 0, 0, what }

static const struct cli_option serve_options[] = {
	{ "listen", CLI_TEXT, "ADDRESS", true, 0, 0, "HOST:PORT or the path of a unix socket for the web server" },
	{ "threads", CLI_NUMBER, "N", false, 1, SERVER_THREADS_MAX, "worker threads (default 4)" },
	{ "gatekeeper", CLI_TEXT, "ADDRESS", false, 0, 0,
	  "a second listener, with threads of its own, for authorizer requests, nginx's gate and /api/ only" },
	{ "gatekeeper-threads", CLI_NUMBER, "N", false, 1, SERVER_THREADS_MAX, "its worker threads (default 4)" },
	{ "socket-mode", CLI_TEXT, "MODE", false, 0, 0,
	  "a unix socket's mode, octal, owner read and write (default 0660); removed at exit" },
	{ "socket-group", CLI_TEXT, "GROUP", false, 0, 0, "a unix socket's group (default: keyward's own)" },
	END,
};

static const struct cli_option backup_options[] = {
	{ "without-key", CLI_FLAG, NULL, false, 0, 0, "do not copy the server key to PATH.key" },
	END,
};

static const struct cli_option migrate_options[] = {
	{ "key-file", CLI_TEXT, "PATH", false, 0, 0,
	  "also write the server key there, for the nodes' KEYWARD_KEY_FILE (0640; never over another key)" },
	END,
};

static const struct cli_option key_create_options[] = {
	{ "name", CLI_TEXT, "NAME", true, 0, 0, "the key's name, 1 to 100 characters" },
	{ "role", CLI_TEXT, "ROLE", false, 0, 0, "its key role (default read-only)" },
	{ "cidr", CLI_LIST, "NETWORK[=LABEL]", false, 0, 0, "an allowed network, with an optional label; as many as needed" },
	{ "postback-url", CLI_TEXT, "URL", false, 0, 0, "where notifications about the key go" },
	{ "note", CLI_TEXT, "TEXT", false, 0, 0, "a note: where it is deployed, who looks after it (up to 1,000 characters)" },
	{ "off-record", CLI_FLAG, NULL, false, 0, 0, "record nothing of its requests but an hourly count" },
	{ "disabled", CLI_FLAG, NULL, false, 0, 0, "make it switched off" },
	{ "expires", CLI_TEXT, "WHEN", false, 0, 0,
	  "when it stops working, in UTC: \"2027-01-31 18:00\", 2027-01-31T18:00 or 2027-01-31 (its start)" },
	WORKSPACE_OPTION,
	END,
};

static const struct cli_option key_roll_options[] = {
	{ "key-id", CLI_TEXT, "ID", true, 0, 0, "the key, by its ID (key_...)" },
	{ "overlap", CLI_TEXT, "0|1h|24h|7d", false, 0, 0,
	  "how long the old secret keeps working beside the new one (default 0: it stops at once)" },
	WORKSPACE_OPTION,
	END,
};

static const struct cli_option key_options[] = {
	{ "key-id", CLI_TEXT, "ID", true, 0, 0, "the key, by its ID (key_...)" },
	WORKSPACE_OPTION,
	END,
};

static const struct cli_option key_edit_options[] = {
	{ "key-id", CLI_TEXT, "ID", true, 0, 0, "the key, by its ID (key_...)" },
	{ "name", CLI_TEXT, "NAME", false, 0, 0, "a new name, 1 to 100 characters" },
	{ "role", CLI_TEXT, "ROLE", false, 0, 0, "another key role" },
	{ "cidr", CLI_LIST, "NETWORK[=LABEL]", false, 0, 0,
	  "an allowed network, with an optional label; any --cidr replaces the whole list" },
	{ "no-cidrs", CLI_FLAG, NULL, false, 0, 0, "empty the list of networks: any address may use the key" },
	{ "postback-url", CLI_TEXT, "URL", false, 0, 0, "where notifications about the key go (\"\": nowhere)" },
	{ "off-record", CLI_FLAG, NULL, false, 0, 0, "record nothing of its requests but an hourly count" },
	{ "on-record", CLI_FLAG, NULL, false, 0, 0, "record its requests again" },
	{ "expires", CLI_TEXT, "WHEN", false, 0, 0, "when it stops working, in UTC, as for key create" },
	{ "no-expiry", CLI_FLAG, NULL, false, 0, 0, "it never expires" },
	{ "note", CLI_TEXT, "TEXT", false, 0, 0, "a new note, up to 1,000 characters (\"\": none)" },
	{ "allowlist", CLI_TEXT, "on|off", false, 0, 0,
	  "off: any address may use the key, its networks kept; on: they apply again" },
	WORKSPACE_OPTION,
	END,
};

static const struct cli_option workspace_options[] = { WORKSPACE_OPTION, END };

static const struct cli_option user_add_options[] = {
	EMAIL_OPTION("the person's e-mail address, with which they sign in"),
	{ "name", CLI_TEXT, "NAME", false, 0, 0, "their name, up to 100 characters" },
	{ "role", CLI_TEXT, "ROLE", false, 0, 0, "owner, admin, developer or viewer (default viewer)" },
	{ "owner", CLI_FLAG, NULL, false, 0, 0, "the same as --role owner" },
	WORKSPACE_OPTION,
	END,
};

static const struct cli_option person_options[] = { EMAIL_OPTION("the person's e-mail address"), END };

static const struct cli_option workspace_create_options[] = {
	{ "name", CLI_TEXT, "NAME", true, 0, 0, "its name, 1 to 100 characters" },
	{ "owner", CLI_TEXT, "EMAIL", true, 0, 0, "the existing user who owns it" },
	END,
};

static const struct cli_option setup_link_options[] = {
	{ "url", CLI_TEXT, "http://HOST:PORT", false, 0, 0, "where the console is reached, to print a whole link" },
	END,
};

static const struct cli_command commands[] = {
	{ .name = "serve", .options = serve_options, .check = cli_serve_check, .run = cli_serve,
	  .help = "serve FastCGI to a web server (Apache, nginx, lighttpd's socket)" },
	{ .name = "init", .run = cli_init, .creates = true,
	  .help = "create the database and its server key, or check and upgrade them" },
	{ .name = "backup", .operand = "PATH", .options = backup_options, .run = cli_backup,
	  .help = "a consistent copy of the database (and its key), even under load" },
	{ .name = "migrate-to", .operand = "TARGET", .options = migrate_options, .check = cli_migrate_to_check,
	  .run = cli_migrate_to,
	  .help = "copy this SQLite database into an empty PostgreSQL database TARGET, all or nothing" },
	{ .name = "key create", .options = key_create_options, .run = cli_key_create,
	  .help = "make a key and print its secret, once" },
	{ .name = "key roll", .options = key_roll_options, .run = cli_key_roll,
	  .help = "give a key a new secret and print it, once; the old one may keep working a while" },
	{ .name = "key list", .options = workspace_options, .run = cli_key_list, .help = "list a workspace's active keys" },
	{ .name = "key show", .options = key_options, .run = cli_key_show,
	  .help = "a key's settings, state and history (never its secret)" },
	{ .name = "key edit", .options = key_edit_options, .check = cli_key_edit_check, .run = cli_key_edit,
	  .help = "change a key's settings as the console's edit form does; only the options given change" },
	{ .name = "key disable", .options = key_options, .run = cli_key_disable,
	  .help = "switch a key off; it can be enabled again" },
	{ .name = "key enable", .options = key_options, .run = cli_key_enable, .help = "switch a disabled key on again" },
	{ .name = "key revoke", .options = key_options, .run = cli_key_revoke,
	  .help = "end a key for good (no confirmation is asked)" },
	{ .name = "user add", .options = user_add_options, .check = cli_user_add_check, .run = cli_user_add,
	  .help = "make a console user (the password is read from standard input)" },
	{ .name = "user list", .options = workspace_options, .run = cli_user_list,
	  .help = "a workspace's members and their roles" },
	{ .name = "user disable", .options = person_options, .run = cli_user_disable,
	  .help = "stop someone signing in; their sessions end at once" },
	{ .name = "user enable", .options = person_options, .run = cli_user_enable,
	  .help = "let a disabled user sign in again" },
	{ .name = "user remove", .options = person_options, .run = cli_user_remove,
	  .help = "delete an account, its memberships and sessions" },
	{ .name = "user reset-password", .options = person_options, .run = cli_user_reset_password,
	  .help = "give someone a new password; their sessions end" },
	{ .name = "user unlock", .options = person_options, .run = cli_user_unlock,
	  .help = "forget an account's failed sign-ins" },
	{ .name = "workspace create", .options = workspace_create_options, .run = cli_workspace_create,
	  .help = "a new workspace owned by an existing user" },
	{ .name = "usage rollup", .run = cli_usage_rollup,
	  .help = "roll usage up and apply retention now (servers do it themselves)" },
	{ .name = "setup-link", .options = setup_link_options, .run = cli_setup_link,
	  .help = "while no user exists: a one-time link that makes the first owner" },
};

#define COMMAND_COUNT (sizeof commands / sizeof commands[0])

const struct cli_command *cli_find(int argc, char **argv, int *used)
{
	for (size_t i = 0; argc > 0 && i < COMMAND_COUNT; i++) {
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

static size_t option_count(const struct cli_command *command)
{
	size_t count = 0;
	while (command->options != NULL && command->options[count].name != NULL)
		count++;
	return count;
}

/*
 * The synopsis, "keyward key create --name NAME [--role ROLE] ...", from column
 * `column` on, its lines wrapped before 100 columns and indented under the first option.
 */
static void print_synopsis(FILE *out, const struct cli_command *command, int column)
{
	enum { WIDTH = 100 };
	int indent = column + fprintf(out, "keyward %s", command->name);
	column = indent;
	if (command->operand != NULL)
		column += fprintf(out, " %s", command->operand);
	for (size_t i = 0; i < option_count(command); i++) {
		const struct cli_option *option = &command->options[i];
		char word[96];
		int length = snprintf(word, sizeof word, "%s--%s%s%s%s%s", option->required ? "" : "[", option->name,
				      option->value ? " " : "", option->value ? option->value : "",
				      option->required ? "" : "]", option->kind == CLI_LIST ? "..." : "");
		if (column + 1 + length > WIDTH)
			column = fprintf(out, "\n%*s", indent, "") - 1;
		column += fprintf(out, " %s", word);
	}
}

int cli_usage(const struct cli_args *args, const char *message)
{
	fprintf(stderr, "keyward: %s: %s\nusage: ", args->command->name, message);
	print_synopsis(stderr, args->command, 7);
	fprintf(stderr, "\n(keyward help %s says more)\n", args->command->name);
	return CLI_USAGE;
}

void cli_args_free(struct cli_args *args)
{
	for (size_t i = 0; i < CLI_OPTIONS_MAX; i++)
		free(args->list[i]);
	memset(args, 0, sizeof *args);
}

/* Note option `index`'s value `text`; CLI_OK or CLI_USAGE after saying why. */
static int take_value(struct cli_args *args, size_t index, const char *text, int argc)
{
	const struct cli_option *option = &args->command->options[index];
	if (option->kind == CLI_LIST) {
		if (args->list[index] == NULL)
			args->list[index] = xcalloc((size_t)argc + 1, sizeof *args->list[index]);
		args->list[index][args->list_count[index]++] = text;
		args->given[index] = true;
		return CLI_OK;
	}
	if (args->given[index]) {
		char message[128];
		snprintf(message, sizeof message, "--%s is given twice", option->name);
		return cli_usage(args, message);
	}
	args->given[index] = true;
	args->text[index] = text;
	if (option->kind == CLI_NUMBER && !text_to_integer(text, option->min, option->max, &args->number[index])) {
		char message[160];
		snprintf(message, sizeof message, "--%s takes a whole number from %lld to %lld (got \"%s\")", option->name,
			 (long long)option->min, (long long)option->max, text);
		return cli_usage(args, message);
	}
	return CLI_OK;
}

int cli_parse(const struct cli_command *command, int argc, char **argv, struct cli_args *args)
{
	memset(args, 0, sizeof *args);
	args->command = command;
	size_t count = option_count(command);
	struct option long_options[CLI_OPTIONS_MAX + 2];
	for (size_t i = 0; i < count; i++)
		long_options[i] = (struct option){ command->options[i].name,
						   command->options[i].kind == CLI_FLAG ? no_argument : required_argument,
						   NULL, (int)i + 1 };
	long_options[count] = (struct option){ "help", no_argument, NULL, 'h' };
	long_options[count + 1] = (struct option){ NULL, 0, NULL, 0 };
	optind = 1;
	opterr = 0;
	int found;
	int longest = 0;
	/* Options may come before or after the operand (GNU getopt puts the operand last). */
	while ((found = getopt_long(argc, argv, ":h", long_options, &longest)) != -1) {
		if (found == 'h') {
			cli_print_command_help(stdout, command);
			return -1;
		}
		if (found == ':') {
			char message[160];
			snprintf(message, sizeof message, "%s needs a value", argv[optind - 1]);
			return cli_usage(args, message);
		}
		if (found == '?') {
			char message[160];
			snprintf(message, sizeof message, "unknown option %s", argv[optind - 1]);
			return cli_usage(args, message);
		}
		size_t index = (size_t)found - 1;
		if (command->options[index].kind == CLI_FLAG) {
			if (args->given[index])
				return cli_usage(args, "an option is given twice");
			args->given[index] = true;
		} else if (take_value(args, index, optarg, argc) != CLI_OK) {
			return CLI_USAGE;
		}
	}
	if (optind < argc && command->operand != NULL)
		args->operand = argv[optind++];
	if (optind < argc) {
		char message[160];
		snprintf(message, sizeof message, "unexpected \"%s\"", argv[optind]);
		return cli_usage(args, message);
	}
	if (command->operand != NULL && (args->operand == NULL || args->operand[0] == '\0')) {
		char message[64];
		snprintf(message, sizeof message, "%s is needed", command->operand);
		return cli_usage(args, message);
	}
	for (size_t i = 0; i < count; i++)
		if (command->options[i].required && !args->given[i]) {
			char message[96];
			snprintf(message, sizeof message, "--%s is needed", command->options[i].name);
			return cli_usage(args, message);
		}
	return command->check != NULL ? command->check(args) : CLI_OK;
}

/* The index of option `name` of the parsed command; aborts on a name it does not have (a bug). */
static size_t option_index(const struct cli_args *args, const char *name)
{
	for (size_t i = 0; i < option_count(args->command); i++)
		if (strcmp(args->command->options[i].name, name) == 0)
			return i;
	fprintf(stderr, "keyward: %s has no option --%s\n", args->command->name, name);
	abort();
}

const char *cli_text(const struct cli_args *args, const char *name)
{
	return args->text[option_index(args, name)];
}

bool cli_flag(const struct cli_args *args, const char *name)
{
	return args->given[option_index(args, name)];
}

int64_t cli_number(const struct cli_args *args, const char *name, int64_t fallback)
{
	size_t index = option_index(args, name);
	return args->given[index] ? args->number[index] : fallback;
}

const char *const *cli_list(const struct cli_args *args, const char *name, size_t *count)
{
	size_t index = option_index(args, name);
	*count = args->list_count[index];
	return args->list[index];
}

static const char help_head[] =
	"usage: keyward [--db PATH] COMMAND [OPTIONS]\n"
	"       keyward help [COMMAND]\n"
	"\n"
	"With no command, keyward serves the request(s) a web server hands it: FastCGI when its\n"
	"standard input is a listening socket (lighttpd bin-path, mod_fcgid), CGI otherwise.\n"
	"\n"
	"commands:\n";

static const char help_tail[] =
	"                 is PATH.key or $KEYWARD_KEY_FILE; only init creates them\n"
	"  -h, --help     this text (COMMAND --help: that command's)\n"
	"  -V, --version  the version\n"
	"\n"
	"exit status: 0 done; 1 refused or failed (the reason on standard error); 2 the command line was wrong\n"
	"\n"
	"environment:\n"
	"  KEYWARD_DB            database: an SQLite file, or a PostgreSQL URI (postgresql://...)\n"
	"  KEYWARD_KEY_FILE      the server key (default: PATH.key beside an SQLite file;\n"
	"                        with PostgreSQL, STATEDIR/keyward.key; every node needs the same one)\n"
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
	"  KEYWARD_STALE_SECONDS      while the database is away, keys checked this recently keep\n"
	"                             their answers (default 30; 0: 503 at once)\n"
	"  KEYWARD_USAGE_BUFFER       decisions a process holds for the database at most\n"
	"                             (default 65536); past it new ones are dropped and counted\n"
	"  KEYWARD_PASSWORD_CHECKS    Argon2id password checks at once, each 64 MiB (default:\n"
	"                             the number of CPUs; the others wait in line)\n"
	"\n"
	"See keyward(8) and the README.\n";

void cli_print_help(FILE *out)
{
	fputs(help_head, out);
	for (size_t i = 0; i < COMMAND_COUNT; i++)
		fprintf(out, "  %-22s %s\n", commands[i].name, commands[i].help);
	fputs("\nkeyward help COMMAND shows a command's options.\n", out);
	fprintf(out, "\noptions:\n  --db PATH|URI  database (default $KEYWARD_DB or %s); the server key\n",
		config_default_database());
	fputs(help_tail, out);
}

void cli_print_command_help(FILE *out, const struct cli_command *command)
{
	fputs("usage: ", out);
	print_synopsis(out, command, 7);
	fprintf(out, "\n\n%s.\n", command->help);
	size_t count = option_count(command);
	if (count > 0)
		fputs("\noptions:\n", out);
	for (size_t i = 0; i < count; i++) {
		const struct cli_option *option = &command->options[i];
		char left[64];
		snprintf(left, sizeof left, "--%s%s%s", option->name, option->value ? " " : "",
			 option->value ? option->value : "");
		fprintf(out, "  %-26s %s%s\n", left, option->help, option->required ? " (needed)" : "");
	}
}
