-- Times are unix microseconds (0: not set). Text uses the "C" collation so it
-- sorts byte-wise, exactly as on SQLite, whatever the database locale.

CREATE TABLE accounts (
	id            TEXT COLLATE "C" PRIMARY KEY,
	email         TEXT COLLATE "C" NOT NULL,
	email_key     TEXT COLLATE "C" NOT NULL UNIQUE,  -- lower(trim(email)): case-insensitive uniqueness
	search_key    TEXT COLLATE "C" NOT NULL,         -- lowered email, first and last name for search
	first_name    TEXT COLLATE "C" NOT NULL,
	last_name     TEXT COLLATE "C" NOT NULL,
	language      TEXT COLLATE "C" NOT NULL,
	date_format   TEXT COLLATE "C" NOT NULL,
	kind          TEXT COLLATE "C" NOT NULL,
	sign_in       TEXT COLLATE "C" NOT NULL,
	status        TEXT COLLATE "C" NOT NULL,
	password_hash TEXT COLLATE "C" NOT NULL,
	terms_version TEXT COLLATE "C" NOT NULL,
	created_at    BIGINT NOT NULL,
	updated_at    BIGINT NOT NULL
);
CREATE INDEX accounts_status ON accounts (status);

CREATE TABLE companies (
	id         TEXT COLLATE "C" PRIMARY KEY,
	name       TEXT COLLATE "C" NOT NULL,
	created_at BIGINT NOT NULL
);

CREATE TABLE sites (
	id         TEXT COLLATE "C" PRIMARY KEY,
	company_id TEXT COLLATE "C" NOT NULL REFERENCES companies (id) ON DELETE CASCADE,
	name       TEXT COLLATE "C" NOT NULL,
	created_at BIGINT NOT NULL
);
CREATE INDEX sites_company ON sites (company_id);

CREATE TABLE memberships (
	account_id TEXT COLLATE "C" NOT NULL REFERENCES accounts (id) ON DELETE CASCADE,
	company_id TEXT COLLATE "C" NOT NULL REFERENCES companies (id) ON DELETE CASCADE,
	role       TEXT COLLATE "C" NOT NULL,
	created_at BIGINT NOT NULL,
	PRIMARY KEY (account_id, company_id)
);
CREATE INDEX memberships_company ON memberships (company_id, role);

CREATE TABLE site_access (
	account_id TEXT COLLATE "C" NOT NULL REFERENCES accounts (id) ON DELETE CASCADE,
	site_id    TEXT COLLATE "C" NOT NULL REFERENCES sites (id) ON DELETE CASCADE,
	created_at BIGINT NOT NULL,
	PRIMARY KEY (account_id, site_id)
);
CREATE INDEX site_access_site ON site_access (site_id);

CREATE TABLE identity_links (
	provider_id TEXT COLLATE "C" NOT NULL,
	subject     TEXT COLLATE "C" NOT NULL,
	account_id  TEXT COLLATE "C" NOT NULL REFERENCES accounts (id) ON DELETE CASCADE,
	created_at  BIGINT NOT NULL,
	PRIMARY KEY (provider_id, subject)
);
CREATE INDEX identity_links_account ON identity_links (account_id);

CREATE TABLE sessions (
	id            TEXT COLLATE "C" PRIMARY KEY,
	token_hash    BYTEA NOT NULL UNIQUE,
	account_id    TEXT COLLATE "C" NOT NULL REFERENCES accounts (id) ON DELETE CASCADE,
	amr           TEXT COLLATE "C" NOT NULL,  -- JSON array of strings
	idp           TEXT COLLATE "C" NOT NULL,
	id_token_hint TEXT COLLATE "C" NOT NULL,
	user_agent    TEXT COLLATE "C" NOT NULL,
	ip            TEXT COLLATE "C" NOT NULL,
	created_at    BIGINT NOT NULL,
	last_seen_at  BIGINT NOT NULL,
	expires_at    BIGINT NOT NULL
);
CREATE INDEX sessions_account ON sessions (account_id);
CREATE INDEX sessions_expires ON sessions (expires_at);
CREATE INDEX sessions_last_seen ON sessions (last_seen_at);

CREATE TABLE signing_keys (
	id          TEXT COLLATE "C" PRIMARY KEY,
	algorithm   TEXT COLLATE "C" NOT NULL,
	private_key BYTEA NOT NULL,
	created_at  BIGINT NOT NULL,
	sign_from   BIGINT NOT NULL,
	retire_at   BIGINT NOT NULL
);

CREATE TABLE tokens (
	hash       BYTEA PRIMARY KEY,
	kind       TEXT COLLATE "C" NOT NULL,
	account_id TEXT COLLATE "C" REFERENCES accounts (id) ON DELETE CASCADE,
	data       BYTEA,
	created_at BIGINT NOT NULL,
	expires_at BIGINT NOT NULL,
	used_at    BIGINT NOT NULL
);
CREATE INDEX tokens_account ON tokens (account_id, kind);
CREATE INDEX tokens_expires ON tokens (expires_at);

CREATE TABLE throttle (
	bucket     TEXT COLLATE "C" PRIMARY KEY,
	hits       BIGINT NOT NULL,
	window_end BIGINT NOT NULL
);

-- Identity ids only grow, so BeforeID paging stays stable.
CREATE TABLE audit (
	id          BIGINT GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
	occurred_at BIGINT NOT NULL,
	actor       TEXT COLLATE "C" NOT NULL,
	action      TEXT COLLATE "C" NOT NULL,
	target      TEXT COLLATE "C" NOT NULL,
	ip          TEXT COLLATE "C" NOT NULL,
	outcome     TEXT COLLATE "C" NOT NULL,
	category    TEXT COLLATE "C" NOT NULL,
	details     TEXT COLLATE "C"  -- JSON object, NULL when none
);
CREATE INDEX audit_actor ON audit (actor);
CREATE INDEX audit_target ON audit (target);
CREATE INDEX audit_occurred ON audit (occurred_at);

CREATE TABLE secrets (
	name       TEXT COLLATE "C" PRIMARY KEY,
	value      BYTEA NOT NULL,
	created_at BIGINT NOT NULL
);
