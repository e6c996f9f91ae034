/* usage.c: `keyward usage rollup`: bring the usage rollups up to date and apply retention now. */
#include "cli/cli.h"

#include <stdint.h>
#include <stdio.h>
#include <time.h>

#include "core/config.h"
#include "domain/insight.h"
#include "store/store.h"

int cli_usage_rollup(const struct config *config, const struct cli_args *args)
{
	(void)args;
	struct store *store = cli_open_store(config);
	if (store == NULL)
		return CLI_FAILED;
	/* One round without a limit on chunks: it rolls everything up and prunes until nothing is left. */
	struct insight_upkeep upkeep = { 0 };
	bool ok = insight_maintain(store, config, (int64_t)time(NULL), INSIGHT_ROLLUP_CHUNK_LARGE, SIZE_MAX, true, &upkeep);
	store_close(store);
	if (!ok)
		return cli_fail("could not roll the usage up; see the message above");
	fprintf(stderr, "keyward: %zu usage rows rolled up, %zu rows past retention deleted\n", upkeep.rolled,
		upkeep.deleted);
	return CLI_OK;
}
