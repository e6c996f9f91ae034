/* sessions.c: session tokens and their keyed hashes, expiry, CSRF tokens, signing in and out, device cookies, throttling. */
#include "domain/sessions.h"

#include <sodium.h>
#include <stdio.h>
#include <string.h>
#include <time.h>

#include "core/config.h"

#define TOKEN_BYTES 32
#define HASH_BYTES SESSION_HASH_BYTES

void session_keyed_hash(const struct config *config, const char *purpose, const char *token,
			unsigned char hash[SESSION_HASH_BYTES])
{
	crypto_generichash_state state;
	crypto_generichash_init(&state, config->server_key, sizeof config->server_key, HASH_BYTES);
	crypto_generichash_update(&state, (const unsigned char *)purpose, strlen(purpose) + 1);
	crypto_generichash_update(&state, (const unsigned char *)token, strlen(token));
	crypto_generichash_final(&state, hash, HASH_BYTES);
}

bool session_token_shaped(const char *token)
{
	if (token == NULL || strlen(token) != SESSION_TOKEN_LENGTH)
		return false;
	for (const char *c = token; *c != '\0'; c++)
		if (!((*c >= 'A' && *c <= 'Z') || (*c >= 'a' && *c <= 'z') || (*c >= '0' && *c <= '9') || *c == '-' ||
		      *c == '_'))
			return false;
	return true;
}

void session_token_new(char token[SESSION_TOKEN_LENGTH + 1])
{
	unsigned char random[TOKEN_BYTES];
	randombytes_buf(random, sizeof random);
	sodium_bin2base64(token, SESSION_TOKEN_LENGTH + 1, random, sizeof random, sodium_base64_VARIANT_URLSAFE_NO_PADDING);
	sodium_memzero(random, sizeof random);
}

enum store_status session_start(struct store *store, const struct config *config, int64_t user_id, int64_t now,
				const char *client_address, char token[SESSION_TOKEN_LENGTH + 1])
{
	session_token_new(token);
	unsigned char hash[HASH_BYTES];
	session_keyed_hash(config, "session", token, hash);
	return store_session_insert(store, hash, sizeof hash, user_id, now, now + SESSION_ABSOLUTE_SECONDS,
				    client_address);
}

enum session_state session_resume(struct store *store, const struct config *config, struct arena *arena,
				  const char *token, int64_t now, struct store_session *session)
{
	if (!session_token_shaped(token))
		return SESSION_NONE;
	unsigned char hash[HASH_BYTES];
	session_keyed_hash(config, "session", token, hash);
	enum store_status status = store_session_find(store, arena, hash, sizeof hash, session);
	if (status == STORE_NOT_FOUND)
		return SESSION_NONE;
	if (status != STORE_OK)
		return SESSION_UNAVAILABLE;
	if (now >= session->expires_at || now - session->last_seen_at >= SESSION_IDLE_SECONDS) {
		if (store_session_delete(store, hash, sizeof hash) != STORE_OK) /* it stays expired all the same */
			fprintf(stderr, "keyward: could not delete an expired session (housekeeping; it is refused anyway)\n");
		return SESSION_EXPIRED;
	}
	if (now - session->last_seen_at >= SESSION_TOUCH_SECONDS && store_session_touch(store, session->id, now) == STORE_OK)
		session->last_seen_at = now;
	return SESSION_VALID;
}

enum store_status session_end(struct store *store, const struct config *config, const char *token)
{
	if (!session_token_shaped(token))
		return STORE_OK;
	unsigned char hash[HASH_BYTES];
	session_keyed_hash(config, "session", token, hash);
	return store_session_delete(store, hash, sizeof hash);
}

void session_csrf_token(const struct config *config, const char *token, char csrf[SESSION_CSRF_LENGTH + 1])
{
	unsigned char hash[HASH_BYTES];
	session_keyed_hash(config, "csrf", token ? token : "", hash);
	sodium_bin2base64(csrf, SESSION_CSRF_LENGTH + 1, hash, sizeof hash, sodium_base64_VARIANT_URLSAFE_NO_PADDING);
}

bool session_csrf_valid(const struct config *config, const char *token, const char *submitted)
{
	if (!session_token_shaped(token) || submitted == NULL || strlen(submitted) != SESSION_CSRF_LENGTH)
		return false;
	char expected[SESSION_CSRF_LENGTH + 1];
	session_csrf_token(config, token, expected);
	return sodium_memcmp(expected, submitted, SESSION_CSRF_LENGTH) == 0;
}

/*
 * Sign-out, sign-in: each one transaction with its audit lines.
 */

enum store_status session_sign_out(struct store *store, const struct config *config, struct arena *arena,
				   const struct audit_actor *actor, const char *token, int64_t now)
{
	if (!session_token_shaped(token))
		return STORE_OK;
	unsigned char hash[HASH_BYTES];
	session_keyed_hash(config, "session", token, hash);
	enum store_status status = store_transaction_begin(store);
	if (status != STORE_OK)
		return status;
	status = audit_record_everywhere(store, arena, actor->user_id, actor, "signout", actor->label, "signed out", now);
	if (status == STORE_OK)
		status = store_session_delete(store, hash, sizeof hash);
	return store_transaction_finish(store, status);
}

void signin_account_subject(const char *email_folded, char subject[SIGNIN_SUBJECT_MAX])
{
	snprintf(subject, SIGNIN_SUBJECT_MAX, "email:%s", email_folded);
}

void signin_device_prefix(const char *email_folded, char prefix[SIGNIN_SUBJECT_MAX])
{
	snprintf(prefix, SIGNIN_SUBJECT_MAX, "device:%s ", email_folded); /* no address holds a space */
}

/* Housekeeping that may fail without harm, but not unnoticed. */
static void housekeeping(struct store *store, int64_t now)
{
	if (store_session_delete_expired(store, now, now - SESSION_IDLE_SECONDS) != STORE_OK)
		fprintf(stderr, "keyward: could not delete expired sessions (housekeeping; they are refused anyway)\n");
	if (store_signin_failure_forget(store, now - SIGNIN_WINDOW) != STORE_OK)
		fprintf(stderr, "keyward: could not delete old sign-in failures (housekeeping; they no longer count)\n");
}

enum store_status session_sign_in(struct store *store, const struct config *config, struct arena *arena,
				  const struct signin_success *success, int64_t now, char token[SESSION_TOKEN_LENGTH + 1])
{
	const struct store_user *user = success->user;
	token[0] = '\0';
	housekeeping(store, now);
	enum store_status status = store_transaction_begin(store);
	if (status != STORE_OK)
		return status;
	struct store_user current;
	status = store_user_get(store, arena, user->id, &current);
	if (status == STORE_OK && (current.disabled_at != 0 ||
				   (success->attempt != NULL && strcmp(current.password_hash, user->password_hash) != 0)))
		status = STORE_CONFLICT;
	if (status == STORE_OK && session_token_shaped(success->previous_token)) {
		unsigned char previous[HASH_BYTES];
		session_keyed_hash(config, "session", success->previous_token, previous);
		status = store_session_delete(store, previous, sizeof previous);
	}
	if (status == STORE_OK)
		status = session_start(store, config, user->id, now, success->client_address, token);
	/*
	 * The attempt was no failure, and its subject's earlier ones are forgiven: the account's for
	 * a browser it never used, else the device's. A trusted browser leaves the account's alone:
	 * strangers may still be at work, and the pause they built up keeps them out.
	 */
	const struct signin_attempt *attempt = success->attempt;
	if (status == STORE_OK && attempt != NULL)
		status = store_signin_failure_delete(store, attempt->address_row);
	if (status == STORE_OK && attempt != NULL)
		status = store_signin_failure_clear(store, attempt->subject);
	if (status == STORE_OK && success->summary != NULL) {
		struct audit_actor actor = { user->id, user->email, success->client_address };
		status = audit_record_everywhere(store, arena, user->id, &actor, "signin", user->email, success->summary, now);
	}
	status = store_transaction_finish(store, status);
	if (status != STORE_OK)
		sodium_memzero(token, SESSION_TOKEN_LENGTH + 1);
	return status;
}

enum store_status signin_note_failure(struct store *store, struct arena *arena, const struct store_user *user,
				      const char *client_address, const char *summary, int64_t now)
{
	enum store_status status = store_transaction_begin(store);
	if (status != STORE_OK)
		return status;
	struct audit_actor actor = { user->id, user->email, client_address };
	status = audit_record_everywhere(store, arena, user->id, &actor, "signin.failed", user->email, summary, now);
	return store_transaction_finish(store, status);
}

/*
 * Trusted devices.
 */

/* The MAC of a device cookie: keyed BLAKE2b of the account, its password hash and the device id. */
static void device_mac(const struct config *config, const char *email_folded, const char *password_hash,
		       const char *id, unsigned char mac[HASH_BYTES])
{
	crypto_generichash_state state;
	crypto_generichash_init(&state, config->server_key, sizeof config->server_key, HASH_BYTES);
	crypto_generichash_update(&state, (const unsigned char *)"device", sizeof "device");
	crypto_generichash_update(&state, (const unsigned char *)email_folded, strlen(email_folded) + 1);
	crypto_generichash_update(&state, (const unsigned char *)password_hash, strlen(password_hash) + 1);
	crypto_generichash_update(&state, (const unsigned char *)id, strlen(id));
	crypto_generichash_final(&state, mac, HASH_BYTES);
}

void device_cookie_make(const struct config *config, const char *email_folded, const char *password_hash,
			const char *id, char cookie[DEVICE_COOKIE_LENGTH + 1])
{
	char fresh[DEVICE_ID_LENGTH + 1];
	if (id == NULL) {
		unsigned char random[16];
		randombytes_buf(random, sizeof random);
		sodium_bin2base64(fresh, sizeof fresh, random, sizeof random, sodium_base64_VARIANT_URLSAFE_NO_PADDING);
		id = fresh;
	}
	unsigned char mac[HASH_BYTES];
	device_mac(config, email_folded, password_hash, id, mac);
	memcpy(cookie, id, DEVICE_ID_LENGTH);
	cookie[DEVICE_ID_LENGTH] = '.';
	sodium_bin2base64(cookie + DEVICE_ID_LENGTH + 1, SESSION_TOKEN_LENGTH + 1, mac, sizeof mac,
			  sodium_base64_VARIANT_URLSAFE_NO_PADDING);
}

/* True when `text` is `length` base64url characters. */
static bool base64url_shaped(const char *text, size_t length)
{
	for (size_t i = 0; i < length; i++) {
		char c = text[i];
		if (!((c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '-' || c == '_'))
			return false;
	}
	return true;
}

bool device_cookie_check(const struct config *config, const char *cookie, const char *email_folded,
			 const char *password_hash, char id[DEVICE_ID_LENGTH + 1])
{
	id[0] = '\0';
	if (cookie == NULL || password_hash == NULL || password_hash[0] == '\0' || strlen(cookie) != DEVICE_COOKIE_LENGTH ||
	    cookie[DEVICE_ID_LENGTH] != '.' || !base64url_shaped(cookie, DEVICE_ID_LENGTH) ||
	    !base64url_shaped(cookie + DEVICE_ID_LENGTH + 1, SESSION_TOKEN_LENGTH))
		return false;
	char candidate[DEVICE_ID_LENGTH + 1];
	memcpy(candidate, cookie, DEVICE_ID_LENGTH);
	candidate[DEVICE_ID_LENGTH] = '\0';
	char expected[DEVICE_COOKIE_LENGTH + 1];
	device_cookie_make(config, email_folded, password_hash, candidate, expected);
	if (sodium_memcmp(expected, cookie, DEVICE_COOKIE_LENGTH) != 0)
		return false;
	memcpy(id, candidate, sizeof candidate);
	return true;
}

/*
 * Throttling.
 */

int64_t signin_now_ms(void)
{
	struct timespec now;
	clock_gettime(CLOCK_REALTIME, &now);
	return (int64_t)now.tv_sec * 1000 + now.tv_nsec / 1000000;
}

/* The wait one subject imposes in milliseconds, given its failures in the window and the latest one's time. */
static int64_t wait_for(int64_t failures, int64_t latest_ms, int64_t now_ms, int64_t free_failures,
			int64_t lock_failures, bool *locked)
{
	int64_t until = latest_ms;
	if (failures >= lock_failures) {
		*locked = true;
		until += (int64_t)SIGNIN_WINDOW * 1000;
	} else if (failures >= free_failures) {
		int64_t delay = (int64_t)1 << (failures - free_failures < 6 ? failures - free_failures : 6);
		until += (delay > 60 ? 60 : delay) * 1000;
	} else {
		return 0;
	}
	return until > now_ms ? until - now_ms : 0;
}

enum store_status signin_attempt_begin(struct store *store, const char *email_folded, const char *device_id,
				       const char *client_address, int64_t now_ms, struct signin_attempt *attempt,
				       int64_t *seconds, bool *locked)
{
	*seconds = 0;
	*locked = false;
	memset(attempt, 0, sizeof *attempt);
	snprintf(attempt->email_folded, sizeof attempt->email_folded, "%s", email_folded);
	if (device_id != NULL)
		snprintf(attempt->subject, sizeof attempt->subject, "device:%s %s", email_folded, device_id);
	else
		signin_account_subject(email_folded, attempt->subject);
	char address[SIGNIN_SUBJECT_MAX];
	snprintf(address, sizeof address, "address:%s", client_address ? client_address : "");
	int64_t since = now_ms / 1000 - SIGNIN_WINDOW;
	enum store_status status = store_transaction_begin(store);
	if (status != STORE_OK)
		return status;
	status = store_signin_attempts_lock(store);
	int64_t failures = 0, latest = 0, wait = 0;
	bool subject_locked = false, address_locked = false;
	if (status == STORE_OK)
		status = store_signin_failure_count(store, attempt->subject, since, &failures, &latest);
	if (status == STORE_OK)
		wait = wait_for(failures, latest, now_ms, SIGNIN_FREE_FAILURES, SIGNIN_LOCK_FAILURES, &subject_locked);
	if (status == STORE_OK)
		status = store_signin_failure_count(store, address, since, &failures, &latest);
	if (status == STORE_OK) {
		int64_t address_wait = wait_for(failures, latest, now_ms, SIGNIN_ADDRESS_FREE_FAILURES,
						SIGNIN_ADDRESS_LOCK_FAILURES, &address_locked);
		*locked = (subject_locked && wait > 0) || (address_locked && address_wait > 0);
		wait = address_wait > wait ? address_wait : wait;
	}
	if (status == STORE_OK && wait == 0)
		status = store_signin_failure_add(store, attempt->subject, now_ms, &attempt->subject_row);
	if (status == STORE_OK && wait == 0)
		status = store_signin_failure_add(store, address, now_ms, &attempt->address_row);
	status = store_transaction_finish(store, status);
	if (status != STORE_OK) {
		*locked = false;
		return status;
	}
	*seconds = (wait + 999) / 1000;
	return STORE_OK;
}
