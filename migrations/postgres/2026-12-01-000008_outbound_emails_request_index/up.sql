-- Deleting an access request (with its account or app) clears the reference of the mail sent
-- about it: found by this index, not by reading every mail ever sent.
CREATE INDEX outbound_emails_request ON outbound_emails (request_id);
