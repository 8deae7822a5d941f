-- API tokens (store.APITokens): only the hash of the secret is kept. A
-- token dies with the admin it acts as.
CREATE TABLE api_tokens (
	id           TEXT PRIMARY KEY,
	hash         BLOB NOT NULL UNIQUE,
	name         TEXT NOT NULL,
	account_id   TEXT NOT NULL REFERENCES accounts (id) ON DELETE CASCADE,
	created_at   INTEGER NOT NULL,
	expires_at   INTEGER NOT NULL,  -- 0: never
	last_used_at INTEGER NOT NULL,
	revoked_at   INTEGER NOT NULL   -- 0: live
) STRICT;
CREATE INDEX api_tokens_account ON api_tokens (account_id);
