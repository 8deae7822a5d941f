package storetest

import (
	"context"
	"fmt"
	"net"
	"os"
	"os/exec"
	"os/user"
	"path/filepath"
	"sort"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"
)

// Cluster is a private PostgreSQL server that one test owns, so it can
// stop and start the database for real (a crash or a maintenance restart)
// without disturbing the shared test server other tests use.
type Cluster struct {
	t    testing.TB
	dir  string
	bin  string
	port int
	// DSN reaches the cluster's "test" database.
	DSN string
	// asUser runs the server's tools as this user: PostgreSQL refuses to
	// run as root, which is what CI runs as.
	asUser string
}

// NewCluster initialises a cluster in a temporary folder, starts it on a
// free loopback port and stops it when the test ends. The server's own
// binaries (Debian's postgresql package, as scripts/test-deps.sh installs)
// must be present: without them the test fails, saying so.
func NewCluster(t testing.TB) *Cluster {
	t.Helper()
	bin, err := postgresBinDir()
	if err != nil {
		t.Fatalf("private PostgreSQL cluster: %v", err)
	}
	dir, err := os.MkdirTemp("", "gatehouse-pg-")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { os.RemoveAll(dir) })
	c := &Cluster{t: t, dir: dir, bin: bin}
	if os.Geteuid() == 0 {
		c.asUser = "postgres"
		u, err := user.Lookup(c.asUser)
		if err != nil {
			t.Fatalf("private PostgreSQL cluster: running as root needs the %q user: %v", c.asUser, err)
		}
		uid, _ := strconv.Atoi(u.Uid)
		gid, _ := strconv.Atoi(u.Gid)
		if err := os.Chown(dir, uid, gid); err != nil {
			t.Fatal(err)
		}
	}
	data := filepath.Join(dir, "data")
	c.run("initdb", "-D", data, "-U", "postgres", "--auth=trust", "--no-sync", "-E", "UTF8")
	c.port = freePort(t)
	c.DSN = fmt.Sprintf("postgres://postgres@127.0.0.1:%d/test?sslmode=disable", c.port)
	c.Start()
	t.Cleanup(func() { c.stop("immediate", false) })

	ctx, cancel := context.WithTimeout(context.Background(), 15*time.Second)
	defer cancel()
	cfg, err := pgx.ParseConfig(c.DSN)
	if err != nil {
		t.Fatal(err)
	}
	conn, err := connectCreatingDB(ctx, cfg)
	if err != nil {
		t.Fatalf("private PostgreSQL cluster: %v", err)
	}
	conn.Close(context.Background())
	return c
}

// Start starts the server and waits until it accepts connections.
func (c *Cluster) Start() {
	c.t.Helper()
	opts := fmt.Sprintf("-p %d -c listen_addresses=127.0.0.1 -c unix_socket_directories='' -c fsync=off", c.port)
	c.run("pg_ctl", "-D", filepath.Join(c.dir, "data"), "-l", filepath.Join(c.dir, "log"), "-o", opts, "-w", "-t", "30", "start")
}

// Stop shuts the server down the way an operator's restart does: every
// connection is closed at once (fast mode).
func (c *Cluster) Stop() {
	c.t.Helper()
	c.stop("fast", true)
}

// Crash stops the server as a power cut would: no checkpoint, and the
// next start runs crash recovery.
func (c *Cluster) Crash() {
	c.t.Helper()
	c.stop("immediate", true)
}

func (c *Cluster) stop(mode string, must bool) {
	cmd := c.command("pg_ctl", "-D", filepath.Join(c.dir, "data"), "-m", mode, "-w", "-t", "30", "stop")
	if out, err := cmd.CombinedOutput(); err != nil && must {
		c.t.Fatalf("pg_ctl stop: %v\n%s", err, out)
	}
}

func (c *Cluster) run(tool string, args ...string) {
	c.t.Helper()
	if out, err := c.command(tool, args...).CombinedOutput(); err != nil {
		log, _ := os.ReadFile(filepath.Join(c.dir, "log"))
		c.t.Fatalf("%s: %v\n%s\n%s", tool, err, out, log)
	}
}

func (c *Cluster) command(tool string, args ...string) *exec.Cmd {
	path := filepath.Join(c.bin, tool)
	if c.asUser != "" {
		return exec.Command("runuser", append([]string{"-u", c.asUser, "--", path}, args...)...)
	}
	return exec.Command(path, args...)
}

// postgresBinDir finds the server binaries: Debian keeps them out of PATH
// under /usr/lib/postgresql/VERSION/bin.
func postgresBinDir() (string, error) {
	if p, err := exec.LookPath("pg_ctl"); err == nil {
		return filepath.Dir(p), nil
	}
	dirs, _ := filepath.Glob("/usr/lib/postgresql/*/bin")
	sort.Slice(dirs, func(i, j int) bool { return versionOf(dirs[i]) > versionOf(dirs[j]) })
	for _, d := range dirs {
		if _, err := os.Stat(filepath.Join(d, "pg_ctl")); err == nil {
			return d, nil
		}
	}
	return "", fmt.Errorf("no pg_ctl in PATH or /usr/lib/postgresql/*/bin: install Debian's postgresql package (make test does)")
}

func versionOf(binDir string) int {
	v, _ := strconv.Atoi(strings.Split(filepath.Base(filepath.Dir(binDir)), ".")[0])
	return v
}

func freePort(t testing.TB) int {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	return ln.Addr().(*net.TCPAddr).Port
}
