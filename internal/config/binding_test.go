package config

import (
	"reflect"
	"strings"
	"testing"
)

// TestKeyBindings: every key sets exactly one field of Config, and no two
// keys set the same one (a copy-pasted field func would).
func TestKeyBindings(t *testing.T) {
	base := &Config{}
	for _, k := range keys {
		if err := k.set(base, k.Default); err != nil {
			t.Fatal(err)
		}
	}
	owner := map[string]string{}
	for _, k := range keys {
		changed := ""
		for _, v := range candidates(k) {
			c := *base
			if k.set(&c, v) != nil {
				continue
			}
			if diff := diffFields(reflect.ValueOf(*base), reflect.ValueOf(c), "Config"); len(diff) > 0 {
				if len(diff) != 1 {
					t.Errorf("%s=%q changes %v", k.Name, v, diff)
				}
				changed = diff[0]
				break
			}
		}
		if changed == "" {
			t.Errorf("%s: no value changes any field", k.Name)
			continue
		}
		if other, ok := owner[changed]; ok {
			t.Errorf("%s and %s both set %s", k.Name, other, changed)
		}
		owner[changed] = k.Name
		// The field's path spells the key (Etcd.SSL.TLSCACert for etcd.ssl.tlsCACert).
		if normalize(strings.TrimPrefix(changed, "Config.")) != normalize(k.Name) && !fieldAlias[k.Name] && !limitKey(k.Name) {
			t.Errorf("%s sets %s", k.Name, changed)
		}
	}
}

// fieldAlias are keys whose field path does not spell them.
var fieldAlias = map[string]bool{
	"etcd.requestTimeout": true, "etcd.dialTimeout": true, // ...Ms
	"minio.ssl.tlsCACert": true, // Minio.SSLCACert
	// Milvago's key for the field Milvus's providers' url keys set.
	"milvago.function.textEmbedding.providers.bedrock.url": true,
}

// candidates are values to try for k, the first valid one that differs
// from the default wins.
func candidates(k Key) []string {
	switch k.Type {
	case "bool":
		return []string{"true", "false"}
	case "port":
		return []string{"12345", "23456"}
	case "int":
		return []string{"3", "5", "1", "2", "10000", "5000001", "99999999"}
	case "float":
		return []string{"0.5", "2", "0.25"}
	case "list":
		return []string{"h1:1,h2:2"}
	}
	return []string{"x" + strings.ReplaceAll(k.Name, ".", "-"), "json", "1.2", "PLAIN", "SSL", "kafka", "debug", "always"}
}

func diffFields(a, b reflect.Value, path string) []string {
	if a.Kind() == reflect.Struct {
		var out []string
		for i := range a.NumField() {
			f := a.Type().Field(i)
			p := path + "." + f.Name
			if f.Anonymous {
				p = path
			}
			out = append(out, diffFields(a.Field(i), b.Field(i), p)...)
		}
		return out
	}
	if !reflect.DeepEqual(a.Interface(), b.Interface()) {
		return []string{path}
	}
	return nil
}

// limitKey: the keys of keys_limits.go set fields of Config.Limits named
// for what they mean, not spelled as the key.
func limitKey(name string) bool {
	for _, k := range limitKeys {
		if k.Name == name {
			return true
		}
	}
	return false
}
