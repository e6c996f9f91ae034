/*
 * test_keys_bulk.c: several keys at once (domain/keys_bulk.c) and CSV rows (view/csv.c).
 *
 * keys_bulk_apply() is all or nothing: each write it makes is made to fail in turn, and a failure
 * at the last key's audit line must undo the first key's change too; a key of another workspace,
 * an unknown one or a revoked one (for enable and disable) refuses the whole selection and names
 * itself; keys in the asked state are counted and get no line; the size limit is checked first.
 */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "support.h"

#include "core/alloc.h"
#include "core/buf.h"
#include "domain/keys.h"
#include "domain/keys_bulk.h"
#include "store/store.h"
#include "view/csv.h"

#define NOW 1700000000

struct fixture {
	struct test_db *db;
	struct audit_actor actor;
	char keys[3][TOKEN_KEY_ID_LENGTH + 1]; /* enabled, enabled, disabled: of the default workspace */
	enum keys_bulk_action action;
	const char *selection[4];
	size_t count;
	struct keys_bulk_result result;
};

static void make_key(struct fixture *fixture, int64_t workspace_id, int64_t role_id, const char *name, bool enabled,
		     char key_id[TOKEN_KEY_ID_LENGTH + 1])
{
	struct store_key_fields fields = { .name = name, .name_folded = name, .postback_url = "", .enabled = enabled,
					   .role_id = role_id };
	char token[TOKEN_MAX_LENGTH + 1];
	int64_t row_id = 0;
	test_key_create_in(fixture->db, workspace_id, &fields, NOW - 100, key_id, token, &row_id);
}

static int setup(void **state)
{
	struct fixture *fixture = xcalloc(1, sizeof *fixture);
	fixture->db = test_db_open("bulk");
	if (fixture->db == NULL) {
		free(fixture);
		return -1;
	}
	test_db_execute(fixture->db,
			"INSERT INTO \"user\" (email, email_folded, name, password_hash, created_at, updated_at) VALUES "
			"('owner@example.com', 'owner@example.com', '', '', 1, 1);"
			"INSERT INTO membership (workspace_id, user_id, console_role, created_at) VALUES (1, 1, 'owner', 1);");
	fixture->actor = (struct audit_actor){ 1, "owner@example.com", "192.0.2.1" };
	make_key(fixture, STORE_DEFAULT_WORKSPACE, fixture->db->admin_role, "one", true, fixture->keys[0]);
	make_key(fixture, STORE_DEFAULT_WORKSPACE, fixture->db->admin_role, "two", true, fixture->keys[1]);
	make_key(fixture, STORE_DEFAULT_WORKSPACE, fixture->db->admin_role, "off", false, fixture->keys[2]);
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

static enum store_status run(void *context)
{
	struct fixture *fixture = context;
	return keys_bulk_apply(fixture->db->store, fixture->db->arena, &fixture->actor, STORE_DEFAULT_WORKSPACE,
			       fixture->action, fixture->selection, fixture->count, NOW, &fixture->result);
}

static void select_keys(struct fixture *fixture, enum keys_bulk_action action, size_t count, ...)
{
	va_list keys;
	va_start(keys, count);
	fixture->action = action;
	fixture->count = count;
	for (size_t i = 0; i < count; i++)
		fixture->selection[i] = va_arg(keys, const char *);
	va_end(keys);
}

static long long lines(struct fixture *fixture, const char *action)
{
	return test_db_integer(fixture->db, "SELECT count(*) FROM audit_event WHERE action = '%s'", action);
}

static void test_disable_is_all_or_nothing_with_a_line_per_key_changed(void **state)
{
	struct fixture *fixture = *state;
	/* The disabled key is skipped; the one named twice counts once. */
	select_keys(fixture, KEYS_BULK_DISABLE, 4, fixture->keys[0], fixture->keys[1], fixture->keys[2],
		    fixture->keys[0]);
	static const struct test_write writes[] = { { "UPDATE", "api_key" }, { "UPDATE", "gate_state" },
					       { "INSERT", "audit_event" } };
	test_assert_all_or_nothing(fixture->db, run, fixture, writes, sizeof writes / sizeof writes[0], "key.disable", 2);
	assert_int_equal(fixture->result.changed, 2);
	assert_int_equal(fixture->result.unchanged, 1);
	assert_null(fixture->result.refused_key_id);
	for (int i = 0; i < 2; i++)
		assert_string_equal(test_db_text(fixture->db,
						 "SELECT summary FROM audit_event WHERE action = 'key.disable' AND "
						 "target_id = '%s'",
						 fixture->keys[i]),
				    "state: enabled → disabled (one of 2 keys disabled together)");
	assert_int_equal(test_db_integer(fixture->db, "SELECT count(*) FROM audit_event WHERE target_id = '%s' AND "
						      "action = 'key.disable'",
					 fixture->keys[2]),
			 0);
	assert_int_equal(test_db_integer(fixture->db, "SELECT count(*) FROM api_key WHERE enabled = 0"), 3);
	/* Again: nothing to change, nothing written. */
	const char *before = test_db_dump(fixture->db);
	assert_int_equal(run(fixture), STORE_OK);
	assert_int_equal(fixture->result.changed, 0);
	assert_int_equal(fixture->result.unchanged, 3);
	assert_string_equal(before, test_db_dump(fixture->db));
}

/* The last key's line fails: the first key's change, made before it, is undone too. */
static void test_a_failure_at_the_last_key_undoes_the_first(void **state)
{
	struct fixture *fixture = *state;
	select_keys(fixture, KEYS_BULK_REVOKE, 2, fixture->keys[0], fixture->keys[1]);
	const char *before = test_db_dump(fixture->db);
	test_db_fail_writes(fixture->db, "INSERT", "audit_event",
			    arena_printf(fixture->db->arena, "NEW.target_id = '%s'", fixture->keys[1]), "disk full");
	assert_int_equal(run(fixture), STORE_ERROR);
	assert_int_equal(fixture->result.changed, 0);
	assert_string_equal(before, test_db_dump(fixture->db));
	test_db_assert_no_transaction(fixture->db);
	test_db_allow_writes(fixture->db, "audit_event");
	assert_int_equal(run(fixture), STORE_OK);
	assert_int_equal(fixture->result.changed, 2);
	assert_int_equal(lines(fixture, "key.revoke"), 2);
}

static void test_revoke_and_enable(void **state)
{
	struct fixture *fixture = *state;
	select_keys(fixture, KEYS_BULK_REVOKE, 1, fixture->keys[0]);
	static const struct test_write writes[] = { { "UPDATE", "api_key" }, { "UPDATE", "gate_state" },
					       { "INSERT", "audit_event" } };
	test_assert_all_or_nothing(fixture->db, run, fixture, writes, sizeof writes / sizeof writes[0], "key.revoke", 1);
	assert_string_equal(test_db_text(fixture->db, "SELECT summary FROM audit_event WHERE action = 'key.revoke'"),
			    "revoked: the key no longer works, for good");
	/* Revoking it again is "unchanged"; enabling the disabled one works. */
	select_keys(fixture, KEYS_BULK_REVOKE, 2, fixture->keys[0], fixture->keys[1]);
	assert_int_equal(run(fixture), STORE_OK);
	assert_int_equal(fixture->result.changed, 1);
	assert_int_equal(fixture->result.unchanged, 1);
	select_keys(fixture, KEYS_BULK_ENABLE, 1, fixture->keys[2]);
	assert_int_equal(run(fixture), STORE_OK);
	assert_int_equal(fixture->result.changed, 1);
	assert_int_equal(lines(fixture, "key.enable"), 1);
}

static void test_refusals_change_nothing_and_name_the_key(void **state)
{
	struct fixture *fixture = *state;
	int64_t owner = 0, other = 0;
	assert_int_equal(store_user_insert(fixture->db->store, "o2@example.com", "o2@example.com", "", "h", NOW, &owner),
			 STORE_OK);
	assert_int_equal(store_workspace_create(fixture->db->store, "Second", owner, NOW, &other), STORE_OK);
	struct store_role role;
	assert_int_equal(store_role_find_by_name(fixture->db->store, fixture->db->arena, other, "admin", &role), STORE_OK);
	char foreign[TOKEN_KEY_ID_LENGTH + 1];
	make_key(fixture, other, role.id, "foreign", true, foreign);
	assert_int_equal(keys_revoke(fixture->db->store, fixture->db->arena, &fixture->actor, STORE_DEFAULT_WORKSPACE,
				     fixture->keys[2], NOW),
			 STORE_OK);
	const char *before = test_db_dump(fixture->db);

	select_keys(fixture, KEYS_BULK_DISABLE, 3, fixture->keys[0], foreign, fixture->keys[1]);
	assert_int_equal(run(fixture), STORE_NOT_FOUND);
	assert_string_equal(fixture->result.refused_key_id, foreign);
	select_keys(fixture, KEYS_BULK_REVOKE, 2, fixture->keys[0], "key_0000000000000000");
	assert_int_equal(run(fixture), STORE_NOT_FOUND);
	assert_string_equal(fixture->result.refused_key_id, "key_0000000000000000");
	for (int action = KEYS_BULK_DISABLE; action <= KEYS_BULK_ENABLE; action++) {
		select_keys(fixture, (enum keys_bulk_action)action, 2, fixture->keys[0], fixture->keys[2]);
		assert_int_equal(run(fixture), STORE_CONFLICT);
		assert_string_equal(fixture->result.refused_key_id, fixture->keys[2]);
		assert_int_equal(fixture->result.changed, 0);
	}
	assert_string_equal(before, test_db_dump(fixture->db));
	test_db_assert_no_transaction(fixture->db);
}

static void test_the_selection_is_limited(void **state)
{
	struct fixture *fixture = *state;
	const char *many[KEYS_BULK_MAX + 2];
	char ids[KEYS_BULK_MAX + 1][TOKEN_KEY_ID_LENGTH + 1];
	for (size_t i = 0; i <= KEYS_BULK_MAX; i++) {
		snprintf(ids[i], sizeof ids[i], "key_%016zu", i);
		many[i] = ids[i];
	}
	many[KEYS_BULK_MAX + 1] = ids[0]; /* a repeat does not count */
	struct keys_bulk_result result;
	const char *before = test_db_dump(fixture->db);
	assert_int_equal(keys_bulk_apply(fixture->db->store, fixture->db->arena, &fixture->actor, STORE_DEFAULT_WORKSPACE,
					 KEYS_BULK_DISABLE, many, KEYS_BULK_MAX + 2, NOW, &result),
			 STORE_LIMIT);
	/* KEYS_BULK_MAX different ones and a repeat are taken (here refused: no such keys). */
	const char *hundred[KEYS_BULK_MAX + 1];
	memcpy(hundred, many, KEYS_BULK_MAX * sizeof *many);
	hundred[KEYS_BULK_MAX] = ids[0];
	assert_int_equal(keys_bulk_apply(fixture->db->store, fixture->db->arena, &fixture->actor, STORE_DEFAULT_WORKSPACE,
					 KEYS_BULK_DISABLE, hundred, KEYS_BULK_MAX + 1, NOW, &result),
			 STORE_NOT_FOUND);
	assert_int_equal(keys_bulk_apply(fixture->db->store, fixture->db->arena, &fixture->actor, STORE_DEFAULT_WORKSPACE,
					 KEYS_BULK_DISABLE, many, 0, NOW, &result),
			 STORE_OK);
	assert_int_equal(result.changed + result.unchanged, 0);
	assert_string_equal(before, test_db_dump(fixture->db));
}

/* ---- CSV ---------------------------------------------------------------------------------------- */

static const char *row(const char *const *cells, size_t count)
{
	static char text[512];
	struct buf out = BUF_INIT;
	csv_row(&out, cells, count);
	snprintf(text, sizeof text, "%s", out.data);
	buf_free(&out);
	return text;
}

static void test_csv_quotes_and_guards(void **state)
{
	(void)state;
	assert_string_equal(row((const char *[]){ "plain", "", NULL, "ärger ✓" }, 4), "plain,,,ärger ✓\r\n");
	assert_string_equal(row((const char *[]){ "a,b", "say \"hi\"", "two\nlines", "cr\rhere" }, 4),
			    "\"a,b\",\"say \"\"hi\"\"\",\"two\nlines\",\"cr\rhere\"\r\n");
	assert_string_equal(row((const char *[]){ "=1+2", "+1", "-1", "@SUM(A1)", "\tx", "\rx" }, 6),
			    "'=1+2,'+1,'-1,'@SUM(A1),'\tx,\"'\rx\"\r\n");
	assert_string_equal(row((const char *[]){ "=HYPERLINK(\"http://x\",\"y\")" }, 1),
			    "\"'=HYPERLINK(\"\"http://x\"\",\"\"y\"\")\"\r\n");
	/* Only the first character counts: inside a cell, these are text already. */
	assert_string_equal(row((const char *[]){ "a=b", "1-2", "x@y", "'quoted'" }, 4), "a=b,1-2,x@y,'quoted'\r\n");
	assert_string_equal(row((const char *[]){ "\"" }, 1), "\"\"\"\"\r\n");
}

#define TEST(name) cmocka_unit_test_setup_teardown(name, setup, teardown)

int main(void)
{
	const struct CMUnitTest tests[] = {
		TEST(test_disable_is_all_or_nothing_with_a_line_per_key_changed),
		TEST(test_a_failure_at_the_last_key_undoes_the_first),
		TEST(test_revoke_and_enable),
		TEST(test_refusals_change_nothing_and_name_the_key),
		TEST(test_the_selection_is_limited),
		cmocka_unit_test(test_csv_quotes_and_guards),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
