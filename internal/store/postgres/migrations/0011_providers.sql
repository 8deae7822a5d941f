-- Identity providers created from the admin panel or the API (those of
-- the configuration file are never stored). config is the settings as
-- JSON without the client secret; secret is the client secret sealed
-- with AES-256-GCM under secrets.key (its key id inside), never plain.
CREATE TABLE providers (
	id         TEXT COLLATE "C" PRIMARY KEY,
	config     TEXT NOT NULL,
	secret     TEXT NOT NULL DEFAULT '',
	enabled    BOOLEAN NOT NULL,
	created_at BIGINT NOT NULL,
	updated_at BIGINT NOT NULL
);
