-- The client networks a shared-computer account may sign in from
-- (store.Workstations), one row per CIDR in the order they were set.
CREATE TABLE allowed_networks (
	account_id TEXT NOT NULL REFERENCES accounts (id) ON DELETE CASCADE,
	position   INTEGER NOT NULL,
	cidr       TEXT NOT NULL,
	PRIMARY KEY (account_id, position)
) STRICT;
