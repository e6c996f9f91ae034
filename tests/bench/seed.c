/*
 * seed.c: fill a fresh keyward database with many keys for `make bench`, through keyward's own
 * store and domain code (the same keys_create() the console and the command line use).
 *
 *   seed DATABASE COUNT OUTDIR [--notes]
 *
 * Makes COUNT keys (enabled, read-only, no allowlist) plus the special ones below, and writes the
 * tokens the benchmark sends, one per line, into OUTDIR:
 *   grant.txt     the token of one enabled key (the first of grant_many.txt)
 *   grant_many.txt  tokens of GRANT_SAMPLE enabled keys spread evenly over the COUNT keys (all of
 *                 them when COUNT is smaller: tests/bench/key_list.py seeds 100)
 *   unknown.txt   tokens with the right shape and checksum whose keys are not in the database
 *   checksum.txt  tokens of real keys with one secret character changed: the checksum fails
 *   wrong_ip.txt  the token of a key whose allowlist (10.0.0.0/8) excludes 127.0.0.1
 *   disabled.txt  the token of a disabled key
 * With --notes, every third key has a note ("runs on host-17, ask team 5"), as a workspace whose
 * keys say where they run (tests/bench/key_list.py). The database and its server key (DATABASE.key, or KEYWARD_KEY_FILE) must not exist yet: this is for
 * benchmarks only. DATABASE may be a postgresql:// URI of a database that holds no keys yet (bench.py
 * makes one from tests/pg/pgtest.py's template): the keys go in through the same store API, in one
 * transaction on either engine.
 * Tokens are secrets in real life; these keys are throwaway, in a database made for one run.
 */
#include <errno.h>
#include <sodium.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>

#include "core/alloc.h"
#include "core/config.h"
#include "domain/keys.h"
#include "domain/server_key.h"
#include "domain/token.h"
#include "store/store.h"

#define GRANT_SAMPLE 1000
#define UNKNOWN_SAMPLE 1000

static double seconds_since(const struct timespec *start)
{
	struct timespec now;
	clock_gettime(CLOCK_MONOTONIC, &now);
	return (double)(now.tv_sec - start->tv_sec) + (double)(now.tv_nsec - start->tv_nsec) / 1e9;
}

static FILE *open_output(const char *folder, const char *name)
{
	char path[4096];
	snprintf(path, sizeof path, "%s/%s", folder, name);
	FILE *file = fopen(path, "w");
	if (file == NULL) {
		fprintf(stderr, "seed: cannot write %s: %s\n", path, strerror(errno));
		exit(1);
	}
	return file;
}

/* Make one key; abort the run when the store refuses (a fresh database should never). */
static void create_key(struct store *store, const struct config *config, const struct store_key_fields *fields,
		       int64_t now, char token[TOKEN_MAX_LENGTH + 1])
{
	static struct arena *arena;
	if (arena == NULL)
		arena = arena_new();
	struct audit_actor actor = { 0, "seed", "" };
	struct keys_secret secret;
	if (keys_create(store, config, arena, &actor, STORE_DEFAULT_WORKSPACE, fields, now, false, &secret) != STORE_OK) {
		fprintf(stderr, "seed: could not create a key\n");
		exit(1);
	}
	memcpy(token, secret.token, sizeof secret.token);
	keys_secret_wipe(&secret);
	arena_reset(arena);
}

/* A copy of `token` with one secret character changed, so that only the checksum gives it away. */
static void break_checksum(const char *token, char broken[TOKEN_MAX_LENGTH + 1])
{
	size_t length = strlen(token);
	memcpy(broken, token, length + 1);
	char *victim = &broken[length - TOKEN_CHECKSUM_LENGTH - 1]; /* last secret character */
	*victim = *victim == 'A' ? 'B' : 'A';
}

int main(int argc, char **argv)
{
	bool notes = argc == 5 && strcmp(argv[4], "--notes") == 0;
	if (argc != 4 && !notes) {
		fprintf(stderr, "usage: seed DATABASE COUNT OUTDIR [--notes]\n");
		return 2;
	}
	const char *database = argv[1];
	long count = strtol(argv[2], NULL, 10);
	const char *folder = argv[3];
	if (count < 1) {
		fprintf(stderr, "seed: COUNT must be at least 1\n");
		return 2;
	}
	struct stat info;
	if (stat(database, &info) == 0) {
		fprintf(stderr, "seed: %s exists; the benchmark seeds a fresh database\n", database);
		return 1;
	}
	if (sodium_init() < 0)
		return 1;
	struct config config;
	char error[512];
	if (!config_load(&config, database, error, sizeof error) || !token_prefix_valid(config.token_prefix)) {
		fprintf(stderr, "seed: %s\n", error);
		return 1;
	}
	/* What `keyward init` does: the database, its server key and the key's check value. */
	struct store *store = store_create(config.database_path, error, sizeof error);
	if (store == NULL || !server_key_load(store, &config, true, error, sizeof error)) {
		fprintf(stderr, "seed: %s\n", error);
		return 1;
	}
	struct arena *arena = arena_new();
	struct store_role role;
	if (store_role_find_by_name(store, arena, STORE_DEFAULT_WORKSPACE, "read-only", &role) != STORE_OK) {
		fprintf(stderr, "seed: no read-only role\n");
		return 1;
	}

	struct timespec start;
	clock_gettime(CLOCK_MONOTONIC, &start);
	int64_t now = (int64_t)time(NULL);
	FILE *grant = open_output(folder, "grant.txt");
	FILE *grant_many = open_output(folder, "grant_many.txt");
	FILE *checksum = open_output(folder, "checksum.txt");
	char token[TOKEN_MAX_LENGTH + 1];
	char broken[TOKEN_MAX_LENGTH + 1];
	char name[64];
	char note[64];
	struct store_key_fields fields = { .name = name, .name_folded = name, .postback_url = "", .enabled = true,
					   .role_id = role.id, .note = note, .note_folded = note };
	long every = count > GRANT_SAMPLE ? count / GRANT_SAMPLE : 1;
	if (store_transaction_begin(store) != STORE_OK) {
		fprintf(stderr, "seed: cannot start the bulk load\n");
		return 1;
	}
	for (long i = 0; i < count; i++) {
		snprintf(name, sizeof name, "bench key %06ld", i);
		note[0] = '\0';
		if (notes && i % 3 == 0)
			snprintf(note, sizeof note, "runs on host-%ld, ask team %ld", i % 997, i % 31);
		create_key(store, &config, &fields, now, token);
		if (i % every == 0 && i / every < GRANT_SAMPLE) {
			if (i == 0)
				fprintf(grant, "%s\n", token);
			fprintf(grant_many, "%s\n", token);
			break_checksum(token, broken);
			fprintf(checksum, "%s\n", broken);
		}
	}

	struct store_cidr office = { "10.0.0.0/8", "office" };
	note[0] = '\0';
	struct store_key_fields elsewhere = fields;
	elsewhere.cidrs = &office;
	elsewhere.cidr_count = 1;
	snprintf(name, sizeof name, "bench key on 10.0.0.0/8");
	create_key(store, &config, &elsewhere, now, token);
	FILE *wrong_ip = open_output(folder, "wrong_ip.txt");
	fprintf(wrong_ip, "%s\n", token);
	fclose(wrong_ip);

	struct store_key_fields off = fields;
	off.enabled = false;
	snprintf(name, sizeof name, "bench key disabled");
	create_key(store, &config, &off, now, token);
	FILE *disabled = open_output(folder, "disabled.txt");
	fprintf(disabled, "%s\n", token);
	fclose(disabled);
	if (store_transaction_commit(store) != STORE_OK) {
		fprintf(stderr, "seed: cannot commit the bulk load\n");
		return 1;
	}

	FILE *unknown = open_output(folder, "unknown.txt");
	for (int i = 0; i < UNKNOWN_SAMPLE; i++) {
		char key_id[TOKEN_KEY_ID_LENGTH + 1];
		token_generate_key_id(key_id);
		token_generate(config.token_prefix, key_id, token);
		fprintf(unknown, "%s\n", token);
	}
	fclose(unknown);
	fclose(grant);
	fclose(grant_many);
	fclose(checksum);
	sodium_memzero(token, sizeof token);
	printf("seeded %ld keys (+2 special) in %.1f s into %s\n", count, seconds_since(&start), database);
	arena_free(arena);
	store_close(store);
	config_wipe(&config);
	return 0;
}
