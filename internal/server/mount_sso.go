package server

import (
	"context"
	"net/http"
)

// mountSSO wires the sso feature. (Not built yet.)
func (s *Server) mountSSO(ctx context.Context, mux *http.ServeMux, d *deps) error {
	return nil
}
