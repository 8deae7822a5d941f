// Package providertest runs a fake OpenID Connect provider on loopback for
// tests, with knobs that break one check at a time in the next response.
package providertest

import (
	"crypto"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/hmac"
	"crypto/rand"
	"crypto/rsa"
	"crypto/sha256"
	"crypto/subtle"
	"crypto/x509"
	"encoding/base64"
	"encoding/json"
	"encoding/pem"
	"fmt"
	"maps"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	"sync"
	"time"

	jose "github.com/go-jose/go-jose/v4"
)

// Fault breaks one thing in the next authorization response or ID token.
type Fault int

// Faults. Each applies once, to the next response it concerns, then clears.
const (
	NoFault Fault = iota
	// ID token faults.
	WrongIssuer
	ForeignAudience       // aud is another client only
	ExtraAudienceNoAZP    // aud lists us and another client, no azp
	ExtraAudienceWrongAZP // aud lists us and another client, azp is the other
	Expired
	IssuedInFuture // iat 10 minutes ahead
	BadSignature
	AlgNone
	HS256PublicKey // HMAC-SHA256 keyed with the PEM of the public key
	MissingNonce
	WrongNonce
	UnknownKid // signed by a key the JWKS never publishes
	MissingSubject
	// Authorization response faults.
	ForeignIssuerInResponse // RFC 9207 iss names another issuer
	AccessDenied            // error=access_denied instead of a code
	// Logout token faults (LogoutToken), besides the signature, issuer,
	// audience and time faults above.
	LogoutNoEvents        // no events claim
	LogoutForeignEvent    // events without the back-channel logout member
	LogoutEventNotObject  // the back-channel logout member is not an object
	LogoutEventsNotObject // events is an array
	LogoutWithNonce       // a nonce claim, as an ID token has
	LogoutNoSIDNoSub      // neither sid nor sub
	LogoutNoJTI           // no jti
	LogoutNoIAT           // no iat
	LogoutStaleWithoutExp // no exp and iat older than the accepted age
)

func (f Fault) authorization() bool { return f == ForeignIssuerInResponse || f == AccessDenied }

// User is the person the fake provider signs in.
type User struct {
	Subject       string
	Email         string
	EmailVerified bool
	GivenName     string
	FamilyName    string
	Name          string
	// Claims are added to the ID token as they are (tid, oid, hd,
	// a namespaced roles claim...), overriding the fields above.
	Claims map[string]any
}

// Options configure the fake provider.
type Options struct {
	ClientID     string // default "gatehouse"
	ClientSecret string // default "secret"
	// Path is the issuer's path on the server: "" gives issuer = URL, "/"
	// gives a trailing slash (Auth0's shape), "/TENANT/v2.0" Entra's.
	Path string
	// MultiTenant makes the discovery document advertise
	// URL+"/{tenantid}/v2.0" as the issuer, as Entra's common endpoint does;
	// tokens then carry URL+"/"+tid+"/v2.0" with the user's "tid" claim.
	MultiTenant bool
	// IssParameter adds RFC 9207 iss to authorization responses and
	// advertises it in discovery.
	IssParameter bool
	// NoEndSession leaves end_session_endpoint out of discovery.
	NoEndSession bool
	// Algorithm signs ID tokens: "ES256" (default) or "RS256".
	Algorithm string
	// Now is the provider's clock; default time.Now.
	Now func() time.Time
	// TokenTTL is the ID token lifetime; default one hour.
	TokenTTL time.Duration
}

// Server is a running fake provider. Close it when done.
type Server struct {
	*httptest.Server
	// Issuer is the issuer to configure a client with (for MultiTenant,
	// the common endpoint's discovery base).
	Issuer string

	opts Options

	mu            sync.Mutex
	user          User
	fault         Fault
	keys          []key // published; the last one signs
	codes         map[string]grant
	discoveryDown bool
	jwksDown      bool
	logouts       []url.Values
	tokenRequests int
	lastSID       string
	jwksRequests  int
	lastAuthorize url.Values
}

type key struct {
	id     string
	alg    jose.SignatureAlgorithm
	signer crypto.Signer
}

type grant struct {
	redirectURI string
	challenge   string
	nonce       string
	sid         string // the provider session this sign-in belongs to
	user        User
}

// New starts a fake provider with a default user.
func New(opts Options) *Server {
	if opts.ClientID == "" {
		opts.ClientID = "gatehouse"
	}
	if opts.ClientSecret == "" {
		opts.ClientSecret = "secret"
	}
	if opts.Algorithm == "" {
		opts.Algorithm = "ES256"
	}
	if opts.Now == nil {
		opts.Now = time.Now
	}
	if opts.TokenTTL == 0 {
		opts.TokenTTL = time.Hour
	}
	s := &Server{
		opts:  opts,
		codes: map[string]grant{},
		user: User{
			Subject: "user-1", Email: "ada@example.com", EmailVerified: true,
			GivenName: "Ada", FamilyName: "Lovelace", Name: "Ada Lovelace",
		},
	}
	s.keys = []key{s.newKey()}
	mux := http.NewServeMux()
	s.Server = httptest.NewServer(mux)
	switch {
	case opts.MultiTenant:
		s.Issuer = s.URL + "/common/v2.0"
	default:
		s.Issuer = s.URL + opts.Path
	}
	mux.HandleFunc("GET "+strings.TrimSuffix(strings.TrimPrefix(s.Issuer, s.URL), "/")+"/.well-known/openid-configuration", s.discovery)
	mux.HandleFunc("GET /jwks", s.jwks)
	mux.HandleFunc("GET /authorize", s.authorize)
	mux.HandleFunc("POST /token", s.token)
	mux.HandleFunc("GET /logout", s.logout)
	return s
}

// ClientID is the client id the fake provider accepts.
func (s *Server) ClientID() string { return s.opts.ClientID }

// ClientSecret is the client secret the fake provider accepts.
func (s *Server) ClientSecret() string { return s.opts.ClientSecret }

// SetUser sets the person signed in from now on.
func (s *Server) SetUser(u User) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.user = u
}

// Break makes the next authorization response or ID token (whichever the
// fault concerns) fail in one way.
func (s *Server) Break(f Fault) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.fault = f
}

// RotateKey publishes a new signing key, which signs from now on, and
// returns its kid. The old key stays published.
func (s *Server) RotateKey() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	k := s.newKey()
	s.keys = append(s.keys, k)
	return k.id
}

// SetDiscoveryDown makes the discovery document answer 503.
func (s *Server) SetDiscoveryDown(down bool) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.discoveryDown = down
}

// SetJWKSDown makes the key set answer 503.
func (s *Server) SetJWKSDown(down bool) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.jwksDown = down
}

// TokenRequests counts requests to the token endpoint.
func (s *Server) TokenRequests() int {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.tokenRequests
}

// JWKSRequests counts requests for the key set.
func (s *Server) JWKSRequests() int {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.jwksRequests
}

// LastSID is the sid of the last sign-in the provider approved.
func (s *Server) LastSID() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.lastSID
}

// LastAuthorize is the query of the last authorization request.
func (s *Server) LastAuthorize() url.Values {
	s.mu.Lock()
	defer s.mu.Unlock()
	return maps.Clone(s.lastAuthorize)
}

// Logouts are the queries the end-session endpoint received.
func (s *Server) Logouts() []url.Values {
	s.mu.Lock()
	defer s.mu.Unlock()
	return append([]url.Values(nil), s.logouts...)
}

func (s *Server) newKey() key {
	var signer crypto.Signer
	var err error
	alg := jose.SignatureAlgorithm(s.opts.Algorithm)
	switch alg {
	case jose.RS256:
		signer, err = rsa.GenerateKey(rand.Reader, 2048)
	case jose.ES256:
		signer, err = ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	default:
		panic("providertest: unsupported algorithm " + s.opts.Algorithm)
	}
	if err != nil {
		panic("providertest: " + err.Error())
	}
	return key{id: randomString(8), alg: alg, signer: signer}
}

func randomString(n int) string {
	b := make([]byte, n)
	if _, err := rand.Read(b); err != nil {
		panic("providertest: " + err.Error())
	}
	return base64.RawURLEncoding.EncodeToString(b)
}

// advertisedIssuer is the issuer in the discovery document.
func (s *Server) advertisedIssuer() string {
	if s.opts.MultiTenant {
		return s.URL + "/{tenantid}/v2.0"
	}
	return s.Issuer
}

// tokenIssuer is the iss of a token for the user.
func (s *Server) tokenIssuer(u User) string {
	if s.opts.MultiTenant {
		tid, _ := u.Claims["tid"].(string)
		return s.URL + "/" + tid + "/v2.0"
	}
	return s.Issuer
}

func writeJSON(w http.ResponseWriter, status int, v any) {
	w.Header().Set("Content-Type", "application/json")
	w.Header().Set("Cache-Control", "no-store")
	w.WriteHeader(status)
	_ = json.NewEncoder(w).Encode(v)
}

func (s *Server) discovery(w http.ResponseWriter, _ *http.Request) {
	s.mu.Lock()
	down := s.discoveryDown
	s.mu.Unlock()
	if down {
		http.Error(w, "down for maintenance", http.StatusServiceUnavailable)
		return
	}
	doc := map[string]any{
		"issuer":                                         s.advertisedIssuer(),
		"authorization_endpoint":                         s.URL + "/authorize",
		"token_endpoint":                                 s.URL + "/token",
		"jwks_uri":                                       s.URL + "/jwks",
		"response_types_supported":                       []string{"code"},
		"subject_types_supported":                        []string{"public"},
		"id_token_signing_alg_values_supported":          []string{"RS256", "ES256"},
		"code_challenge_methods_supported":               []string{"S256"},
		"authorization_response_iss_parameter_supported": s.opts.IssParameter,
	}
	if !s.opts.NoEndSession {
		doc["end_session_endpoint"] = s.URL + "/logout"
	}
	writeJSON(w, http.StatusOK, doc)
}

func (s *Server) jwks(w http.ResponseWriter, _ *http.Request) {
	s.mu.Lock()
	s.jwksRequests++
	if s.jwksDown {
		s.mu.Unlock()
		http.Error(w, "down for maintenance", http.StatusServiceUnavailable)
		return
	}
	set := jose.JSONWebKeySet{}
	for _, k := range s.keys {
		set.Keys = append(set.Keys, jose.JSONWebKey{Key: k.signer.Public(), KeyID: k.id, Algorithm: string(k.alg), Use: "sig"})
	}
	s.mu.Unlock()
	writeJSON(w, http.StatusOK, set)
}

// authorize approves the configured user at once and sends the browser back.
func (s *Server) authorize(w http.ResponseWriter, r *http.Request) {
	q := r.URL.Query()
	s.mu.Lock()
	s.lastAuthorize = q
	fault := NoFault
	if s.fault.authorization() {
		fault, s.fault = s.fault, NoFault
	}
	user := s.user
	s.mu.Unlock()

	if q.Get("client_id") != s.opts.ClientID {
		http.Error(w, "unknown client_id", http.StatusBadRequest)
		return
	}
	redirect, err := url.Parse(q.Get("redirect_uri"))
	if err != nil || !redirect.IsAbs() {
		http.Error(w, "bad redirect_uri", http.StatusBadRequest)
		return
	}
	back := redirect.Query()
	back.Set("state", q.Get("state"))
	switch {
	case fault == AccessDenied:
		back.Set("error", "access_denied")
		back.Set("error_description", "The user said no")
	case q.Get("response_type") != "code":
		back.Set("error", "unsupported_response_type")
	case q.Get("code_challenge_method") != "S256" || q.Get("code_challenge") == "":
		back.Set("error", "invalid_request")
		back.Set("error_description", "PKCE S256 required")
	default:
		code := randomString(24)
		s.mu.Lock()
		// Every sign-in is a new provider session, named in the ID
		// token's sid, which a logout token can end later.
		sid := randomString(12)
		s.codes[code] = grant{redirectURI: q.Get("redirect_uri"), challenge: q.Get("code_challenge"), nonce: q.Get("nonce"), sid: sid, user: user}
		s.lastSID = sid
		s.mu.Unlock()
		back.Set("code", code)
	}
	if s.opts.IssParameter || fault == ForeignIssuerInResponse {
		iss := s.tokenIssuer(user)
		if fault == ForeignIssuerInResponse {
			iss = "https://attacker.example"
		}
		back.Set("iss", iss)
	}
	redirect.RawQuery = back.Encode()
	http.Redirect(w, r, redirect.String(), http.StatusFound)
}

func tokenError(w http.ResponseWriter, code, desc string) {
	status := http.StatusBadRequest
	if code == "invalid_client" {
		status = http.StatusUnauthorized
	}
	writeJSON(w, status, map[string]string{"error": code, "error_description": desc})
}

// token redeems a code once, checking the client and the PKCE verifier.
func (s *Server) token(w http.ResponseWriter, r *http.Request) {
	if err := r.ParseForm(); err != nil {
		tokenError(w, "invalid_request", "bad form")
		return
	}
	id, secret, ok := r.BasicAuth()
	if ok {
		id, _ = url.QueryUnescape(id)
		secret, _ = url.QueryUnescape(secret)
	} else {
		id, secret = r.PostForm.Get("client_id"), r.PostForm.Get("client_secret")
	}
	s.mu.Lock()
	s.tokenRequests++
	code := r.PostForm.Get("code")
	g, found := s.codes[code]
	delete(s.codes, code) // single use, whatever happens next
	fault := NoFault
	if !s.fault.authorization() {
		fault, s.fault = s.fault, NoFault
	}
	s.mu.Unlock()

	switch {
	case subtle.ConstantTimeCompare([]byte(id), []byte(s.opts.ClientID)) != 1 ||
		subtle.ConstantTimeCompare([]byte(secret), []byte(s.opts.ClientSecret)) != 1:
		tokenError(w, "invalid_client", "client authentication failed")
		return
	case r.PostForm.Get("grant_type") != "authorization_code":
		tokenError(w, "unsupported_grant_type", "")
		return
	case !found:
		tokenError(w, "invalid_grant", "unknown or used code")
		return
	case r.PostForm.Get("redirect_uri") != g.redirectURI:
		tokenError(w, "invalid_grant", "redirect_uri differs")
		return
	}
	sum := sha256.Sum256([]byte(r.PostForm.Get("code_verifier")))
	if base64.RawURLEncoding.EncodeToString(sum[:]) != g.challenge {
		tokenError(w, "invalid_grant", "PKCE verification failed")
		return
	}
	idToken, err := s.idToken(g, fault)
	if err != nil {
		tokenError(w, "server_error", err.Error())
		return
	}
	writeJSON(w, http.StatusOK, map[string]any{
		"access_token": randomString(24),
		"token_type":   "Bearer",
		"expires_in":   3600,
		"id_token":     idToken,
	})
}

func (s *Server) claims(g grant, fault Fault) map[string]any {
	now := s.opts.Now()
	u := g.user
	c := map[string]any{
		"iss":            s.tokenIssuer(u),
		"sub":            u.Subject,
		"aud":            s.opts.ClientID,
		"iat":            now.Unix(),
		"exp":            now.Add(s.opts.TokenTTL).Unix(),
		"nonce":          g.nonce,
		"sid":            g.sid,
		"email":          u.Email,
		"email_verified": u.EmailVerified,
		"given_name":     u.GivenName,
		"family_name":    u.FamilyName,
		"name":           u.Name,
	}
	maps.Copy(c, u.Claims)
	switch fault {
	case WrongIssuer:
		c["iss"] = "https://attacker.example"
	case ForeignAudience:
		c["aud"] = "another-client"
	case ExtraAudienceNoAZP:
		c["aud"] = []string{s.opts.ClientID, "another-client"}
		delete(c, "azp")
	case ExtraAudienceWrongAZP:
		c["aud"] = []string{s.opts.ClientID, "another-client"}
		c["azp"] = "another-client"
	case Expired:
		c["iat"] = now.Add(-time.Hour - 10*time.Minute).Unix()
		c["exp"] = now.Add(-10 * time.Minute).Unix()
	case IssuedInFuture:
		c["iat"] = now.Add(10 * time.Minute).Unix()
		c["exp"] = now.Add(70 * time.Minute).Unix()
	case MissingNonce:
		delete(c, "nonce")
	case WrongNonce:
		c["nonce"] = "not-the-nonce"
	case MissingSubject:
		delete(c, "sub")
	}
	return c
}

// idToken builds and signs the ID token, applying the fault.
func (s *Server) idToken(g grant, fault Fault) (string, error) {
	payload, err := json.Marshal(s.claims(g, fault))
	if err != nil {
		return "", err
	}
	return s.sign(payload, "JWT", fault)
}

// sign signs payload with the current key, or breaks the signature as
// fault says.
func (s *Server) sign(payload []byte, typ string, fault Fault) (string, error) {
	s.mu.Lock()
	k := s.keys[len(s.keys)-1]
	s.mu.Unlock()
	switch fault {
	case AlgNone:
		return rawJWT(map[string]any{"alg": "none", "typ": typ}, payload, nil), nil
	case HS256PublicKey:
		der, err := x509.MarshalPKIXPublicKey(k.signer.Public())
		if err != nil {
			return "", err
		}
		secret := pem.EncodeToMemory(&pem.Block{Type: "PUBLIC KEY", Bytes: der})
		head := map[string]any{"alg": "HS256", "typ": typ, "kid": k.id}
		signingInput := rawJWT(head, payload, nil)
		mac := hmac.New(sha256.New, secret)
		mac.Write([]byte(strings.TrimSuffix(signingInput, ".")))
		return signingInput + base64.RawURLEncoding.EncodeToString(mac.Sum(nil)), nil
	case UnknownKid:
		k = s.newKey()
	}
	signer, err := jose.NewSigner(jose.SigningKey{Algorithm: k.alg, Key: k.signer},
		(&jose.SignerOptions{}).WithType(jose.ContentType(typ)).WithHeader(jose.HeaderKey("kid"), k.id))
	if err != nil {
		return "", err
	}
	jws, err := signer.Sign(payload)
	if err != nil {
		return "", err
	}
	out, err := jws.CompactSerialize()
	if err != nil {
		return "", err
	}
	if fault == BadSignature {
		out = corruptSignature(out)
	}
	return out, nil
}

// rawJWT encodes header and payload; with a nil signature it ends with "."
// (an unsecured JWT).
func rawJWT(header map[string]any, payload, sig []byte) string {
	h, _ := json.Marshal(header)
	return base64.RawURLEncoding.EncodeToString(h) + "." +
		base64.RawURLEncoding.EncodeToString(payload) + "." +
		base64.RawURLEncoding.EncodeToString(sig)
}

func corruptSignature(token string) string {
	i := strings.LastIndexByte(token, '.')
	sig, err := base64.RawURLEncoding.DecodeString(token[i+1:])
	if err != nil || len(sig) == 0 {
		return token + "x"
	}
	sig[len(sig)/2] ^= 0x55
	return token[:i+1] + base64.RawURLEncoding.EncodeToString(sig)
}

// logout records the request and returns to post_logout_redirect_uri.
func (s *Server) logout(w http.ResponseWriter, r *http.Request) {
	s.mu.Lock()
	s.logouts = append(s.logouts, r.URL.Query())
	s.mu.Unlock()
	if rd := r.URL.Query().Get("post_logout_redirect_uri"); rd != "" {
		http.Redirect(w, r, rd, http.StatusFound)
		return
	}
	fmt.Fprintln(w, "signed out")
}
