-- 011_gate_once.sql: the gate generation moves once per transaction, however many changes it makes.
--
-- Before, gate_bump() updated gate_state's one row at the end of every statement that changed keys,
-- their networks or roles. Within one transaction each update leaves a row version that nothing can
-- prune until the transaction ends, and every later update walks past all of them: a transaction of
-- n such statements took time in n² (100,000 keys made in one transaction, as `make bench` seeds
-- them, ran for minutes, its server process at 700 MB). Once per transaction is as good for the
-- caches: no one sees the new number before the commit, and then they see every change of the
-- transaction with it; a rolled-back savepoint takes its bump and the mark with it (set_config with
-- is_local ends with the transaction or the savepoint, as the update does). The notification
-- carries the number, sent at the commit as before. (So deleting a key, which cascades to its
-- allowlist, now bumps once, not twice.)
CREATE OR REPLACE FUNCTION gate_bump() RETURNS trigger LANGUAGE plpgsql AS $$
DECLARE
	bumped bigint;
BEGIN
	IF current_setting('keyward.gate_bumped', true) = 'on' THEN
		RETURN NULL;
	END IF;
	UPDATE gate_state SET generation = generation + 1 WHERE id = 1 RETURNING generation INTO bumped;
	PERFORM pg_notify('keyward_gate', bumped::text);
	PERFORM set_config('keyward.gate_bumped', 'on', true);
	RETURN NULL;
END
$$;

UPDATE schema_version SET version = 11;
