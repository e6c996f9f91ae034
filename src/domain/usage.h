/*
 * usage.h: recording verifications without making requests wait on SQLite.
 *
 * Request threads append events to an in-memory buffer (a mutex, no I/O). A flusher thread
 * writes the buffer in one transaction every USAGE_FLUSH_MS, or sooner when USAGE_BATCH events
 * wait, and usage_stop() writes what is left. So a crash loses at most what was buffered: one
 * batch. Several processes may record into one database (each has its own buffer; SQLite's
 * busy timeout serialises their writes).
 *
 * An off-the-record key's events keep nothing but an anonymous count per hour and its last use.
 *
 * A decision without a known key (no key, a malformed, unknown or foreign one, several) is not
 * buffered but counted, per hour, workspace (verify_result.workspace_id), outcome and client
 * network: the IPv4 address, the IPv6 /64, or "(invalid)" / "(none)". No path is kept. Each batch
 * holds at most USAGE_STRANGERS_MAX such counts; past it, new ones are dropped and said in the log.
 * So strangers cost a fixed-size entry per address and hour in memory, and a row each in the
 * store (usage_refused_hourly), however many requests they send.
 */
#ifndef KEYWARD_DOMAIN_USAGE_H
#define KEYWARD_DOMAIN_USAGE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

struct config;
struct verify_result;

/*
 * Events per batch. A batch costs a commit plus about one page write per distinct key in it (the
 * per-key index, last_used), and each commit empties the page cache of every other connection
 * (WAL), the request threads' included: so few, large batches. A busy process writes about once
 * a second (the timer) rather than every 512 events as before; with 1,000 keys in turn that
 * halved the writer's CPU per event (about 17 to 8.5 microseconds, measured on the writer alone).
 */
#define USAGE_BATCH 8192
#define USAGE_FLUSH_MS 1000
#define USAGE_BUFFER_MAX 65536 /* events held at most; past it new events are dropped and counted */
#define USAGE_STRANGERS_MAX 65536 /* counts of strangers a batch holds at most (a power of two); a batch of
				     USAGE_BATCH of them is written at once, as a full batch of events is */
#define USAGE_ENDPOINT_MAX 512
#define USAGE_ADDRESS_MAX 64
#define USAGE_UPKEEP_CHUNKS 2 /* rollup transactions (and retention deletes) per round of upkeep */

struct usage;

/* Start a recorder writing to the database at config->database_path, with its own connection and thread. */
struct usage *usage_start(const struct config *config, char *error, size_t error_size);

/* usage_start() with another timer than USAGE_FLUSH_MS (tests: one that cannot be what wrote a batch). */
struct usage *usage_start_every(const struct config *config, int flush_ms, char *error, size_t error_size);

/*
 * Record one decision. Copies what it keeps; never blocks on I/O. `endpoint` and `address` may
 * be NULL. A decision without a known key (result->key_known false) is counted, its endpoint
 * ignored. Thread-safe.
 */
void usage_record(struct usage *usage, const struct verify_result *result, const char *endpoint,
		  const char *address, int64_t now);

/* Write everything buffered now, from the calling thread. Returns false if the write failed. */
bool usage_flush(struct usage *usage);

/* Stop the flusher, write what is left, close. NULL is fine. */
void usage_stop(struct usage *usage);

#endif
