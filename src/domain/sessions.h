/*
 * sessions.h: signed-in browsers, signing in and out, trusted devices and sign-in throttling.
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

#include "domain/accounts.h"
#include "domain/audit.h"
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

/*
 * Start a session for `user_id` (no audit line, no transaction of its own; sign-ins go through
 * session_sign_in); token[] gets the cookie's value.
 */
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

/* End the session of `token` (no audit line). Ending an unknown one is fine. */
enum store_status session_end(struct store *store, const struct config *config, const char *token);

/*
 * Sign-out: end the session of `token` with a "signout" line in each workspace of `actor`, in one
 * transaction. STORE_OK: the session is gone (or was already); otherwise it still works.
 */
enum store_status session_sign_out(struct store *store, const struct config *config, struct arena *arena,
				   const struct audit_actor *actor, const char *token, int64_t now);

/* The CSRF token of the session `token`, for hidden form fields. */
void session_csrf_token(const struct config *config, const char *token, char csrf[SESSION_CSRF_LENGTH + 1]);

/* True when `submitted` is the CSRF token of session `token` (constant time). */
bool session_csrf_valid(const struct config *config, const char *token, const char *submitted);

/*
 * Sign-in throttling. Each attempt is checked against its subjects' recent failures and, when let
 * through, recorded as a failure of each at once, in one IMMEDIATE transaction, before the
 * password is checked: so N attempts at the same moment get no more checks than N failures one
 * after another would. The password right, the attempt's rows are deleted again, and the earlier
 * failures of its account or device subject with them (not the address's).
 *
 * The subjects: the client address; and either the account ("email:<folded address>"), or, for a
 * browser that presents a valid device cookie of that account (one it was given when someone
 * signed in there with the right password), that device alone ("device:<folded address> <id>").
 * Strangers' failures build up on the account and their addresses, which a trusted browser does
 * not answer to: they can pause sign-in for browsers the account has never used, never for those
 * it has (OWASP's "device cookies"). `keyward user unlock` forgets an account's and its devices'
 * failures.
 *
 * Over SIGNIN_WINDOW seconds: the first SIGNIN_FREE_FAILURES failures of an account or device
 * (SIGNIN_ADDRESS_FREE_FAILURES of an address, which a whole office may share) cost nothing;
 * after them each try must wait twice as long as the one before (1 s, 2 s, 4 s ... at most a
 * minute) after the latest failure; SIGNIN_LOCK_FAILURES failures (SIGNIN_ADDRESS_LOCK_FAILURES
 * for an address) pause it until the window has passed since the latest failure.
 */
#define SIGNIN_WINDOW 900
#define SIGNIN_FREE_FAILURES 3
#define SIGNIN_ADDRESS_FREE_FAILURES 10
#define SIGNIN_LOCK_FAILURES 10
#define SIGNIN_ADDRESS_LOCK_FAILURES 30
#define SIGNIN_SUBJECT_MAX 320

/*
 * The device cookie: "<id>.<mac>", an id of 16 random bytes and a keyed BLAKE2b (the server key)
 * of the account's folded address, its password hash and the id, both base64url. Bound to the
 * account and its password: a new password makes the account's other devices strangers again.
 * HttpOnly, SameSite=Strict, Secure over HTTPS, for DEVICE_COOKIE_SECONDS.
 */
#define DEVICE_COOKIE "kw_device"
#define DEVICE_COOKIE_SECONDS (400 * 24 * 3600) /* the longest browsers keep a cookie */
#define DEVICE_ID_LENGTH 22                     /* base64url of 16 bytes */
#define DEVICE_COOKIE_LENGTH (DEVICE_ID_LENGTH + 1 + SESSION_TOKEN_LENGTH)

/*
 * The device cookie of account `email_folded` with `password_hash` for device `id` (NULL: a new
 * random one), into cookie[].
 */
void device_cookie_make(const struct config *config, const char *email_folded, const char *password_hash,
			const char *id, char cookie[DEVICE_COOKIE_LENGTH + 1]);

/*
 * True when `cookie` (NULL: none) is a device cookie of account `email_folded` with
 * `password_hash` (NULL or "": none can be), compared in constant time; id[] gets its device id.
 */
bool device_cookie_check(const struct config *config, const char *cookie, const char *email_folded,
			 const char *password_hash, char id[DEVICE_ID_LENGTH + 1]);

/* An attempt let through and recorded: the rows to delete when its password was right. */
struct signin_attempt {
	char subject[SIGNIN_SUBJECT_MAX]; /* the account's or the device's */
	int64_t subject_row;
	int64_t address_row;
	char email_folded[ACCOUNT_EMAIL_MAX + 1];
};

/*
 * Let a sign-in attempt for `email_folded` from `client_address`, by device `device_id` (a valid
 * device cookie's id, or NULL) at `now_ms` (milliseconds) through, or not. STORE_OK and *seconds
 * 0: it was let through and recorded, *attempt says where; STORE_OK and *seconds > 0: not now,
 * wait that long (*locked: paused for the window rather than slowed down), nothing recorded. Any
 * other status: the store failed and nothing was recorded, so the attempt must be refused.
 */
enum store_status signin_attempt_begin(struct store *store, const char *email_folded, const char *device_id,
				       const char *client_address, int64_t now_ms, struct signin_attempt *attempt,
				       int64_t *seconds, bool *locked);

/* What a successful sign-in needs: who, how, and what it replaces. */
struct signin_success {
	const struct store_user *user;         /* as read before the password was checked */
	const struct signin_attempt *attempt;  /* its recorded attempt; NULL when there was none (REMOTE_USER, a new account) */
	const char *previous_token;            /* the session cookie the browser came with, or NULL */
	const char *client_address;
	const char *summary;                   /* of the "signin" audit lines: "signed in", ...; NULL: none
						  (a new account, whose "member.join" line says it all) */
};

/*
 * Sign `success->user` in, in one transaction: the browser's previous session ends, a new one
 * starts (token[] gets its cookie value), the attempt's rows and the earlier failures of its
 * subject are forgotten (a trusted device's success leaves the account's pause alone: strangers
 * may still be at it), and each workspace of the user gets a "signin" line. STORE_CONFLICT
 * when the account changed since it was read (disabled, or, for a password sign-in, given a new
 * password); STORE_NOT_FOUND when it is gone. Anything but STORE_OK: nothing changed (the
 * attempt stays a failure, and the previous session still works).
 */
enum store_status session_sign_in(struct store *store, const struct config *config, struct arena *arena,
				  const struct signin_success *success, int64_t now, char token[SESSION_TOKEN_LENGTH + 1]);

/*
 * A sign-in of the known account `user` that failed after its password was checked (wrong, or
 * right but the account is disabled): a "signin.failed" line with `summary` in each of its
 * workspaces, in one transaction. The attempt itself was counted already, by signin_attempt_begin.
 */
enum store_status signin_note_failure(struct store *store, struct arena *arena, const struct store_user *user,
				      const char *client_address, const char *summary, int64_t now);

/* The account subject of `email_folded` ("email:..."), and the prefix of its devices' ("device:... "). */
void signin_account_subject(const char *email_folded, char subject[SIGNIN_SUBJECT_MAX]);
void signin_device_prefix(const char *email_folded, char prefix[SIGNIN_SUBJECT_MAX]);

/* Milliseconds since the epoch (CLOCK_REALTIME). */
int64_t signin_now_ms(void);

#endif
