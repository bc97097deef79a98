// Command surface counts the exported names of every public package of the
// module and fails when a package is above its limit.
//
// A name counts when it is an exported type, function, constant or
// variable, or an exported method of an exported type; struct fields and
// interface methods do not count. Test files, package main, internal/
// packages, tools/ and bench/ are not part of the public surface.
//
// Run it from the repository root (make test does):
//
//	go run ./tools/surface
//
// It prints one line per package (count, limit, path) and exits 1 when a
// package is above its limit, 2 when it cannot read the tree.
package main

import (
	"fmt"
	"go/ast"
	"go/parser"
	"go/token"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"sort"
	"strings"
)

// limits are the most exported names each package may have; "" is the
// module's root package. A package not listed has no limit but is printed.
var limits = map[string]int{
	"":             50,
	"keys":         60,
	"emulator":     40,
	"keys/awskms":  20,
	"keys/azurekv": 20,
}

// backendLimit applies to every store of jwks/publish.
const backendLimit = 20

func main() {
	os.Exit(run(".", os.Stdout, os.Stderr))
}

func run(root string, stdout, stderr io.Writer) int {
	counts, err := count(root)
	if err != nil {
		fmt.Fprintln(stderr, "surface:", err)
		return 2
	}
	pkgs := make([]string, 0, len(counts))
	for p := range counts {
		pkgs = append(pkgs, p)
	}
	sort.Strings(pkgs)
	fmt.Fprintf(stdout, "%-7s %-6s %s\n", "names", "limit", "package")
	over := 0
	for _, p := range pkgs {
		limit, ok := limitOf(p)
		shown, mark := "-", ""
		if ok {
			shown = fmt.Sprint(limit)
			if counts[p] > limit {
				mark = "  OVER"
				over++
			}
		}
		name := p
		if name == "" {
			name = "(root)"
		}
		fmt.Fprintf(stdout, "%-7d %-6s %s%s\n", counts[p], shown, name, mark)
	}
	if over > 0 {
		fmt.Fprintf(stderr, "surface: %d package(s) above their limit\n", over)
		return 1
	}
	return 0
}

func limitOf(pkg string) (int, bool) {
	if l, ok := limits[pkg]; ok {
		return l, true
	}
	if strings.HasPrefix(pkg, "jwks/publish/") {
		return backendLimit, true
	}
	return 0, false
}

// count returns the number of exported names per package directory
// (relative to root, slash-separated).
func count(root string) (map[string]int, error) {
	counts := map[string]int{}
	fset := token.NewFileSet()
	err := filepath.WalkDir(root, func(path string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		rel, _ := filepath.Rel(root, path)
		rel = filepath.ToSlash(rel)
		if d.IsDir() {
			if rel != "." && skipDir(path, rel, d.Name()) {
				return filepath.SkipDir
			}
			return nil
		}
		if !strings.HasSuffix(path, ".go") || strings.HasSuffix(path, "_test.go") {
			return nil
		}
		f, err := parser.ParseFile(fset, path, nil, parser.SkipObjectResolution)
		if err != nil {
			return err
		}
		if f.Name.Name == "main" {
			return nil
		}
		dir := filepath.ToSlash(filepath.Dir(rel))
		if dir == "." {
			dir = ""
		}
		counts[dir] += exported(f)
		return nil
	})
	return counts, err
}

func skipDir(path, rel, name string) bool {
	if strings.HasPrefix(name, ".") || strings.HasPrefix(name, "_") || name == "testdata" {
		return true
	}
	if name == "internal" || strings.HasPrefix(rel, "cmd") || strings.HasPrefix(rel, "tools") ||
		strings.HasPrefix(rel, "bench") || strings.HasPrefix(rel, "interop") || strings.HasPrefix(rel, "examples") {
		return true
	}
	// A directory with its own go.mod is another module.
	if _, err := os.Stat(filepath.Join(path, "go.mod")); err == nil {
		return true
	}
	return false
}

// exported counts the exported declarations of one file.
func exported(f *ast.File) int {
	n := 0
	for _, decl := range f.Decls {
		switch d := decl.(type) {
		case *ast.FuncDecl:
			if !d.Name.IsExported() {
				continue
			}
			if d.Recv == nil {
				n++
				continue
			}
			if recv := receiverType(d.Recv.List[0].Type); recv != "" && ast.IsExported(recv) {
				n++
			}
		case *ast.GenDecl:
			for _, spec := range d.Specs {
				switch s := spec.(type) {
				case *ast.TypeSpec:
					if s.Name.IsExported() {
						n++
					}
				case *ast.ValueSpec:
					for _, name := range s.Names {
						if name.IsExported() {
							n++
						}
					}
				}
			}
		}
	}
	return n
}

// receiverType returns the name of a method's receiver type.
func receiverType(e ast.Expr) string {
	for {
		switch t := e.(type) {
		case *ast.StarExpr:
			e = t.X
		case *ast.IndexExpr:
			e = t.X
		case *ast.IndexListExpr:
			e = t.X
		case *ast.Ident:
			return t.Name
		default:
			return ""
		}
	}
}
