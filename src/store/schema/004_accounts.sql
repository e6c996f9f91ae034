-- 004_accounts.sql: the people who use the console, their workspaces, sessions, sign-in throttling,
-- invitations and the audit log. Times are Unix seconds (UTC); secrets are stored only as keyed
-- hashes (sessions, invitations) or Argon2id strings (passwords).

CREATE TABLE user (
	id            INTEGER PRIMARY KEY,
	email         TEXT    NOT NULL,
	email_folded  TEXT    NOT NULL UNIQUE,       -- lower-cased, for sign-in and uniqueness
	name          TEXT    NOT NULL DEFAULT '',
	password_hash TEXT    NOT NULL,              -- crypto_pwhash_str (Argon2id); '' for REMOTE_USER-only users
	created_at    INTEGER NOT NULL,
	updated_at    INTEGER NOT NULL
);

-- Who belongs to which workspace, and with which console role.
CREATE TABLE membership (
	workspace_id INTEGER NOT NULL REFERENCES workspace(id) ON DELETE CASCADE,
	user_id      INTEGER NOT NULL REFERENCES user(id) ON DELETE CASCADE,
	console_role TEXT    NOT NULL CHECK (console_role IN ('owner', 'admin', 'developer', 'viewer')),
	created_at   INTEGER NOT NULL,
	PRIMARY KEY (workspace_id, user_id)
);
CREATE INDEX membership_user ON membership (user_id);

-- A signed-in browser. The cookie holds a random token; only its keyed hash is here.
CREATE TABLE session (
	id           INTEGER PRIMARY KEY,
	token_hash   BLOB    NOT NULL UNIQUE,
	user_id      INTEGER NOT NULL REFERENCES user(id) ON DELETE CASCADE,
	created_at   INTEGER NOT NULL,
	last_seen_at INTEGER NOT NULL,              -- idle expiry counts from here
	expires_at   INTEGER NOT NULL,              -- absolute expiry
	client_address TEXT  NOT NULL DEFAULT ''
);
CREATE INDEX session_user ON session (user_id);

-- Failed sign-ins, per subject ("email:<folded>" or "address:<ip>"), in a sliding window.
CREATE TABLE signin_failure (
	subject      TEXT    NOT NULL,
	at           INTEGER NOT NULL
);
CREATE INDEX signin_failure_subject ON signin_failure (subject, at);

-- An invitation to a workspace (or, with workspace_id of the first workspace and role owner and
-- setup = 1, the one-time link that makes the first owner). Only the token's keyed hash is here.
CREATE TABLE invitation (
	id           INTEGER PRIMARY KEY,
	workspace_id INTEGER NOT NULL REFERENCES workspace(id) ON DELETE CASCADE,
	token_hash   BLOB    NOT NULL UNIQUE,
	console_role TEXT    NOT NULL CHECK (console_role IN ('owner', 'admin', 'developer', 'viewer')),
	setup        INTEGER NOT NULL DEFAULT 0,
	created_by   INTEGER REFERENCES user(id) ON DELETE SET NULL,
	created_at   INTEGER NOT NULL,
	expires_at   INTEGER NOT NULL,
	accepted_by  INTEGER REFERENCES user(id) ON DELETE SET NULL,
	accepted_at  INTEGER
);

-- Who changed what, when, from where. `summary` is a before -> after text of the fields that
-- changed, never a secret. actor_label keeps the e-mail even if the user is deleted later.
CREATE TABLE audit_event (
	id             INTEGER PRIMARY KEY,
	workspace_id   INTEGER NOT NULL REFERENCES workspace(id) ON DELETE CASCADE,
	at             INTEGER NOT NULL,
	actor_user_id  INTEGER REFERENCES user(id) ON DELETE SET NULL,
	actor_label    TEXT    NOT NULL,
	client_address TEXT    NOT NULL DEFAULT '',
	action         TEXT    NOT NULL,            -- key.create, key.update, member.invite, signin, ...
	target_type    TEXT    NOT NULL DEFAULT '', -- key, role, member, ''
	target_id      TEXT    NOT NULL DEFAULT '', -- key_..., a role's name, a member's e-mail
	summary        TEXT    NOT NULL DEFAULT ''
);
CREATE INDEX audit_event_time ON audit_event (workspace_id, at DESC, id DESC);
CREATE INDEX audit_event_target ON audit_event (workspace_id, target_type, target_id, at DESC);

-- The most active (not revoked) keys a workspace may have; NULL: the configured default.
ALTER TABLE workspace ADD COLUMN active_key_limit INTEGER CHECK (active_key_limit IS NULL OR active_key_limit >= 0);

PRAGMA user_version = 4;
