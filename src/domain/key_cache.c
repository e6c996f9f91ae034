/* key_cache.c: recently verified keys in memory, trusted while the gate generation stands. */
#include "domain/key_cache.h"

#include <stdalign.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "core/alloc.h"

#define WAYS 8 /* entries per set: a hash may sit in any of its set's ways */

struct entry {
	unsigned char hash[TOKEN_HASH_BYTES];
	uint64_t used;             /* tick of the latest use; 0: empty */
	struct store_key_auth key; /* known table only: strings and cidrs point into `copy` */
	void *copy;
};

struct table {
	struct entry *entries; /* sets * WAYS */
	size_t sets;           /* a power of two */
};

struct key_cache {
	struct table known;
	struct table unknown;
	int64_t generation;
	bool generation_seen;
	double confirmed_at;   /* monotonic seconds when the generation was last read */
	long long stale_seconds;
	uint64_t tick;
	struct key_cache_counts counts;
};

static void table_init(struct table *table, size_t capacity)
{
	table->sets = capacity / WAYS;
	table->entries = xcalloc(table->sets * WAYS, sizeof *table->entries);
}

static void table_clear(struct table *table)
{
	for (size_t i = 0; i < table->sets * WAYS; i++) {
		free(table->entries[i].copy);
		memset(&table->entries[i], 0, sizeof table->entries[i]);
	}
}

/* The set of `hash`: keyed hashes are uniformly random, so any 8 of their bytes will do. */
static struct entry *table_set(const struct table *table, const unsigned char *hash)
{
	uint64_t bits;
	memcpy(&bits, hash, sizeof bits);
	return &table->entries[(bits & (table->sets - 1)) * WAYS];
}

static struct entry *table_find(const struct table *table, const unsigned char *hash)
{
	struct entry *set = table_set(table, hash);
	for (int way = 0; way < WAYS; way++)
		if (set[way].used != 0 && memcmp(set[way].hash, hash, TOKEN_HASH_BYTES) == 0)
			return &set[way];
	return NULL;
}

/* The way to fill for `hash`: an empty one, else the least recently used (its copy freed). */
static struct entry *table_claim(struct table *table, const unsigned char *hash)
{
	struct entry *set = table_set(table, hash);
	struct entry *oldest = &set[0];
	for (int way = 0; way < WAYS; way++) {
		if (set[way].used == 0) {
			oldest = &set[way];
			break;
		}
		if (set[way].used < oldest->used)
			oldest = &set[way];
	}
	free(oldest->copy);
	memset(oldest, 0, sizeof *oldest);
	memcpy(oldest->hash, hash, TOKEN_HASH_BYTES);
	return oldest;
}

struct key_cache *key_cache_new(void)
{
	struct key_cache *cache = xcalloc(1, sizeof *cache);
	table_init(&cache->known, KEY_CACHE_KNOWN);
	table_init(&cache->unknown, KEY_CACHE_UNKNOWN);
	return cache;
}

void key_cache_free(struct key_cache *cache)
{
	if (cache == NULL)
		return;
	table_clear(&cache->known);
	table_clear(&cache->unknown);
	free(cache->known.entries);
	free(cache->unknown.entries);
	free(cache);
}

static size_t table_size(const struct table *table)
{
	size_t size = 0;
	for (size_t i = 0; i < table->sets * WAYS; i++)
		size += table->entries[i].used != 0;
	return size;
}

struct key_cache_counts key_cache_counts(const struct key_cache *cache)
{
	struct key_cache_counts counts = cache->counts;
	counts.known = table_size(&cache->known);
	counts.unknown = table_size(&cache->unknown);
	return counts;
}

/* Append `text` and its NUL at *cursor; returns where it went. */
static const char *pack_text(char **cursor, const char *text)
{
	size_t length = strlen(text) + 1;
	char *start = memcpy(*cursor, text, length);
	*cursor += length;
	return start;
}

/* Copy `from` into `to` with every string and the cidr list in one allocation, owned by `to`'s entry. */
static void *pack_key(const struct store_key_auth *from, struct store_key_auth *to)
{
	size_t pointers = from->cidr_count * sizeof *from->cidrs;
	size_t size = pointers + strlen(from->key_id) + strlen(from->name) + strlen(from->role_name) +
		      strlen(from->permissions) + 4;
	for (size_t i = 0; i < from->cidr_count; i++)
		size += strlen(from->cidrs[i]) + 1;
	_Static_assert(alignof(max_align_t) >= alignof(const char *), "malloc aligns pointers");
	char *copy = xmalloc(size);
	*to = *from;
	to->cidrs = from->cidr_count > 0 ? (const char **)(void *)copy : NULL;
	char *cursor = copy + pointers;
	to->key_id = pack_text(&cursor, from->key_id);
	to->name = pack_text(&cursor, from->name);
	to->role_name = pack_text(&cursor, from->role_name);
	to->permissions = pack_text(&cursor, from->permissions);
	for (size_t i = 0; i < from->cidr_count; i++)
		to->cidrs[i] = pack_text(&cursor, from->cidrs[i]);
	return copy;
}

/* Copy a remembered key into the request's arena, so that it outlives any later eviction. */
static void unpack_key(struct arena *arena, const struct store_key_auth *from, struct store_key_auth *to)
{
	*to = *from;
	to->key_id = arena_strdup(arena, from->key_id);
	to->name = arena_strdup(arena, from->name);
	to->role_name = arena_strdup(arena, from->role_name);
	to->permissions = arena_strdup(arena, from->permissions);
	if (from->cidr_count > 0) {
		to->cidrs = arena_alloc(arena, from->cidr_count * sizeof *to->cidrs);
		for (size_t i = 0; i < from->cidr_count; i++)
			to->cidrs[i] = arena_strdup(arena, from->cidrs[i]);
	}
}

static double monotonic_seconds(void)
{
	struct timespec now;
	clock_gettime(CLOCK_MONOTONIC, &now);
	return (double)now.tv_sec + (double)now.tv_nsec / 1e9;
}

void key_cache_set_stale_seconds(struct key_cache *cache, long long seconds)
{
	cache->stale_seconds = seconds;
}

/* Forget everything when the generation moved since the copies were made. */
static enum store_status check_generation(struct key_cache *cache, struct store *store)
{
	int64_t generation = 0;
	enum store_status status = store_gate_generation(store, &generation);
	if (status != STORE_OK)
		return status;
	cache->confirmed_at = monotonic_seconds();
	if (!cache->generation_seen || generation != cache->generation) {
		if (cache->generation_seen)
			cache->counts.resets++;
		table_clear(&cache->known);
		table_clear(&cache->unknown);
		cache->generation = generation;
		cache->generation_seen = true;
	}
	return STORE_OK;
}

enum store_status key_cache_find(struct key_cache *cache, struct store *store, struct arena *arena,
				 const unsigned char hash[TOKEN_HASH_BYTES], struct store_key_auth *key)
{
	if (cache == NULL)
		return store_key_find_by_hash(store, arena, hash, TOKEN_HASH_BYTES, key);
	enum store_status status = check_generation(cache, store);
	if (status == STORE_BUSY && cache->stale_seconds > 0 && cache->generation_seen &&
	    monotonic_seconds() - cache->confirmed_at <= (double)cache->stale_seconds) {
		struct entry *known = table_find(&cache->known, hash);
		if (known != NULL) { /* a key that was as it is when the database last answered */
			known->used = ++cache->tick;
			cache->counts.hits++;
			cache->counts.stale++;
			unpack_key(arena, &known->key, key);
			return STORE_OK;
		}
	}
	if (status != STORE_OK)
		return status;
	cache->tick++;
	struct entry *entry = table_find(&cache->known, hash);
	if (entry != NULL) {
		entry->used = cache->tick;
		cache->counts.hits++;
		unpack_key(arena, &entry->key, key);
		return STORE_OK;
	}
	entry = table_find(&cache->unknown, hash);
	if (entry != NULL) {
		entry->used = cache->tick;
		cache->counts.hits++;
		return STORE_NOT_FOUND;
	}
	cache->counts.misses++;
	/*
	 * Read after the generation: if a change lands between the two, this copy is newer than the
	 * generation it is filed under, and the next request's check throws it away. Never older.
	 */
	status = store_key_find_by_hash(store, arena, hash, TOKEN_HASH_BYTES, key);
	if (status == STORE_OK) {
		entry = table_claim(&cache->known, hash);
		entry->copy = pack_key(key, &entry->key);
		entry->used = cache->tick;
	} else if (status == STORE_NOT_FOUND) {
		table_claim(&cache->unknown, hash)->used = cache->tick;
	}
	return status;
}
