package main

import (
	"go/build"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
)

const module = "github.com/vatsector/vatsector"

// importRule forbids packages matching from to import, directly or through other packages of the module,
// anything matching one of forbidden. A pattern is a module-relative path ("ingest"), a prefix ending in "/..."
// ("gen/..."), or an import path outside the module ("google.golang.org/grpc/...").
type importRule struct {
	why       string
	from      []string
	forbidden []string
	// except are packages that may import what is forbidden all the same.
	except []string
}

// The shape the code keeps: data flows feed → ingest → repository → commit → hub → streams, and only the
// server speaks gRPC. Ingest hands its cycles to the repository through an interface of its own, so main wires
// the two together and neither imports the other.
var architecture = []importRule{
	{why: "the domain is the system's own types: it depends on nothing of the project",
		from: []string{"domain/..."}, forbidden: []string{"", "ingest/...", "repository/...", "hub/...", "server/...", "feed/...", "sim/...",
			"airspace/...", "gen/...", "internal/...", "migrations/...", "bench/..."}},
	{why: "ingest, storage, airspace, the feed and the simulator are transport-free: they must not know gRPC or the API's generated code",
		from:      []string{"ingest/...", "repository/...", "airspace/...", "feed/...", "sim/...", "migrations/..."},
		forbidden: []string{"gen/...", "google.golang.org/grpc/...", "server/..."}},
	{why: "the hub fans committed cycles out to any transport (the server's streams, later replicas): it must not know gRPC, the API's encodings, the server or the storage",
		from:      []string{"hub/..."},
		forbidden: []string{"gen/...", "google.golang.org/grpc/...", "google.golang.org/protobuf/...", "server/...", "repository/..."}},
	{why: "radio matching is pure computation over radios and antennas: it depends on nothing of the project",
		from: []string{"radio/..."}, forbidden: []string{"", "domain/...", "ingest/...", "repository/...", "hub/...", "server/...", "feed/...",
			"sim/...", "airspace/...", "gen/...", "internal/...", "migrations/...", "bench/..."}},
	{why: "the web package is the map page's built files, which the server is given: it depends on nothing of the project",
		from: []string{"web/..."}, forbidden: []string{"", "domain/...", "ingest/...", "repository/...", "hub/...", "server/...", "feed/...",
			"sim/...", "airspace/...", "gen/...", "internal/...", "migrations/...", "bench/..."}},
	{why: "nothing but main wires the server in",
		from: []string{"..."}, forbidden: []string{"server"}, except: []string{"", "server/...", "bench/..."}},
	{why: "the repository stores what ingest computes; it must not depend on the feed, ingest or the server",
		from: []string{"repository/..."}, forbidden: []string{"feed/...", "sim/...", "ingest/...", "server/..."}},
	{why: "ingest computes in the domain's types and reaches the database through its own Store interface: it must not depend on the repository",
		from: []string{"ingest/..."}, forbidden: []string{"repository/..."}},
	{why: "the feed is read before anything else happens: it depends on no later stage",
		from: []string{"feed/..."}, forbidden: []string{"ingest/...", "repository/...", "airspace/...", "server/..."}},
}

func matches(pattern, pkg string) bool {
	switch {
	case pattern == "...":
		return true
	case strings.HasSuffix(pattern, "/..."):
		base := strings.TrimSuffix(pattern, "/...")
		return pkg == base || strings.HasPrefix(pkg, base+"/")
	}
	return pkg == pattern
}

func matchesAny(patterns []string, pkg string) bool {
	return slices.ContainsFunc(patterns, func(p string) bool { return matches(p, pkg) })
}

// violations checks rules against an import graph of module-relative package paths ("" is the module root)
// and external import paths; it follows imports through the module's own packages.
func violations(rules []importRule, graph map[string][]string) []string {
	var out []string
	pkgs := make([]string, 0, len(graph))
	for p := range graph {
		pkgs = append(pkgs, p)
	}
	slices.Sort(pkgs)
	for _, r := range rules {
		for _, pkg := range pkgs {
			if !matchesAny(r.from, pkg) || matchesAny(r.except, pkg) {
				continue
			}
			// Breadth-first through the module's packages, remembering the path for the message.
			seen := map[string]bool{pkg: true}
			type step struct{ pkg, via string }
			queue := []step{{pkg, pkg}}
			for len(queue) > 0 {
				cur := queue[0]
				queue = queue[1:]
				for _, imp := range graph[cur.pkg] {
					if seen[imp] {
						continue
					}
					seen[imp] = true
					via := cur.via + " → " + imp
					if matchesAny(r.forbidden, imp) {
						out = append(out, via+": "+r.why)
						continue
					}
					if _, internal := graph[imp]; internal {
						queue = append(queue, step{imp, via})
					}
				}
			}
		}
	}
	return out
}

// moduleGraph reads the non-test imports of every package of the module.
func moduleGraph(t *testing.T) map[string][]string {
	t.Helper()
	graph := map[string][]string{}
	err := filepath.WalkDir(".", func(path string, d os.DirEntry, err error) error {
		if err != nil {
			return err
		}
		if !d.IsDir() {
			return nil
		}
		if name := d.Name(); path != "." && (strings.HasPrefix(name, ".") || name == "testdata" || name == "node_modules" || name == "tools") {
			return filepath.SkipDir
		}
		p, err := build.ImportDir(path, 0)
		if err != nil {
			if _, none := err.(*build.NoGoError); none {
				return nil
			}
			return err
		}
		rel := filepath.ToSlash(path)
		if rel == "." {
			rel = ""
		}
		var imports []string
		for _, imp := range p.Imports {
			if imp == module {
				imports = append(imports, "")
			} else if strings.HasPrefix(imp, module+"/") {
				imports = append(imports, strings.TrimPrefix(imp, module+"/"))
			} else {
				imports = append(imports, imp)
			}
		}
		graph[rel] = imports
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	return graph
}

func TestArchitecture(t *testing.T) {
	graph := moduleGraph(t)
	for _, must := range []string{"domain", "ingest", "repository", "airspace", "feed", "sim", "hub", "server", "gen/vatsector/v1"} {
		if _, ok := graph[must]; !ok {
			t.Fatalf("package %s not found: the rules would check nothing of it", must)
		}
	}
	for _, v := range violations(architecture, graph) {
		t.Error(v)
	}
}

// TestArchitectureRulesCatchAWrongImport proves the checker fails on the imports it forbids, directly and
// through another package, and passes the ones it allows.
func TestArchitectureRulesCatchAWrongImport(t *testing.T) {
	tests := []struct {
		name  string
		graph map[string][]string
		want  int
	}{
		{name: "as designed", want: 0, graph: map[string][]string{
			"": {"server", "ingest", "repository"}, "server": {"gen/vatsector/v1", "google.golang.org/grpc", "ingest"},
			"ingest": {"domain", "feed"}, "repository": {"domain", "gorm.io/gorm"}, "domain": {}, "feed": {},
			"gen/vatsector/v1": {}}},
		{name: "ingest imports grpc", want: 1, graph: map[string][]string{
			"ingest": {"google.golang.org/grpc/status"}}},
		{name: "repository reaches the API's generated code through a package of its own", want: 1, graph: map[string][]string{
			"repository": {"internal/helper"}, "internal/helper": {"gen/vatsector/v1"}, "gen/vatsector/v1": {}}},
		{name: "a package other than main imports the server", want: 1, graph: map[string][]string{
			"internal/x": {"server"}, "server": {}}},
		{name: "the repository imports ingest", want: 1, graph: map[string][]string{
			"repository": {"ingest"}, "ingest": {}}},
		{name: "the hub imports the repository", want: 1, graph: map[string][]string{
			"hub": {"domain", "repository"}, "domain": {}, "repository": {}}},
		{name: "the hub builds proto encodings", want: 1, graph: map[string][]string{
			"hub": {"google.golang.org/protobuf/proto"}}},
		{name: "ingest imports the repository", want: 1, graph: map[string][]string{
			"ingest": {"domain", "repository"}, "domain": {}, "repository": {"domain"}}},
		{name: "the domain imports the repository", want: 1, graph: map[string][]string{
			"domain": {"time", "repository"}, "repository": {}}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := violations(architecture, tt.graph); len(got) != tt.want {
				t.Errorf("%d violations %v, want %d", len(got), got, tt.want)
			}
		})
	}
}
