// Package browsertest starts headless Chromium for the browser tests. A
// missing browser fails the test with the way to get one; it never skips.
package browsertest

import (
	"context"
	"os"
	"os/exec"
	"path/filepath"
	"testing"
	"time"

	"github.com/chromedp/chromedp"
)

// Path finds the Chromium binary: $GATEHOUSE_CHROMIUM, then Debian's
// chromium, then other usual names.
func Path(t testing.TB) string {
	if p := os.Getenv("GATEHOUSE_CHROMIUM"); p != "" {
		return p
	}
	for _, name := range []string{"chromium", "chromium-browser", "google-chrome", "headless-shell"} {
		if p, err := exec.LookPath(name); err == nil {
			return p
		}
	}
	t.Fatalf("Chromium not found: install Debian's chromium package (make test does it: ./scripts/test-deps.sh) or set GATEHOUSE_CHROMIUM")
	return ""
}

// New starts a fresh headless browser (empty profile) and returns a
// chromedp context bound to the test; it is closed at cleanup.
func New(t testing.TB) context.Context {
	t.Helper()
	opts := []chromedp.ExecAllocatorOption{
		chromedp.ExecPath(Path(t)),
		chromedp.Headless,
		chromedp.NoFirstRun,
		chromedp.NoDefaultBrowserCheck,
		chromedp.DisableGPU,
		chromedp.NoSandbox,
		chromedp.UserDataDir(t.TempDir()),
		chromedp.Flag("disable-background-networking", true),
		chromedp.Flag("disable-component-update", true),
		chromedp.Flag("disable-sync", true),
		chromedp.Flag("disable-quic", true),
		chromedp.Flag("disable-dev-shm-usage", true),
		chromedp.WindowSize(1280, 900),
	}
	allocCtx, cancelAlloc := chromedp.NewExecAllocator(context.Background(), opts...)
	browserCtx, cancelCtx := chromedp.NewContext(allocCtx)
	// The first call starts the browser, which lives as long as that
	// call's context: it must not carry the timeout.
	if err := chromedp.Do(browserCtx); err != nil {
		cancelCtx()
		cancelAlloc()
		t.Fatalf("starting Chromium %s: %v", Path(t), err)
	}
	ctx, cancelTimeout := context.WithTimeout(browserCtx, 90*time.Second)
	t.Cleanup(func() {
		cancelTimeout()
		cancelCtx()
		cancelAlloc()
	})
	return ctx
}

// Screenshot saves the page as a PNG under $GATEHOUSE_ARTIFACTS (or the
// test's temp dir) and logs where, for looking at a failure.
func Screenshot(t testing.TB, ctx context.Context, name string) string {
	t.Helper()
	dir := os.Getenv("GATEHOUSE_ARTIFACTS")
	if dir == "" {
		dir = filepath.Join(os.TempDir(), "gatehouse-artifacts")
	}
	if err := os.MkdirAll(dir, 0o755); err != nil {
		t.Logf("screenshot: %v", err)
		return ""
	}
	png, err := chromedp.Run(ctx, chromedp.FullScreenshot(90))
	if err != nil {
		t.Logf("screenshot: %v", err)
		return ""
	}
	path := filepath.Join(dir, name+".png")
	if err := os.WriteFile(path, png, 0o644); err != nil {
		t.Logf("screenshot: %v", err)
		return ""
	}
	t.Logf("screenshot saved to %s", path)
	return path
}
