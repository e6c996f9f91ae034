/* common.c: what the command-line commands share: saying they failed, opening the database. */
#include "cli/cli.h"

#include <stdio.h>

#include "core/config.h"
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
