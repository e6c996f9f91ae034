/* common.c: what the command-line commands share: saying they failed, opening the database. */
#include "cli/cli.h"

#include <stdio.h>

#include "core/config.h"
#include "domain/audit.h"
#include "store/store.h"

const struct audit_actor cli_actor = { 0, "command line", "" };

int cli_fail(const char *message)
{
	fprintf(stderr, "keyward: %s\n", message);
	return CLI_FAILED;
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
			config->database_label);
	else if (status == STORE_BUSY)
		fprintf(stderr, "keyward: %s: the database stayed busy; try again in a moment\n", what);
	else
		fprintf(stderr, "keyward: %s; the message above says why\n", what);
	return CLI_FAILED;
}
