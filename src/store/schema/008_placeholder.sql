-- 008_placeholder.sql: PLACEHOLDER for the migration 008 a teammate writes on another branch; dropped at merge.
PRAGMA user_version = 8;
