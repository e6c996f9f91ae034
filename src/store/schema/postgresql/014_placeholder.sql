-- 014_placeholder.sql: stands for a teammate's migration 014 on this branch only; the lead drops it at merge.
UPDATE schema_version SET version = 14;
