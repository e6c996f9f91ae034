-- 003_gate.sql: what lets the gatekeeper keep keys in memory, and keeps its hot writes apart.
--
-- Every gatekeeper process keeps recently verified keys in memory (src/domain/key_cache.c). It
-- trusts that copy only while gate_state.generation is the number it saw when it filled it; the
-- triggers below bump the number on any change a verification could notice (a key made, renamed,
-- disabled, revoked, given a new secret, role or allowlist; a role's permissions), whoever makes
-- it: the console, the CLI, or an operator with the sqlite3 shell.

CREATE TABLE gate_state (
	id         INTEGER PRIMARY KEY CHECK (id = 1),
	generation INTEGER NOT NULL
);
INSERT INTO gate_state (id, generation) VALUES (1, 0);

CREATE TRIGGER gate_key_insert AFTER INSERT ON api_key
BEGIN UPDATE gate_state SET generation = generation + 1; END;
CREATE TRIGGER gate_key_update
AFTER UPDATE OF workspace_id, key_id, name, secret_hash, off_record, enabled, role_id, revoked_at ON api_key
BEGIN UPDATE gate_state SET generation = generation + 1; END;
CREATE TRIGGER gate_key_delete AFTER DELETE ON api_key
BEGIN UPDATE gate_state SET generation = generation + 1; END;

CREATE TRIGGER gate_cidr_insert AFTER INSERT ON api_key_cidr
BEGIN UPDATE gate_state SET generation = generation + 1; END;
CREATE TRIGGER gate_cidr_update AFTER UPDATE ON api_key_cidr
BEGIN UPDATE gate_state SET generation = generation + 1; END;
CREATE TRIGGER gate_cidr_delete AFTER DELETE ON api_key_cidr
BEGIN UPDATE gate_state SET generation = generation + 1; END;

CREATE TRIGGER gate_role_update AFTER UPDATE ON role
BEGIN UPDATE gate_state SET generation = generation + 1; END;
CREATE TRIGGER gate_role_delete AFTER DELETE ON role
BEGIN UPDATE gate_state SET generation = generation + 1; END;

-- When each key was last granted, in a narrow table of its own: the usage writer updates it
-- every second for every key in use, and rewriting the wide api_key rows (and pages) for that
-- made each batch write megabytes. One row per key that has been used.
CREATE TABLE api_key_last_used (
	api_key_id INTEGER PRIMARY KEY REFERENCES api_key(id) ON DELETE CASCADE,
	at         INTEGER NOT NULL                -- Unix seconds of the latest grant
);
INSERT INTO api_key_last_used (api_key_id, at)
	SELECT id, last_used_at FROM api_key WHERE last_used_at IS NOT NULL;
ALTER TABLE api_key DROP COLUMN last_used_at;

-- usage_event is written in arrival order; an index on (api_key_id, at) turned each batch into
-- a write to one index page per key in use. Per-key reads use the workspace/time index with a
-- key filter until insight keeps its own per-key summaries.
DROP INDEX usage_event_key_time;

-- Identical decisions of the same second (same key, endpoint, client address and outcome) share
-- one row and are counted in `calls`: nothing is lost (times are whole seconds anyway), and an
-- API client calling in a loop costs one row a second instead of thousands. Count decisions
-- with sum(calls), not count(*).
ALTER TABLE usage_event ADD COLUMN calls INTEGER NOT NULL DEFAULT 1 CHECK (calls > 0);

PRAGMA user_version = 3;
