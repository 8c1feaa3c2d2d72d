DROP INDEX accounts_owner;
CREATE INDEX accounts_owner ON accounts (owner_user_id) WHERE owner_user_id IS NOT NULL;
