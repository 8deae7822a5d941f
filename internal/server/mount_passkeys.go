package server

import (
	"context"
	"net/http"
)

// mountPasskeys wires the passkeys feature. (Not built yet.)
func (s *Server) mountPasskeys(ctx context.Context, mux *http.ServeMux, d *deps) error {
	return nil
}
