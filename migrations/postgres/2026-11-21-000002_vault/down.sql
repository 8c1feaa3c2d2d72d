DROP TABLE target_policy_admins;
DROP INDEX audit_events_actor;
DROP INDEX audit_events_target;
ALTER TABLE audit_events DROP COLUMN target_id;
DROP TABLE accounts;
DROP TABLE target_users;
DROP TABLE targets;
DROP TABLE data_keys;
