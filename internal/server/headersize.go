package server

import (
	"net/http"

	"github.com/gatehouse/gatehouse/internal/config"
)

// requestLineRoom is what the listener's own limit (http.Server's
// MaxHeaderBytes, which also counts the request line and adds 4 KiB of
// slack of its own) allows beyond the header limit: the request line. The
// exact limit is limitHeaderBytes's, on the header fields alone, so a long
// URL does not eat into the headers' allowance.
const requestLineRoom = 16 << 10

// limitHeaderBytes answers 431 to a request whose header fields take more
// than max bytes, counted as they are framed on the wire: name, ": ",
// value and CRLF for each field, Host included; the request line and the
// empty line that ends the headers are not counted. net/http's own limit
// is approximate (it adds 4 KiB and counts the request line), so this
// check makes "exactly max bytes pass, one more is 431" hold.
func limitHeaderBytes(max int, next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if headerBytes(r) > max {
			w.Header().Set("Connection", "close")
			http.Error(w, http.StatusText(http.StatusRequestHeaderFieldsTooLarge), http.StatusRequestHeaderFieldsTooLarge)
			return
		}
		next.ServeHTTP(w, r)
	})
}

// fieldFraming is ": " and CRLF around each header field's name and value.
const fieldFraming = 4

func headerBytes(r *http.Request) int {
	n := 0
	if r.Host != "" {
		n = len("Host") + fieldFraming + len(r.Host)
	}
	for name, values := range r.Header {
		for _, v := range values {
			n += len(name) + fieldFraming + len(v)
		}
	}
	return n
}

// maxHeaderBytes is the configured header limit, 64 KiB when unset.
func maxHeaderBytes(l config.Limits) int {
	if l.MaxHeaderBytes <= 0 {
		return 64 << 10
	}
	return l.MaxHeaderBytes
}
