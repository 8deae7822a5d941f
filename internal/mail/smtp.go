package mail

import (
	"context"
	"crypto/tls"
	"errors"
	"fmt"
	"net/textproto"
	"time"

	gomail "github.com/wneessen/go-mail"
)

// SMTPOptions configure an SMTP sender. Password is the resolved secret.
type SMTPOptions struct {
	Host        string
	Port        int
	Username    string
	Password    string
	StartTLS    bool // STARTTLS is mandatory: a server without it is refused
	ImplicitTLS bool // TLS from the first byte (port 465 style)
	From        string
	Timeout     time.Duration // per connection; default 30s
	// TLSConfig overrides the TLS settings (tests trust their own CA).
	TLSConfig *tls.Config
}

// SMTP delivers mail to one SMTP server, one connection per message: mail
// is rare (resets, invitations), so a pooled connection would only go stale.
type SMTP struct {
	opts SMTPOptions
}

var _ Sender = (*SMTP)(nil)

// NewSMTP checks opts and returns the sender.
func NewSMTP(opts SMTPOptions) (*SMTP, error) {
	if opts.Host == "" {
		return nil, errors.New("mail: smtp host is empty")
	}
	if opts.StartTLS && opts.ImplicitTLS {
		return nil, errors.New("mail: starttls and implicit_tls exclude each other")
	}
	if opts.From == "" {
		return nil, errors.New("mail: from address is empty")
	}
	if opts.Port == 0 {
		opts.Port = 25
		if opts.ImplicitTLS {
			opts.Port = 465
		}
	}
	if opts.Timeout <= 0 {
		opts.Timeout = 30 * time.Second
	}
	return &SMTP{opts: opts}, nil
}

func (s *SMTP) client() (*gomail.Client, error) {
	o := s.opts
	copts := []gomail.Option{
		gomail.WithPort(o.Port),
		gomail.WithTimeout(o.Timeout),
	}
	tlsConf := o.TLSConfig
	if tlsConf == nil {
		tlsConf = &tls.Config{ServerName: o.Host, MinVersion: tls.VersionTLS12}
	}
	switch {
	case o.ImplicitTLS:
		copts = append(copts, gomail.WithSSL(), gomail.WithTLSConfig(tlsConf))
	case o.StartTLS:
		copts = append(copts, gomail.WithTLSPolicy(gomail.TLSMandatory), gomail.WithTLSConfig(tlsConf))
	default:
		// Plain SMTP: a relay on loopback or a test server.
		copts = append(copts, gomail.WithTLSPolicy(gomail.NoTLS))
	}
	if o.Username != "" {
		copts = append(copts,
			gomail.WithSMTPAuth(gomail.SMTPAuthAutoDiscover),
			gomail.WithUsername(o.Username),
			gomail.WithPassword(o.Password))
	}
	return gomail.NewClient(o.Host, copts...)
}

// Send delivers m. A 5xx answer or an unusable address is permanent.
func (s *SMTP) Send(ctx context.Context, m Message) error {
	msg, err := build(s.opts.From, m, time.Now())
	if err != nil {
		return permanent(err)
	}
	c, err := s.client()
	if err != nil {
		return permanent(fmt.Errorf("mail: smtp client: %w", err))
	}
	if err := c.DialAndSendWithContext(ctx, msg); err != nil {
		return classify(err)
	}
	return nil
}

// classify tells permanent failures (the server answered 5xx) from
// transient ones (4xx, connection refused, timeouts).
func classify(err error) error {
	var se *gomail.SendError
	if errors.As(err, &se) {
		if code := se.ErrorCode(); code >= 500 && code < 600 {
			return permanent(err)
		}
		return err
	}
	// Errors outside a SendError (a refused greeting, a failed AUTH)
	// carry the server's reply code in a textproto.Error.
	var te *textproto.Error
	if errors.As(err, &te) && te.Code >= 500 && te.Code < 600 {
		return permanent(err)
	}
	return err
}

// build turns m into a go-mail message with a plain-text body and, when
// present, an HTML alternative.
func build(from string, m Message, date time.Time) (*gomail.Msg, error) {
	msg := gomail.NewMsg()
	if err := msg.From(from); err != nil {
		return nil, fmt.Errorf("mail: from %q: %w", from, err)
	}
	if err := msg.To(m.To); err != nil {
		return nil, fmt.Errorf("mail: to: %w", err)
	}
	msg.Subject(m.Subject)
	msg.SetDateWithValue(date)
	msg.SetMessageID()
	msg.SetBodyString(gomail.TypeTextPlain, m.Text)
	if m.HTML != "" {
		msg.AddAlternativeString(gomail.TypeTextHTML, m.HTML)
	}
	return msg, nil
}
