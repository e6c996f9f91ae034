-- 016_key_search.sql: the key list reads about as many rows as it shows, as SQLite's 016_key_search.sql
-- (its comments say why each index is there): the same indexes by state and role, and for the
-- Filter box's text pg_trgm's trigram index instead of SQLite's FTS5 table.
CREATE INDEX api_key_live ON api_key (workspace_id, id) WHERE revoked_at IS NULL;
CREATE INDEX api_key_state ON api_key (workspace_id, enabled, id) WHERE revoked_at IS NULL;
CREATE INDEX api_key_revoked ON api_key (workspace_id, id) WHERE revoked_at IS NOT NULL;
CREATE INDEX api_key_expires ON api_key (workspace_id, id, expires_at) WHERE expires_at IS NOT NULL AND revoked_at IS NULL;
CREATE INDEX api_key_role ON api_key (workspace_id, role_id, id);

-- pg_trgm ships with PostgreSQL (Debian's postgresql package) and is a trusted extension: the owner
-- of keyward's database may create it (it needs the CREATE privilege there, not a superuser). One
-- GIN index over the values the list compares, as SQLite's FTS5 table holds them; the list asks it
-- with LIKE (statements.c), which it answers for text of 3 characters or more, and each row it
-- finds is checked against the text itself (the index is lossy; the matches are exact).
CREATE EXTENSION IF NOT EXISTS pg_trgm;
CREATE INDEX api_key_search ON api_key USING gin (name_folded gin_trgm_ops, note_folded gin_trgm_ops,
	lower(key_id) gin_trgm_ops, lower(secret_hint) gin_trgm_ops);

UPDATE schema_version SET version = 16;
