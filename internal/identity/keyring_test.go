package identity

import (
	"context"
	"crypto/rand"
	"encoding/json"
	"errors"
	"net/http"
	"net/http/httptest"
	"regexp"
	"testing"
	"time"

	"github.com/go-jose/go-jose/v4"

	"github.com/gatehouse/gatehouse/internal/store"
)

// jwksDoc is the JWKS as a verifier sees it.
type jwksDoc struct {
	Keys []map[string]any `json:"keys"`
}

func parseJWKS(t *testing.T, body []byte) jwksDoc {
	t.Helper()
	var d jwksDoc
	if err := json.Unmarshal(body, &d); err != nil {
		t.Fatalf("JWKS is not JSON: %v\n%s", err, body)
	}
	var set jose.JSONWebKeySet
	if err := json.Unmarshal(body, &set); err != nil {
		t.Fatalf("go-jose cannot read JWKS: %v", err)
	}
	for _, k := range set.Keys {
		if !k.IsPublic() {
			t.Fatalf("JWKS publishes a private key: %s", body)
		}
	}
	return d
}

func kids(d jwksDoc) []string {
	var out []string
	for _, k := range d.Keys {
		out = append(out, k["kid"].(string))
	}
	return out
}

func TestLoadCreatesFirstKeyOnce(t *testing.T) {
	kr, st, clk := loadedKeyring(t)
	if !kr.Ready() {
		t.Fatal("Ready() = false after Load")
	}
	if st.count() != 1 {
		t.Fatalf("store has %d keys, want 1", st.count())
	}
	kid := kr.CurrentKeyID()
	sk := st.get(t, kid)
	if !sk.SignFrom.Equal(clk.Now()) || !sk.RetireAt.IsZero() || sk.Algorithm != "ES256" {
		t.Fatalf("first key = %+v, want signing from now, not retired, ES256", sk)
	}

	d := parseJWKS(t, kr.JWKS())
	if len(d.Keys) != 1 {
		t.Fatalf("JWKS has %d keys, want 1", len(d.Keys))
	}
	k := d.Keys[0]
	for field, want := range map[string]string{"kid": kid, "use": "sig", "alg": "ES256", "kty": "EC", "crv": "P-256"} {
		if k[field] != want {
			t.Errorf("JWKS %s = %v, want %s", field, k[field], want)
		}
	}
	if _, ok := k["d"]; ok {
		t.Error("JWKS contains the private scalar d")
	}

	if err := kr.Load(context.Background()); err != nil {
		t.Fatal(err)
	}
	if st.count() != 1 {
		t.Fatalf("second Load created a key: %d keys", st.count())
	}

	// Another process over the same store uses the same key.
	other := NewKeyring(st, clk.Now, rand.Reader, discardLogger())
	if err := other.Load(context.Background()); err != nil {
		t.Fatal(err)
	}
	if other.CurrentKeyID() != kid {
		t.Fatalf("other keyring signs with %q, want %q", other.CurrentKeyID(), kid)
	}
}

func TestKeyIDIsThumbprintOfPublicKey(t *testing.T) {
	kr, st, _ := loadedKeyring(t)
	kid := kr.CurrentKeyID()
	if !regexp.MustCompile(`^[A-Za-z0-9_-]{22}$`).MatchString(kid) {
		t.Fatalf("kid %q is not base64url of 16 bytes", kid)
	}
	k, err := parseKey(st.get(t, kid))
	if err != nil {
		t.Fatal(err)
	}
	got, err := KeyID(&k.priv.PublicKey)
	if err != nil || got != kid {
		t.Fatalf("KeyID = %q, %v; want %q", got, err, kid)
	}
}

func TestNotReadyBeforeLoad(t *testing.T) {
	kr := NewKeyring(&memKeys{}, newClock().Now, rand.Reader, discardLogger())
	if kr.Ready() {
		t.Fatal("Ready() before Load")
	}
	if string(kr.JWKS()) != `{"keys":[]}` {
		t.Fatalf("JWKS before Load = %s", kr.JWKS())
	}
	s := NewSigner(kr, testIssuer, 0, newClock().Now)
	if _, err := s.Sign(Claims{}); !errors.Is(err, ErrNoSigningKey) {
		t.Fatalf("Sign before Load: %v, want ErrNoSigningKey", err)
	}
}

func TestLoadStoreError(t *testing.T) {
	st := &memKeys{}
	st.setErr(store.ErrUnavailable)
	kr := NewKeyring(st, newClock().Now, rand.Reader, discardLogger())
	if err := kr.Load(context.Background()); !errors.Is(err, store.ErrUnavailable) {
		t.Fatalf("Load = %v, want ErrUnavailable", err)
	}
	if kr.Ready() {
		t.Fatal("Ready after failed Load")
	}
}

func TestRefreshKeepsSnapshotWhenStoreFails(t *testing.T) {
	kr, st, _ := loadedKeyring(t)
	kid := kr.CurrentKeyID()
	st.setErr(store.ErrUnavailable)
	if err := kr.Refresh(context.Background()); !errors.Is(err, store.ErrUnavailable) {
		t.Fatalf("Refresh = %v, want ErrUnavailable", err)
	}
	if !kr.Ready() || kr.CurrentKeyID() != kid {
		t.Fatal("a failed Refresh dropped the loaded keys")
	}
}

func TestLoadSkipsUnusableKey(t *testing.T) {
	kr, st, clk := loadedKeyring(t)
	good := kr.CurrentKeyID()
	// A corrupt row that would otherwise be the newest key.
	if err := st.CreateSigningKey(context.Background(), store.SigningKey{
		ID: "broken", Algorithm: "ES256", PrivateKey: []byte("junk"),
		CreatedAt: clk.Now(), SignFrom: clk.Now(),
	}); err != nil {
		t.Fatal(err)
	}
	clk.Add(time.Second)
	if err := kr.Refresh(context.Background()); err != nil {
		t.Fatal(err)
	}
	if kr.CurrentKeyID() != good {
		t.Fatalf("signing with %q, want %q", kr.CurrentKeyID(), good)
	}
	if got := kids(parseJWKS(t, kr.JWKS())); len(got) != 1 || got[0] != good {
		t.Fatalf("JWKS kids = %v", got)
	}
}

func TestLoadCreatesKeyWhenAllRetired(t *testing.T) {
	kr, st, clk := loadedKeyring(t)
	old := kr.CurrentKeyID()
	if err := st.RetireSigningKeys(context.Background(), "", clk.Now()); err != nil {
		t.Fatal(err)
	}
	if err := kr.Refresh(context.Background()); err != nil {
		t.Fatal(err)
	}
	if !kr.Ready() || kr.CurrentKeyID() == old {
		t.Fatalf("no fresh key after every key was retired (current %q)", kr.CurrentKeyID())
	}
}

func TestRotation(t *testing.T) {
	ctx := context.Background()
	kr, st, clk := loadedKeyring(t)
	signer := NewSigner(kr, testIssuer, 0, clk.Now)
	oldKid := kr.CurrentKeyID()
	start := clk.Now()

	before, err := signer.Sign(Claims{Audience: "app", Subject: "u1"})
	if err != nil {
		t.Fatal(err)
	}

	newKid, err := kr.Rotate(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if newKid == oldKid {
		t.Fatal("Rotate returned the old kid")
	}
	signFrom := start.Add(DefaultPublishDelay)
	if got := st.get(t, newKid).SignFrom; !got.Equal(signFrom) {
		t.Fatalf("new key SignFrom = %v, want %v", got, signFrom)
	}
	if got := st.get(t, oldKid).RetireAt; !got.Equal(signFrom) {
		t.Fatalf("old key RetireAt = %v, want %v", got, signFrom)
	}

	// Published at once, both keys.
	got := kids(parseJWKS(t, kr.JWKS()))
	if len(got) != 2 {
		t.Fatalf("JWKS kids after Rotate = %v, want both", got)
	}

	// The old key keeps signing until the new one's SignFrom.
	clk.Set(signFrom.Add(-time.Second))
	if kid := headerKid(t, mustSign(t, signer)); kid != oldKid {
		t.Fatalf("1s before SignFrom signed by %q, want old %q", kid, oldKid)
	}
	lastOld := mustSign(t, signer)
	clk.Set(signFrom)
	if kid := headerKid(t, mustSign(t, signer)); kid != newKid {
		t.Fatalf("at SignFrom signed by %q, want new %q", kid, newKid)
	}

	// Assertions the old key signed still verify until they expire.
	if _, err := Verify(lastOld, kr.JWKS(), testIssuer, "app", clk.Now(), 0); err != nil {
		t.Fatalf("old-key assertion rejected before expiry: %v", err)
	}
	if _, err := Verify(before, kr.JWKS(), testIssuer, "app", start.Add(4*time.Minute), 0); err != nil {
		t.Fatalf("pre-rotation assertion rejected: %v", err)
	}

	// Pruning: not before RetireAt + max lifetime + margin.
	horizon := signFrom.Add(MaxAssertionTTL + DefaultPruneMargin)
	clk.Set(horizon.Add(-time.Second))
	if err := kr.Prune(ctx); err != nil {
		t.Fatal(err)
	}
	if got := kids(parseJWKS(t, kr.JWKS())); len(got) != 2 {
		t.Fatalf("old key pruned too early: JWKS kids %v", got)
	}
	if _, err := Verify(lastOld, kr.JWKS(), testIssuer, "app", lastOldExpiry(t, lastOld).Add(-time.Second), 0); err != nil {
		t.Fatalf("old-key assertion no longer verifiable before its expiry: %v", err)
	}
	clk.Set(horizon.Add(time.Second))
	if err := kr.Prune(ctx); err != nil {
		t.Fatal(err)
	}
	if got := kids(parseJWKS(t, kr.JWKS())); len(got) != 1 || got[0] != newKid {
		t.Fatalf("JWKS after pruning = %v, want only %s", got, newKid)
	}
	if st.count() != 1 {
		t.Fatalf("store holds %d keys after pruning, want 1", st.count())
	}
}

func TestRotateTwiceKeepsOneSigningKey(t *testing.T) {
	ctx := context.Background()
	kr, _, clk := loadedKeyring(t)
	k1 := kr.CurrentKeyID()
	k2, err := kr.Rotate(ctx)
	if err != nil {
		t.Fatal(err)
	}
	clk.Add(2 * time.Minute)
	k3, err := kr.Rotate(ctx)
	if err != nil {
		t.Fatal(err)
	}
	// k1 until +10m, k2 from +10m to +12m, k3 from +12m.
	start := clk.Now().Add(-2 * time.Minute)
	for _, c := range []struct {
		at   time.Duration
		want string
	}{{0, k1}, {10*time.Minute - time.Second, k1}, {10 * time.Minute, k2}, {12*time.Minute - time.Second, k2}, {12 * time.Minute, k3}, {time.Hour, k3}} {
		clk.Set(start.Add(c.at))
		snap := kr.snap.Load()
		n := 0
		for _, k := range snap.keys {
			if k.signsAt(clk.Now()) {
				n++
			}
		}
		if n != 1 {
			t.Fatalf("at +%v %d keys may sign, want exactly 1", c.at, n)
		}
		if got := kr.CurrentKeyID(); got != c.want {
			t.Fatalf("at +%v signing key %q, want %q", c.at, got, c.want)
		}
	}
}

func TestRefreshSeesRotationByAnotherProcess(t *testing.T) {
	ctx := context.Background()
	server, st, clk := loadedKeyring(t)
	cli := NewKeyring(st, clk.Now, rand.Reader, discardLogger())
	if err := cli.Load(ctx); err != nil {
		t.Fatal(err)
	}
	newKid, err := cli.Rotate(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if err := server.Refresh(ctx); err != nil {
		t.Fatal(err)
	}
	if got := kids(parseJWKS(t, server.JWKS())); len(got) != 2 {
		t.Fatalf("server JWKS after other process rotated = %v", got)
	}
	clk.Add(DefaultPublishDelay)
	if server.CurrentKeyID() != newKid {
		t.Fatalf("server signs with %q after SignFrom, want %q", server.CurrentKeyID(), newKid)
	}
}

func TestRunStopsWhenContextEnds(t *testing.T) {
	kr, _, _ := loadedKeyring(t)
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	done := make(chan struct{})
	go func() { kr.Run(ctx, time.Hour); close(done) }()
	<-done
}

func TestJWKSHandler(t *testing.T) {
	kr, _, _ := loadedKeyring(t)
	h := kr.JWKSHandler()

	rec := httptest.NewRecorder()
	h.ServeHTTP(rec, httptest.NewRequest(http.MethodGet, "/.gatehouse/jwks.json", nil))
	if rec.Code != http.StatusOK {
		t.Fatalf("status %d", rec.Code)
	}
	if ct := rec.Header().Get("Content-Type"); ct != "application/jwk-set+json" {
		t.Errorf("Content-Type = %q", ct)
	}
	if cc := rec.Header().Get("Cache-Control"); cc != "public, max-age=300" {
		t.Errorf("Cache-Control = %q", cc)
	}
	etag := rec.Header().Get("ETag")
	if etag == "" || etag[0] != '"' {
		t.Errorf("ETag = %q", etag)
	}
	if rec.Body.String() != string(kr.JWKS()) {
		t.Error("body differs from JWKS()")
	}
	parseJWKS(t, rec.Body.Bytes())

	req := httptest.NewRequest(http.MethodGet, "/.gatehouse/jwks.json", nil)
	req.Header.Set("If-None-Match", `"other", `+etag)
	rec = httptest.NewRecorder()
	h.ServeHTTP(rec, req)
	if rec.Code != http.StatusNotModified || rec.Body.Len() != 0 {
		t.Fatalf("If-None-Match: status %d, body %q", rec.Code, rec.Body)
	}

	// The ETag follows the content.
	if _, err := kr.Rotate(context.Background()); err != nil {
		t.Fatal(err)
	}
	rec = httptest.NewRecorder()
	h.ServeHTTP(rec, req)
	if rec.Code != http.StatusOK || rec.Header().Get("ETag") == etag {
		t.Fatalf("after rotation: status %d, ETag %q (was %q)", rec.Code, rec.Header().Get("ETag"), etag)
	}

	rec = httptest.NewRecorder()
	h.ServeHTTP(rec, httptest.NewRequest(http.MethodPost, "/.gatehouse/jwks.json", nil))
	if rec.Code != http.StatusMethodNotAllowed {
		t.Fatalf("POST: status %d", rec.Code)
	}
}

func TestRotateIfDue(t *testing.T) {
	kr, store, clk := loadedKeyring(t)
	ctx := context.Background()
	if rotated, err := kr.RotateIfDue(ctx); rotated || err != nil {
		t.Fatalf("without RotateEvery: rotated=%v err=%v", rotated, err)
	}
	kr.RotateEvery = 24 * time.Hour
	clk.Add(23 * time.Hour)
	if rotated, err := kr.RotateIfDue(ctx); rotated || err != nil {
		t.Fatalf("before it is due: rotated=%v err=%v", rotated, err)
	}
	clk.Add(2 * time.Hour)
	if rotated, err := kr.RotateIfDue(ctx); !rotated || err != nil {
		t.Fatalf("when due: rotated=%v err=%v", rotated, err)
	}
	if store.count() != 2 {
		t.Fatalf("keys after a scheduled rotation: %d, want 2", store.count())
	}
	// The new key, though not signing yet, makes the next rotation not due.
	if rotated, err := kr.RotateIfDue(ctx); rotated || err != nil {
		t.Fatalf("right after a rotation: rotated=%v err=%v", rotated, err)
	}
}
