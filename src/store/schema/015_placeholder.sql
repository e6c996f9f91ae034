-- 015_placeholder.sql: stands for a teammate's migration 015 on this branch only; the lead drops it at merge.
PRAGMA user_version = 15;
