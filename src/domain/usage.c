/* usage.c: buffering verification events in memory and writing them to the store in batches. */
#include "domain/usage.h"

#include <arpa/inet.h>
#include <errno.h>
#include <pthread.h>
#include <sodium.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "core/alloc.h"
#include "core/buf.h"
#include "core/config.h"
#include "core/text.h"
#include "domain/cidr.h"
#include "domain/insight.h"
#include "domain/verify.h"
#include "store/store.h"

/* One buffered decision about a known key; its strings live in the batch's text pool. */
struct usage_item {
	int64_t workspace_id;
	int64_t key_row_id;
	int64_t at;
	size_t endpoint;    /* offsets into the text pool */
	size_t address;
	const char *outcome; /* a static code word */
	bool anonymous;      /* off the record: counted per hour, nothing kept */
	bool granted;
	bool previous_secret; /* sent with the key's previous secret */
};

/*
 * Decisions without a known key ("strangers": no key, a malformed, unknown or foreign one, several)
 * counted per hour, workspace, client network and outcome: a fixed-size entry each, whatever the
 * path or how many requests it stands for. The fields up to `calls` are the entry's identity,
 * compared and hashed as bytes (entries are zeroed first, padding included).
 */
struct stranger {
	int64_t hour;
	int64_t workspace_id;
	uint8_t address[16]; /* IPv4 in the first 4 bytes; IPv6 with its last 64 bits cleared */
	uint8_t family;      /* 4, 6, STRANGER_INVALID or STRANGER_NONE */
	uint8_t outcome;     /* enum verify_code */
	int64_t calls;
};

#define STRANGER_INVALID 1 /* an address was given but is not one */
#define STRANGER_NONE 2    /* no address was given */
#define STRANGER_IDENTITY offsetof(struct stranger, calls)

/* Strangers of a batch: entries in order of arrival, found through an open-addressing index. */
struct stranger_table {
	struct stranger *entries;
	size_t count;
	size_t capacity; /* entries allocated; at most USAGE_STRANGERS_MAX */
	uint32_t *slots; /* 1 + index into entries, 0: empty; 2 * capacity of them (a power of two) */
};

struct usage_batch {
	struct usage_item *items;
	size_t count;
	size_t capacity;
	struct buf text;
	struct stranger_table strangers;
};

struct usage {
	pthread_mutex_t lock;   /* guards `pending`, `stopping`, `held`, `dropped`, `strangers_dropped` */
	pthread_cond_t wake;
	struct usage_batch pending;
	bool stopping;
	size_t buffer_max;        /* events held at most, pending and writing together (KEYWARD_USAGE_BUFFER) */
	size_t held;              /* events in `writing`, as the request threads may read it */
	size_t dropped;           /* events of known keys not recorded: the buffer was full */
	size_t strangers_dropped; /* strangers not counted: their table was full */
	unsigned char hash_key[crypto_shorthash_KEYBYTES]; /* random per process: addresses cannot be chosen to collide */

	pthread_mutex_t write_lock; /* one writer at a time: guards `writing` and `store` */
	struct usage_batch writing;
	struct store *store;
	pthread_t flusher;
	const struct config *config;
	int64_t maintained_at; /* when the flusher last rolled usage up (insight_maintain) */
	int flush_ms;          /* the timer: USAGE_FLUSH_MS but in tests */
	/* Guarded by write_lock: while writes fail, what to say once they work again. */
	bool failing;
	int64_t failing_since;
	size_t failing_dropped, failing_strangers_dropped;
	struct insight_upkeep upkeep;
};

/* The length of the well-formed UTF-8 sequence at `c` (at most `left` bytes), or 0 when there is none. */
static size_t utf8_sequence(const char *c, size_t left)
{
	unsigned char lead = (unsigned char)c[0];
	size_t length = lead < 0x80 ? 1 : lead >= 0xC2 && lead <= 0xDF ? 2 : lead >= 0xE0 && lead <= 0xEF ? 3
		      : lead >= 0xF0 && lead <= 0xF4			? 4
									: 0;
	return length > 0 && length <= left && utf8_valid(c, length) ? length : 0;
}

/*
 * Add `text` to the pool as valid UTF-8 of at most `max` bytes: a byte outside any well-formed
 * sequence becomes '?', and a cut never splits a character. (The path and address come from the
 * request; PostgreSQL refuses text that is not UTF-8, and one such row would fail its whole batch.)
 */
static size_t pool_add(struct buf *pool, const char *text, size_t max)
{
	size_t offset = pool->length;
	size_t length = text ? strnlen(text, max) : 0;
	while (length > 0 && length == max && ((unsigned char)text[length] & 0xC0) == 0x80)
		length--; /* cut before the character the limit falls in, not through it */
	for (size_t at = 0; at < length;) {
		size_t step = utf8_sequence(text + at, length - at);
		if (step == 0) {
			buf_append(pool, "?", 1);
			at++;
		} else {
			buf_append(pool, text + at, step);
			at += step;
		}
	}
	buf_append(pool, "", 1); /* keep the NUL as part of the pool */
	return offset;
}

/* Where a stranger's address is counted: its IPv4 address, its IPv6 /64, or one of two words. */
static void stranger_network(const char *text, struct stranger *stranger)
{
	struct cidr parsed;
	if (text == NULL) {
		stranger->family = STRANGER_NONE;
	} else if (!cidr_parse_address(text, &parsed)) { /* a mapped ::ffff:a.b.c.d comes back as IPv4 */
		stranger->family = STRANGER_INVALID;
	} else {
		stranger->family = (uint8_t)parsed.family;
		memcpy(stranger->address, parsed.address, parsed.family == 4 ? 4 : 8);
	}
}

/* A stranger's address as stored and shown: "192.0.2.7", "2001:db8:1:2::/64", "(invalid)", "(none)". */
static void stranger_address_text(const struct stranger *stranger, char text[CIDR_TEXT_MAX])
{
	if (stranger->family == 4) {
		inet_ntop(AF_INET, stranger->address, text, CIDR_TEXT_MAX);
	} else if (stranger->family == 6) {
		struct cidr network = { .family = 6, .prefix = 64 };
		memcpy(network.address, stranger->address, 16);
		cidr_format(&network, text);
	} else {
		snprintf(text, CIDR_TEXT_MAX, "%s", stranger->family == STRANGER_NONE ? "(none)" : "(invalid)");
	}
}

/* Point a free slot of table->slots, found from `hash`, at table->entries[index]. */
static void stranger_index(struct stranger_table *table, uint64_t hash, size_t index)
{
	size_t mask = 2 * table->capacity - 1;
	size_t slot = (size_t)hash & mask;
	while (table->slots[slot] != 0)
		slot = (slot + 1) & mask;
	table->slots[slot] = (uint32_t)(index + 1);
}

/* Double the table (entries and index), keeping every entry; `hash_key` rehashes them. */
static void stranger_grow(struct stranger_table *table, const unsigned char *hash_key)
{
	size_t capacity = table->capacity ? 2 * table->capacity : 64;
	table->entries = xrealloc(table->entries, capacity * sizeof *table->entries);
	free(table->slots);
	table->slots = xcalloc(2 * capacity, sizeof *table->slots);
	table->capacity = capacity;
	for (size_t i = 0; i < table->count; i++) {
		uint64_t hash;
		crypto_shorthash((unsigned char *)&hash, (const unsigned char *)&table->entries[i], STRANGER_IDENTITY,
				 hash_key);
		stranger_index(table, hash, i);
	}
}

/*
 * Count one call of `stranger` (calls ignored) whose identity hashes to `hash`: added to its
 * entry, or a new entry. False when it is new and the table holds USAGE_STRANGERS_MAX already.
 */
static bool stranger_count(struct stranger_table *table, const struct stranger *stranger, uint64_t hash,
			   const unsigned char *hash_key)
{
	if (table->capacity > 0) {
		size_t mask = 2 * table->capacity - 1;
		for (size_t slot = (size_t)hash & mask; table->slots[slot] != 0; slot = (slot + 1) & mask) {
			struct stranger *entry = &table->entries[table->slots[slot] - 1];
			if (memcmp(entry, stranger, STRANGER_IDENTITY) == 0) {
				entry->calls++;
				return true;
			}
		}
	}
	if (table->count == USAGE_STRANGERS_MAX)
		return false;
	if (table->count == table->capacity)
		stranger_grow(table, hash_key);
	memcpy(&table->entries[table->count], stranger, sizeof *stranger); /* padding too: it is compared */
	table->entries[table->count].calls = 1;
	stranger_index(table, hash, table->count);
	table->count++;
	return true;
}

static void stranger_clear(struct stranger_table *table)
{
	if (table->count > 0)
		memset(table->slots, 0, 2 * table->capacity * sizeof *table->slots);
	table->count = 0;
}

/*
 * A stranger is counted, never kept: no path, and its address only as the network it counts in.
 * The address is parsed and hashed before the lock; under it, one probe of the table.
 */
static void record_stranger(struct usage *usage, const struct verify_result *result, const char *address, int64_t now)
{
	struct stranger stranger;
	memset(&stranger, 0, sizeof stranger);
	stranger.hour = now - now % 3600;
	stranger.workspace_id = result->workspace_id > 0 ? result->workspace_id : STORE_DEFAULT_WORKSPACE;
	stranger.outcome = (uint8_t)result->code;
	stranger_network(address, &stranger);
	uint64_t hash;
	crypto_shorthash((unsigned char *)&hash, (const unsigned char *)&stranger, STRANGER_IDENTITY, usage->hash_key);
	pthread_mutex_lock(&usage->lock);
	struct stranger_table *table = &usage->pending.strangers;
	if (!stranger_count(table, &stranger, hash, usage->hash_key))
		usage->strangers_dropped++;
	else if (table->count == USAGE_BATCH)
		pthread_cond_signal(&usage->wake);
	pthread_mutex_unlock(&usage->lock);
}

void usage_record(struct usage *usage, const struct verify_result *result, const char *endpoint,
		  const char *address, int64_t now)
{
	if (!result->key_known) {
		record_stranger(usage, result, address, now);
		return;
	}
	pthread_mutex_lock(&usage->lock);
	struct usage_batch *batch = &usage->pending;
	if (batch->count + usage->held >= usage->buffer_max) {
		usage->dropped++;
		pthread_mutex_unlock(&usage->lock);
		return;
	}
	if (batch->count == batch->capacity) {
		batch->capacity = batch->capacity ? 2 * batch->capacity : 256;
		batch->items = xrealloc(batch->items, batch->capacity * sizeof *batch->items);
	}
	struct usage_item *item = &batch->items[batch->count++];
	memset(item, 0, sizeof *item);
	item->workspace_id = result->workspace_id;
	item->key_row_id = result->key_row_id;
	item->at = now;
	item->outcome = verify_code_name(result->code);
	item->granted = result->code == VERIFY_GRANTED;
	item->anonymous = result->off_record;
	item->previous_secret = result->previous_secret;
	if (!item->anonymous) {
		item->endpoint = pool_add(&batch->text, endpoint, USAGE_ENDPOINT_MAX);
		item->address = pool_add(&batch->text, address, USAGE_ADDRESS_MAX);
	}
	if (batch->count >= USAGE_BATCH)
		pthread_cond_signal(&usage->wake);
	pthread_mutex_unlock(&usage->lock);
}

/* Decisions held: events of known keys, and entries of strangers (each may stand for many). */
static size_t batch_size(const struct usage_batch *batch)
{
	return batch->count + batch->strangers.count;
}

static void batch_clear(struct usage_batch *batch)
{
	batch->count = 0;
	buf_clear(&batch->text);
	stranger_clear(&batch->strangers);
}

static void batch_free(struct usage_batch *batch)
{
	free(batch->items);
	buf_free(&batch->text);
	free(batch->strangers.entries);
	free(batch->strangers.slots);
}

/* A key and a time: an anonymous call (time = its hour) or a grant. */
struct key_time {
	int64_t workspace_id;
	int64_t key_row_id;
	int64_t at;
};

static int compare_key_time(const void *left, const void *right)
{
	const struct key_time *a = left, *b = right;
	if (a->key_row_id != b->key_row_id)
		return a->key_row_id < b->key_row_id ? -1 : 1;
	return (a->at > b->at) - (a->at < b->at);
}

/* Sort the anonymous calls and count them per (key, hour) into `counts`; returns how many counts. */
static size_t count_anonymous(struct key_time *calls, size_t call_count, struct store_usage_count *counts)
{
	qsort(calls, call_count, sizeof *calls, compare_key_time);
	size_t count = 0;
	for (size_t i = 0; i < call_count; i++) {
		if (count > 0 && counts[count - 1].api_key_id == calls[i].key_row_id &&
		    counts[count - 1].hour == calls[i].at)
			counts[count - 1].calls++;
		else
			counts[count++] = (struct store_usage_count){ calls[i].workspace_id, calls[i].key_row_id,
								      calls[i].at, 1 };
	}
	return count;
}

/* Sort the grants and keep the latest of each key in `last_used`; returns how many keys. */
static size_t latest_grants(struct key_time *grants, size_t grant_count, struct store_last_used *last_used)
{
	qsort(grants, grant_count, sizeof *grants, compare_key_time);
	size_t count = 0;
	for (size_t i = 0; i < grant_count; i++) {
		if (count > 0 && last_used[count - 1].api_key_id == grants[i].key_row_id)
			last_used[count - 1].at = grants[i].at; /* sorted: the later one */
		else
			last_used[count++] = (struct store_last_used){ grants[i].key_row_id, grants[i].at };
	}
	return count;
}

static bool same_event(const struct store_usage_event *a, const struct store_usage_event *b)
{
	return a->api_key_id == b->api_key_id && a->workspace_id == b->workspace_id && a->at == b->at &&
	       a->outcome == b->outcome /* static code words */ && strcmp(a->endpoint, b->endpoint) == 0 &&
	       a->previous_secret == b->previous_secret && strcmp(a->client_address, b->client_address) == 0;
}

/* FNV-1a, 64 bits, over `length` bytes, continuing from `hash`. */
static uint64_t hash_bytes(uint64_t hash, const void *bytes, size_t length)
{
	const unsigned char *byte = bytes;
	for (size_t i = 0; i < length; i++)
		hash = (hash ^ byte[i]) * 1099511628211ULL;
	return hash;
}

static uint64_t hash_event(const struct store_usage_event *event)
{
	uint64_t hash = 14695981039346656037ULL;
	hash = hash_bytes(hash, &event->api_key_id, sizeof event->api_key_id);
	hash = hash_bytes(hash, &event->at, sizeof event->at);
	hash = hash_bytes(hash, &event->outcome, sizeof event->outcome);
	hash = hash_bytes(hash, &event->previous_secret, sizeof event->previous_secret);
	hash = hash_bytes(hash, event->endpoint, strlen(event->endpoint));
	return hash_bytes(hash, event->client_address, strlen(event->client_address));
}

/*
 * Fold identical events (same key, second, endpoint, address, outcome and secret) into the first of them,
 * with their count, keeping the order of first arrival; returns how many are left. Lossless: the
 * store keeps the count. One hash table pass: sorting with string comparisons cost more per
 * event than the rest of a request's own work.
 */
static size_t fold_events(struct store_usage_event *events, size_t count)
{
	size_t size = 16;
	while (size < 2 * count)
		size *= 2;
	size_t *slots = xcalloc(size, sizeof *slots); /* 1 + index into the kept events; 0: empty */
	size_t kept = 0;
	for (size_t i = 0; i < count; i++) {
		size_t slot = (size_t)hash_event(&events[i]) & (size - 1);
		while (slots[slot] != 0 && !same_event(&events[slots[slot] - 1], &events[i]))
			slot = (slot + 1) & (size - 1);
		if (slots[slot] != 0) {
			events[slots[slot] - 1].calls++;
		} else {
			events[kept] = events[i]; /* kept <= i: nothing unread is overwritten */
			slots[slot] = ++kept;
		}
	}
	free(slots);
	return kept;
}

/* The strangers of a batch as the store counts them; their addresses' texts go to texts[count]. */
static struct store_refusal_count *stranger_rows(const struct stranger_table *table, char (*texts)[CIDR_TEXT_MAX])
{
	struct store_refusal_count *rows = xcalloc(table->count + 1, sizeof *rows);
	for (size_t i = 0; i < table->count; i++) {
		const struct stranger *entry = &table->entries[i];
		stranger_address_text(entry, texts[i]);
		rows[i] = (struct store_refusal_count){ entry->hour, entry->workspace_id, texts[i],
							verify_code_name((enum verify_code)entry->outcome), entry->calls };
	}
	return rows;
}

/* Write usage->writing in one transaction, and empty it if that worked. Needs write_lock. */
static enum store_status write_batch(struct usage *usage)
{
	struct usage_batch *batch = &usage->writing;
	if (batch_size(batch) == 0)
		return STORE_OK;
	struct store_usage_event *events = xcalloc(batch->count, sizeof *events);
	struct key_time *calls = xcalloc(batch->count, sizeof *calls);
	struct key_time *grants = xcalloc(batch->count, sizeof *grants);
	size_t event_count = 0, call_count = 0, grant_count = 0;
	for (size_t i = 0; i < batch->count; i++) {
		const struct usage_item *item = &batch->items[i];
		if (item->anonymous)
			calls[call_count++] = (struct key_time){ item->workspace_id, item->key_row_id,
								  item->at - item->at % 3600 };
		else
			events[event_count++] = (struct store_usage_event){
				item->workspace_id, item->key_row_id, item->at, batch->text.data + item->endpoint,
				batch->text.data + item->address, item->outcome, 1, item->previous_secret,
			};
		if (item->granted)
			grants[grant_count++] = (struct key_time){ item->workspace_id, item->key_row_id, item->at };
	}
	struct store_usage_count *counts = xcalloc(call_count + 1, sizeof *counts);
	struct store_last_used *last_used = xcalloc(grant_count + 1, sizeof *last_used);
	event_count = fold_events(events, event_count);
	size_t count_count = count_anonymous(calls, call_count, counts);
	size_t last_used_count = latest_grants(grants, grant_count, last_used);
	char (*texts)[CIDR_TEXT_MAX] = xcalloc(batch->strangers.count + 1, sizeof *texts);
	struct store_refusal_count *refusals = stranger_rows(&batch->strangers, texts);
	enum store_status status = store_usage_write(usage->store, events, event_count, counts, count_count, last_used,
						     last_used_count, refusals, batch->strangers.count);
	free(texts);
	free(refusals);
	free(events);
	free(calls);
	free(grants);
	free(counts);
	free(last_used);
	if (status == STORE_OK)
		batch_clear(batch);
	return status;
}

/* ", buffer full, N events were not recorded" and the like, for what was dropped; "" when nothing was. */
static void describe_drops(char *text, size_t size, size_t dropped, size_t strangers_dropped)
{
	int used = 0;
	text[0] = '\0';
	if (dropped > 0)
		used = snprintf(text, size, "; buffer full, %zu events were not recorded", dropped);
	if (strangers_dropped > 0 && used >= 0 && (size_t)used < size)
		snprintf(text + used, size - (size_t)used,
			 "; more than %d addresses without a valid key at once, %zu requests were not counted",
			 USAGE_STRANGERS_MAX, strangers_dropped);
}

/*
 * What the flusher says: a write that fails once (then it holds its events and tries every
 * flush, saying nothing more), drops while it fails (once, when they start), and the first write
 * that works again, with everything dropped meanwhile. Outside such a spell, drops (a flood
 * faster than the writer) are said at each flush that had any. Needs write_lock.
 */
static void report(struct usage *usage, enum store_status status, size_t dropped, size_t strangers_dropped)
{
	int64_t now = (int64_t)time(NULL);
	char drops[256];
	if (usage->failing) {
		if (usage->failing_dropped + usage->failing_strangers_dropped == 0 && dropped + strangers_dropped > 0)
			fprintf(stderr, "keyward: usage: buffer full while the database cannot take usage: new events are "
					"dropped, and counted, until it can\n");
		usage->failing_dropped += dropped;
		usage->failing_strangers_dropped += strangers_dropped;
		if (status != STORE_OK)
			return;
		describe_drops(drops, sizeof drops, usage->failing_dropped, usage->failing_strangers_dropped);
		fprintf(stderr, "keyward: usage: written again, after %lld s%s\n", (long long)(now - usage->failing_since),
			drops);
		usage->failing = false;
		usage->failing_dropped = 0;
		usage->failing_strangers_dropped = 0;
		return;
	}
	describe_drops(drops, sizeof drops, dropped, strangers_dropped);
	if (drops[0] != '\0')
		fprintf(stderr, "keyward: usage: %s\n", drops + 2);
	if (status != STORE_OK) {
		fprintf(stderr, "keyward: usage: cannot write to the database (%s); holding up to %zu events and "
				"trying again every second\n",
			status == STORE_BUSY ? "busy or away" : "an error", usage->buffer_max);
		usage->failing = true;
		usage->failing_since = now;
	}
}

/* Move what is pending to the writing batch (unless a failed batch still waits) and write it. */
static bool flush_once(struct usage *usage)
{
	pthread_mutex_lock(&usage->write_lock);
	pthread_mutex_lock(&usage->lock);
	if (batch_size(&usage->writing) == 0) {
		struct usage_batch swap = usage->writing;
		usage->writing = usage->pending;
		usage->pending = swap;
		usage->held = usage->writing.count;
	}
	size_t dropped = usage->dropped, strangers_dropped = usage->strangers_dropped;
	usage->dropped = 0;
	usage->strangers_dropped = 0;
	pthread_mutex_unlock(&usage->lock);
	enum store_status status = write_batch(usage);
	if (status == STORE_OK) {
		pthread_mutex_lock(&usage->lock);
		usage->held = 0;
		pthread_mutex_unlock(&usage->lock);
	}
	report(usage, status, dropped, strangers_dropped);
	pthread_mutex_unlock(&usage->write_lock);
	return status == STORE_OK;
}

bool usage_flush(struct usage *usage)
{
	return flush_once(usage);
}

static void *flusher_main(void *argument)
{
	struct usage *usage = argument;
	pthread_mutex_lock(&usage->lock);
	while (!usage->stopping) {
		struct timespec deadline;
		clock_gettime(CLOCK_REALTIME, &deadline);
		deadline.tv_sec += usage->flush_ms / 1000;
		deadline.tv_nsec += (long)(usage->flush_ms % 1000) * 1000000L;
		if (deadline.tv_nsec >= 1000000000L) {
			deadline.tv_sec++;
			deadline.tv_nsec -= 1000000000L;
		}
		while (!usage->stopping && usage->pending.count < USAGE_BATCH && usage->pending.strangers.count < USAGE_BATCH &&
		       pthread_cond_timedwait(&usage->wake, &usage->lock, &deadline) != ETIMEDOUT)
			;
		if (usage->stopping)
			break;
		pthread_mutex_unlock(&usage->lock);
		flush_once(usage);
		int64_t now = (int64_t)time(NULL);
		/*
		 * Upkeep between flushes, a chunk or two at a time so that the next flush is not held up
		 * for long; every second while work waits (a backlog, retention's turn), else every
		 * INSIGHT_ROLLUP_SECONDS.
		 */
		if (usage->upkeep.more || now - usage->maintained_at >= INSIGHT_ROLLUP_SECONDS) {
			usage->maintained_at = now;
			pthread_mutex_lock(&usage->write_lock); /* the writer's connection */
			insight_maintain(usage->store, usage->config, now, INSIGHT_ROLLUP_CHUNK, USAGE_UPKEEP_CHUNKS, false,
					 &usage->upkeep);
			pthread_mutex_unlock(&usage->write_lock);
		}
		pthread_mutex_lock(&usage->lock);
	}
	pthread_mutex_unlock(&usage->lock);
	return NULL;
}

struct usage *usage_start(const struct config *config, char *error, size_t error_size)
{
	return usage_start_every(config, USAGE_FLUSH_MS, error, error_size);
}

struct usage *usage_start_every(const struct config *config, int flush_ms, char *error, size_t error_size)
{
	struct store *store = store_open(config->database_path, error, error_size);
	if (store == NULL)
		return NULL;
	struct usage *usage = xcalloc(1, sizeof *usage);
	usage->store = store;
	usage->config = config;
	usage->flush_ms = flush_ms > 0 ? flush_ms : USAGE_FLUSH_MS;
	usage->buffer_max = config->usage_buffer > 0 ? (size_t)config->usage_buffer : USAGE_BUFFER_MAX;
	crypto_shorthash_keygen(usage->hash_key);
	pthread_mutex_init(&usage->lock, NULL);
	pthread_mutex_init(&usage->write_lock, NULL);
	pthread_cond_init(&usage->wake, NULL);
	if (pthread_create(&usage->flusher, NULL, flusher_main, usage) != 0) {
		snprintf(error, error_size, "cannot start the usage writer thread");
		store_close(store);
		free(usage);
		return NULL;
	}
	return usage;
}

void usage_stop(struct usage *usage)
{
	if (usage == NULL)
		return;
	pthread_mutex_lock(&usage->lock);
	usage->stopping = true;
	pthread_cond_signal(&usage->wake);
	pthread_mutex_unlock(&usage->lock);
	pthread_join(usage->flusher, NULL);
	/*
	 * Up to three rounds: a batch that failed once gets another try, then what was pending
	 * behind it gets its own.
	 */
	for (int round = 0; round < 3 && batch_size(&usage->writing) + batch_size(&usage->pending) > 0; round++)
		flush_once(usage);
	if (batch_size(&usage->writing) + batch_size(&usage->pending) > 0) {
		char drops[256];
		describe_drops(drops, sizeof drops, usage->failing_dropped, usage->failing_strangers_dropped);
		fprintf(stderr, "keyward: usage: %zu events and %zu counts of requests without a valid key could not be "
				"written at shutdown%s\n",
			usage->writing.count + usage->pending.count,
			usage->writing.strangers.count + usage->pending.strangers.count, drops);
	}
	store_close(usage->store);
	batch_free(&usage->pending);
	batch_free(&usage->writing);
	pthread_mutex_destroy(&usage->lock);
	pthread_mutex_destroy(&usage->write_lock);
	pthread_cond_destroy(&usage->wake);
	free(usage);
}
