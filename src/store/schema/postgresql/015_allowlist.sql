-- 015_allowlist.sql: a switch for each key's allowlist, as SQLite's 015_allowlist.sql (its comments
-- say what it means): 1, the key's networks are enforced; 0, they are kept but any address may use it.
ALTER TABLE api_key ADD COLUMN allowlist_enabled bigint NOT NULL DEFAULT 1;

-- As gate_key_update (010_baseline.sql): the key cache holds the switch; gate_bump() notifies the
-- other processes at the commit, which the README's 1 s bound counts on.
CREATE TRIGGER gate_key_allowlist
	AFTER UPDATE OF allowlist_enabled ON api_key
	FOR EACH STATEMENT EXECUTE FUNCTION gate_bump();

UPDATE schema_version SET version = 15;
