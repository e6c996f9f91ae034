/*
 * verify.h: the gatekeeper's decision: may this key make this request from this address?
 *
 * One code path for the FastCGI authorizer and the JSON verify endpoint. Checks, in order:
 * not several keys at once; a key was sent; its shape and checksum (no database access when they fail); a key with that
 * keyed hash exists in a workspace the request may use (those the gatekeeper serves, config.h)
 * as its current secret, or as its previous one while the overlap of a roll runs (after it, that
 * secret is refused as an unknown one);
 * it is not revoked; it has not expired; it is enabled; the client address is on its allowlist (no CIDRs, or
 * the allowlist switched off: any address); its role holds the permission the rules file requires for the request's path and the
 * permission the caller asks about (either may be absent).
 * A key of another workspace is refused exactly as an unknown one is (invalid_key, nothing known
 * of it): messages, results and usage never say whether a key exists elsewhere.
 * Expiry and the end of an overlap are compared with the request's time on every decision, keys
 * found in the cache too: they take effect at their moment without any write.
 */
#ifndef KEYWARD_DOMAIN_VERIFY_H
#define KEYWARD_DOMAIN_VERIFY_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

struct arena;
struct config;
struct key_cache;
struct store;

#define VERIFY_KEY_MAX 512 /* bytes; longer keys are refused unread */

/* verify_request.workspace_id: whose keys count. */
#define VERIFY_SERVED_WORKSPACES 0 /* those the gatekeeper serves (config->workspaces) */
#define VERIFY_ANY_WORKSPACE (-1)  /* any: the verify endpoint's own caller, who then sees its workspace only */

enum verify_code {
	VERIFY_GRANTED,
	VERIFY_MISSING_KEY,
	VERIFY_INVALID_KEY,
	VERIFY_DISABLED,
	VERIFY_REVOKED,
	VERIFY_EXPIRED,
	VERIFY_IP_NOT_ALLOWED,
	VERIFY_INSUFFICIENT_PERMISSIONS,
	VERIFY_UNAVAILABLE, /* the database could not be read (busy, failing): refuse, 503 */
	VERIFY_DAMAGED,     /* the database is damaged: refuse, 503, the same code word; no "try again" */
};

struct verify_request {
	const char *key;            /* the key as sent, NULL when none was sent */
	size_t key_length;
	bool several_keys;          /* two different keys, or a header holding more than one */
	const char *client_address; /* NULL when not given: refused only if the key has an allowlist;
				       given but not an address (garbage REMOTE_ADDR): always refused */
	const char *endpoint;       /* request path, for usage */
	const char *rule_permission; /* the permission the rules file requires for the request's path
					(api_rule_permission()), NULL or "" for none */
	const char *permission;     /* another permission the request needs (the verify endpoint's "permission"),
				       NULL or "" for none */
	int64_t workspace_id;       /* whose keys count: VERIFY_SERVED_WORKSPACES (0, the default), VERIFY_ANY_WORKSPACE,
				       or that one workspace only */
	int64_t now;                /* Unix seconds the decision is made at; 0: the clock's */
};

struct verify_result {
	enum verify_code code;
	bool key_known;          /* the key was found in a workspace the request may use; the fields below are set */
	int64_t key_row_id;
	int64_t workspace_id;    /* the key's; without a known key, the workspace the decision is counted in: the
				    request's own, else the first the gatekeeper serves */
	const char *key_id;
	const char *name;
	const char *role;
	const char *permissions; /* space-separated */
	bool off_record;
	int64_t expires_at;      /* 0: never */
	bool previous_secret;    /* the key was sent with its previous secret, during the overlap of a roll */
	const char *message;     /* the human sentence for `code`: verify_code_message(), but for VERIFY_EXPIRED
				    "Key expired on 2027-01-31 18:00 UTC" */
};

/*
 * Decide. Keys are looked up through `cache` (NULL: straight from the store; see key_cache.h).
 * Strings in *result live in `arena`.
 */
void verify_decide(struct store *store, struct key_cache *cache, const struct config *config, struct arena *arena,
		   const struct verify_request *request, struct verify_result *result);

/* The stable code word, e.g. "ip_not_allowed" ("granted" for VERIFY_GRANTED). */
const char *verify_code_name(enum verify_code code);

/* The plain human sentence, e.g. "Key was revoked". */
const char *verify_code_message(enum verify_code code);

/* True for the codes that say keyward could not decide (503): nothing of such a decision is recorded. */
bool verify_code_is_outage(enum verify_code code);

/* The HTTP status for a code: 200, 401, 403 or 503. */
int verify_code_status(enum verify_code code);

/* True when space-separated `permissions` holds `permission` as a whole word. */
bool verify_has_permission(const char *permissions, const char *permission);

#endif
