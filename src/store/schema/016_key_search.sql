-- 016_key_search.sql: the key list reads about as many rows as it shows, however many keys a
-- workspace holds (issue 15: 100,000 keys cost 60 to 120 ms a view when every view read them all).
--
-- Pages go by row id (a key's id grows with time: newest first is id DESC), from the last key shown
-- on, instead of counting past the keys of the pages before. Each state of the Status filter reads
-- an index that holds only its keys, in id order: a page stops after 51 of them.
CREATE INDEX api_key_live ON api_key (workspace_id, id) WHERE revoked_at IS NULL;
-- Enabled and Disabled: enabled is always 0 or 1 (a flag), so each is one range of this index.
CREATE INDEX api_key_state ON api_key (workspace_id, enabled, id) WHERE revoked_at IS NULL;
CREATE INDEX api_key_revoked ON api_key (workspace_id, id) WHERE revoked_at IS NOT NULL;
-- Expiring soon and Expired: the keys that have an expiry, in id order, with their expiry in the
-- index, so that no row is read for a key the filter leaves out. (Reading api_key_expiry of 013 by
-- date would read every key of the range and sort them: thousands, where keys are made with an
-- expiry every day.)
CREATE INDEX api_key_expires ON api_key (workspace_id, id, expires_at) WHERE expires_at IS NOT NULL AND revoked_at IS NULL;
-- A role's keys, every state, in id order.
CREATE INDEX api_key_role ON api_key (workspace_id, role_id, id);

-- The Filter box's text (3 characters or more) is found by a trigram index: FTS5's trigram
-- tokenizer (SQLite 3.34 or later, with FTS5, as Debian's) indexes every 3 consecutive characters,
-- so that a phrase query of the text finds each value holding it anywhere, in any script. The
-- values are the ones the list compares: the case-folded name and note (text_fold(): "ärg" finds
-- "Ärger"), the lowered key ID and last 4; case_sensitive 1 keeps them as they are. Contentless
-- (content=''): it holds the trigrams and the keys' ids, not the text;
-- the list checks each row it finds against the text itself (statements.c), so the index only has
-- to find every key that matches, which the triggers below keep it doing. Shorter text is checked
-- row by row on the state's index (no trigram to look up).
--
-- Its rowid is minus the key's id: the list wants the newest keys (the highest ids) first, and
-- FTS5 reads its lists in ascending rowid order several times faster than in descending order
-- (a name's phrase among 100,000 keys: 1 ms against 6 here).
--
-- It serves every workspace of the file, so each key's workspace is in it too ("«7»": a phrase of
-- «7» matches no other workspace's value), and a search asks for its workspace's keys AND its text:
-- a small workspace's search does not walk through a large one's keys that hold its text.
CREATE VIRTUAL TABLE api_key_search USING fts5(workspace, name, note, key_id, hint, content='',
	tokenize='trigram case_sensitive 1');
-- Leaves of 1,000 bytes instead of 4,050: the trigrams every key holds ("key", a name's common
-- words) have long lists, which a phrase query skips through; smaller leaves let it skip closer to
-- each row it looks for (a name among 100,000 "bench key 012345": 0.5 ms instead of 1.5 here).
INSERT INTO api_key_search (api_key_search, rank) VALUES ('pgsz', 1000);

INSERT INTO api_key_search (rowid, workspace, name, note, key_id, hint)
	SELECT -id, '«' || workspace_id || '»', name_folded, note_folded, lower(key_id), lower(secret_hint) FROM api_key;
-- One b-tree instead of the several a bulk load leaves (a query reads each): 100,000 keys, 1 s.
INSERT INTO api_key_search (api_key_search) VALUES ('optimize');

-- A contentless table forgets a row by being told its values: the old ones, from the row itself.
CREATE TRIGGER api_key_search_insert AFTER INSERT ON api_key
BEGIN
	INSERT INTO api_key_search (rowid, workspace, name, note, key_id, hint)
		VALUES (-new.id, '«' || new.workspace_id || '»', new.name_folded, new.note_folded, lower(new.key_id),
			lower(new.secret_hint));
END;
CREATE TRIGGER api_key_search_update AFTER UPDATE OF workspace_id, name_folded, note_folded, key_id, secret_hint
ON api_key
BEGIN
	INSERT INTO api_key_search (api_key_search, rowid, workspace, name, note, key_id, hint)
		VALUES ('delete', -old.id, '«' || old.workspace_id || '»', old.name_folded, old.note_folded,
			lower(old.key_id), lower(old.secret_hint));
	INSERT INTO api_key_search (rowid, workspace, name, note, key_id, hint)
		VALUES (-new.id, '«' || new.workspace_id || '»', new.name_folded, new.note_folded, lower(new.key_id),
			lower(new.secret_hint));
END;
CREATE TRIGGER api_key_search_delete AFTER DELETE ON api_key
BEGIN
	INSERT INTO api_key_search (api_key_search, rowid, workspace, name, note, key_id, hint)
		VALUES ('delete', -old.id, '«' || old.workspace_id || '»', old.name_folded, old.note_folded,
			lower(old.key_id), lower(old.secret_hint));
END;

PRAGMA user_version = 16;
