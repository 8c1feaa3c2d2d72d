DROP TABLE audit_events;
DROP TABLE sessions;
DROP TABLE users;
DROP TABLE setup_tokens;
DROP TABLE installation;
DROP TABLE organizations;
