DROP TRIGGER users_counted ON users;
DROP FUNCTION organizations_count_people();
ALTER TABLE organizations DROP COLUMN people;
