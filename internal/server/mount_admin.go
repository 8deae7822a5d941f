package server

import (
	"context"
	"net/http"
)

// mountAdmin wires the admin feature. (Not built yet.)
func (s *Server) mountAdmin(ctx context.Context, mux *http.ServeMux, d *deps) error {
	return nil
}
