DROP TABLE outbound_emails;
DROP TABLE access_requests;
