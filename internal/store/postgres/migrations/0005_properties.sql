-- Account properties and access rules (store.Properties).

CREATE TABLE property_defs (
	company_id TEXT COLLATE "C" NOT NULL REFERENCES companies (id) ON DELETE CASCADE,
	prop_key   TEXT COLLATE "C" NOT NULL,
	labels     TEXT COLLATE "C" NOT NULL,  -- JSON object: language -> label
	type       TEXT COLLATE "C" NOT NULL,
	choices    TEXT COLLATE "C" NOT NULL,  -- JSON array of strings
	created_at BIGINT NOT NULL,
	updated_at BIGINT NOT NULL,
	PRIMARY KEY (company_id, prop_key)
);

-- One row per value, so "who holds this value" (relations in reverse) is
-- an index lookup. pos keeps the order the values were set in. Values go
-- with their definition and with their account.
CREATE TABLE property_values (
	account_id TEXT COLLATE "C" NOT NULL REFERENCES accounts (id) ON DELETE CASCADE,
	company_id TEXT COLLATE "C" NOT NULL,
	prop_key   TEXT COLLATE "C" NOT NULL,
	pos        BIGINT NOT NULL,
	val        TEXT COLLATE "C" NOT NULL,
	updated_at BIGINT NOT NULL,
	PRIMARY KEY (account_id, company_id, prop_key, pos),
	FOREIGN KEY (company_id, prop_key) REFERENCES property_defs (company_id, prop_key) ON DELETE CASCADE
);
CREATE INDEX property_values_lookup ON property_values (company_id, prop_key, val);

CREATE TABLE access_rules (
	id         TEXT COLLATE "C" PRIMARY KEY,
	company_id TEXT COLLATE "C" NOT NULL REFERENCES companies (id) ON DELETE CASCADE,
	name       TEXT COLLATE "C" NOT NULL,
	pos        BIGINT NOT NULL,
	enabled    BOOLEAN NOT NULL,
	condition  BYTEA NOT NULL,  -- JSON, kept byte for byte
	capability TEXT COLLATE "C" NOT NULL,
	tag        TEXT COLLATE "C" NOT NULL,
	created_at BIGINT NOT NULL,
	updated_at BIGINT NOT NULL
);
CREATE INDEX access_rules_company ON access_rules (company_id, pos);
