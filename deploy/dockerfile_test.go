package deploy

import (
	"encoding/json"
	"os"
	"path"
	"path/filepath"
	"slices"
	"strings"
	"testing"
)

// TestDockerfile checks the image recipe without a Docker engine (there is
// none in CI): the instructions are known ones, every COPY source exists
// in the build context and is not excluded by .dockerignore, every
// --from names an earlier stage, the binary is built static, and the final
// stage is scratch, runs as a non-root user, exposes 19530 and 9091 and
// starts the binary a COPY put in place.
func TestDockerfile(t *testing.T) {
	const context = ".."
	data, err := os.ReadFile(filepath.Join(context, "Dockerfile"))
	if err != nil {
		t.Fatal(err)
	}
	ignore, _ := os.ReadFile(filepath.Join(context, ".dockerignore"))
	var ignored []string
	for _, l := range strings.Split(string(ignore), "\n") {
		if l = strings.TrimSpace(l); l != "" && !strings.HasPrefix(l, "#") {
			ignored = append(ignored, l)
		}
	}

	type stage struct {
		base, name string
		copied     []string // destinations
	}
	var (
		stages                           []stage
		user, entrypoint, expose, builds []string
		final                            *stage
	)
	known := []string{"FROM", "WORKDIR", "COPY", "RUN", "USER", "EXPOSE", "ENTRYPOINT", "CMD", "ARG", "ENV", "LABEL"}
	for i, line := range strings.Split(string(data), "\n") {
		line = strings.TrimSpace(line)
		if line == "" || strings.HasPrefix(line, "#") {
			continue
		}
		if strings.HasSuffix(line, "\\") {
			t.Fatalf("Dockerfile:%d: line continuations are not parsed by this test", i+1)
		}
		instr, rest, _ := strings.Cut(line, " ")
		if !slices.Contains(known, instr) {
			t.Errorf("Dockerfile:%d: unknown or unexpected instruction %q", i+1, instr)
			continue
		}
		if instr != "FROM" && len(stages) == 0 {
			t.Errorf("Dockerfile:%d: %s before FROM", i+1, instr)
			continue
		}
		cur := func() *stage { return &stages[len(stages)-1] }
		f := strings.Fields(rest)
		switch instr {
		case "FROM":
			s := stage{base: f[0]}
			if len(f) == 3 && strings.EqualFold(f[1], "AS") {
				s.name = f[2]
			}
			stages = append(stages, s)
			user = nil
		case "COPY":
			var from string
			for len(f) > 0 && strings.HasPrefix(f[0], "--") {
				if v, ok := strings.CutPrefix(f[0], "--from="); ok {
					from = v
				}
				f = f[1:]
			}
			if len(f) < 2 {
				t.Errorf("Dockerfile:%d: COPY without source and destination", i+1)
				continue
			}
			srcs, dst := f[:len(f)-1], f[len(f)-1]
			if from != "" {
				if !slices.ContainsFunc(stages[:len(stages)-1], func(s stage) bool { return s.name == from }) {
					t.Errorf("Dockerfile:%d: --from=%s is not an earlier stage", i+1, from)
				}
			} else {
				for _, src := range srcs {
					if src == "." {
						continue
					}
					if _, err := os.Stat(filepath.Join(context, src)); err != nil {
						t.Errorf("Dockerfile:%d: COPY %s: not in the build context: %v", i+1, src, err)
					}
					for _, pat := range ignored {
						if ok, _ := path.Match(pat, src); ok {
							t.Errorf("Dockerfile:%d: COPY %s, which .dockerignore excludes (%s)", i+1, src, pat)
						}
					}
				}
			}
			for _, src := range srcs {
				d := dst
				if strings.HasSuffix(dst, "/") {
					d = path.Join(dst, path.Base(src))
				}
				cur().copied = append(cur().copied, d)
			}
		case "RUN":
			if strings.Contains(rest, "go build") {
				builds = append(builds, rest)
			}
		case "USER":
			user = f
		case "EXPOSE":
			expose = append(expose, f...)
		case "ENTRYPOINT":
			if err := json.Unmarshal([]byte(rest), &entrypoint); err != nil {
				t.Errorf("Dockerfile:%d: ENTRYPOINT is not in exec (JSON) form: %v", i+1, err)
			}
		}
	}
	if len(stages) < 2 {
		t.Fatalf("%d stages: want a build stage and a final one", len(stages))
	}
	final = &stages[len(stages)-1]
	if final.base != "scratch" && !strings.HasPrefix(final.base, "gcr.io/distroless/static") {
		t.Errorf("final stage FROM %s: want scratch or distroless static", final.base)
	}
	if len(builds) != 1 || !strings.Contains(builds[0], "CGO_ENABLED=0") || !strings.Contains(builds[0], "-trimpath") ||
		!strings.Contains(builds[0], "./cmd/milvago") {
		t.Errorf("go build steps %q: want one static (CGO_ENABLED=0) -trimpath build of ./cmd/milvago", builds)
	}
	if len(user) != 1 || strings.HasPrefix(user[0], "0") || strings.HasPrefix(user[0], "root") {
		t.Errorf("final stage USER %q: want a non-root numeric user", user)
	}
	for _, p := range []string{"19530", "9091"} {
		if !slices.Contains(expose, p) {
			t.Errorf("EXPOSE %v lacks %s", expose, p)
		}
	}
	if len(entrypoint) == 0 || !slices.Contains(final.copied, entrypoint[0]) {
		t.Errorf("ENTRYPOINT %q does not start a file the final stage copies in (%v)", entrypoint, final.copied)
	}
}
