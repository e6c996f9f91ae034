/*
 * sessions.h: signed-in browsers and sign-in throttling.
 *
 * A session is 32 random bytes, base64url in an HttpOnly cookie; the store keeps only a keyed
 * hash (BLAKE2b with the server key), so a copy of the database signs no one in. A session ends
 * after SESSION_IDLE_SECONDS without a request, after SESSION_ABSOLUTE_SECONDS whatever happens,
 * or at sign-out. Its CSRF token is derived from it (keyed hash, another purpose), so forms need
 * no stored token and a token is worthless without the session it was made for.
 */
#ifndef KEYWARD_DOMAIN_SESSIONS_H
#define KEYWARD_DOMAIN_SESSIONS_H

#include <stdbool.h>
#include <stdint.h>

#include "store/store.h"

struct arena;
struct config;

#define SESSION_COOKIE "kw_session"
#define SESSION_TOKEN_LENGTH 43            /* base64url (no padding) of 32 random bytes */
#define SESSION_CSRF_LENGTH 43
#define SESSION_IDLE_SECONDS (2 * 3600)
#define SESSION_ABSOLUTE_SECONDS (12 * 3600)
#define SESSION_TOUCH_SECONDS 60           /* last_seen is written at most once a minute */

#define SESSION_HASH_BYTES 32

/* A new random token (32 bytes, base64url): for cookies and one-time links alike. */
void session_token_new(char token[SESSION_TOKEN_LENGTH + 1]);

/* True when `token` looks like one of ours: SESSION_TOKEN_LENGTH base64url characters. */
bool session_token_shaped(const char *token);

/* BLAKE2b of `purpose` and `token`, keyed with the server key: one key, separate uses. */
void session_keyed_hash(const struct config *config, const char *purpose, const char *token,
			unsigned char hash[SESSION_HASH_BYTES]);

/* Start a session for `user_id`; token[] gets the cookie's value. */
enum store_status session_start(struct store *store, const struct config *config, int64_t user_id, int64_t now,
				const char *client_address, char token[SESSION_TOKEN_LENGTH + 1]);

enum session_state {
	SESSION_VALID,
	SESSION_NONE,        /* no cookie, a malformed one, or one the store does not know */
	SESSION_EXPIRED,     /* idle or past its absolute end: deleted now */
	SESSION_UNAVAILABLE, /* the store could not be read */
};

/*
 * Find the session of cookie value `token` (NULL: none) at `now`; on SESSION_VALID *session is
 * filled (strings in `arena`) and its idle clock restarted.
 */
enum session_state session_resume(struct store *store, const struct config *config, struct arena *arena,
				  const char *token, int64_t now, struct store_session *session);

/* End the session of `token` (sign-out). Ending an unknown one is fine. */
enum store_status session_end(struct store *store, const struct config *config, const char *token);

/* The CSRF token of the session `token`, for hidden form fields. */
void session_csrf_token(const struct config *config, const char *token, char csrf[SESSION_CSRF_LENGTH + 1]);

/* True when `submitted` is the CSRF token of session `token` (constant time). */
bool session_csrf_valid(const struct config *config, const char *token, const char *submitted);

/*
 * Sign-in throttling, per account (folded e-mail) and per client address, over a window of
 * SIGNIN_WINDOW seconds: the first SIGNIN_FREE_FAILURES failures of an account (SIGNIN_ADDRESS_FREE_FAILURES
 * of an address, which a whole office may share) cost nothing; after them each try
 * must wait twice as long as the one before (1 s, 2 s, 4 s ... at most a minute) after the latest
 * failure; SIGNIN_LOCK_FAILURES failures for an account (SIGNIN_ADDRESS_LOCK_FAILURES for an
 * address) lock it until the window has passed since the latest failure. A success clears the
 * account's failures (not the address's).
 */
#define SIGNIN_WINDOW 900
#define SIGNIN_FREE_FAILURES 3
#define SIGNIN_ADDRESS_FREE_FAILURES 10
#define SIGNIN_LOCK_FAILURES 10
#define SIGNIN_ADDRESS_LOCK_FAILURES 30

/* 0 when a sign-in may be tried now, else the seconds to wait; *locked tells which kind of wait. */
enum store_status signin_wait(struct store *store, const char *email_folded, const char *client_address, int64_t now,
			      int64_t *seconds, bool *locked);
enum store_status signin_failed(struct store *store, const char *email_folded, const char *client_address, int64_t now);
enum store_status signin_succeeded(struct store *store, const char *email_folded);

#endif
