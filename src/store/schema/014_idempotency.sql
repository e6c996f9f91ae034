-- 014_idempotency.sql: the management API's Idempotency-Key: a POST repeated with the same key
-- within a day gets the first answer again instead of doing it twice (a second key, say).
--
-- One row per calling API key and Idempotency-Key, written in the transaction of the change it
-- answers, so that a change and its recorded answer exist together or not at all. The header's
-- value is kept only as a keyed hash (key_hash: BLAKE2b keyed with the server key); request_hash
-- tells a true repeat (same method, path and body) from a reuse of the key for another request.
-- The answer (it may hold a new key's token) is sealed with a key derived from the server key and
-- the header's value itself, which is kept nowhere: the database alone cannot open it.
-- Rows older than a day are deleted as new ones come.
CREATE TABLE api_idempotency (
	id           INTEGER PRIMARY KEY,
	workspace_id INTEGER NOT NULL REFERENCES workspace(id),
	api_key_id   INTEGER NOT NULL REFERENCES api_key(id) ON DELETE CASCADE, -- the calling key
	key_hash     BLOB    NOT NULL,
	request_hash BLOB    NOT NULL,
	status       INTEGER NOT NULL,
	answer       BLOB    NOT NULL, -- nonce || crypto_secretbox(JSON body)
	created_at   INTEGER NOT NULL,
	UNIQUE (api_key_id, key_hash)
);
CREATE INDEX api_idempotency_age ON api_idempotency (created_at);

PRAGMA user_version = 14;
