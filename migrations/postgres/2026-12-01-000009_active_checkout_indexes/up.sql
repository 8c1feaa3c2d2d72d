-- A person's active check-outs in the order My check-outs shows them (soonest to end first):
-- a page of them is read from the index, and someone holding nothing costs one probe, where
-- SQLite otherwise walked every active check-out in expiry order looking for theirs. It also
-- serves every search by holder the index it replaces served.
CREATE INDEX checkouts_user_expiry ON checkouts (user_id, ended_at, expires_at);
DROP INDEX checkouts_user;
-- Whether anyone holds an account of an app (before its checkout type is changed or it is
-- deleted): the app's active check-outs only, not every active check-out searched for its.
CREATE INDEX checkouts_active_target ON checkouts (target_id) WHERE ended_at IS NULL;
