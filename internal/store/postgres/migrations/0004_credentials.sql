-- Passkeys (store.Credentials). The id is the authenticator's credential
-- id, raw bytes.
CREATE TABLE credentials (
	id               BYTEA PRIMARY KEY,
	account_id       TEXT COLLATE "C" NOT NULL REFERENCES accounts (id) ON DELETE CASCADE,
	name             TEXT COLLATE "C" NOT NULL,
	public_key       BYTEA NOT NULL,  -- COSE key
	attestation_type TEXT COLLATE "C" NOT NULL,
	aaguid           BYTEA NOT NULL,
	sign_count       BIGINT NOT NULL,
	transports       TEXT COLLATE "C" NOT NULL,  -- JSON array of strings
	backup_eligible  BOOLEAN NOT NULL,
	backup_state     BOOLEAN NOT NULL,
	workstation      BOOLEAN NOT NULL,
	created_at       BIGINT NOT NULL,
	last_used_at     BIGINT NOT NULL
);
CREATE INDEX credentials_account ON credentials (account_id);
