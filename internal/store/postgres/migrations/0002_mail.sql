-- Outgoing mail queue (store.MailQueue). No foreign key to accounts: mail
-- already queued for an account that is then deleted is still sent or
-- reported, and the row is history.
CREATE TABLE mail_outbox (
	id           BIGINT GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
	to_addr      TEXT COLLATE "C" NOT NULL,
	to_key       TEXT COLLATE "C" NOT NULL,  -- lower(trim(to_addr)) for per-address limits
	subject      TEXT COLLATE "C" NOT NULL,
	text_body    TEXT COLLATE "C" NOT NULL,
	html_body    TEXT COLLATE "C" NOT NULL,
	kind         TEXT COLLATE "C" NOT NULL,
	account_id   TEXT COLLATE "C" NOT NULL,
	status       TEXT COLLATE "C" NOT NULL,
	attempts     BIGINT NOT NULL,
	last_error   TEXT COLLATE "C" NOT NULL,
	next_attempt BIGINT NOT NULL,
	lease_until  BIGINT NOT NULL,
	created_at   BIGINT NOT NULL,
	sent_at      BIGINT NOT NULL
);
CREATE INDEX mail_outbox_due ON mail_outbox (status, next_attempt);
CREATE INDEX mail_outbox_recent ON mail_outbox (to_key, kind, created_at);
