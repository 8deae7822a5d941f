// Package static serves the gateway's own scripts and styles under
// /.gatehouse/static/, embedded in the binary. Pages forbid inline
// scripts and styles, so every one lives here.
package static

import (
	"embed"
	"io/fs"
	"net/http"
)

//go:embed files
var files embed.FS

// Handler serves the embedded files with long-lived caching disabled, so
// an upgrade never leaves a browser with stale scripts.
func Handler() http.Handler {
	sub, err := fs.Sub(files, "files")
	if err != nil {
		panic(err) // the embed pattern guarantees the folder exists
	}
	fileServer := http.StripPrefix("/.gatehouse/static/", http.FileServerFS(filesOnly{sub}))
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Cache-Control", "no-cache")
		w.Header().Set("X-Content-Type-Options", "nosniff")
		fileServer.ServeHTTP(w, r)
	})
}

// filesOnly hides directories: the file server would list them, and what
// the gateway ships is nobody's business but the pages that use it.
type filesOnly struct{ fs.FS }

func (f filesOnly) Open(name string) (fs.File, error) {
	file, err := f.FS.Open(name)
	if err != nil {
		return nil, err
	}
	info, err := file.Stat()
	if err != nil || info.IsDir() {
		file.Close()
		return nil, fs.ErrNotExist
	}
	return file, nil
}
