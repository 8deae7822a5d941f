-- API tokens (store.APITokens): only the hash of the secret is kept. A
-- token dies with the admin it acts as.
CREATE TABLE api_tokens (
	id           TEXT COLLATE "C" PRIMARY KEY,
	hash         BYTEA NOT NULL UNIQUE,
	name         TEXT COLLATE "C" NOT NULL,
	account_id   TEXT COLLATE "C" NOT NULL REFERENCES accounts (id) ON DELETE CASCADE,
	created_at   BIGINT NOT NULL,
	expires_at   BIGINT NOT NULL,  -- 0: never
	last_used_at BIGINT NOT NULL,
	revoked_at   BIGINT NOT NULL   -- 0: live
);
CREATE INDEX api_tokens_account ON api_tokens (account_id);
