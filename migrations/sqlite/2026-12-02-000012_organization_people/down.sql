DROP TRIGGER users_counted_moved;
DROP TRIGGER users_counted_out;
DROP TRIGGER users_counted_in;
ALTER TABLE organizations DROP COLUMN people;
