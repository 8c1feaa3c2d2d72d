DROP INDEX checkouts_active_target;
CREATE INDEX checkouts_user ON checkouts (user_id, ended_at);
DROP INDEX checkouts_user_expiry;
