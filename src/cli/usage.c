/* usage.c: `keyward usage rollup`: bring the usage rollups up to date and apply retention now. */
#include "cli/cli.h"

#include <stdio.h>
#include <time.h>

#include "core/config.h"
#include "domain/insight.h"
#include "store/store.h"

int cli_usage_rollup(const struct config *config)
{
	struct store *store = cli_open_store(config);
	if (store == NULL)
		return 1;
	size_t rolled = 0, total = 0;
	enum store_status status;
	do {
		status = store_usage_rollup(store, INSIGHT_ROLLUP_CHUNK, &rolled);
		total += rolled;
	} while (status == STORE_OK && rolled == INSIGHT_ROLLUP_CHUNK);
	int64_t now = (int64_t)time(NULL);
	size_t deleted = 0, round = 0;
	while (status == STORE_OK) {
		status = store_usage_prune(store, now - config->usage_raw_days * 86400, now - config->usage_hourly_days * 86400,
					   INSIGHT_PRUNE_CHUNK, &round);
		deleted += round;
		if (round == 0)
			break;
	}
	if (status == STORE_OK)
		status = store_usage_set_pruned_at(store, now);
	store_close(store);
	if (status != STORE_OK)
		return cli_fail("could not roll the usage up; see the message above");
	fprintf(stderr, "keyward: %zu usage rows rolled up, %zu rows past retention deleted\n", total, deleted);
	return 0;
}
