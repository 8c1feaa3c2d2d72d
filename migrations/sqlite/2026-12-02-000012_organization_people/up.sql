-- How many people an organization has, kept by triggers so that every way a person is added or
-- removed is counted. The admins' dashboard shows it, read with the session's statement, where
-- it counted the organization's people on every visit: a cost that grew with the organization.
ALTER TABLE organizations ADD COLUMN people BIGINT NOT NULL DEFAULT 0;
UPDATE organizations
SET people = (SELECT COUNT(*) FROM users WHERE users.organization_id = organizations.id);
CREATE TRIGGER users_counted_in AFTER INSERT ON users BEGIN
    UPDATE organizations SET people = people + 1 WHERE id = new.organization_id;
END;
CREATE TRIGGER users_counted_out AFTER DELETE ON users BEGIN
    UPDATE organizations SET people = people - 1 WHERE id = old.organization_id;
END;
CREATE TRIGGER users_counted_moved AFTER UPDATE OF organization_id ON users
WHEN new.organization_id <> old.organization_id BEGIN
    UPDATE organizations SET people = people - 1 WHERE id = old.organization_id;
    UPDATE organizations SET people = people + 1 WHERE id = new.organization_id;
END;
