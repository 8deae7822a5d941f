// Package demo runs `gatehouse demo`: a gateway on the embedded store with a
// seeded company, site and admin, in front of a small app that verifies the
// assertion it receives and shows the identity inside.
package demo

import (
	"bytes"
	"context"
	"encoding/json"
	"html/template"
	"io"
	"net/http"
	"slices"
	"sort"
	"sync"
	"time"

	"github.com/gatehouse/gatehouse/internal/account"
	"github.com/gatehouse/gatehouse/internal/identity"
)

// App is the demo upstream. It verifies X-Gatehouse-Assertion against the
// gateway's JWKS, exactly as a real app should, and renders what it got.
type App struct {
	JWKSURL  string // the gateway's /.gatehouse/jwks.json
	Issuer   string
	Audience string
	Client   *http.Client

	mu      sync.Mutex
	jwks    []byte
	fetched time.Time
}

var appPage = template.Must(template.New("app").Parse(`<!doctype html>
<html lang="en"><head><meta charset="utf-8"><meta name="viewport" content="width=device-width, initial-scale=1">
<title>Demo app · behind Gatehouse</title>
<style>body{font:16px/1.5 system-ui,sans-serif;margin:0;background:#f4f6fa;color:#1d2330}
main{max-width:52rem;margin:4vh auto;background:#fff;border:1px solid #d9dee7;border-radius:12px;padding:2rem}
h1{font-size:1.4rem}.ok{color:#1d6b3a}.bad{color:#a32020}table{border-collapse:collapse;width:100%}
th,td{text-align:left;border-bottom:1px solid #e4e8ef;padding:.35rem .5rem;vertical-align:top;font-size:.95rem}
th{width:14rem;color:#5b6474;font-weight:600}code{font-size:.85rem;word-break:break-all}</style></head>
<body><main>
<h1>Demo app</h1>
{{if .Error}}<p class="bad" id="verdict">Assertion rejected: {{.Error}}</p>
{{else}}<p class="ok" id="verdict">Signed in as <strong id="who">{{.Claims.Name}}</strong> ({{.Claims.Email}}) — the assertion was verified against the gateway's JWKS.</p>{{end}}
<table>
<tr><th>role</th><td id="role">{{.Claims.Role}}</td></tr>
<tr><th>shared computer</th><td id="shared">{{.Claims.SharedComputer}}</td></tr>
<tr><th>company</th><td>{{.Claims.Company}}</td></tr>
<tr><th>capabilities</th><td>{{range .Claims.Capabilities}}{{.}} {{end}}</td></tr>
<tr><th>sites</th><td>{{range .Claims.Sites}}{{.}} {{end}}</td></tr>
<tr><th>amr / idp</th><td>{{range .Claims.AMR}}{{.}} {{end}}/ {{.Claims.IDP}}</td></tr>
</table>
<h2>Claims</h2><pre id="claims">{{.JSON}}</pre>
<h2>Identity headers received</h2><table>{{range .Headers}}<tr><th>{{.Name}}</th><td><code>{{.Value}}</code></td></tr>{{end}}</table>
<p><a href="/.gatehouse/account/" id="account-link">Your account</a> (language, passkeys, sessions){{if .Admin}} · <a href="/.gatehouse/admin/" id="admin-link">Admin panel</a>{{end}} · <a href="/.gatehouse/whoami">/.gatehouse/whoami</a> · <a href="/.gatehouse/logout">Sign out</a></p>
</main></body></html>`))

type header struct{ Name, Value string }

func (a *App) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	data := struct {
		Claims  identity.Claims
		JSON    string
		Error   string
		Headers []header
		// Admin: the role reaches the admin panel, so the page links to it.
		Admin bool
	}{}
	for name, vals := range r.Header {
		if len(name) > 12 && (name[:12] == "X-Gatehouse-" || name[:12] == "X-Forwarded-") {
			for _, v := range vals {
				data.Headers = append(data.Headers, header{name, v})
			}
		}
	}
	sort.Slice(data.Headers, func(i, j int) bool { return data.Headers[i].Name < data.Headers[j].Name })
	claims, err := a.verify(r.Context(), r.Header.Get("X-Gatehouse-Assertion"))
	if err != nil {
		data.Error = err.Error()
	} else {
		data.Claims = claims
		data.Admin = slices.Contains(claims.Capabilities, account.CapAdminPanel)
		pretty, _ := json.MarshalIndent(claims, "", "  ")
		data.JSON = string(pretty)
	}
	var buf bytes.Buffer
	if err := appPage.Execute(&buf, data); err != nil {
		http.Error(w, err.Error(), http.StatusInternalServerError)
		return
	}
	w.Header().Set("Content-Type", "text/html; charset=utf-8")
	if data.Error != "" {
		w.WriteHeader(http.StatusUnauthorized)
	}
	_, _ = w.Write(buf.Bytes())
}

// verify checks the token, refetching the JWKS once when its key is unknown
// (the gateway may have rotated).
func (a *App) verify(ctx context.Context, token string) (identity.Claims, error) {
	jwks, err := a.keys(ctx, false)
	if err != nil {
		return identity.Claims{}, err
	}
	c, err := identity.Verify(token, jwks, a.Issuer, a.Audience, time.Now(), 30*time.Second)
	if err == nil {
		return c, nil
	}
	if jwks, err = a.keys(ctx, true); err != nil {
		return identity.Claims{}, err
	}
	return identity.Verify(token, jwks, a.Issuer, a.Audience, time.Now(), 30*time.Second)
}

func (a *App) keys(ctx context.Context, refresh bool) ([]byte, error) {
	a.mu.Lock()
	defer a.mu.Unlock()
	if a.jwks != nil && !refresh && time.Since(a.fetched) < 5*time.Minute {
		return a.jwks, nil
	}
	if refresh && time.Since(a.fetched) < time.Second {
		return a.jwks, nil
	}
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, a.JWKSURL, nil)
	if err != nil {
		return nil, err
	}
	client := a.Client
	if client == nil {
		client = http.DefaultClient
	}
	resp, err := client.Do(req)
	if err != nil {
		return nil, err
	}
	defer resp.Body.Close()
	body, err := io.ReadAll(io.LimitReader(resp.Body, 1<<20))
	if err != nil {
		return nil, err
	}
	a.jwks, a.fetched = body, time.Now()
	return body, nil
}
