-- OpenID Connect back-channel logout. SSO sessions remember what their
-- provider (idp) knows them by: the ID token's sid ('' when it sent none)
-- and the identity link's subject, so a logout token can name them.
ALTER TABLE sessions ADD COLUMN provider_sid TEXT COLLATE "C" NOT NULL DEFAULT '';
ALTER TABLE sessions ADD COLUMN provider_subject TEXT COLLATE "C" NOT NULL DEFAULT '';
CREATE INDEX sessions_provider_sid ON sessions (idp, provider_sid);
CREATE INDEX sessions_provider_subject ON sessions (idp, provider_subject);

-- Logout tokens already used (their jti), kept until they would be
-- refused as expired anyway; Purge removes them after that.
CREATE TABLE logout_tokens (
	provider_id TEXT COLLATE "C" NOT NULL,
	jti         TEXT COLLATE "C" NOT NULL,
	expires_at  BIGINT NOT NULL,
	PRIMARY KEY (provider_id, jti)
);
CREATE INDEX logout_tokens_expires ON logout_tokens (expires_at);
