/* store_keys.c: typed access to roles, API keys, their CIDRs and pending secret reveals. */
#include "store/store_private.h"

#include <stdlib.h>
#include <string.h>

#include "core/alloc.h"
#include "core/text.h"

static void read_role(struct arena *arena, struct store_query *statement, struct store_role *role)
{
	role->id = store_column_int(statement, 0);
	role->name = store_column_text(arena, statement, 1);
	role->description = store_column_text(arena, statement, 2);
	role->permissions = store_column_text(arena, statement, 3);
}

enum store_status store_role_list(struct store *store, struct arena *arena, int64_t workspace_id,
				  struct store_role **roles, size_t *count)
{
	struct store_query *statement = store_query(store, STMT_ROLE_LIST);
	store_bind_int(statement, 1, workspace_id);
	size_t capacity = 8, used = 0;
	struct store_role *list = arena_alloc(arena, capacity * sizeof *list);
	int code;
	while ((code = store_step(store, STMT_ROLE_LIST)) == STORE_ROW) {
		if (used == capacity) {
			struct store_role *grown = arena_alloc(arena, 2 * capacity * sizeof *grown);
			memcpy(grown, list, used * sizeof *list);
			list = grown;
			capacity *= 2;
		}
		read_role(arena, statement, &list[used++]);
	}
	store_query_reset(statement);
	*roles = list;
	*count = used;
	return store_status_from(code);
}

static enum store_status role_get_one(struct store *store, enum store_statement which, struct arena *arena,
				      struct store_role *role)
{
	int code = store_step(store, which);
	if (code == STORE_ROW)
		read_role(arena, &store->queries[which], role);
	store_query_reset(&store->queries[which]);
	return code == STORE_ROW ? STORE_OK : code == STORE_DONE ? STORE_NOT_FOUND : store_status_from(code);
}

enum store_status store_role_get(struct store *store, struct arena *arena, int64_t workspace_id, int64_t role_id,
				 struct store_role *role)
{
	struct store_query *statement = store_query(store, STMT_ROLE_GET);
	store_bind_int(statement, 1, workspace_id);
	store_bind_int(statement, 2, role_id);
	return role_get_one(store, STMT_ROLE_GET, arena, role);
}

enum store_status store_role_find_by_name(struct store *store, struct arena *arena, int64_t workspace_id,
					  const char *name, struct store_role *role)
{
	struct store_query *statement = store_query(store, STMT_ROLE_FIND_BY_NAME);
	store_bind_int(statement, 1, workspace_id);
	store_bind_text(statement, 2, name);
	return role_get_one(store, STMT_ROLE_FIND_BY_NAME, arena, role);
}

/* Bind the editable fields at ?first.. in the order name, folded, url, off_record, enabled, role (notes apart). */
static void bind_fields(struct store_query *statement, int first, const struct store_key_fields *fields)
{
	store_bind_text(statement, first, fields->name);
	store_bind_text(statement, first + 1, fields->name_folded);
	store_bind_text(statement, first + 2, fields->postback_url);
	store_bind_int(statement, first + 3, fields->off_record);
	store_bind_int(statement, first + 4, fields->enabled);
	store_bind_int(statement, first + 5, fields->role_id);
}

static enum store_status insert_cidrs(struct store *store, int64_t workspace_id, int64_t row_id,
				      const struct store_key_fields *fields)
{
	for (size_t i = 0; i < fields->cidr_count; i++) {
		struct store_query *statement = store_query(store, STMT_CIDR_INSERT);
		store_bind_int(statement, 1, workspace_id);
		store_bind_int(statement, 2, row_id);
		store_bind_int(statement, 3, (int64_t)i);
		store_bind_text(statement, 4, fields->cidrs[i].cidr);
		store_bind_text(statement, 5, fields->cidrs[i].label);
		enum store_status status = store_run(store, STMT_CIDR_INSERT);
		if (status != STORE_OK)
			return status;
	}
	return STORE_OK;
}

enum store_status store_key_insert(struct store *store, int64_t workspace_id, const char *key_id,
				   const unsigned char *secret_hash, size_t hash_length, const char *secret_hint,
				   const struct store_key_fields *fields, const char *created_by, int64_t now,
				   int64_t default_limit, int64_t *row_id)
{
	enum store_status status = store_transaction_begin(store);
	if (status != STORE_OK)
		return status;
	int64_t limit = 0, active = 0;
	struct store_query *lock = store_query(store, STMT_WORKSPACE_LOCK);
	store_bind_int(lock, 1, workspace_id);
	status = store_run(store, STMT_WORKSPACE_LOCK);
	if (status == STORE_OK)
		status = store_key_active_limit(store, workspace_id, default_limit, &limit, &active);
	if (status == STORE_OK && limit > 0 && active >= limit)
		status = STORE_LIMIT;
	if (status != STORE_OK) {
		store_transaction_rollback(store);
		return status;
	}
	struct store_query *statement = store_query(store, STMT_KEY_INSERT);
	store_bind_int(statement, 1, workspace_id);
	store_bind_text(statement, 2, key_id);
	store_bind_text(statement, 3, fields->name);
	store_bind_text(statement, 4, fields->name_folded);
	store_bind_blob(statement, 5, secret_hash, hash_length);
	store_bind_text(statement, 6, secret_hint);
	store_bind_text(statement, 7, fields->postback_url);
	store_bind_int(statement, 8, fields->off_record);
	store_bind_int(statement, 9, fields->enabled);
	store_bind_int(statement, 10, fields->role_id);
	store_bind_int(statement, 11, now);
	store_bind_int(statement, 12, fields->expires_at);
	store_bind_text(statement, 13, fields->note ? fields->note : "");
	store_bind_text(statement, 14, fields->note_folded ? fields->note_folded : "");
	store_bind_text(statement, 15, created_by);
	status = store_run(store, STMT_KEY_INSERT);
	if (status == STORE_OK) {
		*row_id = store_last_insert_id(store);
		status = insert_cidrs(store, workspace_id, *row_id, fields);
	}
	if (status != STORE_OK) {
		store_transaction_rollback(store);
		return status;
	}
	return store_transaction_commit(store);
}

enum store_status store_key_active_limit(struct store *store, int64_t workspace_id, int64_t default_limit,
					 int64_t *limit, int64_t *active)
{
	struct store_query *statement = store_query(store, STMT_KEY_ACTIVE_LIMIT);
	store_bind_int(statement, 1, workspace_id);
	store_bind_int(statement, 2, default_limit);
	int code = store_step(store, STMT_KEY_ACTIVE_LIMIT);
	if (code == STORE_ROW) {
		*limit = store_column_int(statement, 0);
		*active = store_column_int(statement, 1);
	}
	store_query_reset(statement);
	if (code == STORE_ROW)
		return STORE_OK;
	return code == STORE_DONE ? STORE_NOT_FOUND : store_status_from(code);
}

enum store_status store_key_update(struct store *store, int64_t workspace_id, const char *key_id,
				   const struct store_key_fields *fields, int64_t now)
{
	enum store_status status = store_transaction_begin(store);
	if (status != STORE_OK)
		return status;
	struct store_query *statement = store_query(store, STMT_KEY_UPDATE);
	store_bind_int(statement, 1, workspace_id);
	store_bind_text(statement, 2, key_id);
	bind_fields(statement, 3, fields);
	store_bind_int(statement, 9, now);
	store_bind_int(statement, 10, fields->expires_at);
	store_bind_text(statement, 11, fields->note ? fields->note : "");
	store_bind_text(statement, 12, fields->note_folded ? fields->note_folded : "");
	int code = store_step(store, STMT_KEY_UPDATE);
	int64_t row_id = code == STORE_ROW ? store_column_int(statement, 0) : 0;
	if (code == STORE_ROW)
		code = store_step(store, STMT_KEY_UPDATE); /* RETURNING: finish the statement */
	store_query_reset(statement);
	status = row_id == 0 && code == STORE_DONE ? STORE_NOT_FOUND : store_status_from(code);
	if (status == STORE_OK) {
		statement = store_query(store, STMT_CIDR_DELETE_FOR_KEY);
		store_bind_int(statement, 1, workspace_id);
		store_bind_int(statement, 2, row_id);
		status = store_run(store, STMT_CIDR_DELETE_FOR_KEY);
	}
	if (status == STORE_OK)
		status = insert_cidrs(store, workspace_id, row_id, fields);
	if (status != STORE_OK) {
		store_transaction_rollback(store);
		return status;
	}
	return store_transaction_commit(store);
}

static void read_key(struct arena *arena, struct store_query *statement, struct store_key *key)
{
	memset(key, 0, sizeof *key);
	key->id = store_column_int(statement, 0);
	key->workspace_id = store_column_int(statement, 1);
	key->key_id = store_column_text(arena, statement, 2);
	key->name = store_column_text(arena, statement, 3);
	key->secret_hint = store_column_text(arena, statement, 4);
	key->postback_url = store_column_text(arena, statement, 5);
	key->off_record = store_column_int(statement, 6) != 0;
	key->enabled = store_column_int(statement, 7) != 0;
	key->role_id = store_column_int(statement, 8);
	key->role_name = store_column_text(arena, statement, 9);
	key->created_at = store_column_int(statement, 10);
	key->updated_at = store_column_int(statement, 11);
	key->last_used_at = store_column_int(statement, 12);
	key->revoked_at = store_column_int(statement, 13);
	key->expires_at = store_column_int(statement, 14);
	key->previous_secret_hint = store_column_text(arena, statement, 15);
	key->previous_secret_until = store_column_int(statement, 16);
	key->note = store_column_text(arena, statement, 17);
	key->created_by = store_column_text(arena, statement, 18);
	key->allowlist_enabled = store_column_int(statement, 19) != 0;
}

static enum store_status read_cidrs(struct store *store, struct arena *arena, struct store_key *key)
{
	struct store_query *statement = store_query(store, STMT_CIDR_LIST_FOR_KEY);
	store_bind_int(statement, 1, key->workspace_id);
	store_bind_int(statement, 2, key->id);
	size_t capacity = 4;
	key->cidrs = arena_alloc(arena, capacity * sizeof *key->cidrs);
	int code;
	while ((code = store_step(store, STMT_CIDR_LIST_FOR_KEY)) == STORE_ROW) {
		if (key->cidr_count == capacity) {
			struct store_cidr *grown = arena_alloc(arena, 2 * capacity * sizeof *grown);
			memcpy(grown, key->cidrs, key->cidr_count * sizeof *grown);
			key->cidrs = grown;
			capacity *= 2;
		}
		key->cidrs[key->cidr_count].cidr = store_column_text(arena, statement, 0);
		key->cidrs[key->cidr_count].label = store_column_text(arena, statement, 1);
		key->cidr_count++;
	}
	store_query_reset(statement);
	return store_status_from(code);
}

enum store_status store_key_get(struct store *store, struct arena *arena, int64_t workspace_id, const char *key_id,
				struct store_key *key)
{
	struct store_query *statement = store_query(store, STMT_KEY_GET);
	store_bind_int(statement, 1, workspace_id);
	store_bind_text(statement, 2, key_id);
	int code = store_step(store, STMT_KEY_GET);
	if (code == STORE_ROW)
		read_key(arena, statement, key);
	store_query_reset(statement);
	if (code != STORE_ROW)
		return code == STORE_DONE ? STORE_NOT_FOUND : store_status_from(code);
	return read_cidrs(store, arena, key);
}

/* The text a trigram index can look up: 3 characters or more, UTF-8 (so that both sides cut it alike). */
static bool searchable(const char *text)
{
	size_t length = strlen(text);
	return utf8_valid(text, length) && utf8_length(text, length) >= 3;
}

/* A part of the filter's text: "" when not given. */
static const char *text_or_empty(const char *text)
{
	return text != NULL ? text : "";
}

/*
 * A search asks the trigram index for part of its text: the index answers a phrase by walking the
 * list of every key that holds each of its trigrams, and a trigram most keys hold ("key", the words
 * of a naming scheme) makes a long walk that rules out nothing (100,000 keys named "bench key
 * 012345": 14 such walks for one name). So it asks for the SEARCH_WINDOW trigrams in a row that
 * the fewest of the workspace's newest and oldest keys would hold (SEARCH_SAMPLE of each, in any
 * value the index holds: name, note, key ID, last 4), and the statement checks each key found
 * against the whole text: the keys listed are the same whatever part was asked. A guess from a
 * sample can be wrong (a word that only the keys between hold): then more keys are checked.
 */
#define SEARCH_SAMPLE 64 /* keys at each end of the workspace */
#define SEARCH_VALUES 4 /* a key's values in the sample (STMT_KEY_SEARCH_SAMPLE) */
#define SEARCH_WINDOW 4 /* trigrams: 6 characters */

/* A trigram of the text and how many sampled keys hold it. */
struct trigram {
	const char *at;
	size_t length; /* bytes */
	size_t first;  /* the first trigram of the text with these bytes: counts are kept there */
	size_t keys;
	size_t last_key; /* 1 + the sampled key that last counted it */
};

static uint32_t trigram_hash(const char *at, size_t length)
{
	uint32_t hash = 2166136261u; /* FNV-1a */
	for (size_t i = 0; i < length; i++)
		hash = (hash ^ (unsigned char)at[i]) * 16777619u;
	return hash;
}

/* Count, in trigrams[].keys, the sampled key `key` once for each trigram of the text that `value` holds. */
static void count_trigrams(const char *value, size_t key, struct trigram *trigrams, const size_t *slots,
			   size_t slot_count)
{
	size_t length = strlen(value);
	for (size_t at = 0; at < length; at++) {
		if (((unsigned char)value[at] & 0xc0) == 0x80)
			continue;
		size_t end = at, characters = 0;
		while (characters < 3 && end < length) {
			end++;
			while (end < length && ((unsigned char)value[end] & 0xc0) == 0x80)
				end++;
			characters++;
		}
		if (characters < 3)
			return;
		for (size_t slot = trigram_hash(value + at, end - at) & (slot_count - 1); slots[slot] != 0;
		     slot = (slot + 1) & (slot_count - 1)) {
			struct trigram *known = &trigrams[slots[slot] - 1];
			if (known->length == end - at && memcmp(known->at, value + at, end - at) == 0) {
				if (known->last_key != key + 1) {
					known->last_key = key + 1;
					known->keys++;
				}
				break;
			}
		}
	}
}

/*
 * The part of `text` (UTF-8, 3 characters or more) a search asks the index for: its SEARCH_WINDOW
 * consecutive trigrams that the fewest sampled keys (values[count], SEARCH_VALUES a key) would
 * hold, the later of equals; the whole text when it is that short. In `arena`.
 */
static const char *search_window(struct arena *arena, const char *text, const char *const *values, size_t count)
{
	size_t length = strlen(text);
	size_t *starts = arena_alloc(arena, (length + 1) * sizeof *starts);
	size_t characters = 0;
	for (size_t at = 0; at < length; at++)
		if (((unsigned char)text[at] & 0xc0) != 0x80)
			starts[characters++] = at;
	starts[characters] = length;
	if (characters < SEARCH_WINDOW + 3 || count == 0)
		return text;
	size_t trigram_count = characters - 2;
	struct trigram *trigrams = arena_alloc(arena, trigram_count * sizeof *trigrams);
	size_t slot_count = 16;
	while (slot_count < 2 * trigram_count)
		slot_count *= 2;
	size_t *slots = arena_alloc(arena, slot_count * sizeof *slots); /* 1 + a trigram, 0: empty */
	memset(slots, 0, slot_count * sizeof *slots);
	for (size_t i = 0; i < trigram_count; i++) {
		struct trigram *trigram = &trigrams[i];
		trigram->at = text + starts[i];
		trigram->length = starts[i + 3] - starts[i];
		trigram->first = i;
		trigram->keys = 0;
		trigram->last_key = 0;
		size_t slot = trigram_hash(trigram->at, trigram->length) & (slot_count - 1);
		for (; slots[slot] != 0; slot = (slot + 1) & (slot_count - 1)) {
			const struct trigram *known = &trigrams[slots[slot] - 1];
			if (known->length == trigram->length && memcmp(known->at, trigram->at, trigram->length) == 0)
				break;
		}
		if (slots[slot] != 0)
			trigram->first = slots[slot] - 1;
		else
			slots[slot] = i + 1;
	}
	for (size_t value = 0; value < count; value++)
		count_trigrams(values[value], value / SEARCH_VALUES, trigrams, slots, slot_count);
	/*
	 * A window's share of the keys, guessed as if its trigrams came independently: the product of
	 * (keys holding it + 1) / (keys sampled + 1) over its different trigrams ("000000" is one,
	 * and no rarer for being four). Kept as the product of the numerators and their number, and
	 * compared crosswise: a / s^k < b / s^j when a * s^j < b * s^k (at most 129^8: 64 bits hold it).
	 */
	uint64_t sampled = count / SEARCH_VALUES + 1;
	uint64_t powers[SEARCH_WINDOW + 1] = { 1 };
	for (size_t i = 1; i <= SEARCH_WINDOW; i++)
		powers[i] = powers[i - 1] * sampled;
	size_t best = 0, best_terms = 0;
	uint64_t best_product = 0;
	for (size_t start = 0; start + SEARCH_WINDOW <= trigram_count; start++) {
		uint64_t product = 1;
		size_t terms = 0;
		for (size_t i = start; i < start + SEARCH_WINDOW; i++) {
			size_t first = trigrams[i].first;
			bool repeated = false;
			for (size_t j = start; j < i && !repeated; j++)
				repeated = trigrams[j].first == first;
			if (!repeated) {
				product *= (uint64_t)trigrams[first].keys + 1;
				terms++;
			}
		}
		if (best_terms == 0 || product * powers[best_terms] <= best_product * powers[terms]) {
			best = start;
			best_terms = terms;
			best_product = product;
		}
	}
	return arena_strndup(arena, text + starts[best], starts[best + SEARCH_WINDOW + 2] - starts[best]);
}

/*
 * What a search of workspace `workspace_id` asks the index for (search_window()): *text_part of
 * `text`, and *key_part of `key_id` ("" when the text's part finds the keys it would: it is the text).
 */
static enum store_status search_parts(struct store *store, struct arena *arena, int64_t workspace_id,
				      const char *text, const char *key_id, const char **text_part,
				      const char **key_part)
{
	*text_part = text;
	*key_part = strcmp(key_id, text) == 0 ? "" : key_id;
	if (utf8_length(text, strlen(text)) < SEARCH_WINDOW + 3 &&
	    utf8_length(*key_part, strlen(*key_part)) < SEARCH_WINDOW + 3)
		return STORE_OK; /* too short to cut */
	struct store_query *statement = store_query(store, STMT_KEY_SEARCH_SAMPLE);
	store_bind_int(statement, 1, workspace_id);
	store_bind_int(statement, 2, SEARCH_SAMPLE);
	const char **values = arena_alloc(arena, 2 * SEARCH_VALUES * SEARCH_SAMPLE * sizeof *values);
	size_t count = 0;
	int code = STORE_DONE;
	while (count < 2 * SEARCH_VALUES * SEARCH_SAMPLE &&
	       (code = store_step(store, STMT_KEY_SEARCH_SAMPLE)) == STORE_ROW)
		for (int column = 0; column < SEARCH_VALUES; column++)
			values[count++] = store_column_text(arena, statement, column);
	store_query_reset(statement);
	if (code != STORE_ROW && code != STORE_DONE)
		return store_status_from(code);
	*text_part = search_window(arena, text, values, count);
	if ((*key_part)[0] != '\0')
		*key_part = search_window(arena, key_id, values, count);
	return STORE_OK;
}

/*
 * The list statement for `filter` (newest first; +1 is its oldest-first twin). A text the trigram
 * index can take (and its key ID part and last 4, when given) goes to the search; shorter text is
 * checked on each row of the state's or the role's list, which a page stops reading once it is
 * full: a text of 1 or 2 characters is held by most keys, so that costs about a page, and only a
 * rare one reads further (as far as the workspace's keys in that state, at worst).
 */
static enum store_statement list_statement(const struct store_key_filter *filter)
{
	const char *text = text_or_empty(filter->text_folded);
	const char *key_id = text_or_empty(filter->key_id_folded);
	const char *hint = text_or_empty(filter->hint_folded);
	if (text[0] != '\0' && searchable(text) && (key_id[0] == '\0' || searchable(key_id)) &&
	    (hint[0] == '\0' || searchable(hint)))
		return STMT_KEY_LIST_SEARCH;
	if (filter->role_id != 0)
		return STMT_KEY_LIST_ROLE;
	switch (filter->state) {
	case STORE_FILTER_ACTIVE:
		break;
	case STORE_FILTER_ENABLED:
		return STMT_KEY_LIST_ENABLED;
	case STORE_FILTER_DISABLED:
		return STMT_KEY_LIST_DISABLED;
	case STORE_FILTER_REVOKED:
		return STMT_KEY_LIST_REVOKED;
	case STORE_FILTER_EXPIRING:
		return STMT_KEY_LIST_EXPIRING;
	case STORE_FILTER_EXPIRED:
		return STMT_KEY_LIST_EXPIRED;
	}
	return STMT_KEY_LIST_ACTIVE;
}

enum store_status store_key_list(struct store *store, struct arena *arena, int64_t workspace_id,
				 const struct store_key_filter *filter, struct store_key **keys, size_t *count,
				 bool *more)
{
	bool newer = filter->after_id != 0;
	enum store_statement which = list_statement(filter);
	const char *text_part = "", *key_part = "";
	if (which == STMT_KEY_LIST_SEARCH) {
		enum store_status status = search_parts(store, arena, workspace_id, filter->text_folded,
							text_or_empty(filter->key_id_folded), &text_part, &key_part);
		if (status != STORE_OK)
			return status;
	}
	if (newer)
		which = (enum store_statement)(which + 1);
	struct store_query *statement = store_query(store, which);
	store_bind_int(statement, 1, workspace_id);
	store_bind_text(statement, 2, text_or_empty(filter->text_folded));
	store_bind_int(statement, 3, (int)filter->state);
	store_bind_int(statement, 4, filter->role_id);
	store_bind_text(statement, 5, text_or_empty(filter->key_id_folded));
	store_bind_text(statement, 6, text_or_empty(filter->hint_folded));
	store_bind_int(statement, 7, (int64_t)filter->limit + 1); /* one more says whether there are more */
	store_bind_int(statement, 8, filter->before_id != 0 ? filter->before_id : INT64_MAX);
	store_bind_int(statement, 9, filter->now);
	store_bind_int(statement, 10, filter->soon);
	store_bind_int(statement, 11, filter->after_id);
	store_bind_text(statement, 12, text_part);
	store_bind_text(statement, 13, key_part);
	struct store_key *list = arena_alloc(arena, (filter->limit + 1) * sizeof *list);
	size_t used = 0;
	int code = STORE_DONE;
	while (used <= filter->limit && (code = store_step(store, which)) == STORE_ROW)
		read_key(arena, statement, &list[used++]);
	store_query_reset(statement);
	*more = used > filter->limit;
	if (*more)
		used = filter->limit;
	if (newer) /* read oldest first: the page is turned round */
		for (size_t i = 0; i < used / 2; i++) {
			struct store_key swap = list[i];
			list[i] = list[used - 1 - i];
			list[used - 1 - i] = swap;
		}
	*keys = list;
	*count = used;
	return store_status_from(code);
}

enum store_status store_key_set_enabled(struct store *store, int64_t workspace_id, const char *key_id, bool enabled,
					int64_t now)
{
	struct store_query *statement = store_query(store, STMT_KEY_SET_ENABLED);
	store_bind_int(statement, 1, workspace_id);
	store_bind_text(statement, 2, key_id);
	store_bind_int(statement, 3, enabled);
	store_bind_int(statement, 4, now);
	enum store_status status = store_run(store, STMT_KEY_SET_ENABLED);
	if (status == STORE_OK && store_changes(store) == 0)
		return STORE_NOT_FOUND;
	return status;
}

enum store_status store_key_revoke(struct store *store, int64_t workspace_id, const char *key_id, int64_t now)
{
	enum store_status status = store_transaction_begin(store);
	if (status != STORE_OK)
		return status;
	struct store_query *statement = store_query(store, STMT_KEY_REVOKE);
	store_bind_int(statement, 1, workspace_id);
	store_bind_text(statement, 2, key_id);
	store_bind_int(statement, 3, now);
	int code = store_step(store, STMT_KEY_REVOKE);
	int64_t row_id = code == STORE_ROW ? store_column_int(statement, 0) : 0;
	if (code == STORE_ROW)
		code = store_step(store, STMT_KEY_REVOKE);
	store_query_reset(statement);
	status = row_id == 0 && code == STORE_DONE ? STORE_NOT_FOUND : store_status_from(code);
	if (status == STORE_OK) {
		statement = store_query(store, STMT_REVEAL_DELETE_FOR_KEY);
		store_bind_int(statement, 1, workspace_id);
		store_bind_int(statement, 2, row_id);
		status = store_run(store, STMT_REVEAL_DELETE_FOR_KEY);
	}
	if (status != STORE_OK) {
		store_transaction_rollback(store);
		return status;
	}
	return store_transaction_commit(store);
}

enum store_status store_key_set_secret(struct store *store, int64_t workspace_id, const char *key_id,
				       const unsigned char *secret_hash, size_t hash_length, const char *secret_hint,
				       int64_t now, int64_t previous_until)
{
	struct store_query *statement = store_query(store, STMT_KEY_SET_SECRET);
	store_bind_int(statement, 1, workspace_id);
	store_bind_text(statement, 2, key_id);
	store_bind_blob(statement, 3, secret_hash, hash_length);
	store_bind_text(statement, 4, secret_hint);
	store_bind_int(statement, 5, now);
	store_bind_int(statement, 6, previous_until > 0 ? previous_until : 0);
	enum store_status status = store_run(store, STMT_KEY_SET_SECRET);
	if (status == STORE_OK && store_changes(store) == 0)
		return STORE_NOT_FOUND;
	return status;
}

enum store_status store_key_end_overlap(struct store *store, int64_t workspace_id, const char *key_id, int64_t now)
{
	struct store_query *statement = store_query(store, STMT_KEY_END_OVERLAP);
	store_bind_int(statement, 1, workspace_id);
	store_bind_text(statement, 2, key_id);
	store_bind_int(statement, 3, now);
	enum store_status status = store_run(store, STMT_KEY_END_OVERLAP);
	if (status == STORE_OK && store_changes(store) == 0)
		return STORE_NOT_FOUND;
	return status;
}

enum store_status store_key_lock(struct store *store, int64_t workspace_id, const char *key_id)
{
	struct store_query *statement = store_query(store, STMT_KEY_LOCK);
	store_bind_int(statement, 1, workspace_id);
	store_bind_text(statement, 2, key_id);
	return store_run(store, STMT_KEY_LOCK);
}

enum store_status store_key_set_allowlist(struct store *store, int64_t workspace_id, const char *key_id, bool enabled,
					  int64_t now, bool *changed)
{
	struct store_query *statement = store_query(store, STMT_KEY_SET_ALLOWLIST);
	store_bind_int(statement, 1, workspace_id);
	store_bind_text(statement, 2, key_id);
	store_bind_int(statement, 3, enabled);
	store_bind_int(statement, 4, now);
	enum store_status status = store_run(store, STMT_KEY_SET_ALLOWLIST);
	*changed = status == STORE_OK && store_changes(store) > 0;
	return status;
}

/* Move the updated_at of key row `api_key_id` (not revoked) to `now`; STORE_NOT_FOUND when there is none. */
static enum store_status touch_updated(struct store *store, int64_t workspace_id, int64_t api_key_id, int64_t now)
{
	struct store_query *statement = store_query(store, STMT_KEY_TOUCH_UPDATED);
	store_bind_int(statement, 1, workspace_id);
	store_bind_int(statement, 2, api_key_id);
	store_bind_int(statement, 3, now);
	enum store_status status = store_run(store, STMT_KEY_TOUCH_UPDATED);
	if (status == STORE_OK && store_changes(store) == 0)
		return STORE_NOT_FOUND;
	return status;
}

enum store_status store_cidr_append(struct store *store, int64_t workspace_id, int64_t api_key_id,
				    const struct store_cidr *network, int64_t now)
{
	struct store_query *statement = store_query(store, STMT_CIDR_APPEND);
	store_bind_int(statement, 1, workspace_id);
	store_bind_int(statement, 2, api_key_id);
	store_bind_text(statement, 3, network->cidr);
	store_bind_text(statement, 4, network->label ? network->label : "");
	enum store_status status = store_run(store, STMT_CIDR_APPEND);
	return status == STORE_OK ? touch_updated(store, workspace_id, api_key_id, now) : status;
}

enum store_status store_cidr_remove(struct store *store, int64_t workspace_id, int64_t api_key_id, const char *cidr,
				    int64_t now)
{
	struct store_query *statement = store_query(store, STMT_CIDR_REMOVE);
	store_bind_int(statement, 1, workspace_id);
	store_bind_int(statement, 2, api_key_id);
	store_bind_text(statement, 3, cidr);
	enum store_status status = store_run(store, STMT_CIDR_REMOVE);
	if (status == STORE_OK && store_changes(store) == 0)
		return STORE_NOT_FOUND;
	return status == STORE_OK ? touch_updated(store, workspace_id, api_key_id, now) : status;
}

/* Run `which` (its parameters bound) and read the integers of its one row into values[0..count-1]. */
static enum store_status read_integers(struct store *store, enum store_statement which, int64_t *values[],
				       size_t count)
{
	struct store_query *statement = &store->queries[which];
	int code = store_step(store, which);
	for (size_t i = 0; code == STORE_ROW && i < count; i++)
		*values[i] = store_column_int(statement, (int)i);
	store_query_reset(statement);
	if (code == STORE_ROW)
		return STORE_OK;
	return code == STORE_DONE ? STORE_NOT_FOUND : store_status_from(code);
}

enum store_status store_key_previous_calls(struct store *store, int64_t workspace_id, int64_t api_key_id,
					   int64_t since, int64_t *calls)
{
	struct store_query *statement = store_query(store, STMT_KEY_PREVIOUS_CALLS);
	store_bind_int(statement, 1, workspace_id);
	store_bind_int(statement, 2, api_key_id);
	store_bind_int(statement, 3, since);
	*calls = 0;
	return read_integers(store, STMT_KEY_PREVIOUS_CALLS, (int64_t *[]){ calls }, 1);
}

enum store_status store_key_expiry_counts(struct store *store, int64_t workspace_id, int64_t now, int64_t soon,
					  int64_t *expiring, int64_t *expired)
{
	struct store_query *statement = store_query(store, STMT_KEY_EXPIRY_COUNTS);
	store_bind_int(statement, 1, workspace_id);
	store_bind_int(statement, 2, now);
	store_bind_int(statement, 3, soon);
	*expiring = *expired = 0;
	return read_integers(store, STMT_KEY_EXPIRY_COUNTS, (int64_t *[]){ expiring, expired }, 2);
}

enum store_status store_reveal_put(struct store *store, int64_t workspace_id, int64_t api_key_row_id,
				   const unsigned char *sealed, size_t sealed_length, int64_t now, int64_t max_age)
{
	enum store_status status = store_transaction_begin(store);
	if (status != STORE_OK)
		return status;
	struct store_query *statement = store_query(store, STMT_REVEAL_DELETE_STALE);
	store_bind_int(statement, 1, now - max_age);
	status = store_run(store, STMT_REVEAL_DELETE_STALE);
	if (status == STORE_OK) {
		statement = store_query(store, STMT_REVEAL_DELETE_FOR_KEY);
		store_bind_int(statement, 1, workspace_id);
		store_bind_int(statement, 2, api_key_row_id);
		status = store_run(store, STMT_REVEAL_DELETE_FOR_KEY);
	}
	if (status == STORE_OK) {
		statement = store_query(store, STMT_REVEAL_INSERT);
		store_bind_int(statement, 1, workspace_id);
		store_bind_int(statement, 2, api_key_row_id);
		store_bind_blob(statement, 3, sealed, sealed_length);
		store_bind_int(statement, 4, now);
		status = store_run(store, STMT_REVEAL_INSERT);
	}
	if (status != STORE_OK) {
		store_transaction_rollback(store);
		return status;
	}
	return store_transaction_commit(store);
}

enum store_status store_reveal_get(struct store *store, struct arena *arena, int64_t workspace_id,
				   int64_t api_key_row_id, int64_t now, int64_t max_age, int64_t *reveal_id,
				   unsigned char **sealed, size_t *sealed_length)
{
	struct store_query *statement = store_query(store, STMT_REVEAL_GET);
	store_bind_int(statement, 1, workspace_id);
	store_bind_int(statement, 2, api_key_row_id);
	store_bind_int(statement, 3, now - max_age);
	int code = store_step(store, STMT_REVEAL_GET);
	*reveal_id = 0;
	*sealed = NULL;
	*sealed_length = 0;
	if (code == STORE_ROW) {
		size_t length = 0;
		const void *blob = store_column_blob(arena, statement, 1, &length);
		*reveal_id = store_column_int(statement, 0);
		*sealed = arena_alloc(arena, length + 1);
		if (length > 0)
			memcpy(*sealed, blob, length);
		*sealed_length = length;
	}
	store_query_reset(statement);
	if (code == STORE_ROW)
		return STORE_OK;
	return code == STORE_DONE ? STORE_NOT_FOUND : store_status_from(code);
}

enum store_status store_reveal_delete(struct store *store, int64_t workspace_id, int64_t reveal_id)
{
	struct store_query *statement = store_query(store, STMT_REVEAL_DELETE);
	store_bind_int(statement, 1, workspace_id);
	store_bind_int(statement, 2, reveal_id);
	enum store_status status = store_run(store, STMT_REVEAL_DELETE);
	if (status == STORE_OK && store_changes(store) == 0)
		return STORE_NOT_FOUND;
	return status;
}

/* A key of a page, by row id, for placing the networks a range read returns. */
struct key_place {
	int64_t id;
	size_t index;
	size_t capacity; /* of keys[index].cidrs */
};

static int by_id(const void *a, const void *b)
{
	int64_t x = ((const struct key_place *)a)->id, y = ((const struct key_place *)b)->id;
	return x < y ? -1 : x > y;
}

enum store_status store_key_list_cidrs(struct store *store, struct arena *arena, struct store_key *keys, size_t count)
{
	if (count == 0)
		return STORE_OK;
	int64_t low = keys[0].id, high = keys[0].id;
	for (size_t i = 0; i < count; i++) {
		keys[i].cidrs = NULL;
		keys[i].cidr_count = 0;
		low = keys[i].id < low ? keys[i].id : low;
		high = keys[i].id > high ? keys[i].id : high;
	}
	/* Keys far apart (a filter that matches few): one read each, not the networks of every key between. */
	if ((uint64_t)(high - low) >= 4 * (uint64_t)count) {
		enum store_status status = STORE_OK;
		for (size_t i = 0; status == STORE_OK && i < count; i++)
			status = read_cidrs(store, arena, &keys[i]);
		return status;
	}
	struct key_place *places = arena_alloc(arena, count * sizeof *places);
	for (size_t i = 0; i < count; i++)
		places[i] = (struct key_place){ keys[i].id, i, 0 };
	qsort(places, count, sizeof *places, by_id);
	struct store_query *statement = store_query(store, STMT_CIDR_LIST_FOR_KEY_RANGE);
	store_bind_int(statement, 1, keys[0].workspace_id);
	store_bind_int(statement, 2, low);
	store_bind_int(statement, 3, high);
	int code;
	while ((code = store_step(store, STMT_CIDR_LIST_FOR_KEY_RANGE)) == STORE_ROW) {
		struct key_place wanted = { store_column_int(statement, 0), 0, 0 };
		struct key_place *place = bsearch(&wanted, places, count, sizeof *places, by_id);
		if (place == NULL)
			continue; /* a key between those of the page that the filter left out */
		struct store_key *key = &keys[place->index];
		if (key->cidr_count == place->capacity) {
			place->capacity = place->capacity ? 2 * place->capacity : 4;
			struct store_cidr *grown = arena_alloc(arena, place->capacity * sizeof *grown);
			if (key->cidr_count > 0)
				memcpy(grown, key->cidrs, key->cidr_count * sizeof *grown);
			key->cidrs = grown;
		}
		key->cidrs[key->cidr_count].cidr = store_column_text(arena, statement, 1);
		key->cidrs[key->cidr_count].label = store_column_text(arena, statement, 2);
		key->cidr_count++;
	}
	store_query_reset(statement);
	return store_status_from(code);
}
