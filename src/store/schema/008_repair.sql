-- 008_repair.sql: what the edits to 003 and 007 stranded, and the server key's check value.
--
-- 003 and 007 were edited after they had landed (migrations are history: never again). A
-- database made before the 007 edit has an index on api_key_last_used (at) that no statement
-- reads and the gatekeeper writes for every key in use, every second: dropped here. (A database
-- made before the 003 edit lacks usage_event.calls, which 007 itself needs: the migration runner
-- in store.c adds it just before 007, from its table of repairs.)
DROP INDEX IF EXISTS api_key_last_used_at;

-- What ties the server key file (<database>.key) to this database: a keyed BLAKE2b of a fixed
-- label with the server key (src/domain/server_key.c), never the key itself. keyward refuses to
-- start with a key file that does not match it while the database holds keys or users, instead
-- of answering every existing key with invalid_key. One row; none until the first start with a key.
CREATE TABLE server_key_check (
	id          INTEGER PRIMARY KEY CHECK (id = 1),
	check_value BLOB    NOT NULL,
	set_at      INTEGER NOT NULL               -- Unix seconds
);

PRAGMA user_version = 8;
