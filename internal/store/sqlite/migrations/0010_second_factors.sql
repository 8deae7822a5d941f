-- Second factors (store.SecondFactors): an account's TOTP key (RFC 6238)
-- and its single-use recovery codes. last_step is the last time step a
-- code was accepted for, so a code cannot be used twice within its window.
-- confirmed_at is 0 while enrolment waits for the first code.
CREATE TABLE totp_keys (
	account_id   TEXT PRIMARY KEY REFERENCES accounts (id) ON DELETE CASCADE,
	secret       BLOB NOT NULL,
	confirmed_at INTEGER NOT NULL DEFAULT 0,
	last_step    INTEGER NOT NULL DEFAULT 0,
	created_at   INTEGER NOT NULL
) STRICT;

-- Recovery codes are stored hashed (SHA-256 of a high-entropy code).
CREATE TABLE recovery_codes (
	account_id TEXT NOT NULL REFERENCES accounts (id) ON DELETE CASCADE,
	hash       BLOB NOT NULL,
	used_at    INTEGER NOT NULL DEFAULT 0,
	PRIMARY KEY (account_id, hash)
) STRICT;
