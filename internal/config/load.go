package config

import (
	_ "embed"
	"errors"
	"fmt"
	"log/slog"
	"os"
	"regexp"
	"sort"
	"strconv"
	"strings"

	"go.yaml.in/yaml/v3"
)

// EnvPrefix is Milvus's prefix for environment variables that override
// the unprefixed spelling of the same key (MILVUS_CONF_MINIO_PORT wins over
// MINIO_PORT).
const EnvPrefix = "MILVUS_CONF_"

// Options says where Load reads from.
type Options struct {
	// Mode is the command reading the configuration.
	Mode Mode
	// File is a YAML file in milvus.yaml's layout; empty: none.
	File string
	// Env is the environment, as os.Environ returns it; nil: none.
	Env []string
	// Flags are the values given on the command line (AddFlags).
	Flags *Flags
}

// Ignored is a key Load did not use.
type Ignored struct {
	Key    string
	Source string // "file.yaml:12", "env MILVUS_CONF_X"
	// Milvus says the key is one of Milvus 2.6's that Milvago does not
	// use; otherwise nobody knows it (a typo, a newer or older key).
	Milvus bool
	// ServiceLink says an environment variable named a port key but held
	// a Kubernetes service link (MINIO_PORT=tcp://10.0.0.7:9000, set for a
	// Service named minio), which Milvus would have taken for minio.port.
	ServiceLink bool
}

// Report is what Load noticed without failing.
type Report struct {
	Ignored []Ignored
}

// Log writes the report: a warning per unknown key, and Milvus keys that
// Milvago does not use in one info line (each at debug), so that an
// operator's full milvus.yaml does not drown the log.
func (r Report) Log(logger *slog.Logger) {
	var milvus []string
	for _, ig := range r.Ignored {
		if ig.ServiceLink {
			logger.Warn("kubernetes service link in the environment ignored", "key", ig.Key, "source", ig.Source)
			continue
		}
		if ig.Milvus {
			milvus = append(milvus, ig.Key)
			logger.Debug("milvus config key not used by milvago", "key", ig.Key, "source", ig.Source)
			continue
		}
		logger.Warn("unknown config key ignored", "key", ig.Key, "source", ig.Source)
	}
	if len(milvus) > 0 {
		logger.Info("milvus config keys not used by milvago ignored", "count", len(milvus))
	}
}

// Load reads the configuration: defaults, then the file, the environment
// and the flags, each overriding the previous. A bad value fails the load
// with an error naming the key, the value and its source; keys Load does
// not know are listed in the Report.
func Load(opts Options) (*Config, Report, error) {
	var rep Report
	l := loader{values: map[string]value{}, report: &rep}
	if opts.File != "" {
		if err := l.readFile(opts.File); err != nil {
			return nil, rep, err
		}
	}
	l.readEnv(opts.Env)
	if opts.Flags != nil {
		for name, v := range opts.Flags.values {
			l.values[name] = v
		}
	}
	c, err := l.build(opts.Mode)
	if err != nil {
		return nil, rep, err
	}
	c.ModelEnv = modelEnv(opts.Env)
	sort.SliceStable(rep.Ignored, func(i, j int) bool { return !rep.Ignored[i].Milvus && rep.Ignored[j].Milvus })
	return c, rep, nil
}

// show quotes a raw value for an error, or only says how long a secret is.
func (k *Key) show(raw string) string {
	if k.Secret {
		return fmt.Sprintf("(secret, %d characters)", len(raw))
	}
	return strconv.Quote(raw)
}

// value is a key's raw value and where it came from.
type value struct {
	raw    string
	source string
}

type loader struct {
	values map[string]value // by Key.Name
	report *Report
	// merging are the mappings being merged (<<) into the current one: a
	// mapping that merges itself is refused instead of recursing forever.
	merging map[*yaml.Node]bool
	steps   int // entries read, against alias bombs
	// credentials are the file's credential.<name>.apikey values.
	credentials map[string]string
	// credentialValues are the access_key_id and secret_access_key ones.
	credentialValues map[string]string
}

// maxSteps bounds the entries a file may make Load read once aliases are
// followed (a real milvus.yaml has about 900).
const maxSteps = 1 << 16

// build sets every key from its value (or default), then resolves and
// validates the whole.
func (l *loader) build(mode Mode) (*Config, error) {
	c := &Config{}
	var errs []error
	for _, k := range keys {
		v, ok := l.values[k.Name]
		if !ok {
			v = value{raw: k.Default, source: "default"}
		}
		if err := k.set(c, v.raw); err != nil {
			errs = append(errs, fmt.Errorf("config: %s: invalid value %s (from %s): %w", k.Name, k.show(v.raw), v.source, err))
		}
	}
	if err := errors.Join(errs...); err != nil {
		return nil, err
	}
	c.Credentials = l.credentials
	c.CredentialValues = l.credentialValues
	c.resolve(mode)
	if err := c.validate(mode); err != nil {
		return nil, err
	}
	return c, nil
}

var (
	byLower  = map[string]*Key{} // lowercased name -> key
	byNorm   = map[string]*Key{} // normalize(name) -> key
	sections = map[string]bool{} // lowercased proper prefixes of key names
)

func init() {
	for i := range keys {
		k := &keys[i]
		byLower[strings.ToLower(k.Name)] = k
		byNorm[normalize(k.Name)] = k
		parts := strings.Split(strings.ToLower(k.Name), ".")
		for j := 1; j < len(parts); j++ {
			sections[strings.Join(parts[:j], ".")] = true
		}
	}
}

func (l *loader) readFile(path string) error {
	data, err := os.ReadFile(path)
	if err != nil {
		return fmt.Errorf("config: %w", err)
	}
	return l.readYAML(path, data)
}

// readYAML reads a file's content; path names it in errors and sources.
func (l *loader) readYAML(path string, data []byte) error {
	var doc yaml.Node
	if err := yaml.Unmarshal(data, &doc); err != nil {
		return fmt.Errorf("config: %s: %w", path, err)
	}
	if len(doc.Content) == 0 { // empty file
		return nil
	}
	root := doc.Content[0]
	if root.Kind == yaml.ScalarNode && root.Tag == "!!null" {
		return nil
	}
	if root.Kind != yaml.MappingNode {
		return fmt.Errorf("config: %s:%d: want a mapping of sections (etcd:, minio:, ...), got %s", path, root.Line, kindName(root))
	}
	var errs []error
	l.merging = map[*yaml.Node]bool{}
	l.walk(path, "", root, &errs)
	return errors.Join(errs...)
}

// walk reads the mapping m found at prefix (dotted path, "" at the root).
// Merged mappings (<<) are read first, so that m's own keys override them
// wherever they appear, as YAML says.
func (l *loader) walk(file, prefix string, m *yaml.Node, errs *[]error) {
	for i := 0; i+1 < len(m.Content); i += 2 {
		if !l.step(file, errs) {
			return
		}
		if kn := m.Content[i]; kn.Value == "<<" && kn.Tag == "!!merge" {
			vn := m.Content[i+1]
			for vn.Kind == yaml.AliasNode {
				vn = vn.Alias
			}
			l.merge(file, prefix, vn, errs)
		}
	}
	for i := 0; i+1 < len(m.Content); i += 2 {
		if !l.step(file, errs) {
			return
		}
		kn, vn := m.Content[i], m.Content[i+1]
		for vn.Kind == yaml.AliasNode {
			vn = vn.Alias
		}
		if kn.Value == "<<" && kn.Tag == "!!merge" { // read above
			continue
		}
		name := kn.Value
		if prefix != "" {
			name = prefix + "." + kn.Value
		}
		lower := strings.ToLower(name)
		src := fmt.Sprintf("%s:%d", file, kn.Line)
		if k, ok := byLower[lower]; ok {
			raw, err := scalarValue(k, vn)
			if err != nil {
				*errs = append(*errs, fmt.Errorf("config: %s (%s): %w", k.Name, src, err))
				continue
			}
			l.values[k.Name] = value{raw: raw, source: src}
			continue
		}
		if lower == "credential" && vn.Kind == yaml.MappingNode {
			l.readCredentials(file, vn)
			continue
		}
		if sections[lower] {
			switch {
			case vn.Kind == yaml.MappingNode:
				l.walk(file, name, vn, errs)
			case vn.Kind == yaml.ScalarNode && vn.Tag == "!!null":
			default:
				*errs = append(*errs, fmt.Errorf("config: %s (%s): want a section (a mapping), got %s", name, src, kindName(vn)))
			}
			continue
		}
		l.ignore(name, src, vn)
	}
}

// step counts one entry read and says whether the file is still within
// maxSteps (reporting once when it is not).
func (l *loader) step(file string, errs *[]error) bool {
	if l.steps++; l.steps <= maxSteps {
		return true
	}
	if l.steps == maxSteps+1 {
		*errs = append(*errs, fmt.Errorf("config: %s: more than %d entries once aliases are followed", file, maxSteps))
	}
	return false
}

func (l *loader) merge(file, prefix string, vn *yaml.Node, errs *[]error) {
	switch vn.Kind {
	case yaml.MappingNode:
		if l.merging[vn] {
			*errs = append(*errs, fmt.Errorf("config: %s:%d: a mapping merges itself (<<)", file, vn.Line))
			return
		}
		l.merging[vn] = true
		l.walk(file, prefix, vn, errs)
		delete(l.merging, vn)
	case yaml.SequenceNode:
		// The first mapping of the list wins: read it last.
		for i := len(vn.Content) - 1; i >= 0; i-- {
			m := vn.Content[i]
			for m.Kind == yaml.AliasNode {
				m = m.Alias
			}
			l.merge(file, prefix, m, errs)
		}
	}
}

// ignore reports an unknown key: a Milvus section is searched leaf by leaf
// (a typo inside it is still reported as unknown); anything else is
// reported once, whole.
func (l *loader) ignore(name, src string, vn *yaml.Node) {
	lower := strings.ToLower(name)
	if vn.Kind == yaml.MappingNode && milvusSections[lower] && !isMilvusKey(name) {
		file := src[:strings.LastIndexByte(src, ':')]
		for i := 0; i+1 < len(vn.Content); i += 2 {
			kn := vn.Content[i]
			l.ignore(name+"."+kn.Value, fmt.Sprintf("%s:%d", file, kn.Line), vn.Content[i+1])
		}
		return
	}
	l.report.Ignored = append(l.report.Ignored, Ignored{Key: name, Source: src, Milvus: isMilvusKey(name)})
}

// scalarValue turns a key's node into its raw string: a scalar as written,
// a sequence (list keys only) joined with commas, null as empty.
func scalarValue(k *Key, n *yaml.Node) (string, error) {
	switch n.Kind {
	case yaml.ScalarNode:
		if n.Tag == "!!null" {
			return "", nil
		}
		return n.Value, nil
	case yaml.SequenceNode:
		if k.Type != "list" {
			return "", fmt.Errorf("want a %s, got a sequence", k.Type)
		}
		var parts []string
		for _, e := range n.Content {
			for e.Kind == yaml.AliasNode {
				e = e.Alias
			}
			if e.Kind != yaml.ScalarNode {
				return "", fmt.Errorf("want a list of strings, got an entry that is %s", kindName(e))
			}
			parts = append(parts, e.Value)
		}
		return strings.Join(parts, ","), nil
	}
	return "", fmt.Errorf("want a %s, got %s", k.Type, kindName(n))
}

func kindName(n *yaml.Node) string {
	switch n.Kind {
	case yaml.MappingNode:
		return "a mapping"
	case yaml.SequenceNode:
		return "a sequence"
	case yaml.ScalarNode:
		return fmt.Sprintf("the scalar %q", n.Value)
	}
	return "something else"
}

// readEnv applies environment variables that name a key (Milvus's
// convention, see the package documentation). MILVUS_CONF_ variables that
// name no key are reported; other variables are none of our business.
func (l *loader) readEnv(env []string) {
	type hit struct {
		v        value
		prefixed bool
	}
	hits := map[string]hit{}
	for _, kv := range env {
		name, raw, ok := strings.Cut(kv, "=")
		if !ok || name == "" {
			continue
		}
		bare, prefixed := strings.CutPrefix(name, EnvPrefix)
		k, ok := byNorm[normalize(bare)]
		if !ok {
			if prefixed {
				l.report.Ignored = append(l.report.Ignored, Ignored{Key: name, Source: "env " + name})
			}
			continue
		}
		if h, seen := hits[k.Name]; seen && h.prefixed && !prefixed {
			continue
		}
		if k.Type == "port" && serviceLinkRE.MatchString(raw) {
			l.report.Ignored = append(l.report.Ignored, Ignored{Key: k.Name, Source: "env " + name, ServiceLink: true})
			continue
		}
		hits[k.Name] = hit{v: value{raw: raw, source: "env " + name}, prefixed: prefixed}
	}
	for name, h := range hits {
		l.values[name] = h.v
	}
}

// serviceLinkRE matches the value of Kubernetes's <SERVICE>_PORT variables.
var serviceLinkRE = regexp.MustCompile(`^(tcp|udp|sctp)://[^/\s]+:[0-9]+$`)

//go:embed milvus_keys.txt
var milvusKeysTxt string

// milvusKeys and milvusSections are milvus_keys.txt's keys and their
// proper prefixes, lowercased.
var milvusKeys, milvusSections = func() (keys, sections map[string]bool) {
	keys, sections = map[string]bool{}, map[string]bool{}
	for _, line := range strings.Split(milvusKeysTxt, "\n") {
		if line = strings.TrimSpace(line); line != "" && !strings.HasPrefix(line, "#") {
			line = strings.ToLower(line)
			keys[line] = true
			for i := strings.IndexByte(line, '.'); i >= 0; i = nextDot(line, i) {
				sections[line[:i]] = true
			}
		}
	}
	return keys, sections
}()

func nextDot(s string, i int) int {
	j := strings.IndexByte(s[i+1:], '.')
	if j < 0 {
		return -1
	}
	return i + 1 + j
}

// isMilvusKey says name, or a key it lies under (a Milvus key whose value
// is a free-form mapping), is one of Milvus 2.6's.
func isMilvusKey(name string) bool {
	lower := strings.ToLower(name)
	for {
		if milvusKeys[lower] {
			return true
		}
		i := strings.LastIndexByte(lower, '.')
		if i < 0 {
			return false
		}
		lower = lower[:i]
	}
}
