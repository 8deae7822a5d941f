package bench

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/http/cookiejar"
	"net/http/httptest"
	"net/url"
	"regexp"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/gatehouse/gatehouse/internal/session"
)

// SeedSessions starts n live sessions of accountID through m (exactly as
// sign-ins make them, straight into the store), so the load test runs with
// a realistically full sessions table while the gateway's cache stays
// bounded. It returns the last session's cookie as "name=value", for the
// load generator: the gateway then never hashes a password before the
// proxying load, and its peak RSS is the hot path's.
func SeedSessions(ctx context.Context, m *session.Manager, accountID string, n int) (string, error) {
	var cookie string
	for i := range n {
		rec := httptest.NewRecorder()
		if _, err := m.Start(ctx, rec, nil, session.StartParams{
			AccountID: accountID, AMR: []string{"pwd"}, IDP: "local", UserAgent: "gatehouse-bench", IP: "127.0.0.1",
		}); err != nil {
			return "", fmt.Errorf("session %d: %w", i, err)
		}
		for _, ck := range rec.Result().Cookies() {
			if ck.Name == m.CookieName() {
				cookie = ck.Name + "=" + ck.Value
			}
		}
	}
	if cookie == "" {
		return "", errors.New("no session cookie was set")
	}
	return cookie, nil
}

var csrfMeta = regexp.MustCompile(`name="csrf_token" value="([^"]+)"`)

// loginOnce signs in through the login form with c (which keeps the CSRF
// cookie) and returns the session cookie the gateway set.
func loginOnce(ctx context.Context, c *http.Client, base, email, password string) (*http.Cookie, error) {
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, base+"/.gatehouse/login", nil)
	if err != nil {
		return nil, err
	}
	req.Header.Set("Accept", "text/html")
	resp, err := c.Do(req)
	if err != nil {
		return nil, err
	}
	page, err := io.ReadAll(resp.Body)
	resp.Body.Close()
	if err != nil {
		return nil, err
	}
	m := csrfMeta.FindSubmatch(page)
	if m == nil {
		return nil, fmt.Errorf("login page (status %d) has no csrf_token field", resp.StatusCode)
	}
	form := url.Values{"email": {email}, "password": {password}, "csrf_token": {string(m[1])}, "rd": {"/"}}
	req, err = http.NewRequestWithContext(ctx, http.MethodPost, base+"/.gatehouse/login", strings.NewReader(form.Encode()))
	if err != nil {
		return nil, err
	}
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	req.Header.Set("Accept", "text/html")
	resp, err = c.Do(req)
	if err != nil {
		return nil, err
	}
	_, _ = io.Copy(io.Discard, resp.Body)
	resp.Body.Close()
	if resp.StatusCode != http.StatusSeeOther {
		return nil, fmt.Errorf("login answered %d, want 303", resp.StatusCode)
	}
	for _, ck := range resp.Cookies() {
		if strings.Contains(ck.Name, "gatehouse") && ck.Value != "" && !strings.Contains(ck.Name, "csrf") {
			return ck, nil
		}
	}
	return nil, errors.New("login set no session cookie")
}

func newClient() *http.Client {
	jar, _ := cookiejar.New(nil)
	return &http.Client{
		Jar:           jar,
		Timeout:       60 * time.Second,
		CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse },
	}
}

// Login signs in once and returns the session cookie as "name=value", for
// the load generator's Cookie header.
func Login(ctx context.Context, base, email, password string) (string, error) {
	ck, err := loginOnce(ctx, newClient(), base, email, password)
	if err != nil {
		return "", err
	}
	return ck.Name + "=" + ck.Value, nil
}

// StormResult counts the sign-ins of a login storm.
type StormResult struct {
	OK, Failed uint64
	FirstErr   error
}

// LoginStorm keeps concurrency password sign-ins in flight until ctx ends,
// to show that hashing cannot starve proxied traffic.
func LoginStorm(ctx context.Context, base, email, password string, concurrency int) StormResult {
	var ok, failed atomic.Uint64
	var once sync.Once
	var first error
	var wg sync.WaitGroup
	for range concurrency {
		wg.Add(1)
		go func() {
			defer wg.Done()
			c := newClient()
			for ctx.Err() == nil {
				if _, err := loginOnce(ctx, c, base, email, password); err != nil {
					if ctx.Err() != nil {
						return
					}
					failed.Add(1)
					once.Do(func() { first = err })
					continue
				}
				ok.Add(1)
			}
		}()
	}
	wg.Wait()
	return StormResult{OK: ok.Load(), Failed: failed.Load(), FirstErr: first}
}
