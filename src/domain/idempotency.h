/*
 * idempotency.h: a POST of the management API sent again with the same Idempotency-Key gets the
 * first answer again, and nothing is done twice.
 *
 * The caller opens a transaction, calls idempotency_begin(), and when it says IDEMPOTENCY_NEW does
 * the request (its changes nest in that transaction), then idempotency_finish() with the answer
 * and commits: a change and its recorded answer are kept together or not at all. An answer that
 * says keyward failed (5xx) is not recorded: the caller rolls everything back, and the client may
 * try again with the same key.
 *
 * Nothing of the header's value is stored as it is: rows are found by its keyed hash, and each
 * answer (it may hold a new key's token) is sealed with a key derived from the server key and the
 * value, so neither the database nor a copy of it opens an answer without the client's value.
 */
#ifndef KEYWARD_DOMAIN_IDEMPOTENCY_H
#define KEYWARD_DOMAIN_IDEMPOTENCY_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "store/store.h"

struct arena;
struct config;

#define IDEMPOTENCY_KEY_MAX 255            /* characters of the header's value (printable ASCII) */
#define IDEMPOTENCY_MAX_AGE (24 * 3600)    /* seconds an answer is kept and replayed */
#define IDEMPOTENCY_HASH_BYTES 32

/* True when `value` may be an Idempotency-Key: 1 to IDEMPOTENCY_KEY_MAX printable ASCII characters. */
bool idempotency_key_valid(const char *value);

enum idempotency_outcome {
	IDEMPOTENCY_NEW,      /* no answer recorded: do the request, then idempotency_finish() */
	IDEMPOTENCY_REPLAY,   /* the same request was answered: *status and *answer hold that answer */
	IDEMPOTENCY_MISMATCH, /* the key was used for another request (method, path or body differ) */
};

/* What idempotency_begin() hands on to idempotency_finish(). */
struct idempotency {
	int64_t row_id;
	unsigned char seal_key[32];
};

/*
 * Inside the caller's open transaction: look up or claim header value `value` (valid) of the
 * calling key `api_key_row_id` for the request `method` `path` with `body` (may be NULL when
 * `body_length` is 0). On IDEMPOTENCY_REPLAY *status and *answer (NUL-terminated, in `arena`) hold
 * the first answer. Returns the store's status; anything but STORE_OK means roll back.
 */
enum store_status idempotency_begin(struct store *store, const struct config *config, struct arena *arena,
				    int64_t workspace_id, int64_t api_key_row_id, const char *value, const char *method,
				    const char *path, const char *body, size_t body_length, int64_t now,
				    struct idempotency *state, enum idempotency_outcome *outcome, int *status,
				    const char **answer);

/* Record the answer (`status`, `answer` of `length` bytes) of a request idempotency_begin() said was new. */
enum store_status idempotency_finish(struct store *store, struct idempotency *state, int status, const char *answer,
				     size_t length);

#endif
