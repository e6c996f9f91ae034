/* key_input.c: checking a key's name, POSTback URL, CIDR rows and role. */
#include "domain/key_input.h"

#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "core/alloc.h"
#include "core/text.h"
#include "domain/cidr.h"

static const char *check_name(struct arena *arena, struct key_input *input)
{
	char *name = text_trim(arena, input->name ? input->name : "");
	if (name[0] == '\0')
		return "Enter a name for this key.";
	if (utf8_length(name, strlen(name)) > KEY_NAME_MAX)
		return "The name is too long: at most 100 characters.";
	if (text_has_control(name, ""))
		return "The name cannot hold control characters such as tabs or line breaks.";
	input->fields.name = name;
	input->fields.name_folded = text_fold(arena, name);
	return NULL;
}

/*
 * The note: free text, kept with its line breaks (CR LF and CR, as browsers send them, become
 * LF) and tabs, trimmed at both ends; other control characters are refused.
 */
static const char *check_note(struct arena *arena, struct key_input *input)
{
	const char *typed = input->note ? input->note : "";
	char *note = arena_alloc(arena, strlen(typed) + 1);
	size_t used = 0;
	for (const char *c = typed; *c != '\0'; c++) {
		if (*c == '\r' && c[1] == '\n')
			continue;
		note[used++] = *c == '\r' ? '\n' : *c;
	}
	note[used] = '\0';
	note = text_trim(arena, note);
	size_t length = utf8_length(note, strlen(note));
	if (length > KEY_NOTE_MAX)
		return arena_printf(arena, "The note is too long: at most 1,000 characters (it has %zu).", length);
	if (text_has_control(note, "\t\n"))
		return "The note cannot hold control characters other than tabs and line breaks.";
	input->fields.note = note;
	input->fields.note_folded = text_fold(arena, note);
	return NULL;
}

/* Host: a DNS name or IPv4 address of [A-Za-z0-9.-], or an IPv6 literal in brackets. */
static bool host_valid(const char *host, size_t length)
{
	if (length == 0 || length > 253)
		return false;
	if (host[0] == '[')
		return length > 2 && host[length - 1] == ']' && strspn(host + 1, "0123456789abcdefABCDEF:.") == length - 2;
	if (host[0] == '.' || host[0] == '-' || host[length - 1] == '-')
		return false;
	return strspn(host, "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789.-") == length;
}

const char *key_input_check_url(const char *url)
{
	size_t length = strlen(url);
	if (length > KEY_POSTBACK_URL_MAX)
		return "The POSTback URL is too long: at most 2048 characters.";
	size_t scheme;
	if (strncasecmp(url, "https://", 8) == 0)
		scheme = 8;
	else if (strncasecmp(url, "http://", 7) == 0)
		scheme = 7;
	else
		return "The POSTback URL must be an absolute http:// or https:// address, such as https://example.com/hooks/keyward.";
	for (const unsigned char *c = (const unsigned char *)url; *c != '\0'; c++)
		if (*c <= ' ' || *c == 0x7f)
			return "The POSTback URL cannot hold spaces or control characters; percent-encode them.";
	const char *authority = url + scheme;
	size_t authority_length = strcspn(authority, "/?#");
	if (memchr(authority, '@', authority_length) != NULL)
		return "The POSTback URL cannot carry a user name or password.";
	/* Split host and port; an IPv6 literal holds colons of its own. */
	size_t host_length = authority_length;
	const char *close = authority[0] == '[' ? memchr(authority, ']', authority_length) : NULL;
	const char *colon = close ? (close + 1 < authority + authority_length && close[1] == ':' ? close + 1 : NULL)
				  : memchr(authority, ':', authority_length);
	if (colon != NULL) {
		host_length = (size_t)(colon - authority);
		size_t port_length = authority_length - host_length - 1;
		char port[8] = "";
		if (port_length == 0 || port_length > 5 || strspn(colon + 1, "0123456789") < port_length)
			return "The POSTback URL has a bad port number.";
		memcpy(port, colon + 1, port_length);
		long number = strtol(port, NULL, 10);
		if (number < 1 || number > 65535)
			return "The POSTback URL has a bad port number.";
	}
	if (!host_valid(authority, host_length))
		return "The POSTback URL needs a valid host name, such as https://example.com/hooks/keyward.";
	return NULL;
}

/* Like the other checks, input->fields gets the URL only when it is fine. */
static const char *check_url(struct arena *arena, struct key_input *input)
{
	char *url = text_trim(arena, input->postback_url ? input->postback_url : "");
	const char *error = url[0] == '\0' ? NULL : key_input_check_url(url);
	if (error == NULL)
		input->fields.postback_url = url;
	return error;
}

bool key_input_check_cidr(struct arena *arena, struct key_cidr_input *row, struct store_cidr *network)
{
	char *text = text_trim(arena, row->cidr ? row->cidr : "");
	char *label = text_trim(arena, row->label ? row->label : "");
	if (row->cidr_error != NULL || row->label_error != NULL)
		return false;
	if (utf8_length(label, strlen(label)) > KEY_CIDR_LABEL_MAX)
		row->label_error = "The label is too long: at most 100 characters.";
	else if (text_has_control(label, ""))
		row->label_error = "The label cannot hold control characters.";
	struct cidr parsed, suggestion;
	enum cidr_status status = cidr_parse(text, &parsed, &suggestion);
	char canonical[CIDR_TEXT_MAX];
	if (status == CIDR_EMPTY) {
		row->cidr_error = label[0] != '\0' ? "Enter the network this label is for, such as 203.0.113.0/24."
						   : "Enter a network, such as 203.0.113.0/24, or an address, such as 203.0.113.7.";
	} else if (status == CIDR_HOST_BITS_SET) {
		cidr_format(&suggestion, canonical);
		row->cidr_error = arena_printf(arena, "%.100s has bits set past its prefix; did you mean %s?", text, canonical);
	} else if (status != CIDR_OK) {
		row->cidr_error = "Not an IPv4 or IPv6 network. Write an address such as 203.0.113.7, "
				  "or a network such as 203.0.113.0/24 or 2001:db8::/32.";
	}
	if (row->cidr_error != NULL || row->label_error != NULL)
		return false;
	cidr_format(&parsed, canonical);
	network->cidr = arena_strdup(arena, canonical);
	network->label = label;
	return true;
}

const char *key_input_duplicate_message(struct arena *arena, const char *cidr)
{
	return arena_printf(arena, "%s is already in the list.", cidr);
}

/* Check each CIDR row; keep rows that hold anything. Returns false when any row is wrong. */
static bool check_cidrs(struct arena *arena, struct key_input *input)
{
	bool ok = true;
	size_t filled = 0;
	struct store_cidr *cidrs = arena_alloc(arena, (input->cidr_count + 1) * sizeof *cidrs);
	for (size_t i = 0; i < input->cidr_count; i++) {
		struct key_cidr_input *row = &input->cidrs[i];
		const char *text = text_trim(arena, row->cidr ? row->cidr : "");
		const char *label = text_trim(arena, row->label ? row->label : "");
		if (row->cidr_error == NULL && row->label_error == NULL && text[0] == '\0' && label[0] == '\0')
			continue;
		struct store_cidr network;
		if (!key_input_check_cidr(arena, row, &network)) {
			ok = false;
			continue;
		}
		for (size_t j = 0; j < filled && row->cidr_error == NULL; j++)
			if (strcmp(cidrs[j].cidr, network.cidr) == 0)
				row->cidr_error = key_input_duplicate_message(arena, network.cidr);
		if (row->cidr_error != NULL) {
			ok = false;
			continue;
		}
		cidrs[filled++] = network;
	}
	if (filled > KEY_CIDRS_MAX) {
		input->cidrs_error = KEY_INPUT_CIDRS_FULL;
		ok = false;
	}
	input->fields.cidrs = cidrs;
	input->fields.cidr_count = filled;
	return ok;
}

static const char *check_role(struct arena *arena, struct store *store, int64_t workspace_id,
			      struct key_input *input)
{
	int64_t id = 0;
	struct store_role role;
	if (!text_to_integer(input->role_id, 1, INT64_MAX, &id) ||
	    store_role_get(store, arena, workspace_id, id, &role) != STORE_OK)
		return "Choose one of the roles in the list.";
	input->fields.role_id = role.id;
	return NULL;
}

/* The expiry: none, or a moment after input->now (the one already stored may stay as it is). */
static const char *check_expiry(struct arena *arena, struct key_input *input)
{
	char *text = text_trim(arena, input->expires_at ? input->expires_at : "");
	int64_t expires_at = 0;
	if (text[0] == '\0')
		return NULL;
	if (!text_parse_utc_time(text, &expires_at))
		return "Write the expiry as a date and time in UTC, such as 2027-01-31 18:00, or a date alone "
		       "(its start, 00:00 UTC). Leave it empty for a key that never expires.";
	if (expires_at <= input->now && expires_at != input->expires_at_kept)
		return "The expiry must be in the future (UTC). To stop the key now, disable or revoke it.";
	input->fields.expires_at = expires_at;
	return NULL;
}

bool key_input_check(struct arena *arena, struct store *store, int64_t workspace_id, struct key_input *input)
{
	memset(&input->fields, 0, sizeof input->fields);
	input->fields.off_record = input->off_record;
	input->fields.enabled = input->enabled;
	if (input->name_error == NULL)
		input->name_error = check_name(arena, input);
	if (input->postback_url_error == NULL)
		input->postback_url_error = check_url(arena, input);
	if (input->role_error == NULL)
		input->role_error = check_role(arena, store, workspace_id, input);
	if (input->note_error == NULL)
		input->note_error = check_note(arena, input);
	bool cidrs_ok = check_cidrs(arena, input);
	if (input->expires_at_error == NULL)
		input->expires_at_error = check_expiry(arena, input);
	return cidrs_ok && input->name_error == NULL && input->postback_url_error == NULL &&
	       input->role_error == NULL && input->cidrs_error == NULL && input->expires_at_error == NULL &&
	       input->note_error == NULL;
}
