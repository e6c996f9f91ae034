-- 013_lifecycle.sql: a key's life in time: a secret rolled with an overlap, and an expiry.
--
-- Rolling a secret with an overlap keeps the one it replaces working until previous_secret_until
-- (Unix seconds): its keyed hash and last 4 characters move to previous_secret_hash and
-- previous_secret_hint. Nothing is written when the overlap runs out: the gatekeeper compares
-- previous_secret_until with the time of each request (the hash may stay behind until the next
-- roll, or until the overlap is ended by hand, which clears the three columns). A key has at most
-- one previous secret: rolling again during an overlap ends the older one at once.
--
-- expires_at (Unix seconds, NULL: never) is compared the same way: the key stops at that moment
-- without any write.
ALTER TABLE api_key ADD COLUMN previous_secret_hash BLOB;
ALTER TABLE api_key ADD COLUMN previous_secret_hint TEXT;
ALTER TABLE api_key ADD COLUMN previous_secret_until INTEGER;
ALTER TABLE api_key ADD COLUMN expires_at INTEGER;

-- A secret is found by its hash in either column; neither may match two keys.
CREATE UNIQUE INDEX api_key_previous_secret ON api_key (previous_secret_hash) WHERE previous_secret_hash IS NOT NULL;
-- The Expiring soon and Expired filters and the dashboard's warning read keys by expiry.
CREATE INDEX api_key_expiry ON api_key (workspace_id, expires_at) WHERE expires_at IS NOT NULL AND revoked_at IS NULL;

-- The key cache (003_gate.sql) holds these columns too: a change to them bumps the generation.
CREATE TRIGGER gate_key_lifecycle
AFTER UPDATE OF previous_secret_hash, previous_secret_until, expires_at ON api_key
BEGIN UPDATE gate_state SET generation = generation + 1; END;

-- Which secret a call of a known key came with: 1 for the previous one during an overlap, so that
-- the key page can say how many calls still used it in the last hour.
ALTER TABLE usage_event ADD COLUMN previous_secret INTEGER NOT NULL DEFAULT 0;

PRAGMA user_version = 13;
