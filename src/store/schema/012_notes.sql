-- 012_notes.sql: a note on each key, and who made it.
--
-- note: free text (at most 1,000 characters, checked by src/domain/key_input.c), shown on the key
-- page; note_folded is its case-folded copy, which the list's filter searches as it does
-- name_folded. created_by: who made the key, as its key.create audit line names them: the
-- person's e-mail, "command line", or (later) the API key that made it; '' when not known.
-- Keys made before this migration take it from their key.create audit line, when it is still there.
-- Nothing here touches the gate: the triggers of 003 fire on other columns.
ALTER TABLE api_key ADD COLUMN note TEXT NOT NULL DEFAULT '';
ALTER TABLE api_key ADD COLUMN note_folded TEXT NOT NULL DEFAULT '';
ALTER TABLE api_key ADD COLUMN created_by TEXT NOT NULL DEFAULT '';

UPDATE api_key SET created_by = coalesce((
	SELECT e.actor_label FROM audit_event e
	WHERE e.workspace_id = api_key.workspace_id AND e.action = 'key.create' AND e.target_type = 'key'
	  AND e.target_id = api_key.key_id
	ORDER BY e.id LIMIT 1), '');

PRAGMA user_version = 12;
