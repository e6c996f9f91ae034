/* sessions.c: session tokens and their keyed hashes, expiry, CSRF tokens, sign-in throttling. */
#include "domain/sessions.h"

#include <sodium.h>
#include <stdio.h>
#include <string.h>

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
	store_session_delete_expired(store, now, now - SESSION_IDLE_SECONDS); /* housekeeping, best effort */
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
		store_session_delete(store, hash, sizeof hash);
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

/* The wait one subject imposes, given its failures in the window. */
static int64_t wait_for(int64_t failures, int64_t latest, int64_t now, int64_t free_failures, int64_t lock_failures,
			bool *locked)
{
	if (failures >= lock_failures) {
		*locked = true;
		int64_t until = latest + SIGNIN_WINDOW;
		return until > now ? until - now : 0;
	}
	if (failures < free_failures)
		return 0;
	int64_t delay = (int64_t)1 << (failures - free_failures < 6 ? failures - free_failures : 6);
	if (delay > 60)
		delay = 60;
	return latest + delay > now ? latest + delay - now : 0;
}

enum store_status signin_wait(struct store *store, const char *email_folded, const char *client_address, int64_t now,
			      int64_t *seconds, bool *locked)
{
	*seconds = 0;
	*locked = false;
	char subject[300];
	int64_t failures = 0, latest = 0;
	snprintf(subject, sizeof subject, "email:%s", email_folded);
	enum store_status status = store_signin_failure_count(store, subject, now - SIGNIN_WINDOW, &failures, &latest);
	if (status != STORE_OK)
		return status;
	bool account_locked = false, address_locked = false;
	int64_t account_wait = wait_for(failures, latest, now, SIGNIN_FREE_FAILURES, SIGNIN_LOCK_FAILURES, &account_locked);
	snprintf(subject, sizeof subject, "address:%s", client_address ? client_address : "");
	status = store_signin_failure_count(store, subject, now - SIGNIN_WINDOW, &failures, &latest);
	if (status != STORE_OK)
		return status;
	int64_t address_wait = wait_for(failures, latest, now, SIGNIN_ADDRESS_FREE_FAILURES, SIGNIN_ADDRESS_LOCK_FAILURES,
					 &address_locked);
	*seconds = account_wait > address_wait ? account_wait : address_wait;
	*locked = (account_locked && account_wait > 0) || (address_locked && address_wait > 0);
	return STORE_OK;
}

enum store_status signin_failed(struct store *store, const char *email_folded, const char *client_address, int64_t now)
{
	char subject[300];
	store_signin_failure_forget(store, now - SIGNIN_WINDOW); /* housekeeping, best effort */
	snprintf(subject, sizeof subject, "email:%s", email_folded);
	enum store_status status = store_signin_failure_add(store, subject, now);
	if (status != STORE_OK)
		return status;
	snprintf(subject, sizeof subject, "address:%s", client_address ? client_address : "");
	return store_signin_failure_add(store, subject, now);
}

enum store_status signin_succeeded(struct store *store, const char *email_folded)
{
	char subject[300];
	snprintf(subject, sizeof subject, "email:%s", email_folded);
	return store_signin_failure_clear(store, subject);
}
