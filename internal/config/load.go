package config

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"math"
	"net/url"
	"os"
	"reflect"
	"runtime"
	"strings"

	"go.yaml.in/yaml/v3"

	"github.com/gatehouse/gatehouse/providers"
)

// maxFileBytes bounds the config file; a real one is a few KiB.
const maxFileBytes = 1 << 20

// maxNodes bounds the YAML nodes visited, aliases included, so a small file
// that expands through aliases cannot stall the loader.
const maxNodes = 100000

// Load reads the YAML file at path ("" means the embedded defaults only),
// applies GATEHOUSE_* overrides from environ (os.Environ() form), fills in
// derived values and validates the result. When the content is wrong, err is
// Problems holding every problem at once — unknown keys, bad values, bad
// overrides and validation failures alike — and the Config is only good for
// reporting. A file that cannot be read is a plain error that wraps the
// fs error. Secrets are not resolved; call Secret.Resolve where they are used.
func Load(path string, environ []string) (Config, error) {
	if path == "" {
		return LoadBytes(nil, environ)
	}
	data, err := os.ReadFile(path)
	if err != nil {
		return Default(), fmt.Errorf("config: %w", err)
	}
	return LoadBytes(data, environ)
}

// LoadBytes is Load for YAML already in memory; nil or empty data means the
// defaults only.
func LoadBytes(data []byte, environ []string) (Config, error) {
	cfg := Default()
	decoded := decodeYAML(data, &cfg)
	overridden, envProblems := applyEnv(&cfg, environ)
	fillDerived(&cfg)

	all := append(decoded, envProblems...)
	for _, p := range cfg.Validate() {
		// A key that could not be decoded kept its default; validating that
		// default would only repeat the decode problem in a confusing way.
		if coveredBy(p.Path, decoded) {
			continue
		}
		if name, ok := overridden[p.Path]; ok {
			p.Message += " (set by " + name + ")"
		}
		all = append(all, p)
	}
	if len(all) > 0 {
		return cfg, all
	}
	return cfg, nil
}

// coveredBy reports whether path is, or lies under, the path of a problem
// already reported.
func coveredBy(path string, reported Problems) bool {
	for _, r := range reported {
		if r.Path == "" {
			continue
		}
		if path == r.Path || strings.HasPrefix(path, r.Path+".") || strings.HasPrefix(path, r.Path+"[") {
			return true
		}
	}
	return false
}

// fillDerived sets the values whose default depends on other keys or on the
// machine, after the file and the environment have been applied.
func fillDerived(c *Config) {
	// The assertion's iss is public_url without a trailing slash; trimming
	// here means no consumer has to remember to.
	if u, err := url.Parse(c.PublicURL); err == nil && u.Path == "/" && u.RawQuery == "" && !u.ForceQuery && u.Fragment == "" {
		c.PublicURL = strings.TrimSuffix(c.PublicURL, "/")
	}
	if c.Password.MaxConcurrentHashes == 0 {
		c.Password.MaxConcurrentHashes = runtime.NumCPU()
	}
	for i := range c.Providers {
		providers.SetDefaults(&c.Providers[i])
	}
	for i := range c.Routes {
		c.Routes[i].Host = strings.ToLower(c.Routes[i].Host)
	}
}

// decodeYAML applies data on top of cfg. It first walks the node tree
// against the Config type so that every unknown key and bad value is
// reported with its dotted path (yaml.v3 only gives line numbers and stops
// short of some), then decodes strictly. On problems it still decodes what
// it can, so validation can report the rest of the file in the same run.
func decodeYAML(data []byte, cfg *Config) (problems Problems) {
	if len(data) > maxFileBytes {
		return Problems{{Message: fmt.Sprintf("file is larger than %d bytes", maxFileBytes)}}
	}
	defer func() {
		// The loader must never take the process down on a malformed file,
		// whatever the third-party parser does with it.
		if r := recover(); r != nil {
			problems = append(problems, Problem{Message: fmt.Sprintf("cannot parse YAML: %v", r)})
		}
	}()

	dec := yaml.NewDecoder(bytes.NewReader(data))
	var doc yaml.Node
	if err := dec.Decode(&doc); err != nil {
		if errors.Is(err, io.EOF) {
			return nil
		}
		return Problems{{Message: yamlMessage(err)}}
	}
	var extra yaml.Node
	if err := dec.Decode(&extra); !errors.Is(err, io.EOF) {
		problems = append(problems, Problem{Message: "only one YAML document is allowed"})
	}

	w := walker{budget: maxNodes}
	w.walk(&doc, reflect.TypeFor[Config](), "")
	problems = append(problems, w.problems...)

	if len(problems) == 0 {
		strict := yaml.NewDecoder(bytes.NewReader(data))
		strict.KnownFields(true)
		if err := strict.Decode(cfg); err != nil && !errors.Is(err, io.EOF) {
			// The walk should have caught everything the decoder refuses;
			// report it anyway rather than lose it.
			problems = append(problems, Problem{Message: yamlMessage(err)})
		}
		return problems
	}
	// Best effort: the walk removed the nodes it reported, so what is left
	// decodes; its errors would only repeat what was already said.
	_ = doc.Decode(cfg)
	return problems
}

// yamlMessage strips the "yaml: " prefix and puts a multi-error on one line.
func yamlMessage(err error) string {
	var te *yaml.TypeError
	if errors.As(err, &te) {
		return strings.Join(te.Errors, "; ")
	}
	return strings.TrimPrefix(err.Error(), "yaml: ")
}

var durationType = reflect.TypeFor[Duration]()

// walker checks a YAML node tree against a Go type, recording problems with
// dotted key paths and pruning the nodes it could not accept.
type walker struct {
	problems Problems
	budget   int
}

func (w *walker) add(path, msg string) {
	w.problems = append(w.problems, Problem{Path: path, Message: msg})
}

// walk reports whether n may be decoded into t; on false the caller drops n.
func (w *walker) walk(n *yaml.Node, t reflect.Type, path string) bool {
	w.budget--
	if w.budget < 0 {
		if w.budget == -1 {
			w.add("", "document is too large or expands too many aliases")
		}
		return false
	}
	switch n.Kind {
	case yaml.DocumentNode:
		if len(n.Content) == 0 {
			return true
		}
		if !w.walk(n.Content[0], t, path) {
			n.Content = nil
		}
		return true
	case yaml.AliasNode:
		if n.Alias == nil {
			w.add(path, "unknown alias")
			return false
		}
		return w.walk(n.Alias, t, path)
	}
	if isNull(n) {
		// An empty key keeps its default, as if it were not written.
		return true
	}
	switch {
	case t == durationType:
		return w.scalar(n, t, path)
	case t.Kind() == reflect.Struct:
		return w.mapping(n, t, path)
	case t.Kind() == reflect.Slice:
		return w.sequence(n, t, path)
	case t.Kind() == reflect.Map:
		return w.dict(n, t, path)
	default:
		return w.scalar(n, t, path)
	}
}

// mapping checks a struct section: each key must name one of its fields.
func (w *walker) mapping(n *yaml.Node, t reflect.Type, path string) bool {
	fields := yamlFields(t)
	return w.keyed(n, t, path, func(key string) (reflect.Type, bool) {
		f, ok := fields[key]
		return f.Type, ok
	})
}

// merge checks the value of a YAML merge key ("<<: *base"): a mapping or a
// list of mappings whose keys belong to the same section.
func (w *walker) merge(v *yaml.Node, t reflect.Type, path string) bool {
	if v.Kind == yaml.AliasNode && v.Alias != nil {
		v = v.Alias
	}
	if v.Kind == yaml.SequenceNode {
		ok := true
		for _, c := range v.Content {
			ok = w.merge(c, t, path) && ok
		}
		return ok
	}
	return w.walk(v, t, path)
}

func (w *walker) sequence(n *yaml.Node, t reflect.Type, path string) bool {
	if n.Kind != yaml.SequenceNode {
		w.add(orRoot(path), "expected a list, got "+kindName(n))
		return false
	}
	for i, c := range n.Content {
		p := fmt.Sprintf("%s[%d]", path, i)
		if t.Elem().Kind() == reflect.Struct && isNull(c) {
			w.add(p, "empty entry")
			continue
		}
		if !w.walk(c, t.Elem(), p) {
			// Replace rather than remove, so later entries keep their index.
			n.Content[i] = &yaml.Node{Kind: yaml.ScalarNode, Tag: "!!null", Value: "~"}
		}
	}
	return true
}

// dict checks a map section: any key is allowed, every value has the map's
// element type.
func (w *walker) dict(n *yaml.Node, t reflect.Type, path string) bool {
	return w.keyed(n, t, path, func(string) (reflect.Type, bool) { return t.Elem(), true })
}

// keyed walks a mapping node whose value types come from valueType (false
// for a key that does not belong), dropping the entries that did not check
// out so the decoder keeps the defaults there.
func (w *walker) keyed(n *yaml.Node, t reflect.Type, path string, valueType func(key string) (reflect.Type, bool)) bool {
	if n.Kind != yaml.MappingNode {
		w.add(orRoot(path), "expected a mapping, got "+kindName(n))
		return false
	}
	seen := make(map[string]bool)
	kept := make([]*yaml.Node, 0, len(n.Content))
	for i := 0; i+1 < len(n.Content); i += 2 {
		k, v := n.Content[i], n.Content[i+1]
		if isMerge(k) {
			if w.merge(v, t, path) {
				kept = append(kept, k, v)
			}
			continue
		}
		if k.Kind != yaml.ScalarNode {
			w.add(orRoot(path), "a key must be a plain name")
			continue
		}
		p := join(path, k.Value)
		vt, ok := valueType(k.Value)
		switch {
		case !ok:
			w.add(p, "unknown key")
		case seen[k.Value]:
			w.add(p, "duplicate key")
		default:
			seen[k.Value] = true
			if w.walk(v, vt, p) {
				kept = append(kept, k, v)
			}
		}
	}
	n.Content = kept
	return true
}

func (w *walker) scalar(n *yaml.Node, t reflect.Type, path string) bool {
	if n.Kind != yaml.ScalarNode {
		w.add(orRoot(path), "expected a single value, got "+kindName(n))
		return false
	}
	msg := scalarMessage(t)
	// yaml.v3 quietly truncates 1.5 to 1 for an integer field; a config
	// value written as a float is a mistake worth reporting.
	switch t.Kind() {
	case reflect.Int, reflect.Int8, reflect.Int16, reflect.Int32, reflect.Uint, reflect.Uint8, reflect.Uint16, reflect.Uint32, reflect.Uint64:
		if n.ShortTag() != "!!int" {
			w.add(path, msg)
			return false
		}
	case reflect.Int64:
		if t != durationType && n.ShortTag() != "!!int" {
			w.add(path, msg)
			return false
		}
	case reflect.Bool:
		if n.ShortTag() != "!!bool" {
			w.add(path, msg)
			return false
		}
	}
	if err := n.Decode(reflect.New(t).Interface()); err != nil {
		w.add(path, msg)
		return false
	}
	return true
}

// scalarMessage says what a value of type t should have been.
func scalarMessage(t reflect.Type) string {
	if t == durationType {
		return errNotDuration.Error()
	}
	switch t.Kind() {
	case reflect.Bool:
		return "not true or false"
	case reflect.Int, reflect.Int8, reflect.Int16, reflect.Int32, reflect.Int64:
		return "not an integer"
	case reflect.Uint, reflect.Uint8, reflect.Uint16, reflect.Uint32, reflect.Uint64:
		return fmt.Sprintf("not a whole number from 0 to %d", uint64(math.MaxUint64)>>(64-t.Bits()))
	default:
		return "not a string"
	}
}

func isNull(n *yaml.Node) bool {
	return n.Kind == yaml.ScalarNode && n.ShortTag() == "!!null"
}

func isMerge(k *yaml.Node) bool {
	return k.Kind == yaml.ScalarNode && k.ShortTag() == "!!merge"
}

func kindName(n *yaml.Node) string {
	switch n.Kind {
	case yaml.MappingNode:
		return "a mapping"
	case yaml.SequenceNode:
		return "a list"
	default:
		return "a single value"
	}
}

// yamlFields maps a struct's YAML key names to its fields.
func yamlFields(t reflect.Type) map[string]reflect.StructField {
	m := make(map[string]reflect.StructField, t.NumField())
	for i := range t.NumField() {
		f := t.Field(i)
		if name := yamlName(f); name != "" {
			m[name] = f
		}
	}
	return m
}

func yamlName(f reflect.StructField) string {
	if !f.IsExported() {
		return ""
	}
	name, _, _ := strings.Cut(f.Tag.Get("yaml"), ",")
	if name == "-" {
		return ""
	}
	if name == "" {
		return strings.ToLower(f.Name)
	}
	return name
}

func join(path, key string) string {
	if path == "" {
		return key
	}
	return path + "." + key
}

// orRoot names the whole document when a problem has no key path.
func orRoot(path string) string {
	if path == "" {
		return "(root)"
	}
	return path
}

// UnmarshalYAML starts each route from its defaults, so an omitted key gets
// the default and an explicit zero stays zero.
func (r *Route) UnmarshalYAML(n *yaml.Node) error {
	type plain Route
	v := plain(defaultRoute())
	if err := n.Decode(&v); err != nil {
		return err
	}
	*r = Route(v)
	return nil
}
