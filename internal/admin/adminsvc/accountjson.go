package adminsvc

import (
	"time"

	"github.com/gatehouse/gatehouse/internal/account"
)

// MembershipJSON is one company role of an account as the API shows it.
type MembershipJSON struct {
	Company string   `json:"company"`
	Role    string   `json:"role"`
	Sites   []string `json:"sites"`
}

// AccountJSON is an account as the API shows it.
type AccountJSON struct {
	ID           string           `json:"id"`
	Email        string           `json:"email"`
	FirstName    string           `json:"first_name"`
	LastName     string           `json:"last_name"`
	Language     string           `json:"language"`
	DateFormat   string           `json:"date_format"`
	TimeZone     string           `json:"time_zone"`
	Kind         string           `json:"kind"`
	SignIn       string           `json:"sign_in"`
	Status       string           `json:"status"`
	CreatedAt    time.Time        `json:"created_at"`
	TermsVersion string           `json:"terms_version"`
	Memberships  []MembershipJSON `json:"memberships"`
}

// AccountFilter selects accounts to list.
type AccountFilter struct {
	Search  string
	Status  string
	Role    string
	Company string
	Site    string
	After   string // cursor: the last id of the previous page
	Limit   int    // default 50, at most 200
}

// AccountPage is one page of accounts; Next is the cursor of the next
// page, empty on the last one.
type AccountPage struct {
	Accounts []AccountJSON `json:"accounts"`
	Next     string        `json:"next"`
}

// NewAccount is the input to CreateAccount. There is no password: a
// password account is invited to set its own.
type NewAccount struct {
	Email       string
	FirstName   string
	LastName    string
	Language    string
	DateFormat  string
	Kind        string
	SignIn      string
	Memberships []account.MembershipInput
}

// Created is the result of CreateAccount.
type Created struct {
	Account AccountJSON `json:"account"`
	// InvitationSent: a password account was mailed its set-password link.
	InvitationSent bool   `json:"invitation_sent"`
	Invitation     string `json:"invitation,omitempty"` // why no mail was sent
}

// AccountUpdate is a change to an account: profile fields given are set,
// and Properties, when given, sets some of its property values in one
// company.
type AccountUpdate struct {
	Profile account.ProfileUpdate
	// Kind is accepted only to refuse a change clearly: it is fixed at
	// creation.
	Kind       *string
	Properties *PropertiesUpdate
}

// PropertiesUpdate sets some of an account's property values in one
// company: each key maps to its new values, an empty list clearing it;
// keys not given stay.
type PropertiesUpdate struct {
	Company string
	Values  map[string][]string
}

// PropertiesJSON is an account's property values in one company.
type PropertiesJSON struct {
	Company string         `json:"company"`
	Values  map[string]any `json:"values"`
}

// AccountUpdated is the answer to an update: the account and, when the
// update set properties, their values in that company afterwards.
type AccountUpdated struct {
	AccountJSON
	Properties *PropertiesJSON `json:"properties,omitempty"`
}
