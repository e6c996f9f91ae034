/*
 * users.h: changes to a person's account as a whole, for the command line (`keyward user
 * disable | enable | remove | reset-password | unlock`) and for the person themselves (the
 * console's Account page: a new password, signing out everywhere).
 *
 * Each is one transaction that writes the change and a line in the audit log of every workspace
 * the person belongs to (target: their e-mail address), or changes nothing. Ending sessions is
 * part of the change: disabling, removing or a new password set by the command line ends every
 * session of the person at once; the person's own new password ends all but the one they used.
 *
 * Statuses: STORE_OK, done; STORE_NOT_FOUND, no such user; STORE_CONFLICT, a rule refused it
 * (said per function); anything else, a store failure. In every case but STORE_OK nothing changed.
 */
#ifndef KEYWARD_DOMAIN_USERS_H
#define KEYWARD_DOMAIN_USERS_H

#include <stdbool.h>
#include <stdint.h>

#include "domain/audit.h"
#include "domain/sessions.h"
#include "store/store.h"

struct arena;

/*
 * Disable `user_id`: they cannot sign in any more (with a password, or by REMOTE_USER) and every
 * session of theirs ends ("user.disable"). STORE_CONFLICT when they are the only owner who can
 * sign in of a workspace: *blocking gets that workspace's name (in `arena`). Disabling someone
 * disabled already changes nothing and says STORE_OK with *changed false.
 */
enum store_status users_disable(struct store *store, struct arena *arena, const struct audit_actor *actor,
				int64_t user_id, int64_t now, const char **blocking, int64_t *sessions_ended, bool *changed);

/* Let `user_id` sign in again ("user.enable"); *changed false when they were not disabled. */
enum store_status users_enable(struct store *store, struct arena *arena, const struct audit_actor *actor,
			       int64_t user_id, int64_t now, bool *changed);

/*
 * Delete the account `user_id`: memberships and sessions go with it, and its sign-in failures; the
 * audit lines ("user.remove", written first, in each of its workspaces) keep its e-mail address.
 * STORE_CONFLICT as users_disable, with *blocking.
 */
enum store_status users_remove(struct store *store, struct arena *arena, const struct audit_actor *actor,
			       int64_t user_id, int64_t now, const char **blocking);

/*
 * Give `user_id` the password of `password_hash`, as the command line does ("user.password"):
 * every session of theirs ends, and the sign-in pause of the account and its devices is lifted.
 */
enum store_status users_reset_password(struct store *store, struct arena *arena, const struct audit_actor *actor,
				       int64_t user_id, const char *password_hash, int64_t now, int64_t *sessions_ended);

/*
 * The person `actor` changes their own password from the one of `checked_hash` (which they just
 * typed correctly, in the recorded `attempt`) to the one of `password_hash` ("user.password"):
 * every other session of theirs ends, `keep_session_id` (the one they used) stays, the attempt
 * and the account's failures are forgotten. STORE_CONFLICT when their password changed since
 * `checked_hash` was read, or they were disabled.
 */
enum store_status users_change_password(struct store *store, struct arena *arena, const struct audit_actor *actor,
					const struct signin_attempt *attempt, const char *checked_hash,
					const char *password_hash, int64_t keep_session_id, int64_t now,
					int64_t *sessions_ended);

/*
 * Forget the sign-in failures of the account `email_folded` (`user_id`) and of its trusted
 * devices ("user.unlock"), so that sign-in is no longer slowed down or paused for it. Failures
 * of client addresses stay: they belong to no one account.
 */
enum store_status users_unlock(struct store *store, struct arena *arena, const struct audit_actor *actor,
			       int64_t user_id, const char *email_folded, int64_t now);

/* End every session of the person `actor`, this one too ("signout.everywhere"); *sessions_ended gets how many. */
enum store_status users_sign_out_everywhere(struct store *store, struct arena *arena, const struct audit_actor *actor,
					    int64_t now, int64_t *sessions_ended);

#endif
