-- Data keys encrypt secrets; each is stored wrapped (encrypted) under the master key, which
-- never enters the database.
CREATE TABLE data_keys (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    key_uid TEXT NOT NULL UNIQUE,
    wrapped_key BLOB NOT NULL,
    active BOOLEAN NOT NULL,
    created_at TIMESTAMP NOT NULL
);

CREATE TABLE targets (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    organization_id BIGINT NOT NULL REFERENCES organizations (id),
    name TEXT NOT NULL,
    name_key TEXT NOT NULL,
    address TEXT NOT NULL,
    description TEXT NOT NULL,
    connector TEXT NOT NULL,
    connector_settings TEXT NOT NULL,
    connector_secret BLOB,
    checkout_type TEXT NOT NULL CHECK (checkout_type IN ('exclusive', 'regular')),
    exclusive_minutes INTEGER NOT NULL,
    password_policy TEXT NOT NULL,
    created_at TIMESTAMP NOT NULL,
    updated_at TIMESTAMP NOT NULL
);
CREATE UNIQUE INDEX targets_organization_name ON targets (organization_id, name_key);

-- The people allowed to use a target's shared accounts.
CREATE TABLE target_users (
    target_id BIGINT NOT NULL REFERENCES targets (id) ON DELETE CASCADE,
    user_id BIGINT NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    PRIMARY KEY (target_id, user_id)
);
CREATE INDEX target_users_user ON target_users (user_id);

CREATE TABLE accounts (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    organization_id BIGINT NOT NULL REFERENCES organizations (id),
    target_id BIGINT NOT NULL REFERENCES targets (id) ON DELETE CASCADE,
    username TEXT NOT NULL,
    secret BLOB NOT NULL,
    notes TEXT NOT NULL,
    auto_reset BOOLEAN NOT NULL,
    -- NULL for a shared (organization) account; the owner for a personal credential.
    owner_user_id BIGINT REFERENCES users (id) ON DELETE CASCADE,
    -- "Allow admin access to the password": Managed when true. Always true when shared.
    admin_access BOOLEAN NOT NULL,
    created_at TIMESTAMP NOT NULL,
    updated_at TIMESTAMP NOT NULL
);
CREATE INDEX accounts_target ON accounts (target_id, username);
CREATE INDEX accounts_owner ON accounts (owner_user_id);
CREATE UNIQUE INDEX accounts_shared_username ON accounts (target_id, username) WHERE owner_user_id IS NULL;
CREATE UNIQUE INDEX accounts_personal_owner ON accounts (target_id, owner_user_id) WHERE owner_user_id IS NOT NULL;

ALTER TABLE audit_events ADD COLUMN target_id BIGINT;
CREATE INDEX audit_events_target ON audit_events (target_id, created_at);
CREATE INDEX audit_events_actor ON audit_events (actor_user_id, created_at);

-- The Credentials & Policies tab's policy: admins who may view the app's Managed passwords.
CREATE TABLE target_policy_admins (
    target_id BIGINT NOT NULL REFERENCES targets (id) ON DELETE CASCADE,
    user_id BIGINT NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    PRIMARY KEY (target_id, user_id)
);
