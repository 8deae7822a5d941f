package server

import (
	"context"
	"crypto/rand"
	"net/http"

	"github.com/gatehouse/gatehouse/internal/admin/props"
	"github.com/gatehouse/gatehouse/internal/rules"
)

// mountProperties wires account properties and access rules: the API
// under /.gatehouse/api/v1/ and the gate's props and grants claims.
func (s *Server) mountProperties(ctx context.Context, mux *http.ServeMux, d *deps) error {
	svc := s.rulesService(d)
	(&props.Handler{Rules: svc, Guard: s.adminGuard(d), Logger: d.logger}).Mount(mux)
	return nil
}

// rulesService is the process's one properties and access-rules service,
// built by whichever mount asks first (the admin API sets values too) and
// kept as the gate's Enricher. One, because its evaluation cache is only
// dropped by changes made through it: a change reaches the next assertion
// of every session on this process at once, and other replicas within
// CacheTTL + DataTTL.
func (s *Server) rulesService(d *deps) *rules.Service {
	if svc, ok := s.Gate.Enricher.(*rules.Service); ok {
		return svc
	}
	svc := rules.NewService(d.store, d.store, d.store, s.Accounts.Roles(), d.now, rand.Reader, d.logger)
	svc.OnChange = s.Gate.ForgetAll
	s.Gate.Enricher = svc
	return svc
}
