package server_test

import (
	"bufio"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"strconv"
	"testing"
	"time"

	"github.com/gatehouse/gatehouse/internal/config"
	"github.com/gatehouse/gatehouse/internal/server/servertest"
)

// slowGateway has small limits so slow clients are cut within a second:
// gateway bodies must arrive within 400 ms, proxied ones at 20 KB/s over
// each 300 ms. Its public route /upload leads to an app that reads the
// whole body and answers how many bytes it got.
func slowGateway(t *testing.T) *servertest.Gateway {
	app := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		n, err := io.Copy(io.Discard, r.Body)
		if err != nil {
			http.Error(w, "body: "+err.Error(), http.StatusBadRequest)
			return
		}
		io.WriteString(w, strconv.FormatInt(n, 10))
	}))
	t.Cleanup(app.Close)
	return servertest.Start(t, servertest.Options{Configure: func(c *config.Config) {
		c.Routes = []config.Route{{PathPrefix: "/upload", Upstream: app.URL, Audience: "app", Company: "acme", Public: true,
			Timeout: config.Duration(time.Minute), MaxIdleConns: 4}}
		c.Limits.GatewayReadTimeout = config.Duration(400 * time.Millisecond)
		c.Limits.UploadMinRate = 20_000
		c.Limits.UploadRateWindow = config.Duration(300 * time.Millisecond)
	}})
}

// trickle sends a request head announcing a body of 4096 bytes, then one
// byte every 20 ms (or, when silent, nothing), and returns how long the
// gateway kept the connection before answering or closing it; it gives up
// after giveUp.
func trickle(t *testing.T, g *servertest.Gateway, path string, silent bool, giveUp time.Duration) time.Duration {
	t.Helper()
	conn, err := net.Dial("tcp", g.Addr)
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	start := time.Now()
	fmt.Fprintf(conn, "POST %s HTTP/1.1\r\nHost: localhost\r\nContent-Type: application/x-www-form-urlencoded\r\nContent-Length: 4096\r\n\r\n", path)
	cut := make(chan struct{})
	go func() {
		defer close(cut)
		_, _ = bufio.NewReader(conn).ReadByte() // an answer, or the close
	}()
	tick := time.NewTicker(20 * time.Millisecond)
	defer tick.Stop()
	for {
		select {
		case <-cut:
			return time.Since(start)
		case <-tick.C:
			if time.Since(start) > giveUp {
				return time.Since(start)
			}
			if silent {
				continue
			}
			if _, err := conn.Write([]byte("a")); err != nil {
				return time.Since(start)
			}
		}
	}
}

// TestSlowClientsAreCut: a body trickled at 50 bytes a second, or not sent
// at all, to a gateway form, the API or an app behind the gateway is cut
// within about a second; an upload of 64 MiB at loopback speed passes
// whole.
func TestSlowClientsAreCut(t *testing.T) {
	g := slowGateway(t)
	const giveUp = 3 * time.Second
	for _, path := range []string{"/.gatehouse/login", "/.gatehouse/password/forgot", "/.gatehouse/api/v1/invitations", "/upload/file"} {
		for _, silent := range []bool{false, true} {
			how := map[bool]string{false: "trickled", true: "silent"}[silent]
			if held := trickle(t, g, path, silent, giveUp); held >= giveUp {
				t.Errorf("a %s body to %s was still held after %v", how, path, held)
			} else {
				t.Logf("%s, %s: cut after %v", path, how, held.Round(time.Millisecond))
			}
		}
	}

	const size = 64 << 20
	start := time.Now()
	resp, err := http.Post(g.URL+"/upload/big", "application/octet-stream", io.LimitReader(zeros{}, size))
	if err != nil {
		t.Fatal(err)
	}
	body, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	if resp.StatusCode != http.StatusOK || string(body) != strconv.Itoa(size) {
		t.Fatalf("64 MiB upload: %d %q, want 200 and every byte", resp.StatusCode, body)
	}
	t.Logf("64 MiB upload passed in %v", time.Since(start).Round(time.Millisecond))
}

type zeros struct{}

func (zeros) Read(p []byte) (int, error) {
	clear(p)
	return len(p), nil
}
