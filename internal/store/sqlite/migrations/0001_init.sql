-- Times are unix microseconds (0: not set). STRICT makes SQLite refuse a
-- value of the wrong type instead of storing it silently.

CREATE TABLE accounts (
	id            TEXT PRIMARY KEY,
	email         TEXT NOT NULL,
	email_key     TEXT NOT NULL UNIQUE,  -- lower(trim(email)): case-insensitive uniqueness
	search_key    TEXT NOT NULL,         -- lowered email, first and last name for search
	first_name    TEXT NOT NULL,
	last_name     TEXT NOT NULL,
	language      TEXT NOT NULL,
	date_format   TEXT NOT NULL,
	kind          TEXT NOT NULL,
	sign_in       TEXT NOT NULL,
	status        TEXT NOT NULL,
	password_hash TEXT NOT NULL,
	terms_version TEXT NOT NULL,
	created_at    INTEGER NOT NULL,
	updated_at    INTEGER NOT NULL
) STRICT;
CREATE INDEX accounts_status ON accounts (status);

CREATE TABLE companies (
	id         TEXT PRIMARY KEY,
	name       TEXT NOT NULL,
	created_at INTEGER NOT NULL
) STRICT;

CREATE TABLE sites (
	id         TEXT PRIMARY KEY,
	company_id TEXT NOT NULL REFERENCES companies (id) ON DELETE CASCADE,
	name       TEXT NOT NULL,
	created_at INTEGER NOT NULL
) STRICT;
CREATE INDEX sites_company ON sites (company_id);

CREATE TABLE memberships (
	account_id TEXT NOT NULL REFERENCES accounts (id) ON DELETE CASCADE,
	company_id TEXT NOT NULL REFERENCES companies (id) ON DELETE CASCADE,
	role       TEXT NOT NULL,
	created_at INTEGER NOT NULL,
	PRIMARY KEY (account_id, company_id)
) STRICT;
CREATE INDEX memberships_company ON memberships (company_id, role);

CREATE TABLE site_access (
	account_id TEXT NOT NULL REFERENCES accounts (id) ON DELETE CASCADE,
	site_id    TEXT NOT NULL REFERENCES sites (id) ON DELETE CASCADE,
	created_at INTEGER NOT NULL,
	PRIMARY KEY (account_id, site_id)
) STRICT;
CREATE INDEX site_access_site ON site_access (site_id);

CREATE TABLE identity_links (
	provider_id TEXT NOT NULL,
	subject     TEXT NOT NULL,
	account_id  TEXT NOT NULL REFERENCES accounts (id) ON DELETE CASCADE,
	created_at  INTEGER NOT NULL,
	PRIMARY KEY (provider_id, subject)
) STRICT;
CREATE INDEX identity_links_account ON identity_links (account_id);

CREATE TABLE sessions (
	id            TEXT PRIMARY KEY,
	token_hash    BLOB NOT NULL UNIQUE,
	account_id    TEXT NOT NULL REFERENCES accounts (id) ON DELETE CASCADE,
	amr           TEXT NOT NULL,  -- JSON array of strings
	idp           TEXT NOT NULL,
	id_token_hint TEXT NOT NULL,
	user_agent    TEXT NOT NULL,
	ip            TEXT NOT NULL,
	created_at    INTEGER NOT NULL,
	last_seen_at  INTEGER NOT NULL,
	expires_at    INTEGER NOT NULL
) STRICT;
CREATE INDEX sessions_account ON sessions (account_id);
CREATE INDEX sessions_expires ON sessions (expires_at);
CREATE INDEX sessions_last_seen ON sessions (last_seen_at);

CREATE TABLE signing_keys (
	id          TEXT PRIMARY KEY,
	algorithm   TEXT NOT NULL,
	private_key BLOB NOT NULL,
	created_at  INTEGER NOT NULL,
	sign_from   INTEGER NOT NULL,
	retire_at   INTEGER NOT NULL
) STRICT;

CREATE TABLE tokens (
	hash       BLOB PRIMARY KEY,
	kind       TEXT NOT NULL,
	account_id TEXT REFERENCES accounts (id) ON DELETE CASCADE,
	data       BLOB,
	created_at INTEGER NOT NULL,
	expires_at INTEGER NOT NULL,
	used_at    INTEGER NOT NULL
) STRICT;
CREATE INDEX tokens_account ON tokens (account_id, kind);
CREATE INDEX tokens_expires ON tokens (expires_at);

CREATE TABLE throttle (
	bucket     TEXT PRIMARY KEY,
	hits       INTEGER NOT NULL,
	window_end INTEGER NOT NULL
) STRICT;

-- AUTOINCREMENT: ids are never reused, so BeforeID paging stays stable.
CREATE TABLE audit (
	id          INTEGER PRIMARY KEY AUTOINCREMENT,
	occurred_at INTEGER NOT NULL,
	actor       TEXT NOT NULL,
	action      TEXT NOT NULL,
	target      TEXT NOT NULL,
	ip          TEXT NOT NULL,
	outcome     TEXT NOT NULL,
	category    TEXT NOT NULL,
	details     TEXT  -- JSON object, NULL when none
) STRICT;
CREATE INDEX audit_actor ON audit (actor);
CREATE INDEX audit_target ON audit (target);
CREATE INDEX audit_occurred ON audit (occurred_at);

CREATE TABLE secrets (
	name       TEXT PRIMARY KEY,
	value      BLOB NOT NULL,
	created_at INTEGER NOT NULL
) STRICT;
