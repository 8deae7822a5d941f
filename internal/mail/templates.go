package mail

import (
	"bytes"
	"embed"
	"fmt"
	htmltemplate "html/template"
	"strings"
	texttemplate "text/template"
	"time"
)

// Mail kinds, each with a template per language.
const (
	KindPasswordReset   = "password_reset"
	KindPasswordChanged = "password_changed"
	KindInvitation      = "invitation"
	// KindEmailChanged goes to an account's old address when an
	// administrator changes it.
	KindEmailChanged = "email_changed"
	// KindCompanyAdded tells an existing account it was given a role in
	// another company.
	KindCompanyAdded = "company_added"
)

var (
	kinds     = []string{KindPasswordReset, KindPasswordChanged, KindInvitation, KindEmailChanged, KindCompanyAdded}
	languages = []string{"en", "fr", "ja"}
)

//go:embed templates/*
var templateFS embed.FS

// Data fills a mail template.
type Data struct {
	To       string // the recipient, copied into the Message
	Name     string // how to greet them
	Link     string // the one-time link, when the kind has one
	ValidFor time.Duration
	NewEmail string // the address an email change moved the account to
	Company  string // the company an account was added to
}

type pair struct {
	text *texttemplate.Template // defines "subject" and "text"
	html *htmltemplate.Template // layout + "body"
}

// Templates holds every mail template, parsed once at start.
type Templates struct {
	byKey map[string]pair // kind + "." + lang
}

// LoadTemplates parses the embedded templates; every kind must exist in
// every language, so a missing translation fails at start.
func LoadTemplates() (*Templates, error) {
	t := &Templates{byKey: map[string]pair{}}
	for _, lang := range languages {
		funcs := map[string]any{"validFor": func(d time.Duration) string { return validFor(lang, d) }}
		for _, kind := range kinds {
			base := "templates/" + kind + "." + lang
			tt, err := texttemplate.New("").Funcs(funcs).ParseFS(templateFS, base+".txt")
			if err != nil {
				return nil, fmt.Errorf("mail templates: %w", err)
			}
			ht, err := htmltemplate.New("").Funcs(funcs).ParseFS(templateFS, "templates/layout.html", base+".html")
			if err != nil {
				return nil, fmt.Errorf("mail templates: %w", err)
			}
			if tt.Lookup("subject") == nil || tt.Lookup("text") == nil || ht.Lookup("body") == nil {
				return nil, fmt.Errorf("mail templates: %s.%s lacks subject, text or body", kind, lang)
			}
			t.byKey[kind+"."+lang] = pair{text: tt, html: ht}
		}
	}
	return t, nil
}

// Render builds the message of kind in lang (English when lang is not
// one Gatehouse speaks). With a Data value, To is filled in.
func (t *Templates) Render(kind, lang string, data any) (Message, error) {
	p, ok := t.byKey[kind+"."+lang]
	if !ok {
		lang = "en"
		if p, ok = t.byKey[kind+"."+lang]; !ok {
			return Message{}, fmt.Errorf("mail: unknown kind %q", kind)
		}
	}
	var subj, text, html bytes.Buffer
	if err := p.text.ExecuteTemplate(&subj, "subject", data); err != nil {
		return Message{}, fmt.Errorf("mail: %s subject: %w", kind, err)
	}
	if err := p.text.ExecuteTemplate(&text, "text", data); err != nil {
		return Message{}, fmt.Errorf("mail: %s text: %w", kind, err)
	}
	if err := p.html.ExecuteTemplate(&html, "layout", htmlData{Lang: lang, Data: data}); err != nil {
		return Message{}, fmt.Errorf("mail: %s html: %w", kind, err)
	}
	m := Message{
		// A subject is one line: a newline in a name must not smuggle a header.
		Subject: strings.Join(strings.Fields(subj.String()), " "),
		Text:    strings.TrimLeft(text.String(), "\n"),
		HTML:    html.String(),
	}
	if d, ok := data.(Data); ok {
		m.To = d.To
	}
	return m, nil
}

// htmlData lets the layout know the language while the body sees the
// caller's data through the same dot.
type htmlData struct {
	Lang string
	Data any
}

func validFor(lang string, d time.Duration) string {
	if d <= 0 {
		d = time.Minute
	}
	n, unit := int(d/time.Minute), "m"
	if d >= 2*time.Hour && d%time.Hour == 0 {
		n, unit = int(d/time.Hour), "h"
	}
	switch lang + unit {
	case "frm":
		return plural(n, "minute", "minutes")
	case "frh":
		return plural(n, "heure", "heures")
	case "jam":
		return fmt.Sprintf("%d分", n)
	case "jah":
		return fmt.Sprintf("%d時間", n)
	case "enh":
		return plural(n, "hour", "hours")
	default:
		return plural(n, "minute", "minutes")
	}
}

func plural(n int, one, many string) string {
	if n == 1 {
		return "1 " + one
	}
	return fmt.Sprintf("%d %s", n, many)
}
