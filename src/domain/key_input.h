/*
 * key_input.h: the rules for a key's editable fields, as typed into the create and edit forms
 * (or given on the command line). Checks everything, keeps what was typed, and says what is
 * wrong next to each field; nothing is saved unless every field is right.
 */
#ifndef KEYWARD_DOMAIN_KEY_INPUT_H
#define KEYWARD_DOMAIN_KEY_INPUT_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "store/store.h"

struct arena;

#define KEY_NAME_MAX 100          /* characters */
#define KEY_POSTBACK_URL_MAX 2048 /* bytes */
#define KEY_CIDRS_MAX 100
#define KEY_CIDR_LABEL_MAX 100 /* characters */
#define KEY_NOTE_MAX 1000      /* characters (code points), line breaks counted as one each */

struct key_cidr_input {
	const char *cidr;        /* as typed */
	const char *label;       /* as typed */
	const char *cidr_error;  /* NULL when fine */
	const char *label_error; /* NULL when fine */
};

struct key_input {
	/* As typed. A field whose bytes could not be decoded arrives as "" with its *_error set. */
	const char *name;
	const char *postback_url;
	const char *note; /* NULL reads as "" */
	bool off_record;
	bool enabled;
	const char *role_id; /* decimal role id, as sent by the select */
	struct key_cidr_input *cidrs;
	size_t cidr_count;
	const char *expires_at; /* a date and time in UTC (text_parse_utc_time()); NULL or "" for never */
	int64_t now;            /* the time the expiry must be after */
	int64_t expires_at_kept; /* the key's expiry as stored (edit), accepted as it is even when past; 0: none */

	/* Messages next to the fields; NULL when fine. */
	const char *name_error;
	const char *postback_url_error;
	const char *note_error;
	const char *role_error;
	const char *cidrs_error; /* about the list as a whole (too many rows) */
	const char *expires_at_error;

	/* The checked values, valid when key_input_check() returned true. */
	struct store_key_fields fields;
};

/*
 * Check every field of `input` against the rules and the workspace's roles, fill the *_error
 * messages (keeping any already set by the decoder) and, when all is well, input->fields.
 * Returns true when the input can be saved. Strings are allocated from `arena`.
 */
bool key_input_check(struct arena *arena, struct store *store, int64_t workspace_id, struct key_input *input);

/*
 * Check one network row as typed (the allowlist tab's add form; each row of key_input_check()):
 * an IPv4 or IPv6 address or network without bits past its prefix, and a label of at most
 * KEY_CIDR_LABEL_MAX characters without control characters. Fills row->cidr_error and
 * row->label_error (a message already set by the decoder is kept, and then nothing more is
 * checked) and returns true when both are fine, with *network the canonical network and the
 * trimmed label (in `arena`). An empty network is wrong ("Enter the network this label is for ...").
 */
bool key_input_check_cidr(struct arena *arena, struct key_cidr_input *row, struct store_cidr *network);

/* The message of a network that is in the list already: "203.0.113.0/24 is already in the list." */
const char *key_input_duplicate_message(struct arena *arena, const char *cidr);

/* The message of a list with more than KEY_CIDRS_MAX networks. */
#define KEY_INPUT_CIDRS_FULL "At most 100 networks per key."

/* Check a POSTback URL alone. Returns NULL when fine, else the message. */
const char *key_input_check_url(const char *url);

#endif
