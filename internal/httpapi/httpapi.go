// Package httpapi is the JSON side of every gateway endpoint: the one error
// type with its status and public message, the contract's error shape, and
// the one strict body decoder. Both the sign-in features and the admin
// surfaces use it, so none of them has to import another for it.
package httpapi

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"strings"

	"github.com/gatehouse/gatehouse/internal/jsonerr"
)

// Error is a failure with its status and public message: what an endpoint
// returns for an answer the generic mapping does not know.
type Error struct {
	Status  int
	Code    string
	Message string
	Fields  map[string]string
}

func (e *Error) Error() string { return e.Message }

// BodyError is an error that carries its own JSON body, for answers that
// need more than the error shape (the rules that keep a property in use).
type BodyError interface {
	error
	StatusCode() int
	Body() any
}

// ErrorBody is the JSON error shape of the contract.
type ErrorBody struct {
	Error ErrorDetail `json:"error"`
}

// ErrorDetail is a stable code, a human message and, for validation
// errors, the message of each bad field.
type ErrorDetail struct {
	Code    string            `json:"code"`
	Message string            `json:"message"`
	Fields  map[string]string `json:"fields,omitempty"`
}

// WriteJSON writes v as JSON with status.
func WriteJSON(w http.ResponseWriter, status int, v any) {
	data, err := json.Marshal(v)
	if err != nil {
		http.Error(w, `{"error":{"code":"internal","message":"internal error"}}`, http.StatusInternalServerError)
		return
	}
	h := w.Header()
	h.Set("Content-Type", "application/json")
	h.Set("Cache-Control", "no-store")
	h.Set("X-Content-Type-Options", "nosniff")
	w.WriteHeader(status)
	_, _ = w.Write(append(data, '\n'))
}

// WriteError writes the contract's JSON error.
func WriteError(w http.ResponseWriter, status int, code, message string) {
	WriteJSON(w, status, ErrorBody{Error: ErrorDetail{Code: code, Message: message}})
}

// Write writes e in the contract's shape.
func (e *Error) Write(w http.ResponseWriter) {
	WriteJSON(w, e.Status, ErrorBody{Error: ErrorDetail{Code: e.Code, Message: e.Message, Fields: e.Fields}})
}

// WantsHTML reports whether the client is a browser navigation: one whose
// Accept header names text/html.
func WantsHTML(r *http.Request) bool {
	return strings.Contains(r.Header.Get("Accept"), "text/html")
}

// BadRequest is a 400 with a public message.
func BadRequest(format string, args ...any) *Error {
	return &Error{Status: http.StatusBadRequest, Code: "bad_request", Message: fmt.Sprintf(format, args...)}
}

// DefaultMaxBody bounds a JSON body when the caller names no limit.
const DefaultMaxBody = 1 << 20

// Decode reads exactly one JSON value into v, strictly: a Content-Type
// other than application/json is 415, a body over limit bytes is 413, and
// malformed JSON, an unknown field or trailing data is 400. An empty body
// is 400 too; DecodeOptional lets it stand for {}.
func Decode(w http.ResponseWriter, r *http.Request, v any, limit int64) error {
	return decode(w, r, v, limit, false)
}

// DecodeOptional is Decode for calls whose body may be left out.
func DecodeOptional(w http.ResponseWriter, r *http.Request, v any, limit int64) error {
	return decode(w, r, v, limit, true)
}

// DecodeEmpty accepts nothing but an empty body or {}.
func DecodeEmpty(w http.ResponseWriter, r *http.Request) error {
	var v struct{}
	return decode(w, r, &v, DefaultMaxBody, true)
}

func decode(w http.ResponseWriter, r *http.Request, v any, limit int64, allowEmpty bool) error {
	if limit <= 0 {
		limit = DefaultMaxBody
	}
	body, err := io.ReadAll(http.MaxBytesReader(w, r.Body, limit))
	var tooBig *http.MaxBytesError
	if errors.As(err, &tooBig) {
		return &Error{Status: http.StatusRequestEntityTooLarge, Code: "too_large", Message: fmt.Sprintf("the body must be at most %d bytes", limit)}
	}
	if err != nil {
		return BadRequest("could not read the body")
	}
	if len(bytes.TrimSpace(body)) == 0 {
		if allowEmpty {
			return nil
		}
		return BadRequest("a JSON body is required")
	}
	if ct := r.Header.Get("Content-Type"); ct != "" && !strings.HasPrefix(strings.ToLower(ct), "application/json") {
		return &Error{Status: http.StatusUnsupportedMediaType, Code: "unsupported_media_type", Message: "send application/json"}
	}
	dec := json.NewDecoder(bytes.NewReader(body))
	dec.DisallowUnknownFields()
	if err := dec.Decode(v); err != nil {
		return BadRequest("invalid JSON body: %s", jsonerr.Describe(err))
	}
	if _, err := dec.Token(); !errors.Is(err, io.EOF) {
		return BadRequest("the body must hold exactly one JSON value")
	}
	return nil
}
