/* keys.c: `keyward key create`, `keyward key roll` and `keyward key list`: keys from the command line. */
#include "cli/cli.h"

#include <sodium.h>
#include <stdio.h>
#include <string.h>
#include <time.h>

#include "core/alloc.h"
#include "core/config.h"
#include "core/text.h"
#include "domain/audit.h"
#include "domain/key_input.h"
#include "domain/keys.h"
#include "domain/token.h"
#include "store/store.h"

/* "10.0.0.0/8=Office" into a CIDR row (strings in `arena`). */
static void parse_cidr_argument(struct arena *arena, const char *argument, struct key_cidr_input *row)
{
	char *copy = arena_strdup(arena, argument);
	char *equals = strchr(copy, '=');
	if (equals != NULL)
		*equals = '\0';
	row->cidr = copy;
	row->label = equals ? equals + 1 : "";
}

static void print_input_errors(const struct key_input *input)
{
	const char *messages[] = { input->name_error, input->postback_url_error, input->role_error, input->cidrs_error,
				   input->expires_at_error, input->note_error };
	for (size_t i = 0; i < sizeof messages / sizeof messages[0]; i++)
		if (messages[i] != NULL)
			fprintf(stderr, "keyward: %s\n", messages[i]);
	for (size_t i = 0; i < input->cidr_count; i++) {
		if (input->cidrs[i].cidr_error)
			fprintf(stderr, "keyward: --cidr %s: %s\n", input->cidrs[i].cidr, input->cidrs[i].cidr_error);
		if (input->cidrs[i].label_error)
			fprintf(stderr, "keyward: --cidr %s: %s\n", input->cidrs[i].cidr, input->cidrs[i].label_error);
	}
}

int cli_key_create(const struct config *config, const struct cli_args *args)
{
	struct arena *arena = arena_new();
	struct key_input input;
	memset(&input, 0, sizeof input);
	input.name = cli_text(args, "name");
	input.postback_url = cli_text(args, "postback-url");
	input.note = cli_text(args, "note");
	input.off_record = cli_flag(args, "off-record");
	input.enabled = !cli_flag(args, "disabled");
	input.expires_at = cli_text(args, "expires");
	input.now = (int64_t)time(NULL);
	const char *role = cli_text(args, "role") ? cli_text(args, "role") : "read-only";
	int64_t workspace_id = cli_number(args, "workspace", STORE_DEFAULT_WORKSPACE);
	size_t cidr_count = 0;
	const char *const *cidrs = cli_list(args, "cidr", &cidr_count);
	input.cidrs = arena_alloc(arena, (cidr_count + 1) * sizeof *input.cidrs);
	for (size_t i = 0; i < cidr_count; i++)
		parse_cidr_argument(arena, cidrs[i], &input.cidrs[input.cidr_count++]);
	struct store *store = cli_open_store(config);
	if (store == NULL) {
		arena_free(arena);
		return CLI_FAILED;
	}
	int status = CLI_FAILED;
	struct store_role found;
	if (store_role_find_by_name(store, arena, workspace_id, role, &found) == STORE_OK)
		input.role_id = arena_printf(arena, "%lld", (long long)found.id);
	else
		input.role_error = arena_printf(arena, "there is no role named \"%s\"", role);
	for (size_t i = 0; i < input.cidr_count; i++)
		if (!utf8_valid(input.cidrs[i].label, strlen(input.cidrs[i].label)))
			input.cidrs[i].label_error = "the label is not valid UTF-8";
	if (input.name != NULL && !utf8_valid(input.name, strlen(input.name)))
		input.name_error = "the name is not valid UTF-8";
	if (input.note != NULL && !utf8_valid(input.note, strlen(input.note)))
		input.note_error = "the note is not valid UTF-8";
	if (!key_input_check(arena, store, workspace_id, &input)) {
		print_input_errors(&input);
	} else {
		struct audit_actor actor = { 0, "command line", "" };
		struct keys_secret secret;
		enum store_status saved = keys_create(store, config, arena, &actor, workspace_id, &input.fields,
						      input.now, false, &secret);
		if (saved == STORE_OK) {
			fprintf(stderr, "keyward: created %s; the secret below is shown once, copy it now\n", secret.key_id);
			printf("%s\n", secret.token);
			status = 0;
		} else {
			if (saved == STORE_LIMIT)
				cli_fail("this workspace has as many active keys as KEYWARD_KEY_LIMIT (or its own limit) "
					 "allows; revoke keys that are no longer used first; nothing was saved");
			else if (saved == STORE_NOT_FOUND)
				cli_fail("that role was deleted meanwhile; nothing was saved");
			else
				cli_store_fail(config, saved, "could not save the key; nothing was saved");
		}
		keys_secret_wipe(&secret);
	}
	store_close(store);
	arena_free(arena);
	return status;
}

int cli_key_list(const struct config *config, const struct cli_args *args)
{
	int64_t workspace_id = cli_number(args, "workspace", STORE_DEFAULT_WORKSPACE);
	struct store *store = cli_open_store(config);
	if (store == NULL)
		return CLI_FAILED;
	struct arena *arena = arena_new();
	struct store_key_filter filter = { .state = STORE_FILTER_ACTIVE, .limit = 500 };
	struct store_key *keys = NULL;
	size_t count = 0, total = 0;
	int status = 0;
	printf("%-20s  %-8s  %-10s  %s\n", "KEY ID", "STATE", "ROLE", "NAME");
	do {
		enum store_status read = store_key_list(store, arena, workspace_id, &filter, &keys, &count, &total);
		if (read != STORE_OK) {
			status = cli_store_fail(config, read, "could not read the keys");
			break;
		}
		for (size_t i = 0; i < count; i++)
			printf("%-20s  %-8s  %-10s  %s\n", keys[i].key_id, keys[i].enabled ? "enabled" : "disabled",
			       keys[i].role_name, keys[i].name);
		filter.offset += count;
		arena_reset(arena);
	} while (count == filter.limit);
	arena_free(arena);
	store_close(store);
	return status;
}

int cli_key_roll(const struct config *config, const struct cli_args *args)
{
	const char *overlap_name = cli_text(args, "overlap") ? cli_text(args, "overlap") : "0";
	const struct keys_overlap *overlap = keys_overlap_find(overlap_name);
	if (overlap == NULL)
		return cli_usage(args, "--overlap is one of 0, 1h, 24h and 7d");
	int64_t workspace_id = cli_number(args, "workspace", STORE_DEFAULT_WORKSPACE);
	const char *key_id = cli_text(args, "key-id");
	struct store *store = cli_open_store(config);
	if (store == NULL)
		return CLI_FAILED;
	struct arena *arena = arena_new();
	struct audit_actor actor = { 0, "command line", "" };
	struct keys_secret secret;
	int64_t now = (int64_t)time(NULL);
	int status = CLI_FAILED;
	enum store_status saved =
		keys_regenerate(store, config, arena, &actor, workspace_id, key_id, now, overlap->seconds, false, &secret);
	if (saved == STORE_OK) {
		char until[TEXT_TIME_MAX];
		text_utc_time(until, now + overlap->seconds);
		if (overlap->seconds > 0)
			fprintf(stderr, "keyward: rolled %s; the old secret works until %s; the secret below is shown once, "
					"copy it now\n", secret.key_id, until);
		else
			fprintf(stderr, "keyward: rolled %s; the old secret no longer works; the secret below is shown once, "
					"copy it now\n", secret.key_id);
		printf("%s\n", secret.token);
		status = 0;
	} else if (saved == STORE_NOT_FOUND) {
		cli_fail(arena_printf(arena, "workspace %lld has no key %s; nothing was changed", (long long)workspace_id,
				      key_id));
	} else if (saved == STORE_CONFLICT) {
		cli_fail("that key was revoked and can no longer be changed; nothing was changed");
	} else {
		cli_store_fail(config, saved, "could not roll the key; nothing was changed");
	}
	keys_secret_wipe(&secret);
	store_close(store);
	arena_free(arena);
	return status;
}
