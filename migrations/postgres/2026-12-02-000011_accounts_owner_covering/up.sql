-- "My credentials" on the dashboard: a page of a person's own credentials is read from this index
-- alone (an index-only scan), without visiting each credential's row, which also holds its
-- sealed password and notes.
DROP INDEX accounts_owner;
CREATE INDEX accounts_owner ON accounts (owner_user_id, target_id, username, admin_access)
    INCLUDE (id) WHERE owner_user_id IS NOT NULL;
