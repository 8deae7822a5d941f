-- The companies each audit event concerns: an admin reads only the events
-- of companies they administer. An event with no row here concerns no
-- company (an unknown address at sign-in, a provider's malformed request).
-- Rows go with their event, so purging old events purges these too.
CREATE TABLE audit_companies (
	audit_id   INTEGER NOT NULL REFERENCES audit (id) ON DELETE CASCADE,
	company_id TEXT NOT NULL,
	PRIMARY KEY (audit_id, company_id)
) STRICT;
CREATE INDEX audit_companies_company ON audit_companies (company_id, audit_id);
