-- Personal credentials are looked up by owner; shared accounts (owner NULL) never are. A partial
-- index keeps the planner from walking every shared account for "owner IS NULL".
DROP INDEX accounts_owner;
CREATE INDEX accounts_owner ON accounts (owner_user_id) WHERE owner_user_id IS NOT NULL;

-- Manage Apps search: name, address and description, lower-cased by Keyholder and joined by
-- newlines (which a search box cannot hold), indexed by trigrams so that "any part of" is found
-- without reading every app. Rows written before this migration are lower-cased by SQLite's
-- lower(), which folds ASCII only; Keyholder rewrites the text whenever an app is saved.
ALTER TABLE targets ADD COLUMN search_text TEXT NOT NULL DEFAULT '';
UPDATE targets SET search_text = lower(name || char(10) || address || char(10) || description);
CREATE VIRTUAL TABLE targets_search USING fts5(
    search_text, content = 'targets', content_rowid = 'id', tokenize = 'trigram'
);
INSERT INTO targets_search (targets_search) VALUES ('rebuild');
CREATE TRIGGER targets_search_insert AFTER INSERT ON targets BEGIN
    INSERT INTO targets_search (rowid, search_text) VALUES (new.id, new.search_text);
END;
CREATE TRIGGER targets_search_delete AFTER DELETE ON targets BEGIN
    INSERT INTO targets_search (targets_search, rowid, search_text)
        VALUES ('delete', old.id, old.search_text);
END;
CREATE TRIGGER targets_search_update AFTER UPDATE OF search_text ON targets BEGIN
    INSERT INTO targets_search (targets_search, rowid, search_text)
        VALUES ('delete', old.id, old.search_text);
    INSERT INTO targets_search (rowid, search_text) VALUES (new.id, new.search_text);
END;
