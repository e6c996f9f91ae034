-- 001_keys.sql: workspaces, key roles, API keys, their CIDR allowlists, one-shot secret reveals.
-- Times are Unix seconds (UTC). Every table carries workspace_id.

CREATE TABLE workspace (
	id          INTEGER PRIMARY KEY,
	name        TEXT    NOT NULL,
	created_at  INTEGER NOT NULL
);

CREATE TABLE role (
	id           INTEGER PRIMARY KEY,
	workspace_id INTEGER NOT NULL REFERENCES workspace(id),
	name         TEXT    NOT NULL,
	description  TEXT    NOT NULL DEFAULT '',
	permissions  TEXT    NOT NULL DEFAULT '',  -- space-separated permission names
	UNIQUE (workspace_id, name)
);

CREATE TABLE api_key (
	id           INTEGER PRIMARY KEY,
	workspace_id INTEGER NOT NULL REFERENCES workspace(id),
	key_id       TEXT    NOT NULL UNIQUE,      -- public, e.g. key_4fT9aZ0pQ2mX8bYc
	name         TEXT    NOT NULL,
	name_folded  TEXT    NOT NULL,             -- case-folded name, for the Filter box
	secret_hash  BLOB    NOT NULL UNIQUE,      -- keyed BLAKE2b of the whole token
	secret_hint  TEXT    NOT NULL,             -- last 4 characters of the token
	postback_url TEXT    NOT NULL DEFAULT '',
	off_record   INTEGER NOT NULL DEFAULT 0,
	enabled      INTEGER NOT NULL DEFAULT 1,
	role_id      INTEGER NOT NULL REFERENCES role(id),
	created_at   INTEGER NOT NULL,
	updated_at   INTEGER NOT NULL,
	last_used_at INTEGER,                      -- NULL until first use
	revoked_at   INTEGER                       -- NULL unless revoked; revocation is final
);
CREATE INDEX api_key_list ON api_key (workspace_id, created_at DESC, id DESC);

CREATE TABLE api_key_cidr (
	id           INTEGER PRIMARY KEY,
	workspace_id INTEGER NOT NULL REFERENCES workspace(id),
	api_key_id   INTEGER NOT NULL REFERENCES api_key(id) ON DELETE CASCADE,
	position     INTEGER NOT NULL,
	cidr         TEXT    NOT NULL,             -- canonical, e.g. 10.0.0.0/8
	label        TEXT    NOT NULL DEFAULT ''
);
CREATE INDEX api_key_cidr_key ON api_key_cidr (api_key_id, position);

-- A freshly made secret waiting to be shown once: sealed with a key that only the browser holds
-- (a cookie), deleted when shown or after ten minutes. Useless without that cookie.
CREATE TABLE secret_reveal (
	id           INTEGER PRIMARY KEY,
	workspace_id INTEGER NOT NULL REFERENCES workspace(id),
	api_key_id   INTEGER NOT NULL REFERENCES api_key(id) ON DELETE CASCADE,
	sealed       BLOB    NOT NULL,             -- nonce || crypto_secretbox(token)
	created_at   INTEGER NOT NULL
);
CREATE INDEX secret_reveal_key ON secret_reveal (api_key_id);

INSERT INTO workspace (id, name, created_at) VALUES (1, 'Default', CAST(strftime('%s','now') AS INTEGER));
INSERT INTO role (workspace_id, name, description, permissions) VALUES
	(1, 'admin', 'Full access to the API', 'api.key.view api.key.create api.key.update api.key.delete api.key.verify'),
	(1, 'read-only', 'May read, may not change anything', 'api.key.view');
PRAGMA user_version = 1;
