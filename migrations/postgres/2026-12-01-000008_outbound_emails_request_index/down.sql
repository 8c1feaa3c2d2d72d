DROP INDEX outbound_emails_request;
