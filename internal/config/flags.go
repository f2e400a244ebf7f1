package config

import (
	"fmt"
	"strings"

	"github.com/spf13/pflag"
)

// Flags collects the config values given on a command line: one flag per
// key, named as the key (--etcd.endpoints), plus aliases (Alias).
type Flags struct {
	values map[string]value // by Key.Name
}

// NewFlags returns an empty collection; AddKeys and Alias register flags
// that fill it.
func NewFlags() *Flags {
	return &Flags{values: map[string]value{}}
}

// AddFlags registers a flag for every key on fs and returns what they
// collect, for Options.Flags.
func AddFlags(fs *pflag.FlagSet) *Flags {
	f := NewFlags()
	f.AddKeys(fs)
	return f
}

// AddKeys registers a flag for every key on fs, in the order of Keys. A
// value is checked as soon as it is parsed, so a bad one fails naming the
// flag.
func (f *Flags) AddKeys(fs *pflag.FlagSet) {
	for i := range keys {
		k := &keys[i]
		f.add(fs, k.Name, k, k.Help+envHelp(k))
	}
}

// Alias registers --name as another spelling of key (the standalone flags
// that predate the config file: --data-dir is milvago.dataDir). Giving an
// alias and its key different values is refused.
func (f *Flags) Alias(fs *pflag.FlagSet, name, key, help string) {
	k, ok := byLower[strings.ToLower(key)]
	if !ok {
		panic("config: alias of unknown key " + key)
	}
	f.add(fs, name, k, help)
}

func (f *Flags) add(fs *pflag.FlagSet, name string, k *Key, help string) {
	fs.Var(&flagValue{f: f, k: k, flag: name}, name, help)
	if k.Type == "bool" {
		fs.Lookup(name).NoOptDefVal = "true"
	}
}

func envHelp(k *Key) string {
	return " (env " + k.Env + ")"
}

// flagValue is a pflag.Value that records the raw text for Load.
type flagValue struct {
	f    *Flags
	k    *Key
	flag string
	set  bool
}

func (v *flagValue) String() string {
	if cur, ok := v.f.values[v.k.Name]; ok && v.set {
		return cur.raw
	}
	return v.k.Default
}

func (v *flagValue) Set(raw string) error {
	// pflag's error would quote the value: a secret is checked by Load.
	if !v.k.Secret {
		if err := v.k.set(&Config{}, raw); err != nil {
			return err
		}
	}
	src := "flag --" + v.flag
	if cur, ok := v.f.values[v.k.Name]; ok && cur.source != src && cur.raw != raw {
		return fmt.Errorf("%s already set to %q by %s", v.k.Name, cur.raw, cur.source)
	}
	if cur, ok := v.f.values[v.k.Name]; ok && cur.source == src && v.k.Type == "list" {
		raw = cur.raw + "," + raw // a repeated list flag appends
	}
	v.f.values[v.k.Name] = value{raw: raw, source: src}
	v.set = true
	return nil
}

func (v *flagValue) Type() string {
	switch v.k.Type {
	case "port":
		return "int"
	case "list":
		return "strings"
	}
	return v.k.Type
}
