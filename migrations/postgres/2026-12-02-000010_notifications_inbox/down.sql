DROP INDEX notifications_inbox;
