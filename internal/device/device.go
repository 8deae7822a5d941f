// Package device names the browser and operating system a User-Agent
// header claims, so people can tell their sessions apart.
package device

import (
	"strings"
	"sync"

	"github.com/medama-io/go-useragent"
)

// Device is what a User-Agent says about the client. The names come from
// the parser's fixed list ("Chrome", "Firefox", "Windows", "MacOS", ...),
// never from the header's own text, so a client cannot make its session
// show words of its choosing; an empty field means not recognised.
type Device struct {
	Browser string `json:"browser"`
	OS      string `json:"os"`
}

// The parser builds its lookup tree once (a fraction of a second), on the
// first use rather than at every start.
var parser = sync.OnceValue(useragent.NewParser)

// maxLen bounds what is parsed; the session layer already stores at most
// 512 bytes.
const maxLen = 512

// Parse reads a User-Agent header.
func Parse(ua string) Device {
	if ua == "" {
		return Device{}
	}
	if len(ua) > maxLen {
		ua = ua[:maxLen]
	}
	a := parser().Parse(ua)
	return Device{Browser: a.Browser().String(), OS: a.OS().String()}
}

// Known reports whether the browser or the system was recognised.
func (d Device) Known() bool { return d.Browser != "" || d.OS != "" }

// Label names a device in words: "Chrome on Windows", or the half
// that was recognised, or "Unknown device", translated with t.
func Label(t func(key string) string, d Device) string {
	switch {
	case d.Browser != "" && d.OS != "":
		return strings.NewReplacer("{browser}", d.Browser, "{os}", d.OS).Replace(t("account.device_on"))
	case d.Browser != "":
		return d.Browser
	case d.OS != "":
		return d.OS
	}
	return t("account.device_unknown")
}
