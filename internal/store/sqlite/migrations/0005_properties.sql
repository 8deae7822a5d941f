-- Account properties and access rules (store.Properties).

CREATE TABLE property_defs (
	company_id TEXT NOT NULL REFERENCES companies (id) ON DELETE CASCADE,
	prop_key   TEXT NOT NULL,
	labels     TEXT NOT NULL,  -- JSON object: language -> label
	type       TEXT NOT NULL,
	choices    TEXT NOT NULL,  -- JSON array of strings
	created_at INTEGER NOT NULL,
	updated_at INTEGER NOT NULL,
	PRIMARY KEY (company_id, prop_key)
) STRICT;

-- One row per value, so "who holds this value" (relations in reverse) is
-- an index lookup. pos keeps the order the values were set in. Values go
-- with their definition and with their account.
CREATE TABLE property_values (
	account_id TEXT NOT NULL REFERENCES accounts (id) ON DELETE CASCADE,
	company_id TEXT NOT NULL,
	prop_key   TEXT NOT NULL,
	pos        INTEGER NOT NULL,
	val        TEXT NOT NULL,
	updated_at INTEGER NOT NULL,
	PRIMARY KEY (account_id, company_id, prop_key, pos),
	FOREIGN KEY (company_id, prop_key) REFERENCES property_defs (company_id, prop_key) ON DELETE CASCADE
) STRICT;
CREATE INDEX property_values_lookup ON property_values (company_id, prop_key, val);

CREATE TABLE access_rules (
	id         TEXT PRIMARY KEY,
	company_id TEXT NOT NULL REFERENCES companies (id) ON DELETE CASCADE,
	name       TEXT NOT NULL,
	pos        INTEGER NOT NULL,
	enabled    INTEGER NOT NULL CHECK (enabled IN (0, 1)),
	condition  BLOB NOT NULL,  -- JSON, kept byte for byte
	capability TEXT NOT NULL,
	tag        TEXT NOT NULL,
	created_at INTEGER NOT NULL,
	updated_at INTEGER NOT NULL
) STRICT;
CREATE INDEX access_rules_company ON access_rules (company_id, pos);
