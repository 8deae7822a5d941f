-- Outgoing mail queue (store.MailQueue). No foreign key to accounts: mail
-- already queued for an account that is then deleted is still sent or
-- reported, and the row is history.
CREATE TABLE mail_outbox (
	id           INTEGER PRIMARY KEY AUTOINCREMENT,
	to_addr      TEXT NOT NULL,
	to_key       TEXT NOT NULL,  -- lower(trim(to_addr)) for per-address limits
	subject      TEXT NOT NULL,
	text_body    TEXT NOT NULL,
	html_body    TEXT NOT NULL,
	kind         TEXT NOT NULL,
	account_id   TEXT NOT NULL,
	status       TEXT NOT NULL,
	attempts     INTEGER NOT NULL,
	last_error   TEXT NOT NULL,
	next_attempt INTEGER NOT NULL,
	lease_until  INTEGER NOT NULL,
	created_at   INTEGER NOT NULL,
	sent_at      INTEGER NOT NULL
) STRICT;
CREATE INDEX mail_outbox_due ON mail_outbox (status, next_attempt);
CREATE INDEX mail_outbox_recent ON mail_outbox (to_key, kind, created_at);
