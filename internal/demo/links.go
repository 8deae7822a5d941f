package demo

import (
	"context"
	"fmt"
	"io"
	"mime"
	"mime/multipart"
	"mime/quotedprintable"
	"net/mail"
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"strings"
	"time"
)

// The demo writes mail to .eml files, whose bodies are quoted-printable:
// a link copied out of one breaks at the soft line breaks and "=3D"s. So
// the demo also prints, in its own log, every gateway link each new
// message carries (set a password, reset it, enrol a workstation).

// gatewayLink finds the gateway's one-time links in a message body.
var gatewayLink = regexp.MustCompile(`https?://[^\s"'<>]+/\.gatehouse/[^\s"'<>]*token=[A-Za-z0-9_-]+`)

// watchOutbox prints the links of each message that appears in dir, until
// ctx ends. Messages there before it started are not printed.
func watchOutbox(ctx context.Context, dir string, out io.Writer, every time.Duration) {
	seen := map[string]bool{}
	for _, name := range emlFiles(dir) {
		seen[name] = true
	}
	t := time.NewTicker(every)
	defer t.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case <-t.C:
		}
		for _, name := range emlFiles(dir) {
			if seen[name] {
				continue
			}
			seen[name] = true
			to, subject, links, err := readLinks(filepath.Join(dir, name))
			if err != nil || len(links) == 0 {
				continue
			}
			fmt.Fprintf(out, "Mail to %s (%q), link:\n  %s\n", to, subject, strings.Join(links, "\n  "))
		}
	}
}

// emlFiles lists the finished messages of dir (the outbox writes each
// under a temporary name first), oldest first.
func emlFiles(dir string) []string {
	entries, err := os.ReadDir(dir)
	if err != nil {
		return nil
	}
	var out []string
	for _, e := range entries {
		if !e.IsDir() && strings.HasSuffix(e.Name(), ".eml") {
			out = append(out, e.Name())
		}
	}
	slices.Sort(out)
	return out
}

// readLinks reads one .eml and returns its recipient, subject and the
// distinct gateway links of its decoded text.
func readLinks(path string) (to, subject string, links []string, err error) {
	f, err := os.Open(path)
	if err != nil {
		return "", "", nil, err
	}
	defer f.Close()
	msg, err := mail.ReadMessage(f)
	if err != nil {
		return "", "", nil, err
	}
	dec := new(mime.WordDecoder)
	to = msg.Header.Get("To")
	if subject, err = dec.DecodeHeader(msg.Header.Get("Subject")); err != nil {
		subject = msg.Header.Get("Subject")
	}
	text, err := bodyText(msg.Header.Get("Content-Type"), msg.Header.Get("Content-Transfer-Encoding"), msg.Body)
	if err != nil {
		return "", "", nil, err
	}
	for _, l := range gatewayLink.FindAllString(text, -1) {
		if !slices.Contains(links, l) {
			links = append(links, l)
		}
	}
	return to, subject, links, nil
}

// bodyText decodes a body, each part of a multipart one (whose reader
// undoes quoted-printable itself) included.
func bodyText(contentType, encoding string, body io.Reader) (string, error) {
	media, params, err := mime.ParseMediaType(contentType)
	if err == nil && strings.HasPrefix(media, "multipart/") {
		r := multipart.NewReader(body, params["boundary"])
		var b strings.Builder
		for {
			p, err := r.NextPart()
			if err == io.EOF {
				return b.String(), nil
			}
			if err != nil {
				return "", err
			}
			s, err := bodyText(p.Header.Get("Content-Type"), p.Header.Get("Content-Transfer-Encoding"), p)
			if err != nil {
				return "", err
			}
			b.WriteString(s)
			b.WriteByte('\n')
		}
	}
	if strings.EqualFold(encoding, "quoted-printable") {
		body = quotedprintable.NewReader(body)
	}
	b, err := io.ReadAll(body)
	return string(b), err
}
