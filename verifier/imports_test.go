package verifier

import (
	"go/parser"
	"go/token"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
)

// TestImportsOnlyStdlibAndJose keeps the package importable by resource
// servers: no server internals, no database driver, no third-party
// module. It checks this package and package jose, its only non-standard
// import.
func TestImportsOnlyStdlibAndJose(t *testing.T) {
	const jose = "github.com/gatehouse-auth/gatehouse/jose"
	for _, dir := range []string{".", "../jose"} {
		files, err := filepath.Glob(filepath.Join(dir, "*.go"))
		if err != nil {
			t.Fatal(err)
		}
		for _, f := range files {
			if strings.HasSuffix(f, "_test.go") {
				continue
			}
			src, err := os.ReadFile(f)
			if err != nil {
				t.Fatal(err)
			}
			ast, err := parser.ParseFile(token.NewFileSet(), f, src, parser.ImportsOnly)
			if err != nil {
				t.Fatal(err)
			}
			for _, imp := range ast.Imports {
				path, _ := strconv.Unquote(imp.Path.Value)
				first, _, _ := strings.Cut(path, "/")
				if path != jose && strings.Contains(first, ".") {
					t.Errorf("%s imports %q: only the standard library and %s are allowed", f, path, jose)
				}
			}
		}
	}
}
