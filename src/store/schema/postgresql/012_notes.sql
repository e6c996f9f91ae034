-- 012_notes.sql: a note on each key, and who made it (as src/store/schema/012_notes.sql says).
ALTER TABLE api_key ADD COLUMN note text COLLATE "C" NOT NULL DEFAULT '';
ALTER TABLE api_key ADD COLUMN note_folded text COLLATE "C" NOT NULL DEFAULT '';
ALTER TABLE api_key ADD COLUMN created_by text COLLATE "C" NOT NULL DEFAULT '';

UPDATE api_key SET created_by = coalesce((
	SELECT e.actor_label FROM audit_event e
	WHERE e.workspace_id = api_key.workspace_id AND e.action = 'key.create' AND e.target_type = 'key'
	  AND e.target_id = api_key.key_id
	ORDER BY e.id LIMIT 1), '');

UPDATE schema_version SET version = 12;
