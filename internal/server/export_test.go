package server

import "context"

// Maintain runs the periodic store maintenance once, so tests need not
// wait for its ticker.
func (s *Server) Maintain(ctx context.Context) { s.maintain(ctx) }
