package server

import (
	"net/http"
	"time"

	"github.com/gatehouse/gatehouse/internal/auth/reset"
	"github.com/gatehouse/gatehouse/internal/bodyrate"
	"github.com/gatehouse/gatehouse/internal/clientip"
	"github.com/gatehouse/gatehouse/internal/config"
	"github.com/gatehouse/gatehouse/internal/metrics"
	"github.com/gatehouse/gatehouse/internal/ratelimit"
	"github.com/gatehouse/gatehouse/internal/web"
)

// unauthenticated lists the gateway's endpoints that anyone may call
// without a session and that read or write the store: sign-in by password,
// SSO and passkey, the forgotten-password and reset forms, workstation
// enrolment and back-channel logout. Each is limited per client address
// before its handler runs. A new such endpoint belongs here.
var unauthenticated = []struct{ pattern, endpoint string }{
	{"POST /.gatehouse/login", "login"},
	{"GET /.gatehouse/sso/{provider}/start", "sso_start"},
	{"GET /.gatehouse/sso/{provider}/callback", "sso_callback"},
	{"POST /.gatehouse/sso/{provider}/backchannel-logout", "backchannel_logout"},
	{"POST /.gatehouse/passkey/login/begin", "passkey_login"},
	{"POST /.gatehouse/passkey/login/finish", "passkey_login"},
	{"POST " + reset.ForgotPath, "password_forgot"},
	{"GET " + reset.ResetPath, "password_reset"},
	{"POST " + reset.ResetPath, "password_reset"},
	{"GET /.gatehouse/enrol", "enrol"},
	{"POST /.gatehouse/enrol/begin", "enrol"},
	{"POST /.gatehouse/enrol/finish", "enrol"},
}

// limitUnauthenticated puts the per-address limit in front of the
// unauthenticated endpoints of own. It counts in memory (internal/ratelimit)
// and not in the store like the sign-in throttle, because a limit meant to
// keep a flood off the store cannot itself write a row per request; the
// price is that each replica counts on its own. A refusal is counted in
// the metrics, never audited.
func limitUnauthenticated(own http.Handler, lim config.Limits, ips *clientip.Resolver, rn *web.Renderer, m *metrics.Metrics, now func() time.Time) http.Handler {
	l := ratelimit.New(lim.UnauthPerMinute, lim.UnauthBurst, now)
	mux := http.NewServeMux()
	for _, u := range unauthenticated {
		mux.Handle(u.pattern, l.Handler(own, ips.ClientIP, func(w http.ResponseWriter, r *http.Request) {
			m.Refused(u.endpoint, "rate_limited")
			rn.Fail(w, r, web.ProblemTooMany)
		}))
	}
	mux.Handle("/", own)
	return mux
}

// readDeadline gives a body sent to the gateway's own pages and API the
// time d to arrive in full: a client trickling a form is cut. Requests
// without a body are left alone (there is nothing to read, and the
// server's idle watch would take a deadline as the client leaving).
// Deadlines are on the real clock, as the connection's are.
func readDeadline(own http.Handler, d time.Duration) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.Body != nil && r.Body != http.NoBody {
			r.Body = bodyrate.Deadline(r.Body, http.NewResponseController(w), time.Now().Add(d))
		}
		own.ServeHTTP(w, r)
	})
}

// minUploadRate holds a body forwarded upstream to a minimum rate instead
// of a total deadline, so an upload of any size at a normal speed passes
// and a trickle is cut. It measures on the real clock, as the connection's
// deadlines are.
func minUploadRate(routed http.Handler, lim config.Limits) http.Handler {
	rate := bodyrate.Rate{MinBytes: lim.UploadMinRate, Window: lim.UploadRateWindow.D()}
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.Body == nil || r.Body == http.NoBody {
			routed.ServeHTTP(w, r)
			return
		}
		body := bodyrate.New(r.Body, rate, http.NewResponseController(w), time.Now)
		defer body.Stop()
		r.Body = body
		routed.ServeHTTP(w, r)
	})
}
