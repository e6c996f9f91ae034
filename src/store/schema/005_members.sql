-- 005_members.sql: invitations name the e-mail address they are for, so only that person can
-- accept one; a workspace's pending invitations are listed on its members page.

ALTER TABLE invitation ADD COLUMN email TEXT NOT NULL DEFAULT '';        -- as typed; '' for a setup link
ALTER TABLE invitation ADD COLUMN email_folded TEXT NOT NULL DEFAULT ''; -- lower-cased, for matching
CREATE INDEX invitation_pending ON invitation (workspace_id, accepted_at, expires_at);

PRAGMA user_version = 5;
