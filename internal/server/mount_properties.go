package server

import (
	"context"
	"crypto/rand"
	"net/http"

	"github.com/gatehouse/gatehouse/internal/admin/props"
	"github.com/gatehouse/gatehouse/internal/rules"
	"github.com/gatehouse/gatehouse/internal/store"
)

// mountProperties wires account properties and access rules: the API
// under /.gatehouse/api/v1/ and the gate's props and grants claims.
func (s *Server) mountProperties(ctx context.Context, mux *http.ServeMux, d *deps) error {
	ps, ok := d.store.(store.Properties)
	if !ok {
		// Until the store backend implements properties, they live in
		// memory: usable, but lost on restart and not shared by replicas.
		d.logger.Warn("the store does not keep properties and access rules yet; they are held in memory")
		ps = rules.NewMemStore()
	}
	svc := rules.NewService(ps, d.store, d.store, s.Accounts.Roles(), d.now, rand.Reader, d.logger)
	// A change reaches the next assertion of every session on this
	// process at once; other replicas see it within CacheTTL + DataTTL.
	svc.OnChange = s.Gate.ForgetAll
	s.Gate.Enricher = svc
	(&props.Handler{
		Rules: svc,
		Auth: &props.SessionAuth{
			Sessions: s.Sessions, Identities: s.Accounts, CSRF: d.csrf, ClientIP: d.clientIP,
		},
		Logger: d.logger,
	}).Mount(mux)
	return nil
}
