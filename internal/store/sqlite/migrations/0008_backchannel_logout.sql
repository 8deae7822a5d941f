-- OpenID Connect back-channel logout. SSO sessions remember what their
-- provider (idp) knows them by: the ID token's sid ('' when it sent none)
-- and the identity link's subject, so a logout token can name them.
ALTER TABLE sessions ADD COLUMN provider_sid TEXT NOT NULL DEFAULT '';
ALTER TABLE sessions ADD COLUMN provider_subject TEXT NOT NULL DEFAULT '';
CREATE INDEX sessions_provider_sid ON sessions (idp, provider_sid);
CREATE INDEX sessions_provider_subject ON sessions (idp, provider_subject);

-- Logout tokens already used (their jti), kept until they would be
-- refused as expired anyway; Purge removes them after that.
CREATE TABLE logout_tokens (
	provider_id TEXT NOT NULL,
	jti         TEXT NOT NULL,
	expires_at  INTEGER NOT NULL,
	PRIMARY KEY (provider_id, jti)
) STRICT;
CREATE INDEX logout_tokens_expires ON logout_tokens (expires_at);
