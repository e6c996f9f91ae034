-- 009_refusals.sql: requests without a valid key (none, a malformed one, one keyward does not know,
-- several at once, or a key of a workspace the gatekeeper does not serve), counted per hour, client
-- address and outcome, without their paths: about 600 bytes per request in usage_event before, a row
-- per address and hour now, however many requests it holds.
--
-- They belong to no workspace; the gatekeeper counts them in the first workspace it serves (the
-- verify endpoint in its caller's), whose dashboard shows them. Pruned with the raw usage
-- (KEYWARD_USAGE_RAW_DAYS). No foreign key: a rules file may name a workspace not made yet, and a
-- batch of usage must not fail for it.
CREATE TABLE usage_refused_hourly (
	hour           INTEGER NOT NULL,           -- Unix seconds at the start of the hour (UTC)
	workspace_id   INTEGER NOT NULL,
	client_address TEXT    NOT NULL,           -- IPv4, an IPv6 /64 ("2001:db8:1:2::/64"), "(invalid)" or "(none)"
	outcome        TEXT    NOT NULL,           -- missing_key or invalid_key
	calls          INTEGER NOT NULL CHECK (calls > 0),
	PRIMARY KEY (hour, workspace_id, client_address, outcome)
) WITHOUT ROWID;

-- The rows usage_event already holds for such requests (api_key_id NULL) stay where they are: no
-- page reads them, and retention deletes them within KEYWARD_USAGE_RAW_DAYS. Moving them would read
-- the whole table, unindexed, while every keyward process waits to start.

PRAGMA user_version = 9;
