-- The dashboard's inbox in the order it is shown (unread first, newest first): a page of it is
-- read from the index and stops after its ten rows. Notifications are never deleted, so sorting
-- all of a person's to show ten would cost more every month.
CREATE INDEX notifications_inbox ON notifications (user_id, (read_at IS NOT NULL), id DESC);
