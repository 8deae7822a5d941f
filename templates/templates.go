// Package templates embeds the HTML of every page the gateway serves, so the
// binary carries its own pages and they are parsed once at start.
package templates

import "embed"

// FS holds layout.html and one file per page.
//
//go:embed *.html
var FS embed.FS
