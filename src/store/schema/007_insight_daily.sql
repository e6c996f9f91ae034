-- 007_insight_daily.sql: what lets the Usage tab and the dashboard answer in milliseconds over a
-- lot of traffic, and a fix for the rollup watermark.
--
-- Periods read the daily tables from their first midnight on (today so far included) and only the
-- hours before it from the hourly ones (23 at most), so a month of a busy key is 30 rows per
-- address, not 720. The daily tables serve the periods only (30 days at most): they are kept 32
-- days, and are keyed by key first and day last, so that SQLite sums each endpoint's or address's
-- days as it reads them, without sorting.

-- usage_event ids must never be used twice: rows up to usage_rollup.rolled_to count as rolled
-- up, and once retention had emptied the table a plain INTEGER PRIMARY KEY would have started
-- again at 1, below the watermark, and new usage would never have been rolled up or shown.
-- AUTOINCREMENT never reuses an id; the sequence starts past the watermark.
ALTER TABLE usage_event RENAME TO usage_event_old;
CREATE TABLE usage_event (
	id             INTEGER PRIMARY KEY AUTOINCREMENT,
	workspace_id   INTEGER NOT NULL REFERENCES workspace(id),
	api_key_id     INTEGER REFERENCES api_key(id),
	at             INTEGER NOT NULL,           -- Unix seconds
	endpoint       TEXT    NOT NULL,           -- request path, without the query
	client_address TEXT    NOT NULL,
	outcome        TEXT    NOT NULL,           -- granted, missing_key, invalid_key, disabled, revoked, ...
	calls          INTEGER NOT NULL DEFAULT 1 CHECK (calls > 0)
);
INSERT INTO usage_event (id, workspace_id, api_key_id, at, endpoint, client_address, outcome, calls)
	SELECT id, workspace_id, api_key_id, at, endpoint, client_address, outcome, calls FROM usage_event_old;
DROP TABLE usage_event_old;
CREATE INDEX usage_event_workspace_time ON usage_event (workspace_id, at);
INSERT INTO sqlite_sequence (name, seq)
	SELECT 'usage_event', rolled_to FROM usage_rollup
	WHERE id = 1 AND NOT EXISTS (SELECT 1 FROM sqlite_sequence WHERE name = 'usage_event');
UPDATE sqlite_sequence SET seq = max(seq, (SELECT rolled_to FROM usage_rollup WHERE id = 1))
	WHERE name = 'usage_event';

-- Calls per key, UTC day and endpoint (as usage_hourly_endpoint).
CREATE TABLE usage_daily_endpoint (
	api_key_id INTEGER NOT NULL,
	endpoint   TEXT    NOT NULL,
	day        INTEGER NOT NULL,               -- Unix seconds at 00:00 UTC
	calls      INTEGER NOT NULL,
	refused    INTEGER NOT NULL,
	last_seen  INTEGER NOT NULL,
	PRIMARY KEY (api_key_id, endpoint, day)
) WITHOUT ROWID;
CREATE INDEX usage_daily_endpoint_day ON usage_daily_endpoint (day);

-- Calls per key, UTC day and client address (as usage_hourly_address).
CREATE TABLE usage_daily_address (
	api_key_id     INTEGER NOT NULL,
	client_address TEXT    NOT NULL,
	day            INTEGER NOT NULL,
	calls          INTEGER NOT NULL,
	refused        INTEGER NOT NULL,
	first_seen     INTEGER NOT NULL,
	last_seen      INTEGER NOT NULL,
	PRIMARY KEY (api_key_id, client_address, day)
) WITHOUT ROWID;
CREATE INDEX usage_daily_address_day ON usage_daily_address (day);

-- Calls per workspace, UTC day and key: the dashboard's busiest keys.
CREATE TABLE usage_daily_key (
	workspace_id INTEGER NOT NULL,
	api_key_id   INTEGER NOT NULL,
	day          INTEGER NOT NULL,
	calls        INTEGER NOT NULL,
	refused      INTEGER NOT NULL,
	PRIMARY KEY (workspace_id, api_key_id, day)
) WITHOUT ROWID;
CREATE INDEX usage_daily_key_day ON usage_daily_key (day);

-- The spike warning and the busiest keys at the edges of a period read usage_hourly by workspace
-- and hour: the index now holds the calls too, so they never touch the table. (Its old name is
-- the new table's below.)
DROP INDEX usage_hourly_workspace;
CREATE INDEX usage_hourly_workspace_time ON usage_hourly (workspace_id, hour, calls);

-- Calls per workspace, hour and outcome: the dashboard's chart (usage_hourly summed over keys).
CREATE TABLE usage_hourly_workspace (
	workspace_id INTEGER NOT NULL,
	hour         INTEGER NOT NULL,
	outcome      TEXT    NOT NULL,
	calls        INTEGER NOT NULL,
	PRIMARY KEY (workspace_id, hour, outcome)
) WITHOUT ROWID;

-- Dashboard lists over many keys: the active ones of a workspace by when their secret was set.
-- (api_key_last_used gets no index on `at`: the gatekeeper writes it for every key in use, every
-- second; the lists probe it by key instead.)
CREATE INDEX api_key_active ON api_key (workspace_id, coalesce(secret_set_at, created_at)) WHERE revoked_at IS NULL;

-- Where each key has been called from: the first and latest call per address. A call from an
-- address that a key in use had not called from in the 30 days before is written to
-- usage_new_address when it is rolled up, and warned about for a day.
CREATE TABLE usage_key_address (
	api_key_id     INTEGER NOT NULL,
	client_address TEXT    NOT NULL,
	first_seen     INTEGER NOT NULL,
	last_seen      INTEGER NOT NULL,
	PRIMARY KEY (api_key_id, client_address)
) WITHOUT ROWID;
CREATE INDEX usage_key_address_seen ON usage_key_address (api_key_id, last_seen);
CREATE INDEX usage_key_address_last ON usage_key_address (last_seen);

CREATE TABLE usage_new_address (
	workspace_id   INTEGER NOT NULL,
	api_key_id     INTEGER NOT NULL,
	client_address TEXT    NOT NULL,
	at             INTEGER NOT NULL,           -- the first call from it
	PRIMARY KEY (api_key_id, client_address, at)
) WITHOUT ROWID;
CREATE INDEX usage_new_address_workspace ON usage_new_address (workspace_id, at);

-- One endpoint's calls over time (the Usage tab narrowed to it), as usage_hourly_address_seen does
-- for one address.
CREATE INDEX usage_hourly_endpoint_seen ON usage_hourly_endpoint (api_key_id, endpoint, hour);

-- Rows that matched no key (api_key_id 0) are rolled up no more: no page reads them, and the
-- workspace they were given was a guess.
DELETE FROM usage_hourly WHERE api_key_id = 0;

-- Fill the new tables from what is rolled up already (the daily ones with the last 32 days). Hourly
-- rows cannot say whether an address was new, so no warnings are made for the past.
INSERT INTO usage_daily_endpoint (api_key_id, endpoint, day, calls, refused, last_seen)
	SELECT api_key_id, endpoint, hour - hour % 86400, sum(calls), sum(refused), max(last_seen)
	FROM usage_hourly_endpoint WHERE hour >= unixepoch() - 32 * 86400 GROUP BY 1, 2, 3;
INSERT INTO usage_daily_address (api_key_id, client_address, day, calls, refused, first_seen, last_seen)
	SELECT api_key_id, client_address, hour - hour % 86400, sum(calls), sum(refused), min(first_seen), max(last_seen)
	FROM usage_hourly_address WHERE hour >= unixepoch() - 32 * 86400 GROUP BY 1, 2, 3;
INSERT INTO usage_daily_key (workspace_id, api_key_id, day, calls, refused)
	SELECT workspace_id, api_key_id, hour - hour % 86400, sum(calls),
	       sum(CASE WHEN outcome = 'granted' THEN 0 ELSE calls END)
	FROM usage_hourly WHERE hour >= unixepoch() - 32 * 86400 GROUP BY 1, 2, 3;
INSERT INTO usage_hourly_workspace (workspace_id, hour, outcome, calls)
	SELECT workspace_id, hour, outcome, sum(calls) FROM usage_hourly GROUP BY 1, 2, 3;
INSERT INTO usage_key_address (api_key_id, client_address, first_seen, last_seen)
	SELECT api_key_id, client_address, min(first_seen), max(last_seen) FROM usage_hourly_address GROUP BY 1, 2;

PRAGMA user_version = 7;
