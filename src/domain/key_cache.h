/*
 * key_cache.h: recently verified keys, kept in memory by one gatekeeper thread.
 *
 * Looking a key up by its keyed hash costs a few random database pages; an API that many keys
 * call in turn would read them from disk on nearly every request. The cache keeps a copy of each
 * key it found (and, apart, the hashes that matched no key), and trusts them only while the gate
 * generation in the database (store_gate_generation) is the one it saw when it made them: every
 * request reads that number, and any change to a key, its allowlist or a role changes it. So a
 * disabled, revoked or re-secreted key is refused on its very next request, from any process.
 *
 * Bounded: KEY_CACHE_KNOWN keys and KEY_CACHE_UNKNOWN unknown hashes, each in sets of eight
 * entries that evict the least recently used (eight ways, so that a thousand keys called in turn
 * rarely crowd one set past its size); unknown hashes sent in bulk evict only each other.
 * Not thread-safe: one cache per thread, next to that thread's store connection.
 */
#ifndef KEYWARD_DOMAIN_KEY_CACHE_H
#define KEYWARD_DOMAIN_KEY_CACHE_H

#include "domain/token.h"
#include "store/store.h"

struct arena;
struct key_cache;

#define KEY_CACHE_KNOWN 4096
#define KEY_CACHE_UNKNOWN 4096

struct key_cache *key_cache_new(void);
void key_cache_free(struct key_cache *cache); /* NULL is fine */

/*
 * While the database cannot be asked for the generation (STORE_BUSY: PostgreSQL away, SQLite
 * locked past its timeout), keys the cache held when it last could keep their answers for
 * `seconds` after that moment; unknown hashes and misses get the store's status. 0 (the default):
 * every answer waits for the database.
 */
void key_cache_set_stale_seconds(struct key_cache *cache, long long seconds);

/*
 * Find the key whose keyed hash is `hash`, as store_key_find_by_hash() would: STORE_OK with
 * *key filled (strings copied into `arena`), STORE_NOT_FOUND, or the store's error status (the
 * cache is left as it was). `cache` may be NULL: then this is store_key_find_by_hash().
 */
enum store_status key_cache_find(struct key_cache *cache, struct store *store, struct arena *arena,
				 const unsigned char hash[TOKEN_HASH_BYTES], struct store_key_auth *key);

/* What the cache did since it was made, for tests and benchmarks. */
struct key_cache_counts {
	unsigned long hits;     /* answered from memory, found or not */
	unsigned long misses;   /* asked the store */
	unsigned long resets;   /* emptied because the generation changed */
	unsigned long stale;    /* answered from memory while the database was away */
	size_t known;           /* keys held now */
	size_t unknown;         /* unknown hashes held now */
};
struct key_cache_counts key_cache_counts(const struct key_cache *cache);

#endif
