-- 013_lifecycle.sql: a key's life in time, as SQLite's 013_lifecycle.sql (its comments say what
-- each column is for): a secret rolled with an overlap, and an expiry.
ALTER TABLE api_key ADD COLUMN previous_secret_hash bytea;
ALTER TABLE api_key ADD COLUMN previous_secret_hint text COLLATE "C";
ALTER TABLE api_key ADD COLUMN previous_secret_until bigint;
ALTER TABLE api_key ADD COLUMN expires_at bigint;

CREATE UNIQUE INDEX api_key_previous_secret ON api_key (previous_secret_hash) WHERE previous_secret_hash IS NOT NULL;
CREATE INDEX api_key_expiry ON api_key (workspace_id, expires_at) WHERE expires_at IS NOT NULL AND revoked_at IS NULL;

-- As gate_key_update (010_baseline.sql), for the new columns the key cache holds.
CREATE TRIGGER gate_key_lifecycle
	AFTER UPDATE OF previous_secret_hash, previous_secret_until, expires_at ON api_key
	FOR EACH STATEMENT EXECUTE FUNCTION gate_bump();

ALTER TABLE usage_event ADD COLUMN previous_secret bigint NOT NULL DEFAULT 0;

UPDATE schema_version SET version = 13;
