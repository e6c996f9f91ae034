/* role_input.c: checking the key-role form: name, description, permissions. */
#include "domain/role_input.h"

#include <string.h>

#include "core/alloc.h"
#include "core/buf.h"
#include "core/text.h"
#include "store/store.h"

const char *const role_builtin_permissions[ROLE_BUILTIN_COUNT] = {
	"api.key.view", "api.key.create", "api.key.update", "api.key.delete", "api.key.verify",
};

static bool name_character(char c)
{
	return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == ' ' || c == '.' ||
	       c == '-' || c == '_';
}

static const char *check_name(struct arena *arena, struct store *store, int64_t workspace_id, int64_t role_id,
			      const char *name)
{
	if (name[0] == '\0')
		return "Give the role a name, such as \"billing\" or \"partner read-only\".";
	size_t length = strlen(name);
	if (!utf8_valid(name, length) || utf8_length(name, length) > ROLE_NAME_MAX)
		return "A role name has at most 64 characters.";
	for (const char *c = name; *c != '\0'; c++)
		if (!name_character(*c))
			return "A role name may hold letters, digits, spaces and . - _ only (it travels in an HTTP header).";
	int64_t other = 0;
	enum store_status status = store_role_find_id_any_case(store, workspace_id, name, &other);
	if (status == STORE_OK && other != role_id)
		return arena_printf(arena, "There is already a role named \"%s\" (names are compared ignoring case).", name);
	return NULL;
}

/* True when `word` is a well-formed permission: lower-case words joined by . _ : or -. */
static bool permission_valid(const char *word, size_t length)
{
	if (length == 0 || length > ROLE_PERMISSION_MAX)
		return false;
	bool after_separator = true;
	for (size_t i = 0; i < length; i++) {
		char c = word[i];
		bool alnum = (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9');
		if (alnum) {
			after_separator = false;
		} else if (c == '.' || c == '_' || c == ':' || c == '-') {
			if (after_separator)
				return false;
			after_separator = true;
		} else {
			return false;
		}
	}
	return !after_separator;
}

/* True when the space-separated `list` already holds `word`. */
static bool listed(const struct buf *list, const char *word)
{
	size_t length = strlen(word);
	for (const char *at = list->length > 0 ? list->data : NULL; at != NULL && (at = strstr(at, word)) != NULL; at++) {
		bool starts = at == list->data || at[-1] == ' ';
		bool ends = at[length] == '\0' || at[length] == ' ';
		if (starts && ends)
			return true;
	}
	return false;
}

/* Append `word` to the list unless it is there; true when it was added. */
static bool add_permission(struct buf *list, const char *word)
{
	if (listed(list, word))
		return false;
	if (list->length > 0)
		buf_append(list, " ", 1);
	buf_puts(list, word);
	return true;
}

bool role_input_check(struct arena *arena, struct store *store, int64_t workspace_id, int64_t role_id,
		      struct role_input *input)
{
	if (input->name_error == NULL) {
		input->clean_name = text_trim(arena, input->name ? input->name : "");
		input->name_error = check_name(arena, store, workspace_id, role_id, input->clean_name);
	}
	const char *description = input->description ? input->description : "";
	if (input->description_error == NULL) {
		size_t length = strlen(description);
		if (!utf8_valid(description, length) || utf8_length(description, length) > ROLE_DESCRIPTION_MAX)
			input->description_error = "A description has at most 200 characters.";
		else if (text_has_control(description, NULL))
			input->description_error = "A description is one line of text, without control characters.";
	}
	struct buf list = BUF_INIT;
	size_t count = 0;
	for (int i = 0; i < ROLE_BUILTIN_COUNT; i++)
		if (input->builtin[i] && add_permission(&list, role_builtin_permissions[i]))
			count++;
	const char *text = input->app_permissions ? input->app_permissions : "";
	if (input->app_permissions_error == NULL) {
		const char *cursor = text;
		while (*cursor != '\0' && input->app_permissions_error == NULL) {
			cursor += strspn(cursor, " ,\t\r\n");
			size_t length = strcspn(cursor, " ,\t\r\n");
			if (length == 0)
				break;
			if (!permission_valid(cursor, length))
				input->app_permissions_error = arena_printf(
					arena, "\"%.*s\" is not a permission name: use lower-case words joined by . _ : or -, "
					       "64 characters at most, such as messages.send or reports:read.",
					(int)(length > 80 ? 80 : length), cursor);
			else if (!listed(&list, arena_strndup(arena, cursor, length))) {
				if (++count > ROLE_PERMISSIONS_MAX)
					input->app_permissions_error = "A role holds at most 50 permissions.";
				else
					add_permission(&list, arena_strndup(arena, cursor, length));
			}
			cursor += length;
		}
	}
	input->permissions = arena_strndup(arena, list.data ? list.data : "", list.length);
	buf_free(&list);
	return input->name_error == NULL && input->description_error == NULL && input->app_permissions_error == NULL;
}
