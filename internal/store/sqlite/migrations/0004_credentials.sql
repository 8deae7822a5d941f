-- Passkeys (store.Credentials). The id is the authenticator's credential
-- id, raw bytes. Booleans are 0 or 1.
CREATE TABLE credentials (
	id               BLOB PRIMARY KEY,
	account_id       TEXT NOT NULL REFERENCES accounts (id) ON DELETE CASCADE,
	name             TEXT NOT NULL,
	public_key       BLOB NOT NULL,  -- COSE key
	attestation_type TEXT NOT NULL,
	aaguid           BLOB NOT NULL,
	sign_count       INTEGER NOT NULL,
	transports       TEXT NOT NULL,  -- JSON array of strings
	backup_eligible  INTEGER NOT NULL CHECK (backup_eligible IN (0, 1)),
	backup_state     INTEGER NOT NULL CHECK (backup_state IN (0, 1)),
	workstation      INTEGER NOT NULL CHECK (workstation IN (0, 1)),
	created_at       INTEGER NOT NULL,
	last_used_at     INTEGER NOT NULL
) STRICT;
CREATE INDEX credentials_account ON credentials (account_id);
