package server

import (
	"context"
	"net/http"
)

// mountReset wires the reset feature. (Not built yet.)
func (s *Server) mountReset(ctx context.Context, mux *http.ServeMux, d *deps) error {
	return nil
}
