-- 010_people.sql: people who can be disabled, and sign-in throttling to the millisecond.
--
-- A disabled user keeps their account, memberships and audit lines but cannot sign in (with a
-- password or through the web server's REMOTE_USER), and their sessions end when they are
-- disabled. `keyward user enable` clears it.
ALTER TABLE user ADD COLUMN disabled_at INTEGER;  -- NULL: may sign in; else when it was disabled (Unix seconds)

-- signin_failure now holds every sign-in attempt from the moment it is let through (it is
-- recorded before the password is checked, and deleted again when the password was right), with
-- its time in milliseconds: "wait a second" means a whole second, however the clock's seconds
-- fall. Rows written before (or by hand) have none; readers take `at` * 1000 then. Subjects:
-- "email:<folded address>", "address:<client address>", and "device:<folded address> <id>" for
-- a browser that holds a device cookie of that account (see src/domain/sessions.h).
ALTER TABLE signin_failure ADD COLUMN at_ms INTEGER;

PRAGMA user_version = 10;
