-- Personal credentials are looked up by owner; shared accounts (owner NULL) never are.
DROP INDEX accounts_owner;
CREATE INDEX accounts_owner ON accounts (owner_user_id) WHERE owner_user_id IS NOT NULL;

-- Manage Apps search: name, address and description, lower-cased by Keyholder and joined by
-- newlines (which a search box cannot hold), with a trigram index so that LIKE '%part%' is
-- answered from the index. pg_trgm ships with PostgreSQL and is a trusted extension: the
-- owner of the database may create it.
CREATE EXTENSION IF NOT EXISTS pg_trgm;
ALTER TABLE targets ADD COLUMN search_text TEXT NOT NULL DEFAULT '';
UPDATE targets SET search_text = lower(name || E'\n' || address || E'\n' || description);
CREATE INDEX targets_search ON targets USING gin (search_text gin_trgm_ops) WITH (fastupdate = off);
