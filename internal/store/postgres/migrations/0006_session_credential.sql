-- Sessions remember the passkey they signed in with (NULL for other
-- methods), so revoking it ends them, and their idle timeout (in
-- microseconds; 0: the manager's default), fixed at start.
ALTER TABLE sessions ADD COLUMN credential_id BYTEA;
ALTER TABLE sessions ADD COLUMN idle_timeout BIGINT NOT NULL DEFAULT 0;
