package server

import (
	"crypto/rand"
	"fmt"

	"github.com/gatehouse/gatehouse/internal/config"

	"github.com/gatehouse/gatehouse/internal/auth/passkey"
)

// newPasskeys builds passkey sign-in, workstation enrolment and the
// credential operations of the admin service and the account page.
func (s *Server) newPasskeys(d *deps) (*passkey.Handler, error) {
	attestation, err := workstationAttestation(d.cfg.Passkeys.WorkstationAttestation)
	if err != nil {
		return nil, err
	}
	return passkey.New(passkey.Deps{
		PublicURL: d.publicURL, WorkstationAttestation: attestation,
		Store: d.store, Credentials: d.store, Networks: passkey.StoreNetworks{Store: d.store}, Sessions: s.Sessions,
		Renderer: d.renderer, CSRF: d.csrf, ClientIP: d.clientIP, Redirect: d.redirect,
		Now: d.now, Rand: rand.Reader, Logger: d.logger,
	})
}

// workstationAttestation is the allow-list of authenticator models for
// workstation enrolment; nil when the setting is off.
func workstationAttestation(w config.WorkstationAttestation) (*passkey.AttestationPolicy, error) {
	if !w.Enabled() {
		return nil, nil
	}
	roots, problems := w.LoadRoots()
	if len(problems) > 0 {
		return nil, fmt.Errorf("%s: %s", problems[0].Path, problems[0].Message)
	}
	p := &passkey.AttestationPolicy{Roots: roots}
	for i, a := range w.AAGUIDs {
		id, err := passkey.ParseAAGUID(a)
		if err != nil {
			return nil, fmt.Errorf("passkeys.workstation_attestation.aaguids[%d]: %w", i, err)
		}
		p.AAGUIDs = append(p.AAGUIDs, id)
	}
	return p, nil
}

// providerName is the display name of a configured identity provider, ""
// for one that is not configured (any more).
func (s *Server) providerName(id string) string {
	for _, p := range s.providers {
		if p.ID() == id {
			return p.DisplayName()
		}
	}
	return ""
}
