/* audit.c: before -> after summaries of changes, and writing them to the audit log. */
#include "domain/audit.h"

#include <stdbool.h>
#include <string.h>

#include "core/alloc.h"
#include "core/buf.h"
#include "core/text.h"

#define AUDIT_NOTE_SHOWN 60 /* characters of a note an audit line shows */

/*
 * A note as an audit line shows it: "none", or its first AUDIT_NOTE_SHOWN characters in quotes,
 * line breaks and tabs as spaces, and "…" when there was more (the whole note is on the key page).
 */
static const char *note_text(struct arena *arena, const char *note)
{
	if (note == NULL || note[0] == '\0')
		return "none";
	struct buf text = BUF_INIT;
	buf_puts(&text, "“");
	size_t characters = 0;
	const unsigned char *c = (const unsigned char *)note;
	while (*c != '\0' && characters < AUDIT_NOTE_SHOWN) {
		size_t length = 1; /* a code point's bytes: its lead byte and the continuation bytes after it */
		while (c[length] != '\0' && (c[length] & 0xC0) == 0x80)
			length++;
		if (*c == '\n' || *c == '\t')
			buf_puts(&text, " ");
		else
			buf_append(&text, (const char *)c, length);
		c += length;
		characters++;
	}
	buf_puts(&text, *c != '\0' ? "…”" : "”");
	const char *result = arena_strndup(arena, text.data, text.length);
	buf_free(&text);
	return result;
}

/* "a, b (label), c" of a CIDR list, or "none". */
static const char *networks_text(struct arena *arena, const struct store_cidr *cidrs, size_t count)
{
	if (count == 0)
		return "none";
	struct buf text = BUF_INIT;
	for (size_t i = 0; i < count; i++) {
		if (i > 0)
			buf_puts(&text, ", ");
		buf_puts(&text, cidrs[i].cidr);
		if (cidrs[i].label != NULL && cidrs[i].label[0] != '\0')
			buf_printf(&text, " (%s)", cidrs[i].label);
	}
	const char *result = arena_strndup(arena, text.data, text.length);
	buf_free(&text);
	return result;
}

static const char *url_text(struct arena *arena, const char *url)
{
	return url == NULL || url[0] == '\0' ? "none" : arena_printf(arena, "%s", url);
}

/* "never", or the expiry as "2027-01-31 18:00 UTC". */
static const char *expiry_text(struct arena *arena, int64_t expires_at)
{
	if (expires_at == 0)
		return "never";
	char text[TEXT_TIME_MAX];
	text_utc_time(text, expires_at);
	return arena_strdup(arena, text);
}

const char *audit_key_summary(struct arena *arena, const struct store_key_fields *fields, const char *role_name)
{
	bool noted = fields->note != NULL && fields->note[0] != '\0';
	return arena_printf(arena, "name “%s”; role %s; %s; %s; networks: %s; POSTback URL: %s%s%s%s%s", fields->name,
			    role_name, fields->enabled ? "enabled" : "disabled",
			    fields->off_record ? "off the record" : "recorded",
			    networks_text(arena, fields->cidrs, fields->cidr_count), url_text(arena, fields->postback_url),
			    fields->expires_at ? "; expires " : "", fields->expires_at ? expiry_text(arena, fields->expires_at) : "",
			    noted ? "; note: " : "", noted ? note_text(arena, fields->note) : "");
}

/* Append "field: before → after" to `changes`, separated by "; ". */
static void change(struct buf *changes, const char *field, const char *before, const char *after)
{
	if (strcmp(before, after) == 0)
		return;
	if (changes->length > 0)
		buf_puts(changes, "; ");
	buf_printf(changes, "%s: %s → %s", field, before, after);
}

static const char *finish(struct arena *arena, struct buf *changes)
{
	const char *result = changes->length > 0 ? arena_strndup(arena, changes->data, changes->length) : NULL;
	buf_free(changes);
	return result;
}

const char *audit_key_changes(struct arena *arena, const struct store_key *before, const struct store_key_fields *after,
			      const char *after_role_name)
{
	struct buf changes = BUF_INIT;
	change(&changes, "name", arena_printf(arena, "“%s”", before->name), arena_printf(arena, "“%s”", after->name));
	change(&changes, "role", before->role_name, after_role_name);
	change(&changes, "state", before->enabled ? "enabled" : "disabled", after->enabled ? "enabled" : "disabled");
	change(&changes, "record", before->off_record ? "off the record" : "recorded",
	       after->off_record ? "off the record" : "recorded");
	change(&changes, "networks", networks_text(arena, before->cidrs, before->cidr_count),
	       networks_text(arena, after->cidrs, after->cidr_count));
	change(&changes, "POSTback URL", url_text(arena, before->postback_url), url_text(arena, after->postback_url));
	change(&changes, "expires", expiry_text(arena, before->expires_at), expiry_text(arena, after->expires_at));
	if (strcmp(before->note ? before->note : "", after->note ? after->note : "") != 0) {
		const char *was = note_text(arena, before->note), *now = note_text(arena, after->note);
		/* Two notes that differ past what is shown would read "“…” → “…”": say so. */
		change(&changes, "note", was, strcmp(was, now) == 0 ? arena_printf(arena, "%s (changed further on)", now)
								   : now);
	}
	return finish(arena, &changes);
}

const char *audit_role_changes(struct arena *arena, const struct store_role *before, const char *name,
			       const char *description, const char *permissions)
{
	const char *none = "none";
	if (before == NULL)
		return arena_printf(arena, "name “%s”; description: %s; permissions: %s", name,
				    description[0] ? arena_printf(arena, "“%s”", description) : none,
				    permissions[0] ? permissions : none);
	struct buf changes = BUF_INIT;
	change(&changes, "name", arena_printf(arena, "“%s”", before->name), arena_printf(arena, "“%s”", name));
	change(&changes, "description", before->description[0] ? arena_printf(arena, "“%s”", before->description) : none,
	       description[0] ? arena_printf(arena, "“%s”", description) : none);
	change(&changes, "permissions", before->permissions[0] ? before->permissions : none,
	       permissions[0] ? permissions : none);
	return finish(arena, &changes);
}

enum store_status audit_record(struct store *store, int64_t workspace_id, const struct audit_actor *actor,
			       const char *action, const char *target_type, const char *target_id, const char *summary,
			       int64_t now)
{
	struct store_audit_event event = {
		.workspace_id = workspace_id,
		.at = now,
		.actor_user_id = actor->user_id,
		.actor_label = actor->label,
		.client_address = actor->client_address,
		.action = action,
		.target_type = target_type,
		.target_id = target_id,
		.summary = summary,
	};
	return store_audit_insert(store, &event);
}

enum store_status audit_record_everywhere(struct store *store, struct arena *arena, int64_t user_id,
					  const struct audit_actor *actor, const char *action, const char *target_id,
					  const char *summary, int64_t now)
{
	struct store_membership *memberships = NULL;
	size_t count = 0;
	enum store_status status = store_membership_list_for_user(store, arena, user_id, &memberships, &count);
	for (size_t i = 0; status == STORE_OK && i < count; i++)
		status = audit_record(store, memberships[i].workspace_id, actor, action, "member", target_id, summary, now);
	return status;
}
