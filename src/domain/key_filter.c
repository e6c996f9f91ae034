/* key_filter.c: the key list's filters, from names and text to the store's terms. */
#include "domain/key_filter.h"

#include <string.h>

#include "core/text.h"
#include "domain/token.h"

bool key_filter_state(const char *name, enum store_key_filter_state *state)
{
	static const struct {
		const char *name;
		enum store_key_filter_state state;
	} states[] = {
		{ "", STORE_FILTER_ACTIVE },          { "active", STORE_FILTER_ACTIVE },
		{ "enabled", STORE_FILTER_ENABLED },  { "disabled", STORE_FILTER_DISABLED },
		{ "revoked", STORE_FILTER_REVOKED },  { "expiring", STORE_FILTER_EXPIRING },
		{ "expired", STORE_FILTER_EXPIRED },
	};
	for (size_t i = 0; i < sizeof states / sizeof states[0]; i++) {
		if (strcmp(name, states[i].name) == 0) {
			*state = states[i].state;
			return true;
		}
	}
	*state = STORE_FILTER_ACTIVE;
	return false;
}

void key_filter_text(struct arena *arena, const char *q, struct store_key_filter *filter)
{
	const char *folded = text_fold(arena, q);
	filter->text_folded = folded;
	filter->key_id_folded = utf8_length(folded, strlen(folded)) >= 4 ? folded : "";
	const char *hint = folded;
	if (strncmp(hint, "…", strlen("…")) == 0)
		hint += strlen("…");
	else
		hint += strspn(hint, ".");
	filter->hint_folded = strlen(hint) == TOKEN_HINT_LENGTH && utf8_length(hint, strlen(hint)) == TOKEN_HINT_LENGTH
				      ? hint
				      : "";
}
