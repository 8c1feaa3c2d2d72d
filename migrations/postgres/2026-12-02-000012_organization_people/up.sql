-- How many people an organization has, kept by a trigger so that every way a person is added or
-- removed is counted. The admins' dashboard shows it, read with the session's statement, where
-- it counted the organization's people on every visit: a cost that grew with the organization.
ALTER TABLE organizations ADD COLUMN people BIGINT NOT NULL DEFAULT 0;
UPDATE organizations
SET people = (SELECT COUNT(*) FROM users WHERE users.organization_id = organizations.id);
CREATE FUNCTION organizations_count_people() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    IF TG_OP = 'UPDATE' AND NEW.organization_id = OLD.organization_id THEN
        RETURN NULL;
    END IF;
    IF TG_OP IN ('DELETE', 'UPDATE') THEN
        UPDATE organizations SET people = people - 1 WHERE id = OLD.organization_id;
    END IF;
    IF TG_OP IN ('INSERT', 'UPDATE') THEN
        UPDATE organizations SET people = people + 1 WHERE id = NEW.organization_id;
    END IF;
    RETURN NULL;
END
$$;
CREATE TRIGGER users_counted AFTER INSERT OR DELETE OR UPDATE OF organization_id ON users
FOR EACH ROW EXECUTE FUNCTION organizations_count_people();
