-- 011_gate_once.sql: nothing changes on SQLite. PostgreSQL's 011 makes its gate generation move
-- once per transaction (its row versions piled up within one); SQLite's triggers update the one
-- row in place. The number keeps both engines at the same schema version.

PRAGMA user_version = 11;
