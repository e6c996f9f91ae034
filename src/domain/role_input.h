/*
 * role_input.h: the rules of the key-role form: a name, a description, and the permissions a
 * key with the role holds (keyward's own api.key.* ones and the application's free-form ones).
 */
#ifndef KEYWARD_DOMAIN_ROLE_INPUT_H
#define KEYWARD_DOMAIN_ROLE_INPUT_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

struct arena;
struct store;

#define ROLE_NAME_MAX 64          /* characters */
#define ROLE_DESCRIPTION_MAX 200  /* characters */
#define ROLE_PERMISSION_MAX 64    /* characters of one permission */
#define ROLE_PERMISSIONS_MAX 50   /* permissions of one role */
#define ROLE_BUILTIN_COUNT 5

/* keyward's own permissions, in the order the form lists and the store keeps them. */
extern const char *const role_builtin_permissions[ROLE_BUILTIN_COUNT];

struct role_input {
	/* as typed */
	const char *name;
	const char *description;
	bool builtin[ROLE_BUILTIN_COUNT];
	const char *app_permissions; /* separated by spaces, commas or new lines */
	/* set by role_input_check(): a sentence per field, NULL when fine */
	const char *name_error;
	const char *description_error;
	const char *app_permissions_error;
	/* set by role_input_check() when it returns true */
	const char *clean_name;   /* trimmed */
	const char *permissions;  /* space-separated, built-in ones first, duplicates removed */
};

/*
 * Check `input` for workspace `workspace_id`; `role_id` is the role being edited (0 for a new
 * one), so that it may keep its own name. Strings live in `arena`. True when it may be saved.
 */
bool role_input_check(struct arena *arena, struct store *store, int64_t workspace_id, int64_t role_id,
		      struct role_input *input);

#endif
