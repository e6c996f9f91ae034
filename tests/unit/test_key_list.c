/*
 * test_key_list.c: the key list (store_key_list()) page by page, on either engine: every filter
 * finds exactly the keys a brute-force reading of the same keys finds (names and notes in many
 * scripts, LIKE's and FTS5's special characters, renamed keys, rolled secrets), in id order, each
 * once, with cursors both ways, while keys are made and revoked between pages; and on SQLite each
 * list statement reads the index it is meant to (EXPLAIN QUERY PLAN).
 */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include <sqlite3.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "support.h"

#include "core/alloc.h"
#include "core/text.h"
#include "domain/key_filter.h"
#include "store/engine.h" /* store_statement_sql(): the plans of the list statements */
#include "store/store.h"

#define HASH_LENGTH 32
#define NOW 1000000
#define SOON (NOW + 7 * 86400)

/* A key as the test made it: what a brute-force reading compares. */
struct made {
	int64_t id;
	char key_id[48];
	const char *name_folded;
	const char *note_folded;
	char hint[8];
	int64_t role_id;
	bool enabled;
	bool revoked;
	int64_t expires_at;
};

#define MADE_MAX 160

struct fixture {
	struct test_db *db;
	struct made made[MADE_MAX];
	size_t made_count;
	int64_t other_role; /* a role of workspace 2 */
};

static int setup(void **state)
{
	struct fixture *fixture = xcalloc(1, sizeof *fixture);
	fixture->db = test_db_open("key_list");
	if (fixture->db == NULL || fixture->db->admin_role == 0 || fixture->db->read_only_role == 0) {
		test_db_close(fixture->db);
		free(fixture);
		return -1;
	}
	*state = fixture;
	return 0;
}

static int teardown(void **state)
{
	struct fixture *fixture = *state;
	int removed = test_db_close(fixture->db);
	free(fixture);
	return removed;
}

/* A secret hash unique to `key_id` (the store only needs it unique), `salt` for a new secret. */
static void hash_for(const char *key_id, int salt, unsigned char hash[HASH_LENGTH])
{
	memset(hash, 0, HASH_LENGTH);
	memcpy(hash, key_id, strnlen(key_id, HASH_LENGTH - 1));
	hash[HASH_LENGTH - 1] = (unsigned char)salt;
}

/* Names and notes with upper case in several scripts, LIKE's % _ \, FTS5's " * ^ ( ) : and words. */
static const char *const NAMES[] = {
	"Ärger im Büro", "ÄRGER", "ärgerlich", "Straße 7", "İstanbul gateway", "日本語キー", "Ключ Москва",
	"emoji 🔑 key", "100% sure_thing", "back\\slash", "a\"quoted\" key", "AND OR NOT", "NEAR(x y)", "star*",
	"^caret", "col:on", "billing", "Billing Service", "old billing", "x", "xy", "  two  spaces  ", "Ω",
	"café crème", "CAFÉ", "under_score", "per%cent", "(paren)", "{brace}", "- minus +plus", "'single'",
};
static const char *const NOTES[] = {
	"", "Läuft auf Server 7", "deployed on billing-01", "ask Ana", "日本 team", "100% of traffic",
	"a\\b", "\"x\"", "", "Ärger vermeiden", "", "_",
};
static const char *const HINTS[] = { "wxyz", "AbCd", "a_%\\", "WXYZ", "12\"4", "ÄbÇd" };

/* The fields of key `i` of the corpus. */
static struct store_key_fields corpus_fields(struct fixture *fixture, size_t i)
{
	struct arena *arena = fixture->db->arena;
	const char *name = NAMES[i % (sizeof NAMES / sizeof NAMES[0])];
	const char *note = NOTES[i % (sizeof NOTES / sizeof NOTES[0])];
	struct store_key_fields fields = {
		.name = name,
		.name_folded = text_fold(arena, name),
		.postback_url = "",
		.note = note,
		.note_folded = text_fold(arena, note),
		.enabled = i % 5 != 1,
		.role_id = i % 3 == 0 ? fixture->db->read_only_role : fixture->db->admin_role,
		.expires_at = i % 4 == 0 ? NOW - 100 : i % 4 == 1 ? NOW + 3600 : i % 4 == 2 ? NOW + 30 * 86400 : 0,
	};
	return fields;
}

static struct made *make_key(struct fixture *fixture, int64_t workspace_id, const char *key_id,
			     const struct store_key_fields *fields, const char *hint)
{
	assert_true(fixture->made_count < MADE_MAX);
	unsigned char hash[HASH_LENGTH];
	hash_for(key_id, 0, hash);
	int64_t row_id = 0;
	assert_int_equal(store_key_insert(fixture->db->store, workspace_id, key_id, hash, sizeof hash, hint, fields,
					  "tester", NOW - 1000, 0, &row_id),
			 STORE_OK);
	struct made *made = &fixture->made[fixture->made_count++];
	made->id = row_id;
	snprintf(made->key_id, sizeof made->key_id, "%s", key_id);
	made->name_folded = fields->name_folded;
	made->note_folded = fields->note_folded;
	snprintf(made->hint, sizeof made->hint, "%s", hint);
	made->role_id = workspace_id == STORE_DEFAULT_WORKSPACE ? fields->role_id : -1;
	made->enabled = fields->enabled;
	made->expires_at = fields->expires_at;
	return made;
}

/*
 * The corpus: `count` keys of the default workspace (some renamed, some with a new secret, some
 * revoked afterwards, so that the triggers that keep the search index have work) and the same
 * names in workspace 2, which no list of workspace 1 may show.
 */
static void make_corpus(struct fixture *fixture, size_t count)
{
	struct test_db *db = fixture->db;
	test_db_execute(db, "INSERT INTO workspace (id, name, created_at) VALUES (2, 'Other', 0);"
			    "INSERT INTO role (workspace_id, name) VALUES (2, 'other')");
	fixture->other_role = test_db_integer(db, "SELECT id FROM role WHERE workspace_id = 2");
	for (size_t i = 0; i < count; i++) {
		char key_id[48];
		/* Mixed case, so that the key ID is compared lowered. */
		snprintf(key_id, sizeof key_id, "key_%cQ%02zuzZ%s", "aBcD"[i % 4], i, i % 6 == 0 ? "_X%" : "");
		struct store_key_fields fields = corpus_fields(fixture, i);
		struct made *made = make_key(fixture, STORE_DEFAULT_WORKSPACE, key_id, &fields,
					     HINTS[i % (sizeof HINTS / sizeof HINTS[0])]);
		if (i % 9 == 4) { /* renamed: found by its new name and note only */
			struct store_key_fields renamed = corpus_fields(fixture, i + 7);
			renamed.role_id = fields.role_id;
			renamed.enabled = fields.enabled;
			renamed.expires_at = fields.expires_at;
			assert_int_equal(store_key_update(db->store, STORE_DEFAULT_WORKSPACE, key_id, &renamed, NOW - 900),
					 STORE_OK);
			made->name_folded = renamed.name_folded;
			made->note_folded = renamed.note_folded;
		}
		if (i % 11 == 5) { /* a new secret: found by its new last 4 only */
			unsigned char hash[HASH_LENGTH];
			hash_for(key_id, 1, hash);
			assert_int_equal(store_key_set_secret(db->store, STORE_DEFAULT_WORKSPACE, key_id, hash, sizeof hash,
							      "NeW1", NOW - 800, 0),
					 STORE_OK);
			snprintf(made->hint, sizeof made->hint, "NeW1");
		}
		if (i % 7 == 3) {
			assert_int_equal(store_key_revoke(db->store, STORE_DEFAULT_WORKSPACE, key_id, NOW - 700), STORE_OK);
			made->revoked = true;
		}
		if (i % 4 == 0) { /* the same name and note in workspace 2 */
			char other[48];
			snprintf(other, sizeof other, "key_other%02zu", i);
			fields.role_id = fixture->other_role;
			make_key(fixture, 2, other, &fields, "wxyz");
		}
	}
}

/* ASCII lowered, as SQLite's and PostgreSQL's ("C") lower() do. */
static char *ascii_lower(struct arena *arena, const char *text)
{
	char *lowered = arena_strdup(arena, text);
	for (char *c = lowered; *c != '\0'; c++)
		if (*c >= 'A' && *c <= 'Z')
			*c = (char)(*c - 'A' + 'a');
	return lowered;
}

/* Does `made` match `filter`, read the slow way (what the list's filter means, store.h). */
static bool brute_matches(struct arena *arena, const struct made *made, int64_t workspace_id,
			  const struct store_key_filter *filter)
{
	if (made->role_id == -1 || workspace_id != STORE_DEFAULT_WORKSPACE)
		return false; /* workspace 2 */
	if (filter->role_id != 0 && made->role_id != filter->role_id)
		return false;
	bool state = false;
	switch (filter->state) {
	case STORE_FILTER_ACTIVE:
		state = !made->revoked;
		break;
	case STORE_FILTER_ENABLED:
		state = !made->revoked && made->enabled;
		break;
	case STORE_FILTER_DISABLED:
		state = !made->revoked && !made->enabled;
		break;
	case STORE_FILTER_REVOKED:
		state = made->revoked;
		break;
	case STORE_FILTER_EXPIRING:
		state = !made->revoked && made->expires_at > filter->now && made->expires_at <= filter->soon;
		break;
	case STORE_FILTER_EXPIRED:
		state = !made->revoked && made->expires_at != 0 && made->expires_at <= filter->now;
		break;
	}
	if (!state)
		return false;
	const char *text = filter->text_folded ? filter->text_folded : "";
	const char *key_id = filter->key_id_folded ? filter->key_id_folded : "";
	const char *hint = filter->hint_folded ? filter->hint_folded : "";
	return text[0] == '\0' || strstr(made->name_folded, text) != NULL || strstr(made->note_folded, text) != NULL ||
	       (key_id[0] != '\0' && strstr(ascii_lower(arena, made->key_id), key_id) != NULL) ||
	       (hint[0] != '\0' && strcmp(ascii_lower(arena, made->hint), hint) == 0);
}

/* The ids brute_matches() takes, newest (highest id) first, into ids[]; returns how many. */
static size_t brute_list(struct fixture *fixture, int64_t workspace_id, const struct store_key_filter *filter,
			 int64_t *ids)
{
	size_t count = 0;
	for (size_t i = fixture->made_count; i-- > 0;)
		if (brute_matches(fixture->db->arena, &fixture->made[i], workspace_id, filter))
			ids[count++] = fixture->made[i].id;
	return count;
}

/*
 * Every page of `filter` from the newest on, `page` keys at a time, each from the last key of the
 * page before; their ids into ids[] in order. Checks that each page is full but the last, and
 * that *more says so.
 */
static size_t walk_older(struct fixture *fixture, int64_t workspace_id, struct store_key_filter filter, size_t page,
			 int64_t *ids, size_t max)
{
	filter.limit = page;
	filter.before_id = 0;
	filter.after_id = 0;
	size_t seen = 0;
	for (;;) {
		struct store_key *keys = NULL;
		size_t count = 99;
		bool more = false;
		assert_int_equal(store_key_list(fixture->db->store, fixture->db->arena, workspace_id, &filter, &keys,
						&count, &more),
				 STORE_OK);
		assert_true(count <= page);
		if (more)
			assert_int_equal(count, page);
		for (size_t i = 0; i < count; i++) {
			assert_true(seen < max);
			ids[seen++] = keys[i].id;
		}
		if (!more)
			return seen;
		filter.before_id = keys[count - 1].id;
	}
}

static void assert_same_ids(const int64_t *got, size_t got_count, const int64_t *expected, size_t expected_count,
			    const char *what)
{
	bool same = got_count == expected_count;
	for (size_t i = 0; same && i < got_count; i++)
		same = got[i] == expected[i];
	if (!same) {
		print_error("%s: %zu keys listed, %zu expected\n", what, got_count, expected_count);
		for (size_t i = 0; i < got_count || i < expected_count; i++)
			print_error("  %lld  %lld\n", i < got_count ? (long long)got[i] : -1LL,
				    i < expected_count ? (long long)expected[i] : -1LL);
		fail();
	}
}

/* The filter's text parts as the console's Filter box and the API's q make them (domain/key_filter.c). */
static void console_text(struct arena *arena, const char *typed, struct store_key_filter *filter)
{
	key_filter_text(arena, typed, filter);
}

/* Add every piece of `text` of 1 to 5 characters (whole UTF-8 sequences) to texts[]. */
static void add_pieces(struct arena *arena, const char *text, const char **texts, size_t *count, size_t max)
{
	size_t length = strlen(text);
	for (size_t start = 0; start < length; start++) {
		if (((unsigned char)text[start] & 0xc0) == 0x80)
			continue;
		size_t end = start;
		for (int characters = 1; characters <= 5 && end < length; characters++) {
			end++;
			while (end < length && ((unsigned char)text[end] & 0xc0) == 0x80)
				end++;
			if (*count < max)
				texts[(*count)++] = arena_strndup(arena, text + start, end - start);
		}
	}
}

static void test_every_filter_finds_what_a_brute_force_reading_finds(void **state)
{
	struct fixture *fixture = *state;
	struct arena *arena = fixture->db->arena;
	make_corpus(fixture, 120);

	enum { TEXTS_MAX = 1500 };
	const char **texts = arena_alloc(arena, TEXTS_MAX * sizeof *texts);
	size_t text_count = 0;
	static const char *const typed[] = {
		"", "ärg", "ÄRG", "Ärger", "ärger im", "straße", "STRASSE", "i̇stanbul", "istanbul", "日本語", "本語キ",
		"ключ", "КЛЮЧ", "🔑", "🔑 k", "% s", "%", "_", "\\", "\"", "\"\"", "a\"q", "and or", "or not", "near(",
		"*", "st*", "^ca", "l:o", "billing", "BILLING", "ing s", "café", "CAFÉ CR", "crème", "  ", "   ",
		"two  sp", "Ω", "ω", "{br", "(pa", "- m", "'si", "key_", "KEY_A", "q07z", "Q07ZZ", "zz_x%", "_x%",
		"wxyz", "…wxyz", "...AbCd", "abcd", "a_%\\", "…a_%\\", "12\"4", "äbçd", "ÄBÇD", "new1", "…NEW1",
		"nothing like it", "läuft", "server 7", "-01", "ana", "vermeiden", "x", "xy", "xyz", "e", "ke", "key",
		/* 7 characters and more: the index is asked for a part of them (store_keys.c, search_window()) */
		"Ärger im Büro", "ärger im büro!", "emoji 🔑 key", "100% sure_thing", "a\"quoted\" key", "café crème",
		"  two  spaces  ", "deployed on billing-01", "LÄUFT AUF SERVER 7", "back\\slash", "near(x y)",
		"- minus +plus", "billing service", "ld billing", "日本語キー", "key_aq00zz_x%", "key_bq13zz",
	};
	for (size_t i = 0; i < sizeof typed / sizeof typed[0]; i++)
		texts[text_count++] = typed[i];
	for (size_t i = 0; i < sizeof NAMES / sizeof NAMES[0]; i += 3)
		add_pieces(arena, NAMES[i], texts, &text_count, TEXTS_MAX);
	add_pieces(arena, "key_bq13zz", texts, &text_count, TEXTS_MAX);

	int64_t *got = arena_alloc(arena, MADE_MAX * sizeof *got);
	int64_t *expected = arena_alloc(arena, MADE_MAX * sizeof *expected);
	static const enum store_key_filter_state states[] = { STORE_FILTER_ACTIVE,   STORE_FILTER_ENABLED,
							       STORE_FILTER_DISABLED, STORE_FILTER_REVOKED,
							       STORE_FILTER_EXPIRING, STORE_FILTER_EXPIRED };
	const int64_t roles[] = { 0, fixture->db->admin_role, fixture->db->read_only_role };
	size_t nonempty = 0, checks = 0;
	for (size_t t = 0; t < text_count; t++)
		for (size_t s = 0; s < sizeof states / sizeof states[0]; s++)
			for (size_t r = 0; r < sizeof roles / sizeof roles[0]; r++) {
				/* Every text with every state, the roles with the whole-list states only: enough combinations. */
				if (r > 0 && s > 0 && t % 7 != 0)
					continue;
				struct store_key_filter filter = {
					.state = states[s], .role_id = roles[r], .now = NOW, .soon = SOON,
				};
				console_text(arena, texts[t], &filter);
				size_t expected_count = brute_list(fixture, STORE_DEFAULT_WORKSPACE, &filter, expected);
				size_t got_count = walk_older(fixture, STORE_DEFAULT_WORKSPACE, filter, 1 + t % 7, got,
							      MADE_MAX);
				char *what = arena_printf(arena, "text \"%s\", state %d, role %lld", texts[t], (int)states[s],
							  (long long)roles[r]);
				assert_same_ids(got, got_count, expected, expected_count, what);
				nonempty += expected_count > 0;
				checks++;
			}
	/* The corpus is not so odd that most filters find nothing: the comparison means something. */
	assert_true(nonempty * 2 > checks);

	/* The store's parts apart: a key ID part or a last 4 shorter than 3 characters, a text of 2. */
	struct store_key_filter parts = { .state = STORE_FILTER_ACTIVE, .now = NOW, .soon = SOON };
	static const char *const part_sets[][3] = {
		{ "zz", "q0", "" }, { "ärger", "", "ab" }, { "billing", "q1", "wxyz" }, { "xy", "bq1", "" },
	};
	for (size_t i = 0; i < sizeof part_sets / sizeof part_sets[0]; i++) {
		parts.text_folded = part_sets[i][0];
		parts.key_id_folded = part_sets[i][1];
		parts.hint_folded = part_sets[i][2];
		size_t expected_count = brute_list(fixture, STORE_DEFAULT_WORKSPACE, &parts, expected);
		size_t got_count = walk_older(fixture, STORE_DEFAULT_WORKSPACE, parts, 5, got, MADE_MAX);
		assert_same_ids(got, got_count, expected, expected_count, part_sets[i][0]);
	}

	/* Workspace 2 sees its own keys only, by the same names. */
	struct store_key_filter other = { .state = STORE_FILTER_ACTIVE, .now = NOW, .soon = SOON };
	console_text(arena, "ärger", &other);
	size_t got_count = walk_older(fixture, 2, other, 3, got, MADE_MAX);
	assert_true(got_count > 0);
	for (size_t i = 0; i < got_count; i++)
		assert_int_equal(test_db_integer(fixture->db, "SELECT workspace_id FROM api_key WHERE id = %lld",
						 (long long)got[i]),
				 2);
}

/* Pages one way and back: the keys newer than a page's first key, `page` at a time, are the pages before it. */
static void test_pages_back_and_forth_are_the_same_pages(void **state)
{
	struct fixture *fixture = *state;
	struct arena *arena = fixture->db->arena;
	make_corpus(fixture, 60);
	int64_t *ids = arena_alloc(arena, MADE_MAX * sizeof *ids);
	static const char *const typed[] = { "", "ärg", "xy", "billing" };
	for (size_t t = 0; t < sizeof typed / sizeof typed[0]; t++)
		for (enum store_key_filter_state s = STORE_FILTER_ACTIVE; s <= STORE_FILTER_EXPIRED; s++) {
			struct store_key_filter filter = { .state = s, .now = NOW, .soon = SOON };
			console_text(arena, typed[t], &filter);
			enum { PAGE = 4 };
			size_t total = walk_older(fixture, STORE_DEFAULT_WORKSPACE, filter, PAGE, ids, MADE_MAX);
			if (total <= PAGE)
				continue;
			/* From the last page back to the first, each from the first key of the one after it. */
			size_t last_start = (total - 1) / PAGE * PAGE;
			filter.limit = PAGE;
			filter.before_id = 0;
			filter.after_id = ids[last_start];
			for (size_t start = last_start; start > 0;) {
				start -= PAGE;
				struct store_key *keys = NULL;
				size_t count = 0;
				bool more = false;
				assert_int_equal(store_key_list(fixture->db->store, arena, STORE_DEFAULT_WORKSPACE, &filter,
								&keys, &count, &more),
						 STORE_OK);
				assert_int_equal(count, PAGE);
				for (size_t i = 0; i < count; i++)
					assert_int_equal(keys[i].id, ids[start + i]);
				assert_int_equal(more, start > 0); /* newer keys than this page's first */
				filter.after_id = keys[0].id;
			}
		}
}

/*
 * Keys made and revoked between two pages: the walk from the first page on still lists every key
 * that was there and still matches exactly once, in order, and none made after it started (those
 * are newer than its cursor: on the first page of a new walk).
 */
static void test_a_walk_sees_each_key_once_while_keys_come_and_go(void **state)
{
	struct fixture *fixture = *state;
	struct test_db *db = fixture->db;
	struct arena *arena = db->arena;
	make_corpus(fixture, 40);
	static const char *const typed[] = { "", "ärger", "xy" };
	for (size_t t = 0; t < sizeof typed / sizeof typed[0]; t++) {
		struct store_key_filter filter = { .state = STORE_FILTER_ACTIVE, .now = NOW, .soon = SOON, .limit = 3 };
		console_text(arena, typed[t], &filter);
		int64_t before[MADE_MAX];
		size_t before_count = brute_list(fixture, STORE_DEFAULT_WORKSPACE, &filter, before);
		assert_true(before_count > 6);
		int64_t seen[MADE_MAX];
		size_t seen_count = 0;
		int64_t revoked = 0;
		bool more = true;
		for (int page = 0; more; page++) {
			struct store_key *keys = NULL;
			size_t count = 0;
			assert_int_equal(store_key_list(db->store, arena, STORE_DEFAULT_WORKSPACE, &filter, &keys, &count,
							&more),
					 STORE_OK);
			for (size_t i = 0; i < count; i++)
				seen[seen_count++] = keys[i].id;
			if (count > 0)
				filter.before_id = keys[count - 1].id;
			/* Between pages: a new key matching every filter here, and one not yet listed revoked. */
			char key_id[48];
			snprintf(key_id, sizeof key_id, "key_new_%zu_%d", t, page);
			struct store_key_fields fields = corpus_fields(fixture, 0);
			fields.name = "Ärger xy, made meanwhile";
			fields.name_folded = text_fold(arena, fields.name);
			fields.expires_at = 0;
			make_key(fixture, STORE_DEFAULT_WORKSPACE, key_id, &fields, "wxyz");
			if (page == 1 && before_count > seen_count + 1) {
				revoked = before[seen_count + 1];
				for (size_t i = 0; i < fixture->made_count; i++)
					if (fixture->made[i].id == revoked) {
						assert_int_equal(store_key_revoke(db->store, STORE_DEFAULT_WORKSPACE,
										  fixture->made[i].key_id, NOW),
								 STORE_OK);
						fixture->made[i].revoked = true;
					}
			}
		}
		/* Every key that was there, but the one revoked before its page came, in order, once. */
		int64_t expected[MADE_MAX];
		size_t expected_count = 0;
		for (size_t i = 0; i < before_count; i++)
			if (before[i] != revoked)
				expected[expected_count++] = before[i];
		assert_true(revoked != 0);
		assert_same_ids(seen, seen_count, expected, expected_count, typed[t]);
		/* A new walk starts with the keys made meanwhile. */
		int64_t fresh[MADE_MAX];
		filter.before_id = 0;
		size_t fresh_count = walk_older(fixture, STORE_DEFAULT_WORKSPACE, filter, 5, fresh, MADE_MAX);
		int64_t now_expected[MADE_MAX];
		assert_same_ids(fresh, fresh_count, now_expected,
				brute_list(fixture, STORE_DEFAULT_WORKSPACE, &filter, now_expected), "a new walk");
	}
}

/* A zero limit lists nothing and says whether anything matches; a cursor past every key, nothing. */
static void test_edges(void **state)
{
	struct fixture *fixture = *state;
	struct test_db *db = fixture->db;
	make_corpus(fixture, 10);
	struct store_key_filter filter = { .state = STORE_FILTER_ACTIVE, .now = NOW, .soon = SOON };
	struct store_key *keys = NULL;
	size_t count = 9;
	bool more = false;
	assert_int_equal(store_key_list(db->store, db->arena, STORE_DEFAULT_WORKSPACE, &filter, &keys, &count, &more),
			 STORE_OK);
	assert_int_equal(count, 0);
	assert_true(more);
	filter.text_folded = "nothing like it";
	assert_int_equal(store_key_list(db->store, db->arena, STORE_DEFAULT_WORKSPACE, &filter, &keys, &count, &more),
			 STORE_OK);
	assert_false(more);
	filter.text_folded = NULL;
	filter.limit = 50;
	filter.before_id = 1; /* no key has a smaller id */
	assert_int_equal(store_key_list(db->store, db->arena, STORE_DEFAULT_WORKSPACE, &filter, &keys, &count, &more),
			 STORE_OK);
	assert_int_equal(count, 0);
	assert_false(more);
	filter.before_id = 0;
	filter.after_id = INT64_MAX - 1;
	assert_int_equal(store_key_list(db->store, db->arena, STORE_DEFAULT_WORKSPACE, &filter, &keys, &count, &more),
			 STORE_OK);
	assert_int_equal(count, 0);
	assert_false(more);
}

/* The detail lines of SQLite's plan of `sql`, joined by " | ". */
static const char *sqlite_plan(struct test_db *db, const char *sql)
{
	sqlite3 *connection = NULL;
	assert_int_equal(sqlite3_open_v2(db->config.database_path, &connection, SQLITE_OPEN_READONLY, NULL), SQLITE_OK);
	sqlite3_stmt *statement = NULL;
	char *explain = arena_printf(db->arena, "EXPLAIN QUERY PLAN %s", sql);
	if (sqlite3_prepare_v2(connection, explain, -1, &statement, NULL) != SQLITE_OK)
		fail_msg("cannot explain %s: %s", sql, sqlite3_errmsg(connection));
	char *plan = arena_strdup(db->arena, "");
	while (sqlite3_step(statement) == SQLITE_ROW)
		plan = arena_printf(db->arena, "%s%s%s", plan, plan[0] ? " | " : "", (const char *)sqlite3_column_text(statement, 3));
	sqlite3_finalize(statement);
	sqlite3_close(connection);
	return plan;
}

/*
 * Each list statement reads its index in id order (no sort, no scan of the table): a page costs
 * about its rows. SQLite only:
 * PostgreSQL's plans depend on its statistics (make bench shows them at 100,000 keys).
 */
static void test_sqlite_plans_read_the_right_index(void **state)
{
	struct fixture *fixture = *state;
	test_skip_on_postgresql("about SQLite's plans (PostgreSQL's: make bench)");
	static const struct {
		enum store_statement which;
		const char *reads;
		bool sorts;
	} expected[] = {
		{ STMT_KEY_LIST_ACTIVE, "SEARCH k USING INDEX api_key_live (workspace_id=? AND id>? AND id<?)", false },
		{ STMT_KEY_LIST_ENABLED, "SEARCH k USING INDEX api_key_state (workspace_id=? AND enabled=? AND id>? AND id<?)", false },
		{ STMT_KEY_LIST_DISABLED, "SEARCH k USING INDEX api_key_state (workspace_id=? AND enabled=? AND id>? AND id<?)", false },
		{ STMT_KEY_LIST_REVOKED, "SEARCH k USING INDEX api_key_revoked (workspace_id=? AND id>? AND id<?)", false },
		{ STMT_KEY_LIST_EXPIRING, "SEARCH k USING INDEX api_key_expires (workspace_id=? AND id>? AND id<?)", false },
		{ STMT_KEY_LIST_EXPIRED, "SEARCH k USING INDEX api_key_expires (workspace_id=? AND id>? AND id<?)", false },
		{ STMT_KEY_LIST_ROLE, "SEARCH k USING INDEX api_key_role (workspace_id=? AND role_id=? AND id>? AND id<?)", false },
		{ STMT_KEY_LIST_SEARCH, "SCAN s VIRTUAL TABLE INDEX ", false },
	};
	for (size_t i = 0; i < sizeof expected / sizeof expected[0]; i++)
		for (int newer = 0; newer <= 1; newer++) {
			const char *plan = sqlite_plan(fixture->db, store_statement_sql(expected[i].which + newer));
			print_message("%s: %s\n", store_statement_name(expected[i].which + newer), plan);
			if (strstr(plan, expected[i].reads) == NULL)
				fail_msg("%s reads \"%s\", not \"%s\"", store_statement_name(expected[i].which + newer), plan,
					 expected[i].reads);
			assert_int_equal(strstr(plan, "TEMP B-TREE") != NULL, expected[i].sorts);
			assert_null(strstr(plan, "SCAN k"));
			assert_null(strstr(plan, "SCAN r"));
		}
}

#define TEST(name) cmocka_unit_test_setup_teardown(name, setup, teardown)

int main(void)
{
	const struct CMUnitTest tests[] = {
		TEST(test_every_filter_finds_what_a_brute_force_reading_finds),
		TEST(test_pages_back_and_forth_are_the_same_pages),
		TEST(test_a_walk_sees_each_key_once_while_keys_come_and_go),
		TEST(test_edges),
		TEST(test_sqlite_plans_read_the_right_index),
	};
	return cmocka_run_group_tests_name("key_list", tests, NULL, NULL);
}
