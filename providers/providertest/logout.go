package providertest

import (
	"encoding/json"
	"fmt"
	"io"
	"maps"
	"net/http"
	"net/url"
	"strings"
	"time"
)

// backChannelEvent marks a JWT as a logout token.
const backChannelEvent = "http://schemas.openid.net/event/backchannel-logout"

// Logout names what a back-channel logout token ends.
type Logout struct {
	SID     string // the provider session (LastSID); empty: none
	Subject string // the user's sub; empty: none
	// JTI is the token's id; empty gives a random one.
	JTI string
	// NoExp leaves exp out, which the spec allowed before 1.0 final.
	NoExp bool
	// Claims are added as they are (tid and oid for Entra's shape).
	Claims map[string]any
}

// LogoutToken mints a back-channel logout token signed like the
// provider's ID tokens, broken in the one way fault says (NoFault: a
// valid token). Faults that concern ID tokens only are ignored.
func (s *Server) LogoutToken(l Logout, fault Fault) (string, error) {
	now := s.opts.Now()
	jti := l.JTI
	if jti == "" {
		jti = randomString(16)
	}
	c := map[string]any{
		"iss":    s.tokenIssuer(User{Claims: l.Claims}),
		"aud":    s.opts.ClientID,
		"iat":    now.Unix(),
		"exp":    now.Add(2 * time.Minute).Unix(),
		"jti":    jti,
		"events": map[string]any{backChannelEvent: map[string]any{}},
	}
	if l.NoExp {
		delete(c, "exp")
	}
	if l.SID != "" {
		c["sid"] = l.SID
	}
	if l.Subject != "" {
		c["sub"] = l.Subject
	}
	maps.Copy(c, l.Claims)
	switch fault {
	case WrongIssuer:
		c["iss"] = "https://attacker.example"
	case ForeignAudience:
		c["aud"] = "another-client"
	case ExtraAudienceNoAZP:
		c["aud"] = []string{s.opts.ClientID, "another-client"}
	case Expired:
		c["iat"] = now.Add(-20 * time.Minute).Unix()
		c["exp"] = now.Add(-10 * time.Minute).Unix()
	case IssuedInFuture:
		c["iat"] = now.Add(10 * time.Minute).Unix()
		c["exp"] = now.Add(12 * time.Minute).Unix()
	case LogoutNoEvents:
		delete(c, "events")
	case LogoutForeignEvent:
		c["events"] = map[string]any{"http://schemas.openid.net/event/other": map[string]any{}}
	case LogoutEventNotObject:
		c["events"] = map[string]any{backChannelEvent: "yes"}
	case LogoutEventsNotObject:
		c["events"] = []string{backChannelEvent}
	case LogoutWithNonce:
		c["nonce"] = "n-0S6_WzA2Mj"
	case LogoutNoSIDNoSub:
		delete(c, "sid")
		delete(c, "sub")
	case LogoutNoJTI:
		delete(c, "jti")
	case LogoutNoIAT:
		delete(c, "iat")
	case LogoutStaleWithoutExp:
		delete(c, "exp")
		c["iat"] = now.Add(-time.Hour).Unix()
	}
	payload, err := json.Marshal(c)
	if err != nil {
		return "", err
	}
	return s.sign(payload, "logout+jwt", fault)
}

// PostLogout delivers a logout token to a relying party's back-channel
// logout endpoint, as the provider does, and returns the answer.
func (s *Server) PostLogout(endpoint, token string) (status int, body string, err error) {
	form := url.Values{"logout_token": {token}}
	req, err := http.NewRequest(http.MethodPost, endpoint, strings.NewReader(form.Encode()))
	if err != nil {
		return 0, "", err
	}
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	client := &http.Client{Timeout: 10 * time.Second}
	resp, err := client.Do(req)
	if err != nil {
		return 0, "", fmt.Errorf("posting the logout token: %w", err)
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(io.LimitReader(resp.Body, 1<<16))
	return resp.StatusCode, string(b), err
}
