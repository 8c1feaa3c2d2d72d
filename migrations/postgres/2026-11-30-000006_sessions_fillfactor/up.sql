-- A session's row is rewritten when its state changes (a flash message, a sign-in's renewal).
-- Room left on each page lets PostgreSQL write the new version beside the old one, without an
-- entry in any index (a HOT update), as long as no indexed column changes.
ALTER TABLE sessions SET (fillfactor = 70);
