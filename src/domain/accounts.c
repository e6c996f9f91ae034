/* accounts.c: e-mail and password rules, Argon2id password hashes (a few at a time), console roles and their permissions. */
#include "domain/accounts.h"

#include <errno.h>
#include <pthread.h>
#include <semaphore.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "core/text.h"

static const struct {
	const char *name;
	unsigned permissions;
	const char *permission_names;
} roles[CONSOLE_ROLE_COUNT] = {
	[CONSOLE_OWNER] = { "owner",
		PERMISSION_KEY_VIEW | PERMISSION_KEY_CREATE | PERMISSION_KEY_UPDATE | PERMISSION_KEY_DELETE |
			PERMISSION_ROLE_MANAGE | PERMISSION_MEMBER_MANAGE,
		"api.key.view api.key.create api.key.update api.key.delete role.manage member.manage" },
	[CONSOLE_ADMIN] = { "admin",
		PERMISSION_KEY_VIEW | PERMISSION_KEY_CREATE | PERMISSION_KEY_UPDATE | PERMISSION_KEY_DELETE |
			PERMISSION_ROLE_MANAGE | PERMISSION_MEMBER_MANAGE,
		"api.key.view api.key.create api.key.update api.key.delete role.manage member.manage" },
	[CONSOLE_DEVELOPER] = { "developer", PERMISSION_KEY_VIEW | PERMISSION_KEY_CREATE | PERMISSION_KEY_UPDATE,
		"api.key.view api.key.create api.key.update" },
	[CONSOLE_VIEWER] = { "viewer", PERMISSION_KEY_VIEW, "api.key.view" },
};

const char *console_role_name(enum console_role role)
{
	return role < CONSOLE_ROLE_COUNT ? roles[role].name : "";
}

bool console_role_parse(const char *name, enum console_role *role)
{
	for (int i = 0; i < CONSOLE_ROLE_COUNT; i++)
		if (name != NULL && strcmp(name, roles[i].name) == 0) {
			*role = (enum console_role)i;
			return true;
		}
	return false;
}

unsigned console_role_permissions(enum console_role role)
{
	return role < CONSOLE_ROLE_COUNT ? roles[role].permissions : 0;
}

const char *console_role_permission_names(enum console_role role)
{
	return role < CONSOLE_ROLE_COUNT ? roles[role].permission_names : "";
}

const char *account_email_problem(const char *email, char folded[ACCOUNT_EMAIL_MAX + 1])
{
	folded[0] = '\0';
	size_t length = strlen(email);
	if (length == 0)
		return "Enter an e-mail address.";
	if (length > ACCOUNT_EMAIL_MAX)
		return "That e-mail address is too long (254 characters at most).";
	if (!utf8_valid(email, length))
		return "That e-mail address has bytes that are not UTF-8 text.";
	const char *at = strchr(email, '@');
	if (at == NULL || strchr(at + 1, '@') != NULL)
		return "An e-mail address has exactly one @, as in name@example.com.";
	size_t local = (size_t)(at - email);
	const char *domain = at + 1;
	size_t domain_length = strlen(domain);
	if (local == 0 || local > 64)
		return "The part before the @ must be 1 to 64 characters long.";
	const char *dot = strchr(domain, '.');
	if (domain_length == 0 || dot == NULL || domain[0] == '.' || domain[domain_length - 1] == '.' ||
	    strstr(domain, "..") != NULL)
		return "The part after the @ must be a domain name, as in example.com.";
	for (const unsigned char *c = (const unsigned char *)email; *c != '\0'; c++)
		if (*c <= ' ' || *c == 0x7f || strchr("<>()[]\\,;:\"", *c) != NULL)
			return "An e-mail address has no spaces, control characters or any of < > ( ) [ ] \\ , ; : \".";
	for (size_t i = 0; i <= length; i++)
		folded[i] = (email[i] >= 'A' && email[i] <= 'Z') ? (char)(email[i] - 'A' + 'a') : email[i];
	return NULL;
}

const char *account_password_problem(const char *password, size_t length)
{
	if (length > ACCOUNT_PASSWORD_MAX)
		return "That password is too long (1,024 bytes at most).";
	if (memchr(password, '\0', length) != NULL || !utf8_valid(password, length))
		return "That password has bytes that are not text.";
	if (utf8_length(password, length) < ACCOUNT_PASSWORD_MIN)
		return "Use at least 12 characters: a few words make a strong password that is easy to type.";
	return NULL;
}

/* The line Argon2id computations wait in (see account_password_concurrency). */
static sem_t slots;
static unsigned slot_count;
static pthread_once_t slots_made = PTHREAD_ONCE_INIT;
static unsigned slots_wanted; /* 0: one per online CPU */

static void make_slots(void)
{
	long cpus = sysconf(_SC_NPROCESSORS_ONLN);
	slot_count = slots_wanted > 0 ? slots_wanted : cpus > 0 ? (unsigned)cpus : 1;
	if (sem_init(&slots, 0, slot_count) != 0)
		abort(); /* only for a count past SEM_VALUE_MAX, which the setting's bound rules out */
}

unsigned account_password_concurrency(unsigned checks)
{
	slots_wanted = checks;
	pthread_once(&slots_made, make_slots);
	return slot_count;
}

/* How many run now, and the most that ever ran at once. */
static unsigned running, busiest;
static pthread_mutex_t running_lock = PTHREAD_MUTEX_INITIALIZER;

static void slot_take(void)
{
	pthread_once(&slots_made, make_slots);
	while (sem_wait(&slots) != 0 && errno == EINTR)
		;
	pthread_mutex_lock(&running_lock);
	if (++running > busiest)
		busiest = running;
	pthread_mutex_unlock(&running_lock);
}

static void slot_give(void)
{
	pthread_mutex_lock(&running_lock);
	running--;
	pthread_mutex_unlock(&running_lock);
	sem_post(&slots);
}

unsigned account_password_busiest(void)
{
	pthread_mutex_lock(&running_lock);
	unsigned most = busiest;
	pthread_mutex_unlock(&running_lock);
	return most;
}

bool account_password_hash(const char *password, size_t length, char hash[ACCOUNT_HASH_MAX])
{
	slot_take();
	int made = crypto_pwhash_str(hash, password, length, crypto_pwhash_OPSLIMIT_INTERACTIVE,
				     crypto_pwhash_MEMLIMIT_INTERACTIVE);
	slot_give();
	return made == 0;
}

/* A hash of a random password, checked when there is no usable hash, to take the same time. */
static char dummy_hash[ACCOUNT_HASH_MAX];
static pthread_once_t dummy_made = PTHREAD_ONCE_INIT;

static void make_dummy_hash(void)
{
	unsigned char random[32];
	randombytes_buf(random, sizeof random);
	if (!account_password_hash((const char *)random, sizeof random, dummy_hash))
		dummy_hash[0] = '\0';
	sodium_memzero(random, sizeof random);
}

bool account_password_verify(const char *hash, const char *password, size_t length)
{
	bool usable = hash != NULL && hash[0] != '\0' && length <= ACCOUNT_PASSWORD_MAX;
	if (!usable)
		pthread_once(&dummy_made, make_dummy_hash);
	const char *checked = usable ? hash : dummy_hash;
	if (checked[0] == '\0')
		return false; /* the dummy could not be made: the machine is out of memory anyway */
	slot_take();
	int same = crypto_pwhash_str_verify(checked, password, length <= ACCOUNT_PASSWORD_MAX ? length : ACCOUNT_PASSWORD_MAX);
	slot_give();
	return usable && same == 0;
}
