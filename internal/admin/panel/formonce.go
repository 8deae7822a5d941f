package panel

import (
	"encoding/base64"
	"io"
	"net/http"
	"slices"
	"strings"
	"time"

	"github.com/gatehouse/gatehouse/internal/cookies"
)

// formOnce recognises the resubmission of a form whose answer shows a
// secret once (an API token, a workstation enrolment link), which cannot
// redirect after the post since the secret is never kept. Each rendering
// of the form carries a random form id; once a post with it has created
// something, the id goes into a cookie, and a reload or back-and-forward
// that posts it again is answered with a redirect instead of a second
// creation. The cookie holds no secret (a form id only says "this post
// was already answered"), so it needs neither the Secure flag nor signing:
// whoever could plant it could only stop something from being created.
type formOnce struct {
	cookie string // its name
	path   string // the cookie's path: where the form posts
}

// formsKept is how many of a browser's last form ids are remembered.
const formsKept = 8

var (
	tokenForms     = formOnce{cookie: cookies.Prefix + "token_forms", path: Prefix + "tokens"}
	enrolmentForms = formOnce{cookie: cookies.Prefix + "enrolment_forms", path: Prefix + "users/"}
)

// newFormID names one rendering of a form.
func newFormID(rnd io.Reader) (string, error) {
	id := make([]byte, 16)
	if _, err := io.ReadFull(rnd, id); err != nil {
		return "", err
	}
	return base64.RawURLEncoding.EncodeToString(id), nil
}

// used reads the form ids this browser already posted.
func (f formOnce) used(r *http.Request) []string {
	c, err := r.Cookie(f.cookie)
	if err != nil || c.Value == "" {
		return nil
	}
	return strings.Split(c.Value, ".")
}

// seen reports whether id was already posted from this browser.
func (f formOnce) seen(r *http.Request, id string) bool {
	return id != "" && slices.Contains(f.used(r), id)
}

// remember records that the post of id created something.
func (f formOnce) remember(x *call, id string) {
	used := append(f.used(x.r), id)
	if len(used) > formsKept {
		used = used[len(used)-formsKept:]
	}
	http.SetCookie(x.w, &http.Cookie{Name: f.cookie, Value: strings.Join(used, "."), Path: f.path,
		MaxAge: int((24 * time.Hour).Seconds()), HttpOnly: true, SameSite: http.SameSiteStrictMode})
}
