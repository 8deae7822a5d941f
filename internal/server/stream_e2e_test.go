package server_test

import (
	"bufio"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/gatehouse/gatehouse/internal/account"
	"github.com/gatehouse/gatehouse/internal/config"
	"github.com/gatehouse/gatehouse/internal/server/servertest"
)

// TestUpgradesAndStreamsPassThrough checks that the whole gateway, with its
// logging and metrics around the proxy, passes a WebSocket-style upgrade
// and a server-sent event stream as they happen.
func TestUpgradesAndStreamsPassThrough(t *testing.T) {
	release := make(chan struct{})
	app := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		switch r.URL.Path {
		case "/ws":
			if r.Header.Get("X-Gatehouse-Assertion") == "" {
				http.Error(w, "no identity", http.StatusUnauthorized)
				return
			}
			conn, rw, err := http.NewResponseController(w).Hijack()
			if err != nil {
				t.Error(err)
				return
			}
			defer conn.Close()
			rw.WriteString("HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n\r\n")
			rw.Flush()
			line, _ := rw.ReadString('\n')
			rw.WriteString("echo " + line)
			rw.Flush()
		case "/events":
			w.Header().Set("Content-Type", "text/event-stream")
			fmt.Fprint(w, "data: first\n\n")
			w.(http.Flusher).Flush()
			<-release
			fmt.Fprint(w, "data: second\n\n")
		}
	}))
	t.Cleanup(app.Close)
	g := servertest.Start(t, servertest.Options{Configure: func(c *config.Config) {
		c.Routes = []config.Route{{PathPrefix: "/", Upstream: app.URL, Audience: "app", Company: "acme", Timeout: config.Duration(5 * time.Second), MaxIdleConns: 16}}
	}})
	g.CreateUser(t, account.NewAccount{Email: "s@example.com", Password: pw, CompanyID: "acme", Role: "viewer"})
	c := servertest.Client(t)
	g.Login(t, c, "s@example.com", pw)
	var cookie string
	for _, ck := range c.Jar.Cookies(mustURL(t, g.URL)) {
		cookie += ck.Name + "=" + ck.Value + "; "
	}

	conn, err := net.Dial("tcp", g.Addr)
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	conn.SetDeadline(time.Now().Add(10 * time.Second))
	fmt.Fprintf(conn, "GET /ws HTTP/1.1\r\nHost: localhost\r\nConnection: Upgrade\r\nUpgrade: websocket\r\nCookie: %s\r\n\r\n", cookie)
	br := bufio.NewReader(conn)
	resp, err := http.ReadResponse(br, nil)
	if err != nil || resp.StatusCode != http.StatusSwitchingProtocols {
		t.Fatalf("upgrade: %v %v", resp, err)
	}
	fmt.Fprint(conn, "hello\n")
	if line, _ := br.ReadString('\n'); line != "echo hello\n" {
		t.Fatalf("over the upgraded connection: %q", line)
	}

	req, _ := http.NewRequest(http.MethodGet, g.URL+"/events", nil)
	req.Header.Set("Accept", "text/event-stream")
	sresp, err := c.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer sresp.Body.Close()
	got := make(chan string, 1)
	go func() {
		buf := make([]byte, 64)
		n, _ := io.ReadAtLeast(sresp.Body, buf, len("data: first\n\n"))
		got <- string(buf[:n])
	}()
	select {
	case first := <-got:
		if !strings.Contains(first, "data: first") {
			t.Fatalf("first event: %q", first)
		}
	case <-time.After(5 * time.Second):
		t.Fatal("the first event was held back until the stream ended")
	}
	close(release)
}
