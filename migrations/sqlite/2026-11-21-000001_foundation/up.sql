CREATE TABLE organizations (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    name TEXT NOT NULL,
    created_at TIMESTAMP NOT NULL
);

-- One row, ever: the installation has been set up. A second setup fails on the primary key.
CREATE TABLE installation (
    id INTEGER PRIMARY KEY CHECK (id = 1),
    organization_id BIGINT NOT NULL REFERENCES organizations (id),
    set_up_at TIMESTAMP NOT NULL
);

CREATE TABLE setup_tokens (
    token_hash TEXT PRIMARY KEY NOT NULL,
    created_at TIMESTAMP NOT NULL
);

CREATE TABLE users (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    organization_id BIGINT NOT NULL REFERENCES organizations (id),
    email TEXT NOT NULL,
    name TEXT NOT NULL,
    role TEXT NOT NULL CHECK (role IN ('owner', 'admin', 'member')),
    password_hash TEXT NOT NULL,
    disabled BOOLEAN NOT NULL DEFAULT 0,
    created_at TIMESTAMP NOT NULL,
    updated_at TIMESTAMP NOT NULL
);
CREATE UNIQUE INDEX users_email_key ON users (email);
CREATE INDEX users_organization_name ON users (organization_id, name);

-- Server-side sessions. The id is the SHA-256 of the cookie's session key, so the table alone
-- does not give anyone a usable cookie.
CREATE TABLE sessions (
    id TEXT PRIMARY KEY NOT NULL,
    user_id BIGINT REFERENCES users (id) ON DELETE CASCADE,
    state TEXT NOT NULL,
    created_at TIMESTAMP NOT NULL,
    expires_at TIMESTAMP NOT NULL
);
CREATE INDEX sessions_user ON sessions (user_id);
CREATE INDEX sessions_expires_at ON sessions (expires_at);

CREATE TABLE audit_events (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    organization_id BIGINT NOT NULL REFERENCES organizations (id),
    actor_user_id BIGINT REFERENCES users (id),
    action TEXT NOT NULL,
    object_type TEXT NOT NULL,
    object_id BIGINT,
    detail TEXT NOT NULL,
    client_addr TEXT,
    created_at TIMESTAMP NOT NULL
);
CREATE INDEX audit_events_organization_time ON audit_events (organization_id, created_at);
