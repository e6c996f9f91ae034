-- 002_usage.sql: what the gatekeeper decided, per request, and the anonymous hourly counts.

-- One row per verification, granted or refused. api_key_id is NULL when no key could be
-- identified (missing, malformed or unknown). Off-the-record keys never get rows here.
CREATE TABLE usage_event (
	id             INTEGER PRIMARY KEY,
	workspace_id   INTEGER NOT NULL REFERENCES workspace(id),
	api_key_id     INTEGER REFERENCES api_key(id),
	at             INTEGER NOT NULL,           -- Unix seconds
	endpoint       TEXT    NOT NULL,           -- request path, without the query
	client_address TEXT    NOT NULL,
	outcome        TEXT    NOT NULL            -- granted, missing_key, invalid_key, disabled, revoked, ...
);
CREATE INDEX usage_event_key_time ON usage_event (api_key_id, at);
CREATE INDEX usage_event_workspace_time ON usage_event (workspace_id, at);

-- Off-the-record keys: calls per hour and nothing else.
CREATE TABLE usage_anonymous_hourly (
	workspace_id INTEGER NOT NULL REFERENCES workspace(id),
	api_key_id   INTEGER NOT NULL REFERENCES api_key(id),
	hour         INTEGER NOT NULL,             -- Unix seconds at the start of the hour (UTC)
	calls        INTEGER NOT NULL,
	PRIMARY KEY (api_key_id, hour)
);

PRAGMA user_version = 2;
