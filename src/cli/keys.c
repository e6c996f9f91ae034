/*
 * keys.c: `keyward key create | list | show | edit | disable | enable | revoke | roll`: keys from the
 * command line, through the same domain functions and input rules as the console, with the audit
 * actor "command line". None of these commands ever prints a stored secret: `key create` and
 * `key roll` print the new one once, `key show` its last four characters only.
 */
#include "cli/cli.h"

#include <sodium.h>
#include <stdio.h>
#include <string.h>
#include <time.h>

#include "core/alloc.h"
#include "core/config.h"
#include "core/text.h"
#include "domain/allowlist.h"
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

/* What the console's decoder does for a form: text that is not UTF-8 is refused next to its field. */
static void check_utf8(struct key_input *input)
{
	for (size_t i = 0; i < input->cidr_count; i++)
		if (!utf8_valid(input->cidrs[i].label, strlen(input->cidrs[i].label)))
			input->cidrs[i].label_error = "the label is not valid UTF-8";
	if (input->name != NULL && !utf8_valid(input->name, strlen(input->name)))
		input->name_error = "the name is not valid UTF-8";
	if (input->note != NULL && !utf8_valid(input->note, strlen(input->note)))
		input->note_error = "the note is not valid UTF-8";
}

/*
 * Say why a change to key `key_id` was refused, for a domain status that is not STORE_OK: no such
 * key in the workspace, the key is revoked, or a store failure (`what`). Returns CLI_FAILED.
 */
static int refuse(const struct config *config, struct arena *arena, enum store_status status, int64_t workspace_id,
		  const char *key_id, const char *what)
{
	if (status == STORE_NOT_FOUND)
		return cli_fail(arena_printf(arena, "workspace %lld has no key %s; nothing was changed",
					     (long long)workspace_id, key_id));
	if (status == STORE_CONFLICT)
		return cli_fail("that key was revoked and can no longer be changed; nothing was changed");
	return cli_store_fail(config, status, what);
}

/* What a command on one key works with: its --workspace and --key-id, the database, an arena. */
struct key_command {
	int64_t workspace_id;
	const char *key_id;
	struct store *store;
	struct arena *arena;
};

/* Open the database for a command on one key; false (the reason said) when it cannot be opened. */
static bool key_command_open(const struct config *config, const struct cli_args *args, struct key_command *c)
{
	c->workspace_id = cli_number(args, "workspace", STORE_DEFAULT_WORKSPACE);
	c->key_id = cli_text(args, "key-id");
	c->store = cli_open_store(config);
	c->arena = c->store != NULL ? arena_new() : NULL;
	return c->store != NULL;
}

/* Close what key_command_open() opened, and return `status`. */
static int key_command_close(struct key_command *c, int status)
{
	store_close(c->store);
	arena_free(c->arena);
	return status;
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
	check_utf8(&input);
	if (!key_input_check(arena, store, workspace_id, &input)) {
		print_input_errors(&input);
	} else {
		struct keys_secret secret;
		enum store_status saved = keys_create(store, config, arena, &cli_actor, workspace_id, &input.fields,
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
	size_t count = 0;
	bool more = false;
	int status = 0;
	printf("%-20s  %-8s  %-10s  %s\n", "KEY ID", "STATE", "ROLE", "NAME");
	do { /* a page at a time, each from the last key of the one before */
		enum store_status read = store_key_list(store, arena, workspace_id, &filter, &keys, &count, &more);
		if (read != STORE_OK) {
			status = cli_store_fail(config, read, "could not read the keys");
			break;
		}
		for (size_t i = 0; i < count; i++)
			printf("%-20s  %-8s  %-10s  %s\n", keys[i].key_id, keys[i].enabled ? "enabled" : "disabled",
			       keys[i].role_name, keys[i].name);
		if (count > 0)
			filter.before_id = keys[count - 1].id;
		arena_reset(arena);
	} while (more && count > 0);
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
	struct key_command c;
	if (!key_command_open(config, args, &c))
		return CLI_FAILED;
	struct keys_secret secret;
	int64_t now = (int64_t)time(NULL);
	int status = CLI_FAILED;
	enum store_status saved =
		keys_regenerate(c.store, config, c.arena, &cli_actor, c.workspace_id, c.key_id, now, overlap->seconds, false,
				&secret);
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
	} else {
		refuse(config, c.arena, saved, c.workspace_id, c.key_id, "could not roll the key; nothing was changed");
	}
	keys_secret_wipe(&secret);
	return key_command_close(&c, status);
}

/* "2027-01-31 18:00 UTC", or `none` when `unix_time` is 0. */
static const char *time_or(struct arena *arena, int64_t unix_time, const char *none)
{
	if (unix_time == 0)
		return none;
	char text[TEXT_TIME_MAX];
	text_utc_time(text, unix_time);
	return arena_strdup(arena, text);
}

/* `unix_time` as text_parse_utc_time() reads it back to the second: "2027-01-31 18:00:00". */
static const char *form_time(struct arena *arena, int64_t unix_time)
{
	time_t seconds = (time_t)unix_time;
	struct tm parts;
	char text[TEXT_TIME_MAX];
	gmtime_r(&seconds, &parts);
	strftime(text, sizeof text, "%Y-%m-%d %H:%M:%S", &parts);
	return arena_strdup(arena, text);
}

/* The key's state as the console's list shows it: revoked, expired, enabled or disabled. */
static const char *key_state(const struct store_key *key, int64_t now)
{
	if (key->revoked_at != 0)
		return "revoked";
	if (key->expires_at != 0 && key->expires_at <= now)
		return "expired";
	return key->enabled ? "enabled" : "disabled";
}

/*
 * Read key `key_id` of the workspace into *key (strings in `arena`). CLI_OK, or CLI_FAILED after
 * saying why (no such key: "nothing was changed" unless `reading`).
 */
static int load_key(const struct config *config, const struct key_command *c, bool reading, struct store_key *key)
{
	enum store_status read = store_key_get(c->store, c->arena, c->workspace_id, c->key_id, key);
	if (read == STORE_NOT_FOUND && reading)
		return cli_fail(arena_printf(c->arena, "workspace %lld has no key %s", (long long)c->workspace_id, c->key_id));
	if (read != STORE_OK)
		return refuse(config, c->arena, read, c->workspace_id, c->key_id, "could not read the key");
	return CLI_OK;
}

int cli_key_show(const struct config *config, const struct cli_args *args)
{
	struct key_command c;
	if (!key_command_open(config, args, &c))
		return CLI_FAILED;
	struct store_key key;
	int64_t now = (int64_t)time(NULL);
	int status = load_key(config, &c, true, &key);
	if (status == CLI_OK) {
		printf("name:          %s\n", key.name);
		printf("key ID:        %s\n", key.key_id);
		printf("state:         %s\n", key_state(&key, now));
		if (key.revoked_at != 0)
			printf("revoked at:    %s\n", time_or(c.arena, key.revoked_at, ""));
		printf("role:          %s\n", key.role_name);
		printf("secret:        …%s (only its last 4 characters are kept in clear)\n", key.secret_hint);
		if (key.previous_secret_until > now)
			printf("previous:      …%s works until %s\n", key.previous_secret_hint,
			       time_or(c.arena, key.previous_secret_until, ""));
		if (key.allowlist_enabled)
			printf("allowlist:     on%s\n", key.cidr_count ? ": only these networks may use the key" : "");
		else
			printf("allowlist:     off: any address may use the key%s\n",
			       key.cidr_count ? "; these networks are kept for when it is on" : "");
		if (key.cidr_count == 0)
			printf("networks:      any\n");
		for (size_t i = 0; i < key.cidr_count; i++)
			printf("%-15s%s%s%s\n", i == 0 ? "networks:" : "", key.cidrs[i].cidr, key.cidrs[i].label[0] ? "  " : "",
			       key.cidrs[i].label);
		printf("POSTback URL:  %s\n", key.postback_url[0] ? key.postback_url : "none");
		printf("record:        %s\n", key.off_record ? "off the record (an hourly count only)" : "recorded");
		printf("expires:       %s\n", time_or(c.arena, key.expires_at, "never"));
		printf("created:       %s by %s\n", time_or(c.arena, key.created_at, ""),
		       key.created_by[0] ? key.created_by : "(not known)");
		printf("last used:     %s\n", time_or(c.arena, key.last_used_at, "never"));
		if (key.note[0] == '\0') {
			printf("note:          none\n");
		} else {
			/* Each line of the note indented under the first. */
			printf("note:          ");
			for (const char *ch = key.note; *ch != '\0'; ch++)
				if (*ch == '\n')
					fputs("\n               ", stdout);
				else
					putchar(*ch);
			putchar('\n');
		}
	}
	return key_command_close(&c, status);
}

/* True when `key edit` was given an option that changes more than the allowlist's switch. */
static bool edits_fields(const struct cli_args *args)
{
	static const char *const fields[] = { "name", "role", "cidr", "no-cidrs", "postback-url", "off-record",
					      "on-record", "expires", "no-expiry", "note" };
	for (size_t i = 0; i < sizeof fields / sizeof fields[0]; i++)
		if (cli_flag(args, fields[i]))
			return true;
	return false;
}

int cli_key_edit_check(const struct cli_args *args)
{
	if (cli_flag(args, "off-record") && cli_flag(args, "on-record"))
		return cli_usage(args, "--off-record and --on-record exclude each other");
	if (cli_text(args, "expires") != NULL && cli_flag(args, "no-expiry"))
		return cli_usage(args, "--expires and --no-expiry exclude each other");
	size_t cidr_count = 0;
	cli_list(args, "cidr", &cidr_count);
	if (cidr_count > 0 && cli_flag(args, "no-cidrs"))
		return cli_usage(args, "--cidr and --no-cidrs exclude each other");
	const char *allowlist = cli_text(args, "allowlist");
	if (allowlist != NULL && strcmp(allowlist, "on") != 0 && strcmp(allowlist, "off") != 0)
		return cli_usage(args, "--allowlist is on or off");
	if (edits_fields(args) || allowlist != NULL)
		return CLI_OK;
	return cli_usage(args, "say what to change: at least one of --name, --role, --cidr, --no-cidrs, --postback-url, "
			       "--off-record, --on-record, --expires, --no-expiry, --note and --allowlist");
}

/*
 * Say what `key edit --allowlist` did to key `key` (as it was before), which has `networks` now:
 * the change on standard output (after `changes`, the other fields' changes, when not NULL), a
 * sentence on standard error.
 */
static void report_switch(const struct store_key *key, size_t networks, bool enabled, enum allowlist_outcome outcome,
			  const char *changes)
{
	const char *before = key->allowlist_enabled ? "on" : "off", *after = enabled ? "on" : "off";
	bool changed = outcome == ALLOWLIST_CHANGED;
	bool edited = changes != NULL; /* audit_key_changes(): NULL when the fields are as they were */
	if (edited && changed)
		printf("%s; allowlist: %s → %s\n", changes, before, after);
	else if (edited)
		printf("%s\n", changes);
	else if (changed)
		printf("allowlist: %s → %s\n", before, after);
	else
		printf("no change\n");
	if (!changed)
		fprintf(stderr, "keyward: the allowlist of %s was switched %s already\n", key->key_id, after);
	else if (!enabled)
		fprintf(stderr, "keyward: switched the allowlist of %s off: any address may use the key; its %zu "
				"network%s kept\n", key->key_id, networks, networks == 1 ? " is" : "s are");
	else if (networks == 0)
		fprintf(stderr, "keyward: switched the allowlist of %s on; it holds no networks, so any address may "
				"still use the key\n", key->key_id);
	else
		fprintf(stderr, "keyward: switched the allowlist of %s on: only addresses in its %zu network%s may use "
				"the key\n", key->key_id, networks, networks == 1 ? "" : "s");
}

/* `key edit --allowlist on|off` alone: allowlist_switch, saying whether it was so already. */
static int switch_allowlist(const struct config *config, struct store *store, struct arena *arena,
			    int64_t workspace_id, const struct store_key *key, bool enabled)
{
	enum allowlist_outcome outcome;
	enum store_status saved = allowlist_switch(store, arena, &cli_actor, workspace_id, key->key_id, enabled,
						   (int64_t)time(NULL), &outcome);
	if (saved != STORE_OK)
		return refuse(config, arena, saved, workspace_id, key->key_id,
			      "could not switch the allowlist; nothing was changed");
	report_switch(key, key->cidr_count, enabled, outcome, NULL);
	if (outcome != ALLOWLIST_CHANGED)
		fputs("keyward: nothing was changed\n", stderr);
	return CLI_OK;
}

/*
 * The rest of `key edit`: the fields as stored with the options given changed, checked and saved
 * by keys_update, with the allowlist's switch in the same transaction when `switching`.
 */
static int edit_fields(const struct config *config, struct store *store, struct arena *arena,
		       const struct cli_args *args, int64_t workspace_id, const struct store_key *stored,
		       bool switching, bool enabled)
{
	const char *key_id = stored->key_id;
	struct store_key key = *stored; /* read again when the save fails */
	struct key_input input;
	memset(&input, 0, sizeof input);
	input.now = (int64_t)time(NULL);
	input.name = cli_text(args, "name") ? cli_text(args, "name") : key.name;
	input.postback_url = cli_text(args, "postback-url") ? cli_text(args, "postback-url") : key.postback_url;
	input.note = cli_text(args, "note") ? cli_text(args, "note") : key.note;
	input.off_record = cli_flag(args, "off-record") || (key.off_record && !cli_flag(args, "on-record"));
	input.enabled = key.enabled;
	input.expires_at_kept = key.expires_at;
	if (cli_text(args, "expires") != NULL)
		input.expires_at = cli_text(args, "expires");
	else if (!cli_flag(args, "no-expiry") && key.expires_at != 0)
		input.expires_at = form_time(arena, key.expires_at);
	size_t cidr_count = 0;
	const char *const *cidrs = cli_list(args, "cidr", &cidr_count);
	bool replace = cidr_count > 0 || cli_flag(args, "no-cidrs");
	input.cidrs = arena_alloc(arena, ((replace ? cidr_count : key.cidr_count) + 1) * sizeof *input.cidrs);
	for (size_t i = 0; replace && i < cidr_count; i++)
		parse_cidr_argument(arena, cidrs[i], &input.cidrs[input.cidr_count++]);
	for (size_t i = 0; !replace && i < key.cidr_count; i++) {
		input.cidrs[input.cidr_count].cidr = key.cidrs[i].cidr;
		input.cidrs[input.cidr_count++].label = key.cidrs[i].label;
	}
	const char *role = cli_text(args, "role") ? cli_text(args, "role") : key.role_name;
	struct store_role found;
	memset(&found, 0, sizeof found);
	if (store_role_find_by_name(store, arena, workspace_id, role, &found) == STORE_OK)
		input.role_id = arena_printf(arena, "%lld", (long long)found.id);
	else
		input.role_error = arena_printf(arena, "there is no role named \"%s\"", role);
	check_utf8(&input);
	int status = CLI_FAILED;
	if (!key_input_check(arena, store, workspace_id, &input)) {
		print_input_errors(&input);
		fputs("keyward: nothing was changed\n", stderr);
	} else {
		const char *changes = audit_key_changes(arena, &key, &input.fields, found.name);
		bool changed = false;
		enum allowlist_outcome outcome = ALLOWLIST_UNCHANGED;
		enum store_status saved =
			switching ? allowlist_update_and_switch(store, arena, &cli_actor, workspace_id, key_id, &input.fields,
								enabled, input.now, &outcome)
				  : keys_update(store, arena, &cli_actor, workspace_id, key_id, &input.fields, input.now,
						&changed);
		if (saved == STORE_OK && !switching && !changed) {
			fprintf(stderr, "keyward: %s already has these settings; nothing was changed\n", key_id);
			status = CLI_OK;
		} else if (saved == STORE_OK) {
			if (switching)
				report_switch(&key, input.fields.cidr_count, enabled, outcome, changes);
			else
				printf("%s\n", changes);
			fprintf(stderr, "keyward: saved %s\n", key_id);
			status = CLI_OK;
		} else if (saved == STORE_NOT_FOUND && store_key_get(store, arena, workspace_id, key_id, &key) == STORE_OK) {
			cli_fail("that role was deleted meanwhile; nothing was changed");
		} else {
			refuse(config, arena, saved, workspace_id, key_id, "could not save the key; nothing was changed");
		}
	}
	return status;
}

/*
 * `key edit`: the key as stored, with only the options given changed, checked by the console's
 * edit rules (key_input_check: the same messages, a past expiry kept only when it is the one
 * stored) and saved by keys_update. Any --cidr replaces the whole list of networks; --no-cidrs
 * empties it; without either the list stays as it is. --allowlist on|off turns the allowlist's
 * switch (allowlist_switch: its networks stay), in the same transaction as any other change.
 */
int cli_key_edit(const struct config *config, const struct cli_args *args)
{
	struct key_command c;
	if (!key_command_open(config, args, &c))
		return CLI_FAILED;
	struct store_key key;
	int status = load_key(config, &c, false, &key);
	if (status == CLI_OK && key.revoked_at != 0)
		status = refuse(config, c.arena, STORE_CONFLICT, c.workspace_id, c.key_id, "");
	const char *allowlist = cli_text(args, "allowlist");
	bool switching = allowlist != NULL, enabled = switching && strcmp(allowlist, "on") == 0;
	if (status == CLI_OK && switching && !edits_fields(args)) {
		status = switch_allowlist(config, c.store, c.arena, c.workspace_id, &key, enabled);
	} else if (status == CLI_OK) {
		status = edit_fields(config, c.store, c.arena, args, c.workspace_id, &key, switching, enabled);
	}
	return key_command_close(&c, status);
}

/* `key enable`, `key disable`: keys_set_enabled, saying whether the key was so already. */
static int set_enabled(const struct config *config, const struct cli_args *args, bool enabled)
{
	struct key_command c;
	if (!key_command_open(config, args, &c))
		return CLI_FAILED;
	struct store_key key;
	int status = load_key(config, &c, false, &key);
	if (status == CLI_OK) {
		enum store_status saved =
			keys_set_enabled(c.store, c.arena, &cli_actor, c.workspace_id, c.key_id, enabled, (int64_t)time(NULL));
		if (saved != STORE_OK)
			status = refuse(config, c.arena, saved, c.workspace_id, c.key_id,
					"could not change the key; nothing was changed");
		else if (key.enabled == enabled)
			fprintf(stderr, "keyward: %s was %s already; nothing was changed\n", c.key_id,
				enabled ? "enabled" : "disabled");
		else if (enabled)
			fprintf(stderr, "keyward: enabled %s: it works again%s\n", c.key_id,
				key.expires_at != 0 && key.expires_at <= (int64_t)time(NULL) ? " once it no longer is expired"
											: "");
		else
			fprintf(stderr, "keyward: disabled %s: it no longer works until enabled again\n", c.key_id);
	}
	return key_command_close(&c, status);
}

int cli_key_enable(const struct config *config, const struct cli_args *args)
{
	return set_enabled(config, args, true);
}

int cli_key_disable(const struct config *config, const struct cli_args *args)
{
	return set_enabled(config, args, false);
}

int cli_key_revoke(const struct config *config, const struct cli_args *args)
{
	struct key_command c;
	if (!key_command_open(config, args, &c))
		return CLI_FAILED;
	int status = CLI_OK;
	enum store_status saved = keys_revoke(c.store, c.arena, &cli_actor, c.workspace_id, c.key_id, (int64_t)time(NULL));
	if (saved == STORE_OK)
		fprintf(stderr, "keyward: revoked %s: it no longer works, for good\n", c.key_id);
	else
		status = refuse(config, c.arena, saved, c.workspace_id, c.key_id, "could not revoke the key; nothing was changed");
	return key_command_close(&c, status);
}
