-- Reset state of an account. 'available': may be checked out; 'resetting': a new password is
-- pending (stored encrypted in pending_secret) until the real system accepts it; 'out_of_sync':
-- the reset failed repeatedly and an admin must act. Only 'available' accounts are handed out.
ALTER TABLE accounts ADD COLUMN state TEXT NOT NULL DEFAULT 'available';
ALTER TABLE accounts ADD COLUMN pending_secret BLOB;
ALTER TABLE accounts ADD COLUMN reset_attempts INTEGER NOT NULL DEFAULT 0;
ALTER TABLE accounts ADD COLUMN reset_error TEXT;
ALTER TABLE accounts ADD COLUMN next_reset_at TIMESTAMP;
-- The active exclusive check-out: set and cleared by conditional writes, so one holder at most.
ALTER TABLE accounts ADD COLUMN exclusive_checkout_id BIGINT;
CREATE INDEX accounts_due_resets ON accounts (state, next_reset_at);

ALTER TABLE organizations ADD COLUMN allow_force_checkin BOOLEAN NOT NULL DEFAULT 0;

-- Every check-out, kept as history (no foreign key on the account, so history outlives it).
CREATE TABLE checkouts (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    organization_id BIGINT NOT NULL REFERENCES organizations (id),
    account_id BIGINT NOT NULL,
    target_id BIGINT NOT NULL,
    user_id BIGINT NOT NULL REFERENCES users (id),
    mode TEXT NOT NULL CHECK (mode IN ('exclusive', 'regular')),
    started_at TIMESTAMP NOT NULL,
    expires_at TIMESTAMP NOT NULL,
    ended_at TIMESTAMP,
    end_reason TEXT CHECK (end_reason IN ('checked_in', 'expired', 'forced')),
    ended_by BIGINT,
    reminded BOOLEAN NOT NULL DEFAULT 0
);
CREATE UNIQUE INDEX checkouts_one_exclusive_holder ON checkouts (account_id) WHERE ended_at IS NULL AND mode = 'exclusive';
CREATE INDEX checkouts_active_expiry ON checkouts (ended_at, expires_at);
CREATE INDEX checkouts_account ON checkouts (account_id, ended_at);
CREATE INDEX checkouts_user ON checkouts (user_id, ended_at);

CREATE TABLE notifications (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    organization_id BIGINT NOT NULL REFERENCES organizations (id),
    user_id BIGINT NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    message TEXT NOT NULL,
    link TEXT NOT NULL,
    created_at TIMESTAMP NOT NULL,
    read_at TIMESTAMP
);
CREATE INDEX notifications_user ON notifications (user_id, read_at, id);
-- One active check-out per person and account (a double click does not check out twice).
CREATE UNIQUE INDEX checkouts_one_per_holder ON checkouts (account_id, user_id) WHERE ended_at IS NULL;
