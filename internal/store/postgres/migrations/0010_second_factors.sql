-- Second factors (store.SecondFactors): an account's TOTP key (RFC 6238)
-- and its single-use recovery codes. last_step is the last time step a
-- code was accepted for, so a code cannot be used twice within its window.
-- confirmed_at is 0 while enrolment waits for the first code.
CREATE TABLE totp_keys (
	account_id   TEXT COLLATE "C" PRIMARY KEY REFERENCES accounts (id) ON DELETE CASCADE,
	secret       BYTEA NOT NULL,
	confirmed_at BIGINT NOT NULL DEFAULT 0,
	last_step    BIGINT NOT NULL DEFAULT 0,
	created_at   BIGINT NOT NULL
);

-- Recovery codes are stored hashed (SHA-256 of a high-entropy code).
CREATE TABLE recovery_codes (
	account_id TEXT COLLATE "C" NOT NULL REFERENCES accounts (id) ON DELETE CASCADE,
	hash       BYTEA NOT NULL,
	used_at    BIGINT NOT NULL DEFAULT 0,
	PRIMARY KEY (account_id, hash)
);
