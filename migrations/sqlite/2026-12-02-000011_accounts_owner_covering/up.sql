-- "My credentials" on the dashboard: a page of a person's own credentials is read from this index
-- alone (the row id rides in every SQLite index), without visiting each credential's row, which
-- also holds its sealed password and notes.
DROP INDEX accounts_owner;
CREATE INDEX accounts_owner ON accounts (owner_user_id, target_id, username, admin_access)
    WHERE owner_user_id IS NOT NULL;
