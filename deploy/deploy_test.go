// Package deploy_test checks the shipped deployments: the Kubernetes
// manifests decode strictly into the Kubernetes API types, the compose file
// passes docker-compose's own schema check, and the Gatehouse config each
// one runs with, seen as the container sees it (the image's GATEHOUSE_*
// variables, then the deployment's), passes Gatehouse's validation and
// agrees with the ports, probes and services around it.
package deploy_test

import (
	"bytes"
	"net"
	"net/url"
	"os"
	"os/exec"
	"path"
	"path/filepath"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"testing"

	"go.yaml.in/yaml/v3"
	appsv1 "k8s.io/api/apps/v1"
	corev1 "k8s.io/api/core/v1"
	policyv1 "k8s.io/api/policy/v1"
	"k8s.io/apimachinery/pkg/util/intstr"
	k8syaml "sigs.k8s.io/yaml"

	"github.com/gatehouse/gatehouse/internal/config"
)

// imageEnv reads the ENV instructions of the repository's Dockerfile: the
// GATEHOUSE_* values every container of the image starts with.
func imageEnv(t *testing.T) []string {
	t.Helper()
	data, err := os.ReadFile("../Dockerfile")
	if err != nil {
		t.Fatal(err)
	}
	joined := strings.ReplaceAll(string(data), "\\\n", " ")
	var env []string
	for line := range strings.SplitSeq(joined, "\n") {
		fields := strings.Fields(line)
		if len(fields) < 2 || fields[0] != "ENV" {
			continue
		}
		for _, kv := range fields[1:] {
			if !strings.Contains(kv, "=") {
				t.Fatalf("Dockerfile: ENV %q is not KEY=VALUE", kv)
			}
			env = append(env, kv)
		}
	}
	if len(env) == 0 {
		t.Fatal("Dockerfile: no ENV found; the test reads the image's defaults from it")
	}
	return env
}

// effectiveConfig loads a Gatehouse config as a container would: the file,
// then the image's variables, then the deployment's on top. It fails the
// test on any problem, and on any warning (these deployments have passkeys).
func effectiveConfig(t *testing.T, what string, data []byte, env []string) config.Config {
	t.Helper()
	cfg, err := config.LoadBytes(data, env)
	if err != nil {
		t.Fatalf("%s: Gatehouse config does not validate: %v", what, err)
	}
	if ws := cfg.Warnings(); len(ws) > 0 {
		t.Fatalf("%s: Gatehouse config warns: %v", what, ws)
	}
	return cfg
}

func port(t *testing.T, what, hostport string) int {
	t.Helper()
	_, p, err := net.SplitHostPort(hostport)
	if err != nil {
		t.Fatalf("%s %q: %v", what, hostport, err)
	}
	n, err := strconv.Atoi(p)
	if err != nil {
		t.Fatalf("%s %q: %v", what, hostport, err)
	}
	return n
}

// envRefs lists the variables the config's env: secrets name.
func envRefs(cfg config.Config) map[string]string {
	refs := map[string]string{}
	add := func(key string, s config.Secret) {
		if name, ok := strings.CutPrefix(string(s), "env:"); ok {
			refs[key] = name
		}
	}
	add("store.dsn", cfg.Store.DSN)
	add("mail.smtp.password", cfg.Mail.SMTP.Password)
	for i, p := range cfg.Providers {
		add("providers["+strconv.Itoa(i)+"].client_secret", p.ClientSecret)
	}
	return refs
}

// ---- Kubernetes

type manifests struct {
	configMap  corev1.ConfigMap
	secret     corev1.Secret
	deployment appsv1.Deployment
	service    corev1.Service
	pdb        policyv1.PodDisruptionBudget
}

// loadManifests decodes every file of deploy/kubernetes strictly (unknown
// or misspelt fields are errors) into the API type its kind names; a file
// of another kind, a second document or a kind twice fails the test.
func loadManifests(t *testing.T) manifests {
	t.Helper()
	files, err := filepath.Glob("kubernetes/*.yaml")
	if err != nil || len(files) == 0 {
		t.Fatalf("no manifests in deploy/kubernetes (%v)", err)
	}
	var m manifests
	targets := map[string]struct {
		apiVersion string
		into       any
	}{
		"ConfigMap":           {"v1", &m.configMap},
		"Secret":              {"v1", &m.secret},
		"Deployment":          {"apps/v1", &m.deployment},
		"Service":             {"v1", &m.service},
		"PodDisruptionBudget": {"policy/v1", &m.pdb},
	}
	seen := map[string]string{}
	for _, f := range files {
		data, err := os.ReadFile(f)
		if err != nil {
			t.Fatal(err)
		}
		if regexp.MustCompile(`(?m)^---`).Match(data) {
			t.Fatalf("%s: one object per file, please", f)
		}
		var head struct {
			APIVersion string `json:"apiVersion"`
			Kind       string `json:"kind"`
		}
		if err := k8syaml.Unmarshal(data, &head); err != nil {
			t.Fatalf("%s: %v", f, err)
		}
		target, ok := targets[head.Kind]
		switch {
		case !ok:
			t.Fatalf("%s: kind %q is not one this test checks", f, head.Kind)
		case head.APIVersion != target.apiVersion:
			t.Fatalf("%s: apiVersion %q, want %q", f, head.APIVersion, target.apiVersion)
		case seen[head.Kind] != "":
			t.Fatalf("%s: a second %s (first in %s)", f, head.Kind, seen[head.Kind])
		}
		seen[head.Kind] = f
		if err := k8syaml.UnmarshalStrict(data, target.into); err != nil {
			t.Fatalf("%s: does not decode strictly as %s: %v", f, head.Kind, err)
		}
	}
	for kind := range targets {
		if seen[kind] == "" {
			t.Errorf("deploy/kubernetes has no %s", kind)
		}
	}
	return m
}

func containerPort(t *testing.T, c corev1.Container, p intstr.IntOrString) int {
	t.Helper()
	for _, cp := range c.Ports {
		if (p.Type == intstr.String && cp.Name == p.StrVal) || (p.Type == intstr.Int && cp.ContainerPort == p.IntVal) {
			return int(cp.ContainerPort)
		}
	}
	t.Fatalf("container %s has no port %s", c.Name, p.String())
	return 0
}

func selects(selector, labels map[string]string) bool {
	if len(selector) == 0 {
		return false
	}
	for k, v := range selector {
		if labels[k] != v {
			return false
		}
	}
	return true
}

func TestKubernetesManifests(t *testing.T) {
	m := loadManifests(t)
	d := m.deployment
	if d.Spec.Replicas == nil || *d.Spec.Replicas != 2 {
		t.Errorf("Deployment replicas = %v, want 2", d.Spec.Replicas)
	}
	podLabels := d.Spec.Template.Labels
	if d.Spec.Selector == nil || !selects(d.Spec.Selector.MatchLabels, podLabels) {
		t.Error("Deployment selector does not select its own pods")
	}
	if !selects(m.service.Spec.Selector, podLabels) {
		t.Error("Service selector does not select the Deployment's pods")
	}
	if m.pdb.Spec.Selector == nil || !selects(m.pdb.Spec.Selector.MatchLabels, podLabels) {
		t.Error("PodDisruptionBudget does not select the Deployment's pods")
	}
	if mu := m.pdb.Spec.MinAvailable; mu == nil || mu.IntValue() < 1 || mu.IntValue() >= 2 {
		t.Errorf("PodDisruptionBudget minAvailable = %v, want 1 of the 2 replicas", mu)
	}

	pod := d.Spec.Template.Spec
	if len(pod.Containers) != 1 {
		t.Fatalf("%d containers, want 1", len(pod.Containers))
	}
	c := pod.Containers[0]

	// The config file the container runs with comes from the ConfigMap.
	if len(c.Args) != 3 || c.Args[0] != "serve" || c.Args[1] != "--config" {
		t.Fatalf("args = %q, want serve --config FILE", c.Args)
	}
	cfgPath := c.Args[2]
	var cfgVolume string
	for _, vm := range c.VolumeMounts {
		if vm.MountPath == path.Dir(cfgPath) {
			cfgVolume = vm.Name
		}
	}
	var fromConfigMap bool
	for _, v := range pod.Volumes {
		if v.Name == cfgVolume && v.ConfigMap != nil && v.ConfigMap.Name == m.configMap.Name {
			fromConfigMap = true
		}
	}
	data, ok := m.configMap.Data[path.Base(cfgPath)]
	if !fromConfigMap || !ok {
		t.Fatalf("--config %s is not the ConfigMap's key %s mounted at %s", cfgPath, path.Base(cfgPath), path.Dir(cfgPath))
	}

	// The container's environment: the image's, then the Deployment's,
	// with secretKeyRef values read from the Secret.
	env := imageEnv(t)
	for _, e := range c.Env {
		switch {
		case e.ValueFrom == nil:
			env = append(env, e.Name+"="+e.Value)
		case e.ValueFrom.SecretKeyRef != nil:
			ref := e.ValueFrom.SecretKeyRef
			v, ok := m.secret.StringData[ref.Key]
			if ref.Name != m.secret.Name || !ok {
				t.Fatalf("env %s: Secret %s has no key %s", e.Name, ref.Name, ref.Key)
			}
			env = append(env, e.Name+"="+v)
		case e.ValueFrom.ResourceFieldRef != nil:
			// GOMEMLIMIT and the like: not Gatehouse's.
		default:
			t.Fatalf("env %s: a source this test does not know", e.Name)
		}
	}
	cfg := effectiveConfig(t, "ConfigMap gatehouse.yaml", []byte(data), env)
	if cfg.Store.Driver != "postgres" {
		t.Errorf("store.driver = %q: two replicas need PostgreSQL (SQLite is one process)", cfg.Store.Driver)
	}
	lookup := config.EnvLookup(env)
	for key, name := range envRefs(cfg) {
		if _, ok := lookup(name); !ok {
			t.Errorf("%s: env:%s is not set in the container", key, name)
		}
	}
	if dsn, err := cfg.Store.DSN.Resolve(lookup); err != nil || !strings.HasPrefix(dsn, "postgres://") {
		t.Errorf("store.dsn resolves to a non-PostgreSQL DSN (%v)", err)
	}

	// Probes ask the ops listener; the Service serves the public one.
	opsPort, listenPort := port(t, "ops_listen", cfg.OpsListen), port(t, "listen", cfg.Listen)
	for _, p := range []struct {
		name  string
		probe *corev1.Probe
		path  string
	}{
		{"readinessProbe", c.ReadinessProbe, "/readyz"},
		{"livenessProbe", c.LivenessProbe, "/healthz"},
	} {
		if p.probe == nil || p.probe.HTTPGet == nil {
			t.Errorf("%s: missing or not httpGet", p.name)
			continue
		}
		if p.probe.HTTPGet.Path != p.path {
			t.Errorf("%s path %q, want %s", p.name, p.probe.HTTPGet.Path, p.path)
		}
		if got := containerPort(t, c, p.probe.HTTPGet.Port); got != opsPort {
			t.Errorf("%s port %d, want ops_listen's %d", p.name, got, opsPort)
		}
	}
	if sp := c.StartupProbe; sp != nil && sp.HTTPGet != nil && containerPort(t, c, sp.HTTPGet.Port) != opsPort {
		t.Error("startupProbe is not on the ops port")
	}
	if len(m.service.Spec.Ports) != 1 {
		t.Fatalf("Service has %d ports, want the public one only", len(m.service.Spec.Ports))
	}
	if got := containerPort(t, c, m.service.Spec.Ports[0].TargetPort); got != listenPort {
		t.Errorf("Service targets port %d, want listen's %d", got, listenPort)
	}

	// Locked down: not root, read-only root, no capabilities, bounded.
	psc, sc := pod.SecurityContext, c.SecurityContext
	if psc == nil || psc.RunAsNonRoot == nil || !*psc.RunAsNonRoot || psc.RunAsUser == nil || *psc.RunAsUser == 0 {
		t.Error("pod securityContext must set runAsNonRoot and a numeric non-zero runAsUser")
	}
	if sc == nil || sc.ReadOnlyRootFilesystem == nil || !*sc.ReadOnlyRootFilesystem ||
		sc.AllowPrivilegeEscalation == nil || *sc.AllowPrivilegeEscalation ||
		sc.Capabilities == nil || !slices.Contains(sc.Capabilities.Drop, "ALL") {
		t.Error("container securityContext must set readOnlyRootFilesystem, no privilege escalation and drop ALL capabilities")
	}
	for _, r := range []corev1.ResourceName{corev1.ResourceCPU, corev1.ResourceMemory} {
		if _, ok := c.Resources.Requests[r]; !ok {
			t.Errorf("no %s request", r)
		}
	}
	if _, ok := c.Resources.Limits[corev1.ResourceMemory]; !ok {
		t.Error("no memory limit")
	}
}

// ---- docker compose

// composeFile is the part of the Compose specification the stack uses;
// decoding it with KnownFields catches a misspelt key among them.
// docker-compose's own check (below) validates the whole schema.
type composeFile struct {
	Services map[string]composeService `yaml:"services"`
	Volumes  map[string]any            `yaml:"volumes"`
}

type composeService struct {
	Image       string            `yaml:"image"`
	Build       *composeBuild     `yaml:"build"`
	Restart     string            `yaml:"restart"`
	Command     []string          `yaml:"command"`
	DependsOn   map[string]dep    `yaml:"depends_on"`
	Environment map[string]string `yaml:"environment"`
	Volumes     []string          `yaml:"volumes"`
	Ports       []string          `yaml:"ports"`
	Healthcheck *struct {
		Test        []string `yaml:"test"`
		Interval    string   `yaml:"interval"`
		Timeout     string   `yaml:"timeout"`
		Retries     int      `yaml:"retries"`
		StartPeriod string   `yaml:"start_period"`
	} `yaml:"healthcheck"`
}

type composeBuild struct {
	Context    string `yaml:"context"`
	Dockerfile string `yaml:"dockerfile"`
}

type dep struct {
	Condition string `yaml:"condition"`
}

// interpolate expands ${NAME:-default} as compose does with NAME unset.
var interpolation = regexp.MustCompile(`\$\{[A-Z_][A-Z0-9_]*:-([^}]*)\}`)

func interpolate(s string) string { return interpolation.ReplaceAllString(s, "$1") }

func TestComposeStack(t *testing.T) {
	const dir = "compose"
	data, err := os.ReadFile(filepath.Join(dir, "compose.yaml"))
	if err != nil {
		t.Fatal(err)
	}
	var cf composeFile
	dec := yaml.NewDecoder(bytes.NewReader(data))
	dec.KnownFields(true)
	if err := dec.Decode(&cf); err != nil {
		t.Fatalf("compose.yaml: %v", err)
	}
	for _, name := range []string{"gatehouse", "postgres", "whoami"} {
		if _, ok := cf.Services[name]; !ok {
			t.Fatalf("compose.yaml has no %s service", name)
		}
	}
	gh, pg := cf.Services["gatehouse"], cf.Services["postgres"]

	// Gatehouse is built from the repository's Dockerfile.
	if gh.Build == nil || filepath.Clean(filepath.Join(dir, gh.Build.Context)) != ".." || gh.Build.Dockerfile != "Dockerfile" {
		t.Errorf("gatehouse build = %+v, want the repository root and its Dockerfile", gh.Build)
	}
	// Its config file is mounted where serve --config reads it.
	if len(gh.Command) != 3 || gh.Command[0] != "serve" || gh.Command[1] != "--config" {
		t.Fatalf("gatehouse command = %q, want serve --config FILE", gh.Command)
	}
	var cfgFile string
	for _, v := range gh.Volumes {
		parts := strings.Split(v, ":")
		if len(parts) >= 2 && parts[1] == gh.Command[2] {
			cfgFile = filepath.Join(dir, parts[0])
		}
		if len(parts) >= 2 && !strings.HasPrefix(parts[0], ".") {
			if _, ok := cf.Volumes[parts[0]]; !ok {
				t.Errorf("volume %s is not declared", parts[0])
			}
		}
	}
	if cfgFile == "" {
		t.Fatalf("nothing is mounted at %s", gh.Command[2])
	}
	cfgData, err := os.ReadFile(cfgFile)
	if err != nil {
		t.Fatal(err)
	}
	env := imageEnv(t)
	for k, v := range gh.Environment {
		env = append(env, k+"="+interpolate(v))
	}
	cfg := effectiveConfig(t, cfgFile, cfgData, env)
	lookup := config.EnvLookup(env)
	for key, name := range envRefs(cfg) {
		if _, ok := lookup(name); !ok {
			t.Errorf("%s: env:%s is not set in the gatehouse service", key, name)
		}
	}

	// The DSN reaches the postgres service with the user, password and
	// database it creates.
	if cfg.Store.Driver != "postgres" {
		t.Fatalf("store.driver = %q, want postgres", cfg.Store.Driver)
	}
	dsn, err := cfg.Store.DSN.Resolve(lookup)
	if err != nil {
		t.Fatal(err)
	}
	du, err := url.Parse(dsn)
	if err != nil {
		t.Fatalf("store.dsn: %v", err)
	}
	pw, _ := du.User.Password()
	if du.Hostname() != "postgres" || du.Port() != "5432" || du.User.Username() != pg.Environment["POSTGRES_USER"] ||
		pw != interpolate(pg.Environment["POSTGRES_PASSWORD"]) || strings.TrimPrefix(du.Path, "/") != pg.Environment["POSTGRES_DB"] {
		t.Errorf("store.dsn %s does not match the postgres service (%v)", du.Redacted(), pg.Environment)
	}
	if pg.Healthcheck == nil || !strings.Contains(strings.Join(pg.Healthcheck.Test, " "), "pg_isready") {
		t.Error("postgres has no pg_isready healthcheck")
	}
	if d, ok := gh.DependsOn["postgres"]; !ok || d.Condition != "service_healthy" {
		t.Error("gatehouse does not wait for a healthy postgres")
	}
	hasData := false
	for _, v := range pg.Volumes {
		hasData = hasData || strings.HasSuffix(v, ":/var/lib/postgresql/data")
	}
	if !hasData {
		t.Error("postgres keeps its data in no volume")
	}

	// Every route's upstream is a service of the stack.
	for i, r := range cfg.Routes {
		u, _ := url.Parse(r.Upstream)
		if _, ok := cf.Services[u.Hostname()]; !ok {
			t.Errorf("routes[%d].upstream %s is not a compose service", i, r.Upstream)
		}
		if _, ok := gh.DependsOn[u.Hostname()]; !ok {
			t.Errorf("gatehouse does not depend on %s", u.Hostname())
		}
	}

	// Ports: the public one is published and is public_url's; the ops one
	// only on the host's loopback; the healthcheck asks /readyz there.
	listenPort, opsPort := port(t, "listen", cfg.Listen), port(t, "ops_listen", cfg.OpsListen)
	published := map[int]string{}
	for _, p := range gh.Ports {
		parts := strings.Split(p, ":")
		target, _ := strconv.Atoi(parts[len(parts)-1])
		published[target] = strings.Join(parts[:len(parts)-1], ":")
	}
	pu, _ := url.Parse(cfg.PublicURL)
	if host, ok := published[listenPort]; !ok || host != pu.Port() {
		t.Errorf("listen port %d is published as %q, want public_url's port %s", listenPort, host, pu.Port())
	}
	if host, ok := published[opsPort]; !ok || !strings.HasPrefix(host, "127.0.0.1:") {
		t.Errorf("ops port %d is published as %q, want on 127.0.0.1 only", opsPort, host)
	}
	if gh.Healthcheck == nil {
		t.Fatal("gatehouse has no healthcheck")
	}
	test := gh.Healthcheck.Test
	if len(test) < 3 || test[0] != "CMD" || test[2] != "health" {
		t.Fatalf("gatehouse healthcheck %q, want the image's gatehouse health", test)
	}
	hu, err := url.Parse(test[len(test)-1])
	if err != nil || hu.Path != "/readyz" || hu.Port() != strconv.Itoa(opsPort) {
		t.Errorf("healthcheck asks %s, want /readyz on ops port %d", test[len(test)-1], opsPort)
	}
}

// TestComposeSchema runs docker-compose's own validation, which needs no
// Docker engine (scripts/test-deps.sh installs Debian's docker-compose).
func TestComposeSchema(t *testing.T) {
	bin, err := exec.LookPath("docker-compose")
	if err != nil {
		t.Fatal("docker-compose is not installed: run scripts/test-deps.sh (Debian package docker-compose)")
	}
	cmd := exec.Command(bin, "--project-directory", "compose", "-f", "compose/compose.yaml", "config", "-q")
	cmd.Env = append(os.Environ(), "POSTGRES_PASSWORD=")
	if out, err := cmd.CombinedOutput(); err != nil {
		t.Fatalf("docker-compose config: %v\n%s", err, out)
	}
}
