-- An admin's request for access to an Unmanaged personal credential, and its outcome.
-- 'pending' until the owner grants or denies it, or until expires_at passes ('expired').
-- The approval link's token is kept only as a SHA-256 hash, bound to this row and its owner.
CREATE TABLE access_requests (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    organization_id BIGINT NOT NULL REFERENCES organizations (id),
    account_id BIGINT NOT NULL REFERENCES accounts (id) ON DELETE CASCADE,
    target_id BIGINT NOT NULL,
    admin_user_id BIGINT NOT NULL REFERENCES users (id),
    owner_user_id BIGINT NOT NULL REFERENCES users (id),
    status TEXT NOT NULL DEFAULT 'pending' CHECK (status IN ('pending', 'granted', 'denied', 'expired')),
    created_at TIMESTAMP NOT NULL,
    expires_at TIMESTAMP NOT NULL,
    decided_at TIMESTAMP,
    token_hash TEXT,
    token_used_at TIMESTAMP
);
-- One pending request per admin and credential: pressing twice does not ask twice.
CREATE UNIQUE INDEX access_requests_one_pending ON access_requests (account_id, admin_user_id) WHERE status = 'pending';
CREATE INDEX access_requests_admin ON access_requests (admin_user_id, id);
CREATE INDEX access_requests_owner ON access_requests (owner_user_id, status, id);
CREATE INDEX access_requests_account ON access_requests (account_id, status);

-- Mail waiting to be sent, and mail sent. Rendered when it is sent (so an approval link's token
-- is never stored in clear); sent_at makes sending idempotent; claimed_until keeps two workers
-- from sending the same message at once.
CREATE TABLE outbound_emails (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    organization_id BIGINT NOT NULL REFERENCES organizations (id),
    kind TEXT NOT NULL,
    recipient_user_id BIGINT NOT NULL REFERENCES users (id),
    request_id BIGINT REFERENCES access_requests (id) ON DELETE SET NULL,
    account_id BIGINT,
    created_at TIMESTAMP NOT NULL,
    next_attempt_at TIMESTAMP NOT NULL,
    attempts INTEGER NOT NULL DEFAULT 0,
    last_error TEXT,
    claimed_until TIMESTAMP,
    sent_at TIMESTAMP,
    dropped_reason TEXT
);
CREATE INDEX outbound_emails_due ON outbound_emails (sent_at, next_attempt_at);
