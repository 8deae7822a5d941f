-- The IANA time zone an account reads times in. Empty until the account
-- page learns the browser's zone or the user picks one; pages show UTC then.
ALTER TABLE accounts ADD COLUMN time_zone TEXT NOT NULL DEFAULT '';
