/* common.c: what the command-line commands share: saying they failed, opening the database. */
#include "cli/cli.h"

#include <stdlib.h>

#include <getopt.h>

#include <stdio.h>

#include "core/config.h"
#include "core/text.h"
#include "store/store.h"

int cli_fail(const char *message)
{
	fprintf(stderr, "keyward: %s\n", message);
	return 1;
}

struct store *cli_open_store(const struct config *config)
{
	char error[512];
	struct store *store = store_open(config->database_path, error, sizeof error);
	if (store == NULL)
		cli_fail(error);
	return store;
}

int cli_store_fail(const struct config *config, enum store_status status, const char *what)
{
	if (status == STORE_DAMAGED)
		fprintf(stderr, "keyward: %s: database damaged: run PRAGMA integrity_check on %s\n", what,
			config->database_path);
	else if (status == STORE_BUSY)
		fprintf(stderr, "keyward: %s: the database stayed busy; try again in a moment\n", what);
	else
		fprintf(stderr, "keyward: %s; the message above says why\n", what);
	return 1;
}

bool cli_workspace_option(const char *text, long long *workspace_id)
{
	int64_t id = 0;
	if (!text_to_integer(text, 1, INT64_MAX, &id))
		return false;
	*workspace_id = id;
	return true;
}

bool cli_workspace_arguments(int argc, char **argv, long long *workspace_id)
{
	static const struct option options[] = { { "workspace", required_argument, NULL, 'w' }, { NULL, 0, NULL, 0 } };
	int option;
	optind = 1;
	while ((option = getopt_long(argc, argv, "w:", options, NULL)) != -1)
		if (option != 'w' || !cli_workspace_option(optarg, workspace_id))
			return false;
	return optind == argc;
}
