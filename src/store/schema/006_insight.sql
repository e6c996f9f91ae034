-- 006_insight.sql: hourly rollups of usage_event for the Usage tab and the dashboard, and the
-- watermark of what has been rolled up. Raw rows are pruned after KEYWARD_USAGE_RAW_DAYS, hourly
-- rows after KEYWARD_USAGE_HOURLY_DAYS. Readers add the raw rows past the watermark (a minute's
-- worth at most), so the pages are always current. api_key_id 0: a token that matched no key.

-- Calls per key, hour and outcome (granted, or the refusal's code).
CREATE TABLE usage_hourly (
	api_key_id   INTEGER NOT NULL,
	hour         INTEGER NOT NULL,             -- Unix seconds at the start of the hour (UTC)
	outcome      TEXT    NOT NULL,
	workspace_id INTEGER NOT NULL,
	calls        INTEGER NOT NULL,
	PRIMARY KEY (api_key_id, hour, outcome)
) WITHOUT ROWID;
CREATE INDEX usage_hourly_workspace ON usage_hourly (workspace_id, hour);

-- Calls per key, hour and endpoint; refused of them; the latest call.
CREATE TABLE usage_hourly_endpoint (
	api_key_id INTEGER NOT NULL,
	hour       INTEGER NOT NULL,
	endpoint   TEXT    NOT NULL,
	calls      INTEGER NOT NULL,
	refused    INTEGER NOT NULL,
	last_seen  INTEGER NOT NULL,
	PRIMARY KEY (api_key_id, hour, endpoint)
) WITHOUT ROWID;

-- Calls per key, hour and client address; refused of them; the first and latest call.
CREATE TABLE usage_hourly_address (
	api_key_id     INTEGER NOT NULL,
	hour           INTEGER NOT NULL,
	client_address TEXT    NOT NULL,
	calls          INTEGER NOT NULL,
	refused        INTEGER NOT NULL,
	first_seen     INTEGER NOT NULL,
	last_seen      INTEGER NOT NULL,
	PRIMARY KEY (api_key_id, hour, client_address)
) WITHOUT ROWID;

-- Retention deletes by hour.
CREATE INDEX usage_hourly_endpoint_hour ON usage_hourly_endpoint (hour);

-- For warnings: addresses seen in the last day, and whether a key's address was seen before.
CREATE INDEX usage_hourly_address_hour ON usage_hourly_address (hour);
CREATE INDEX usage_hourly_address_seen ON usage_hourly_address (api_key_id, client_address, hour);

-- usage_event rows with id <= rolled_to are counted in the tables above.
CREATE TABLE usage_rollup (
	id            INTEGER PRIMARY KEY CHECK (id = 1),
	rolled_to     INTEGER NOT NULL,
	pruned_at     INTEGER NOT NULL             -- when retention last ran (Unix seconds)
);
INSERT INTO usage_rollup (id, rolled_to, pruned_at) VALUES (1, 0, 0);

-- Anonymous counts of off-the-record keys, by workspace for the dashboard.
CREATE INDEX usage_anonymous_workspace ON usage_anonymous_hourly (workspace_id, hour);

-- When the key's secret was last set (created or regenerated): rotation is due after 90 days.
ALTER TABLE api_key ADD COLUMN secret_set_at INTEGER;
UPDATE api_key SET secret_set_at = created_at;

PRAGMA user_version = 6;
