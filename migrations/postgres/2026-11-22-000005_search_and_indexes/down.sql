DROP INDEX targets_search;
ALTER TABLE targets DROP COLUMN search_text;
DROP INDEX accounts_owner;
CREATE INDEX accounts_owner ON accounts (owner_user_id);
