-- 015_allowlist.sql: a switch for each key's allowlist.
--
-- allowlist_enabled: 1 (every key until now, and every new one), the key's networks (api_key_cidr)
-- are enforced: a client address outside them is refused (ip_not_allowed); 0, they are kept but
-- not enforced: any address may use the key, as if it had no networks, until the switch is turned
-- on again (the key page's Allowlist tab, `keyward key edit --allowlist on|off`). A key without
-- networks lets any address through either way.
ALTER TABLE api_key ADD COLUMN allowlist_enabled INTEGER NOT NULL DEFAULT 1;

-- The key cache (003_gate.sql) holds the switch too: turning it bumps the generation, so every
-- gatekeeper process decides the next request with the new setting.
CREATE TRIGGER gate_key_allowlist
AFTER UPDATE OF allowlist_enabled ON api_key
BEGIN UPDATE gate_state SET generation = generation + 1; END;

PRAGMA user_version = 15;
