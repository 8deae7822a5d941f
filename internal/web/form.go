package web

import (
	"errors"
	"net/http"
)

// ParseForm reads a gateway form with a size limit. It answers 413 when the
// body is over limit and 400 when it cannot be parsed, and then returns false.
func ParseForm(w http.ResponseWriter, r *http.Request, limit int64, rn *Renderer) bool {
	if limit <= 0 {
		limit = 64 << 10
	}
	r.Body = http.MaxBytesReader(w, r.Body, limit)
	if err := r.ParseForm(); err != nil {
		var tooBig *http.MaxBytesError
		if errors.As(err, &tooBig) {
			rn.Fail(w, r, ProblemTooLarge)
		} else {
			rn.Fail(w, r, ProblemBadRequest)
		}
		return false
	}
	return true
}

// ParseCSRFForm is the prologue of every state-changing gateway form: it
// reads the form as ParseForm does, then refuses it with 403 unless it
// carries this browser's CSRF token. On false the answer has been written.
func ParseCSRFForm(w http.ResponseWriter, r *http.Request, limit int64, rn *Renderer, csrf *CSRF) bool {
	if !ParseForm(w, r, limit, rn) {
		return false
	}
	if !csrf.Check(r) {
		rn.Fail(w, r, ProblemCSRF)
		return false
	}
	return true
}
