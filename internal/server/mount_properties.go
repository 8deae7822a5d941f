package server

import (
	"context"
	"net/http"
)

// mountProperties wires the properties feature. (Not built yet.)
func (s *Server) mountProperties(ctx context.Context, mux *http.ServeMux, d *deps) error {
	return nil
}
