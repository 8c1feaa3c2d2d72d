-- The audit log filtered by one action, newest first, without reading the rest of the log.
CREATE INDEX audit_events_action ON audit_events (organization_id, action, created_at);
