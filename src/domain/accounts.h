/*
 * accounts.h: the people who use the console: e-mail and password rules, password hashing
 * (Argon2id, libsodium's crypto_pwhash_str), and the console roles with the permissions they hold.
 */
#ifndef KEYWARD_DOMAIN_ACCOUNTS_H
#define KEYWARD_DOMAIN_ACCOUNTS_H

#include <stdbool.h>
#include <stddef.h>

#include <sodium.h>

#define ACCOUNT_EMAIL_MAX 254       /* bytes, as RFC 5321 allows a path */
#define ACCOUNT_NAME_MAX 100        /* characters */
#define ACCOUNT_PASSWORD_MIN 12     /* characters */
#define ACCOUNT_PASSWORD_MAX 1024   /* bytes: Argon2id reads every one, so bound the work */
#define ACCOUNT_HASH_MAX crypto_pwhash_STRBYTES

/* Console roles, most powerful first. */
enum console_role { CONSOLE_OWNER, CONSOLE_ADMIN, CONSOLE_DEVELOPER, CONSOLE_VIEWER, CONSOLE_ROLE_COUNT };

/* What a console role may do; a route in the console names the one it needs. */
enum console_permission {
	PERMISSION_KEY_VIEW = 1 << 0,      /* api.key.view */
	PERMISSION_KEY_CREATE = 1 << 1,    /* api.key.create */
	PERMISSION_KEY_UPDATE = 1 << 2,    /* api.key.update */
	PERMISSION_KEY_DELETE = 1 << 3,    /* api.key.delete: revoke */
	PERMISSION_ROLE_MANAGE = 1 << 4,   /* role.manage */
	PERMISSION_MEMBER_MANAGE = 1 << 5, /* member.manage */
};

/* "owner", "admin", "developer", "viewer". */
const char *console_role_name(enum console_role role);

/* The role named `name` (exactly, lower case); false when there is none. */
bool console_role_parse(const char *name, enum console_role *role);

/* The permissions of `role`, as a set of enum console_permission bits. */
unsigned console_role_permissions(enum console_role role);

/* The permission names of `role`, space-separated ("api.key.view api.key.create ..."). */
const char *console_role_permission_names(enum console_role role);

/*
 * Check an e-mail address as typed (surrounding spaces already trimmed) and write its folded
 * form (ASCII lower case) into folded[ACCOUNT_EMAIL_MAX + 1]. Returns NULL when it will do, or a
 * sentence saying what is wrong. Deliberately plain: one @, a dot in the domain, no spaces or
 * control characters; delivery is the only real test.
 */
const char *account_email_problem(const char *email, char folded[ACCOUNT_EMAIL_MAX + 1]);

/* NULL when `password` (length bytes) is acceptable, or a sentence saying what is wrong. */
const char *account_password_problem(const char *password, size_t length);

/*
 * How many Argon2id computations (hashes and checks) this process runs at once: each takes 64 MiB
 * and a core for a good tenth of a second, so more at once than there are cores only costs memory
 * and makes each slower. Callers past the limit wait in line (a counting semaphore). `checks` 0:
 * the number of online CPUs. The first call decides, and the first hash or check calls it with 0
 * when nobody did; main.c calls it with KEYWARD_PASSWORD_CHECKS before anything else runs.
 * Returns the limit in force.
 */
unsigned account_password_concurrency(unsigned checks);

/* The most Argon2id computations that ran at once in this process so far (at most the limit). */
unsigned account_password_busiest(void);

/*
 * Hash a password for storage (Argon2id, interactive limits) into hash[ACCOUNT_HASH_MAX].
 * False only when the machine cannot spare the memory Argon2id asks for.
 */
bool account_password_hash(const char *password, size_t length, char hash[ACCOUNT_HASH_MAX]);

/*
 * True when `password` matches `hash`. Every call runs one Argon2id check of the same cost,
 * whatever it is given, so that the time taken tells nothing: when `hash` is NULL (no such
 * account) or "" (an account without a password), or the password is longer than
 * ACCOUNT_PASSWORD_MAX (its first ACCOUNT_PASSWORD_MAX bytes are used), a dummy hash is checked
 * instead and the answer is false. A malformed hash never matches.
 */
bool account_password_verify(const char *hash, const char *password, size_t length);

#endif
