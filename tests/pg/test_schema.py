"""test_schema.py: PostgreSQL's schema (src/store/schema/postgresql/) is SQLite's (src/store/schema/).

Run as `python3 tests/pg/test_schema.py`; ends with "pg-schema: N passed, M failed, K skipped".

A database made by `keyward --db PATH init` (SQLite, every migration) and one made from PostgreSQL's
migrations in a throwaway cluster (pgtest.py) must have the same tables; in each, the same columns in
the same order, with corresponding types (INTEGER: bigint or smallint, TEXT: text sorting as SQLite
does, BLOB: bytea), nullability and defaults; the same keys, unique constraints, foreign keys with
their ON DELETE, CHECK constraints, index names, triggers, seeded rows, next ids and schema version.
The gate generation must move for the same changes in both engines, inside the change's own
transaction, and PostgreSQL must announce each new generation on the channel keyward_gate.
The PostgreSQL migrations are held to their SHA256SUMS, as SQLite's are.

Without PostgreSQL's programs the tests that need them are skipped, with a sentence naming what is
missing; they never pass without running.
"""
import glob
import hashlib
import json
import os
import re
import shutil
import sqlite3
import subprocess
import sys
import tempfile
import time
import unittest

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, HERE)
import pgtest  # noqa: E402

ROOT = pgtest.ROOT
SCHEMA = os.path.join(ROOT, "src", "store", "schema")
PG_SCHEMA = os.path.join(SCHEMA, "postgresql")


def keyward_binary():
    """KEYWARD_TEST_BIN, else the test build, else the release build (as tests/http/harness.py, plus the fallback)."""
    if os.environ.get("KEYWARD_TEST_BIN"):
        return os.environ["KEYWARD_TEST_BIN"]
    for candidate in (os.path.join(ROOT, "build", "test", "keyward"), os.path.join(ROOT, "build", "keyward")):
        if os.access(candidate, os.X_OK):
            return candidate
    return os.path.join(ROOT, "build", "test", "keyward")


# Tables only PostgreSQL has: the schema version (SQLite's is PRAGMA user_version).
PG_ONLY_TABLES = {"schema_version"}
# The key list's trigram index (016_key_search.sql): on SQLite the FTS5 table api_key_search (with
# the tables FTS5 keeps it in, api_key_search_*) and the triggers that fill it; on PostgreSQL the
# GIN index api_key_search, which the database keeps itself.
SQLITE_ONLY_TABLE = re.compile(r"api_key_search(_(data|idx|content|docsize|config))?$")
SQLITE_ONLY_TRIGGERS = {"api_key_search_insert", "api_key_search_update", "api_key_search_delete"}
PG_ONLY_INDEXES = {"api_key_search"}
# Columns only PostgreSQL has, last in their table: signin_failure's rows are named by SQLite's
# hidden rowid, which PostgreSQL lacks (010_baseline.sql says why).
PG_ONLY_COLUMNS = {"signin_failure": ["rowid"]}
# SQLite rowid keys that the database never assigns, so PostgreSQL has no identity for them: the
# one-row tables (always written as id 1) and api_key_last_used's (a key's id).
NOT_ASSIGNED = {("gate_state", "id"), ("usage_rollup", "id"), ("server_key_check", "id"),
                ("api_key_last_used", "api_key_id")}
# Rows that init writes but no migration does: PostgreSQL's come at keyward's first start.
NOT_SEEDED = {"server_key_check", "sqlite_sequence"}
# Seeded values that are the time the migration ran.
MIGRATION_TIME = {("workspace", "created_at")}

TYPES = {"INTEGER": ("bigint", "smallint"), "TEXT": ("text",), "BLOB": ("bytea",)}
ON_DELETE = {"a": "NO ACTION", "r": "RESTRICT", "c": "CASCADE", "n": "SET NULL", "d": "SET DEFAULT"}

_reason = None


def pg_missing():
    """Why PostgreSQL tests cannot run here (a sentence), or None."""
    global _reason
    if _reason is None:
        _reason = pgtest.missing() or ""
    return _reason or None


def make_sqlite_database(folder):
    """`keyward --db FOLDER/keyward.db init`: the SQLite schema after every migration. Returns the path."""
    binary = keyward_binary()
    if not os.access(binary, os.X_OK):
        raise RuntimeError(f"no keyward binary at {binary}: run `make build/test/keyward` first")
    path = os.path.join(folder, "keyward.db")
    env = dict(os.environ, KEYWARD_TEMPLATES=os.path.join(ROOT, "templates"))
    done = subprocess.run([binary, "--db", path, "init"], env=env, capture_output=True, text=True, timeout=60,
                          stdin=subprocess.DEVNULL)
    if done.returncode != 0:
        raise RuntimeError(f"keyward init failed: {done.stderr}")
    return path


def pg_json(conninfo, sql):
    """The rows of `sql` as a list of dicts (by way of json_agg: exact for NULLs, numbers and bytea)."""
    return json.loads(pgtest.psql(conninfo, f"SELECT coalesce(json_agg(q), '[]') FROM ({sql}) q"))


def as_pg_value(value):
    """A SQLite value as json_agg shows PostgreSQL's: bytea as "\\x" and hex."""
    return "\\x" + value.hex() if isinstance(value, bytes) else value


class MigrationFilesTest(unittest.TestCase):
    """The PostgreSQL migrations are history too, and numbered as SQLite's."""

    def test_every_migration_matches_the_committed_list(self):
        listed = {}
        with open(os.path.join(PG_SCHEMA, "SHA256SUMS")) as f:
            for line in f:
                digest, name = line.split()
                listed[name] = digest
        files = [os.path.basename(path) for _, path in pgtest.migrations()]
        for name in files:
            with self.subTest(migration=name):
                self.assertIn(name, listed, f"{name} is not in src/store/schema/postgresql/SHA256SUMS: add its "
                                            f"line (sha256sum {name} >> SHA256SUMS)")
                with open(os.path.join(PG_SCHEMA, name), "rb") as f:
                    digest = hashlib.sha256(f.read()).hexdigest()
                self.assertEqual(digest, listed[name],
                                 f"{name} changed after it landed: databases made with it will never see the change; "
                                 "restore it and add a new migration instead")
        self.assertEqual(sorted(listed), files, "SHA256SUMS lists a migration that is not there")
        self.assertEqual(sorted(glob.glob(os.path.join(PG_SCHEMA, "*.sql"))),
                         [path for _, path in pgtest.migrations()], "a .sql file not named NNN_name.sql")

    def test_numbers_follow_sqlite(self):
        """010 is the baseline; every later number is in both folders, and both end at the same one."""
        sqlite_numbers = [int(os.path.basename(p)[:3]) for p in glob.glob(os.path.join(SCHEMA, "[0-9][0-9][0-9]_*.sql"))]
        pg_numbers = [number for number, _ in pgtest.migrations()]
        self.assertEqual(pg_numbers[:1], [10], "PostgreSQL's first migration is 010_baseline.sql")
        self.assertEqual(pg_numbers, sorted(n for n in sqlite_numbers if n >= 10),
                         "each migration after 010 needs its PostgreSQL twin, with the same number")


class PostgresTest(unittest.TestCase):
    """A SQLite database made by init, and the cluster; each test is skipped when PostgreSQL is missing."""

    missing = None

    @classmethod
    def setUpClass(cls):
        reason = pg_missing()
        if reason:
            cls.missing = f"PostgreSQL is missing: {reason}"
            return
        cls.folder = tempfile.mkdtemp(prefix="keyward-pg-schema-")
        cls.sqlite_path = make_sqlite_database(cls.folder)
        cls.sqlite = sqlite3.connect(f"file:{cls.sqlite_path}?mode=ro", uri=True)
        cls.started = time.time()

    @classmethod
    def tearDownClass(cls):
        if cls.missing is None:
            cls.sqlite.close()
            shutil.rmtree(cls.folder, ignore_errors=True)

    def setUp(self):
        if self.missing:
            self.skipTest(self.missing)

    def sqlite_tables(self):
        return [row[0] for row in self.sqlite.execute(
            "SELECT name FROM sqlite_master WHERE type = 'table' AND name NOT LIKE 'sqlite_%' ORDER BY name")
            if not SQLITE_ONLY_TABLE.match(row[0])]


class SchemaTest(PostgresTest):
    """The same schema, object by object."""

    @classmethod
    def setUpClass(cls):
        super().setUpClass()
        if cls.missing is None:
            cls.pg = pgtest.create_database("schema_check")

    def pg_tables(self):
        return [row["relname"] for row in pg_json(self.pg, """
            SELECT c.relname FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace
            WHERE n.nspname = 'public' AND c.relkind IN ('r', 'p') ORDER BY c.relname""")]

    def test_same_tables(self):
        self.assertEqual(sorted(set(self.pg_tables()) - PG_ONLY_TABLES), self.sqlite_tables())

    def pg_columns(self):
        """{table: [column dicts in order]}"""
        columns = {}
        for row in pg_json(self.pg, """
                SELECT c.relname AS table, a.attname AS name, format_type(a.atttypid, a.atttypmod) AS type,
                       a.attnotnull AS notnull, pg_get_expr(d.adbin, d.adrelid) AS default,
                       a.attidentity AS identity, co.collname AS collation
                FROM pg_attribute a JOIN pg_class c ON c.oid = a.attrelid
                JOIN pg_namespace n ON n.oid = c.relnamespace
                LEFT JOIN pg_attrdef d ON d.adrelid = a.attrelid AND d.adnum = a.attnum
                LEFT JOIN pg_collation co ON co.oid = a.attcollation
                WHERE n.nspname = 'public' AND c.relkind = 'r' AND a.attnum > 0 AND NOT a.attisdropped
                ORDER BY c.relname, a.attnum"""):
            columns.setdefault(row["table"], []).append(row)
        return columns

    def rowid_keys(self):
        """The SQLite columns that are the rowid (INTEGER PRIMARY KEY), as (table, column)."""
        keys = set()
        for table in self.sqlite_tables():
            info = self.sqlite.execute(f'PRAGMA table_info("{table}")').fetchall()
            key = [row for row in info if row[5] > 0]
            without_rowid = self.sqlite.execute(
                "SELECT sql LIKE '%WITHOUT ROWID%' FROM sqlite_master WHERE name = ?", (table,)).fetchone()[0]
            if len(key) == 1 and key[0][2].upper() == "INTEGER" and not without_rowid:
                keys.add((table, key[0][1]))
        return keys

    def test_same_columns_in_the_same_order(self):
        pg = self.pg_columns()
        rowid_keys = self.rowid_keys()
        for table in self.sqlite_tables():
            with self.subTest(table=table):
                info = self.sqlite.execute(f'PRAGMA table_info("{table}")').fetchall()
                names = [row[1] for row in info] + PG_ONLY_COLUMNS.get(table, [])
                self.assertEqual([c["name"] for c in pg[table]], names)
                for (_, name, declared, notnull, default, _), column in zip(info, pg[table]):
                    self.assertIn(column["type"], TYPES[declared.upper()], f"{table}.{name}: {declared}")
                    # A rowid can never be NULL, though SQLite does not say NOT NULL for it.
                    self.assertEqual(column["notnull"], bool(notnull) or (table, name) in rowid_keys,
                                     f"{table}.{name}: NOT NULL")
                    pg_default = re.sub(r"::(text|bigint|smallint|bytea)$", "", column["default"] or "") or None
                    self.assertEqual(pg_default, default, f"{table}.{name}: DEFAULT")
                    if column["type"] == "text":
                        self.assertEqual(column["collation"], "C", f"{table}.{name}: text COLLATE \"C\", as SQLite "
                                                                   "compares (BINARY)")

    def test_identity_exactly_where_sqlite_assigns_ids(self):
        identity = {(table, c["name"]) for table, columns in self.pg_columns().items() for c in columns
                    if c["identity"]}
        expected = (self.rowid_keys() - NOT_ASSIGNED) | {(t, c) for t, cs in PG_ONLY_COLUMNS.items() for c in cs}
        self.assertEqual(sorted(identity), sorted(expected))
        kinds = {c["identity"] for columns in self.pg_columns().values() for c in columns if c["identity"]}
        self.assertEqual(kinds, {"d"}, "GENERATED BY DEFAULT, so that a copy can keep its ids")

    def pg_constraints(self, kind):
        return pg_json(self.pg, f"""
            SELECT c.relname AS table, k.conname AS name, r.relname AS references,
                   ARRAY(SELECT a.attname FROM unnest(k.conkey) WITH ORDINALITY u(n, i)
                         JOIN pg_attribute a ON a.attrelid = k.conrelid AND a.attnum = u.n ORDER BY u.i) AS columns,
                   ARRAY(SELECT a.attname FROM unnest(k.confkey) WITH ORDINALITY u(n, i)
                         JOIN pg_attribute a ON a.attrelid = k.confrelid AND a.attnum = u.n ORDER BY u.i) AS to,
                   k.confdeltype AS on_delete, k.confupdtype AS on_update
            FROM pg_constraint k JOIN pg_class c ON c.oid = k.conrelid
            JOIN pg_namespace n ON n.oid = c.relnamespace LEFT JOIN pg_class r ON r.oid = k.confrelid
            WHERE n.nspname = 'public' AND k.contype = '{kind}'""")

    def test_same_primary_keys_and_unique_constraints(self):
        primary = {row["table"]: row["columns"] for row in self.pg_constraints("p")}
        unique = {}
        for row in self.pg_constraints("u"):
            unique.setdefault(row["table"], set()).add(tuple(row["columns"]))
        for table in self.sqlite_tables():
            with self.subTest(table=table):
                info = self.sqlite.execute(f'PRAGMA table_info("{table}")').fetchall()
                key = [row[1] for row in sorted((r for r in info if r[5] > 0), key=lambda r: r[5])]
                self.assertEqual(primary.get(table, []), key or PG_ONLY_COLUMNS.get(table, []))
                sqlite_unique = set()
                for _, index, _, origin, _ in self.sqlite.execute(f'PRAGMA index_list("{table}")').fetchall():
                    if origin == "u":
                        sqlite_unique.add(tuple(r[2] for r in self.sqlite.execute(f'PRAGMA index_info("{index}")')))
                self.assertEqual(unique.get(table, set()), sqlite_unique)

    def test_same_foreign_keys(self):
        pg = {}
        for row in self.pg_constraints("f"):
            pg.setdefault(row["table"], set()).add((tuple(row["columns"]), row["references"], tuple(row["to"]),
                                                    ON_DELETE[row["on_delete"]], ON_DELETE[row["on_update"]]))
        for table in self.sqlite_tables():
            with self.subTest(table=table):
                keys = {}
                for fk_id, _, target, column, to, on_update, on_delete, _ in self.sqlite.execute(
                        f'PRAGMA foreign_key_list("{table}")'):
                    keys.setdefault(fk_id, [[], target, [], on_delete, on_update])
                    keys[fk_id][0].append(column)
                    keys[fk_id][2].append(to)
                sqlite = {(tuple(c), t, tuple(to), d, u) for c, t, to, d, u in keys.values()}
                self.assertEqual(pg.get(table, set()), sqlite)

    def test_same_number_of_check_constraints(self):
        pg = {}
        for row in self.pg_constraints("c"):
            pg[row["table"]] = pg.get(row["table"], 0) + 1
        for table in self.sqlite_tables():
            with self.subTest(table=table):
                sql = self.sqlite.execute("SELECT sql FROM sqlite_master WHERE name = ?", (table,)).fetchone()[0]
                self.assertEqual(pg.get(table, 0), len(re.findall(r"\bCHECK\s*\(", sql, re.IGNORECASE)))

    def test_same_indexes(self):
        """Every index made by CREATE INDEX: name, table, uniqueness, partial or not, its columns and order."""
        pg = {row["name"]: (row["table"], row["unique"], row["partial"], row["columns"]) for row in pg_json(self.pg, """
            SELECT i.relname AS name, t.relname AS table, x.indisunique AS unique, x.indpred IS NOT NULL AS partial,
                   ARRAY(SELECT coalesce(a.attname, '(expression)')
                                || CASE WHEN x.indoption[k] & 1 = 1 THEN ' DESC' ELSE '' END
                         FROM generate_series(0, x.indnkeyatts - 1) k
                         LEFT JOIN pg_attribute a ON a.attrelid = x.indrelid AND a.attnum = x.indkey[k]
                         ORDER BY k) AS columns
            FROM pg_index x JOIN pg_class i ON i.oid = x.indexrelid JOIN pg_class t ON t.oid = x.indrelid
            JOIN pg_namespace n ON n.oid = t.relnamespace
            WHERE n.nspname = 'public' AND NOT EXISTS (SELECT 1 FROM pg_constraint k WHERE k.conindid = x.indexrelid)""")}
        sqlite = {}
        for name, table in self.sqlite.execute(
                "SELECT name, tbl_name FROM sqlite_master WHERE type = 'index' AND sql IS NOT NULL"):
            listed = {row[1]: row for row in self.sqlite.execute(f'PRAGMA index_list("{table}")')}
            columns = [(row[2] or "(expression)") + (" DESC" if row[3] else "")
                       for row in self.sqlite.execute(f'PRAGMA index_xinfo("{name}")') if row[5]]
            sqlite[name] = (table, bool(listed[name][2]), bool(listed[name][4]), columns)
        self.assertEqual(sorted(set(pg) - PG_ONLY_INDEXES), sorted(sqlite))
        for name in sqlite:
            with self.subTest(index=name):
                self.assertEqual(pg.get(name), sqlite[name])

    def test_same_triggers(self):
        """Same names on the same tables, fired by the same events (UPDATE OF the same columns); PostgreSQL
        adds TRUNCATE wherever SQLite has DELETE."""
        def events(sql):
            found = re.search(r"\bAFTER\s+(.*?)\s+ON\s+(?:public\.)?\"?(\w+)\"?", sql, re.IGNORECASE | re.DOTALL)
            parts = [" ".join(part.split()) for part in re.split(r"\s+OR\s+", found.group(1))]
            return found.group(2), sorted(part for part in parts if part != "TRUNCATE")
        pg = {row["tgname"]: row["definition"] for row in pg_json(self.pg, """
            SELECT t.tgname, pg_get_triggerdef(t.oid) AS definition FROM pg_trigger t
            JOIN pg_class c ON c.oid = t.tgrelid JOIN pg_namespace n ON n.oid = c.relnamespace
            WHERE n.nspname = 'public' AND NOT t.tgisinternal""")}
        sqlite = {name: sql for name, sql in self.sqlite.execute("SELECT name, sql FROM sqlite_master WHERE type = 'trigger'")
                  if name not in SQLITE_ONLY_TRIGGERS}
        self.assertEqual(sorted(pg), sorted(sqlite))
        for name in sqlite:
            with self.subTest(trigger=name):
                self.assertEqual(events(pg[name]), events(sqlite[name]))
                self.assertIn("FOR EACH STATEMENT", pg[name])
                if "DELETE" in events(sqlite[name])[1]:
                    self.assertIn("TRUNCATE", pg[name])

    def test_same_seeded_rows(self):
        """Every table the migrations put rows in holds the same rows (SELECT * ... ORDER BY 1) in both."""
        seeded = [t for t in self.sqlite_tables() + ["sqlite_sequence"]
                  if t not in NOT_SEEDED and self.sqlite.execute(f'SELECT count(*) FROM "{t}"').fetchone()[0]]
        counts = pg_json(self.pg, " UNION ALL ".join(f"""SELECT '{t}' AS t, count(*) AS n FROM "{t}\"""" for t in self.pg_tables()))
        pg_seeded = [row["t"] for row in counts if row["n"] > 0]
        self.assertEqual(sorted(set(pg_seeded) - PG_ONLY_TABLES), sorted(seeded))
        self.assertIn("workspace", seeded)
        for table in seeded:
            with self.subTest(table=table):
                cursor = self.sqlite.execute(f'SELECT * FROM "{table}" ORDER BY 1')
                names = [d[0] for d in cursor.description]
                sqlite_rows = [{n: as_pg_value(v) for n, v in zip(names, row)} for row in cursor]
                pg_rows = pg_json(self.pg, f'SELECT * FROM "{table}" ORDER BY 1')
                for rows in (sqlite_rows, pg_rows):
                    for row in rows:
                        for column in PG_ONLY_COLUMNS.get(table, []):
                            row.pop(column, None)
                        if (table, "created_at") in MIGRATION_TIME:
                            self.assertLess(abs(row["created_at"] - time.time()), 600, f"{table}: made now")
                            row["created_at"] = "(the time of the migration)"
                self.assertEqual(pg_rows, sqlite_rows)

    def test_same_next_ids(self):
        """The next id the database would pick, for every table whose ids it picks."""
        pg_only = {(t, c) for t, cs in PG_ONLY_COLUMNS.items() for c in cs}
        for table, column in sorted((self.rowid_keys() - NOT_ASSIGNED) | pg_only):
            with self.subTest(table=table):
                sqlite_column = "rowid" if (table, column) in pg_only else column
                biggest = self.sqlite.execute(f'SELECT coalesce(max({sqlite_column}), 0) FROM "{table}"').fetchone()[0]
                sequence = self.sqlite.execute("SELECT seq FROM sqlite_sequence WHERE name = ?", (table,)).fetchone()
                sqlite_next = max(biggest, sequence[0] if sequence else 0) + 1
                sequence = pgtest.value(self.pg, f"""SELECT pg_get_serial_sequence('"{table}"', '{column}')""")
                pg_next = pgtest.value(self.pg, f"""
                    SELECT CASE WHEN is_called THEN last_value + (SELECT increment_by FROM pg_sequences
                        WHERE format('%I.%I', schemaname, sequencename) = '{sequence}') ELSE last_value END
                    FROM {sequence}""")
                self.assertEqual(int(pg_next), sqlite_next)

    def test_same_schema_version(self):
        sqlite_version = self.sqlite.execute("PRAGMA user_version").fetchone()[0]
        self.assertEqual(pgtest.query(self.pg, "SELECT version FROM schema_version"), [[str(sqlite_version)]])
        self.assertEqual(sqlite_version, pgtest.migrations()[-1][0])


class TextTest(PostgresTest):
    """Text compares, sorts and changes case as in SQLite (bytes, ASCII case only), whatever the locale."""

    def test_order_and_case(self):
        names = ["b", "B", "a", "É", "é", "_", "Z", "ä"]
        sql = "SELECT name || '|' || lower(name) || '|' || upper(name) FROM workspace WHERE id > 1 ORDER BY name"
        scratch = os.path.join(self.folder, "text.db")
        shutil.copy(self.sqlite_path, scratch)
        with sqlite3.connect(scratch) as db:
            db.executemany("INSERT INTO workspace (name, created_at) VALUES (?, 0)", [(n,) for n in names])
            sqlite_rows = [row[0] for row in db.execute(sql)]
        db.close()
        pg = pgtest.create_database("text_check")
        pgtest.psql(pg, "".join(f"INSERT INTO workspace (name, created_at) VALUES ('{n}', 0);\n" for n in names))
        self.assertEqual(pgtest.psql(pg, sql).splitlines(), sqlite_rows)


def in_engine(sql, engine):
    """`sql` with each {blob:HEX} written as a BLOB literal of `engine` ("sqlite" or "pg")."""
    return re.sub(r"\{blob:([0-9a-f]+)\}",
                  lambda m: f"X'{m.group(1)}'" if engine == "sqlite" else f"'\\x{m.group(1)}'::bytea", sql)


# Changes and whether they must move the gate generation, in order, in both engines (each runs in
# a transaction of its own). {blob:HEX} is a BLOB literal in the engine's SQL.
KEY = "(SELECT id FROM api_key WHERE key_id = 'key_a')"
KEY_A_MADE = ("INSERT INTO api_key (workspace_id, key_id, name, name_folded, secret_hash, secret_hint, role_id, "
              "created_at, updated_at) VALUES (1, 'key_a', 'A', 'a', {blob:aa}, 'aaaa', 1, 100, 100)")
CHANGES = [
    ("a role made", "INSERT INTO role (workspace_id, name) VALUES (1, 'spare')", False),
    ("a key made", KEY_A_MADE, True),
    ("another key made", "INSERT INTO api_key (workspace_id, key_id, name, name_folded, secret_hash, secret_hint, "
                         "role_id, created_at, updated_at) VALUES (1, 'key_b', 'B', 'b', {blob:bb}, 'bbbb', 2, 100, 100)",
     True),
    ("a key disabled", "UPDATE api_key SET enabled = 0, updated_at = 101 WHERE key_id = 'key_a'", True),
    ("a key enabled", "UPDATE api_key SET enabled = 1, updated_at = 102 WHERE key_id = 'key_a'", True),
    ("a key renamed", "UPDATE api_key SET name = 'A2', name_folded = 'a2' WHERE key_id = 'key_a'", True),
    ("its folded name alone", "UPDATE api_key SET name_folded = 'x' WHERE key_id = 'key_a'", False),
    ("a new secret", "UPDATE api_key SET secret_hash = {blob:a2}, secret_hint = 'a2a2', secret_set_at = 103 "
                     "WHERE key_id = 'key_a'", True),
    ("the secret's hint alone", "UPDATE api_key SET secret_hint = 'zzzz' WHERE key_id = 'key_a'", False),
    ("when the secret was set, alone", "UPDATE api_key SET secret_set_at = 104 WHERE key_id = 'key_a'", False),
    ("the postback URL", "UPDATE api_key SET postback_url = 'https://example.com/' WHERE key_id = 'key_a'", False),
    ("updated_at alone", "UPDATE api_key SET updated_at = 105 WHERE key_id = 'key_a'", False),
    ("created_at alone", "UPDATE api_key SET created_at = 99 WHERE key_id = 'key_a'", False),
    ("off the record", "UPDATE api_key SET off_record = 1 WHERE key_id = 'key_a'", True),
    ("the allowlist switched off", "UPDATE api_key SET allowlist_enabled = 0 WHERE key_id = 'key_a'", True),
    ("the allowlist switched on", "UPDATE api_key SET allowlist_enabled = 1 WHERE key_id = 'key_a'", True),
    ("another role", "UPDATE api_key SET role_id = 2 WHERE key_id = 'key_a'", True),
    ("the workspace, set to the one it had", "UPDATE api_key SET workspace_id = workspace_id WHERE key_id = 'key_a'",
     True),
    ("another key ID", "UPDATE api_key SET key_id = 'key_c' WHERE key_id = 'key_b'", True),
    ("an allowlist entry added", f"INSERT INTO api_key_cidr (workspace_id, api_key_id, position, cidr) "
                                 f"VALUES (1, {KEY}, 0, '10.0.0.0/8')", True),
    ("an allowlist entry changed", "UPDATE api_key_cidr SET label = 'office'", True),
    ("an allowlist entry removed", "DELETE FROM api_key_cidr", True),
    ("a grant recorded", f"INSERT INTO api_key_last_used (api_key_id, at) VALUES ({KEY}, 500) "
                         "ON CONFLICT (api_key_id) DO UPDATE SET at = excluded.at", False),
    ("a later grant recorded", f"INSERT INTO api_key_last_used (api_key_id, at) VALUES ({KEY}, 600) "
                               "ON CONFLICT (api_key_id) DO UPDATE SET at = excluded.at", False),
    ("usage recorded", f"INSERT INTO usage_event (workspace_id, api_key_id, at, endpoint, client_address, outcome) "
                       f"VALUES (1, {KEY}, 600, '/x', '127.0.0.1', 'granted')", False),
    ("anonymous usage counted", f"INSERT INTO usage_anonymous_hourly (workspace_id, api_key_id, hour, calls) "
                                f"VALUES (1, {KEY}, 0, 1)", False),
    ("usage rolled up", "INSERT INTO usage_hourly (api_key_id, hour, outcome, workspace_id, calls) "
                        "VALUES (1, 0, 'granted', 1, 1)", False),
    ("a refusal counted", "INSERT INTO usage_refused_hourly (hour, workspace_id, client_address, outcome, calls) "
                          "VALUES (0, 1, '(none)', 'missing_key', 1)", False),
    ("the rollup watermark", "UPDATE usage_rollup SET rolled_to = 1", False),
    ("a role's permissions", "UPDATE role SET permissions = 'api.key.view' WHERE name = 'admin'", True),
    ("a role removed", "DELETE FROM role WHERE name = 'spare'", True),
    ("a workspace renamed", "UPDATE workspace SET name = 'Renamed' WHERE id = 1", False),
    ("a workspace made", "INSERT INTO workspace (name, created_at) VALUES ('Second', 0)", False),
    ("a user made", "INSERT INTO \"user\" (email, email_folded, password_hash, created_at, updated_at) "
                    "VALUES ('a@example.com', 'a@example.com', '', 0, 0)", False),
    ("a key revoked", "UPDATE api_key SET revoked_at = 700 WHERE key_id = 'key_a'", True),
    ("a key removed", "DELETE FROM api_key WHERE key_id = 'key_c'", True),
]


class GateTest(PostgresTest):
    """The gate generation moves for the same changes in both engines; PostgreSQL announces it."""

    def setUp(self):
        super().setUp()
        self.scratch = os.path.join(self.folder, f"{self._testMethodName}.db")
        shutil.copy(self.sqlite_path, self.scratch)
        self.pg = pgtest.create_database(self._testMethodName.lower())
        self.listener = pgtest.Session(self.pg)
        self.listener.run("LISTEN keyward_gate;")
        self.sentinels = 0

    def tearDown(self):
        self.listener.close()

    def pg_generation(self):
        return int(pgtest.value(self.pg, "SELECT generation FROM gate_state"))

    def notified(self):
        """The notifications that arrived since the last call (a sentinel NOTIFY, sent last, marks the end:
        delivery follows commit order, so whatever was committed before it has arrived)."""
        self.sentinels += 1
        sentinel = f"sentinel {self.sentinels}"
        pgtest.psql(self.pg, f"NOTIFY keyward_gate, '{sentinel}';")
        return self.listener.wait_for_notification("keyward_gate", sentinel)

    def test_same_changes_move_the_generation(self):
        db = sqlite3.connect(self.scratch, isolation_level=None)
        db.execute("PRAGMA foreign_keys = ON")
        try:
            for what, sql, moves in CHANGES:
                with self.subTest(change=what):
                    before = db.execute("SELECT generation FROM gate_state").fetchone()[0]
                    db.execute("BEGIN")
                    db.execute(in_engine(sql, "sqlite"))
                    db.execute("COMMIT")
                    after = db.execute("SELECT generation FROM gate_state").fetchone()[0]
                    self.assertEqual(after > before, moves, f"SQLite: {sql}")

                    before = self.pg_generation()
                    pgtest.psql(self.pg, in_engine(sql, "pg"), single_transaction=True)
                    after = self.pg_generation()
                    self.assertEqual(after > before, moves, f"PostgreSQL: {sql}")
                    # One per bump: a statement whose foreign keys cascade to api_key_cidr bumps twice.
                    payloads = [int(payload) for _, payload in self.notified()]
                    self.assertEqual(payloads, list(range(before + 1, after + 1)),
                                     "each new generation announced, in order, when (and only when) it moved")
        finally:
            db.close()

    def test_a_key_disabled_moves_the_generation_at_its_commit(self):
        """The bump belongs to the change's transaction: unseen and unannounced until it commits, and gone
        with a rollback."""
        pgtest.psql(self.pg, in_engine(KEY_A_MADE, "pg"))
        self.notified()
        generation = self.pg_generation()
        with pgtest.Session(self.pg) as change:
            change.run("BEGIN; UPDATE api_key SET enabled = 0 WHERE key_id = 'key_a';")
            self.assertEqual(change.run("SELECT generation FROM gate_state;"), [str(generation + 1)])
            self.assertEqual(self.pg_generation(), generation, "not seen before the commit")
            self.assertEqual(self.notified(), [], "not announced before the commit")
            change.run("ROLLBACK;")
            self.assertEqual(self.pg_generation(), generation)
            self.assertEqual(self.notified(), [], "a rollback announces nothing")
            change.run("BEGIN; UPDATE api_key SET enabled = 0 WHERE key_id = 'key_a'; COMMIT;")
        self.assertEqual(self.pg_generation(), generation + 1)
        self.assertEqual(self.notified(), [("keyward_gate", str(generation + 1))])
        self.assertEqual(pgtest.value(self.pg, "SELECT enabled FROM api_key WHERE key_id = 'key_a'"), "0")

    def test_one_bump_per_transaction_and_a_savepoint_rolled_back_takes_its_own(self):
        """011: many changes in one transaction move the generation once (one announcement); a change
        undone by ROLLBACK TO SAVEPOINT takes its bump along, and the next change bumps again."""
        pgtest.psql(self.pg, in_engine(KEY_A_MADE, "pg"))
        self.notified()
        generation = self.pg_generation()
        with pgtest.Session(self.pg) as change:
            change.run("BEGIN; SAVEPOINT one; UPDATE api_key SET enabled = 0 WHERE key_id = 'key_a';")
            self.assertEqual(change.run("SELECT generation FROM gate_state;"), [str(generation + 1)])
            change.run("ROLLBACK TO SAVEPOINT one;")
            self.assertEqual(change.run("SELECT generation FROM gate_state;"), [str(generation)])
            change.run("SAVEPOINT two; UPDATE api_key SET enabled = 0 WHERE key_id = 'key_a'; RELEASE two;")
            for _ in range(3):
                change.run("UPDATE api_key SET enabled = 1 - enabled WHERE key_id = 'key_a';")
            self.assertEqual(change.run("SELECT generation FROM gate_state;"), [str(generation + 1)])
            change.run("COMMIT;")
            change.run("UPDATE api_key SET enabled = 1 WHERE key_id = 'key_a';")  # a transaction of its own
        self.assertEqual(self.pg_generation(), generation + 2)
        self.assertEqual(self.notified(), [("keyward_gate", str(generation + 1)), ("keyward_gate", str(generation + 2))])


if __name__ == "__main__":
    pgtest.run_tests("pg-schema")
