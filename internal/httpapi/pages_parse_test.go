package httpapi

import (
	"io/fs"
	"path"
	"testing"
)

// TestParsePages parses the embedded pages as the first rendered page
// does (the Server parses them lazily): every page file is a template.
func TestParsePages(t *testing.T) {
	tmpl := parsePages()
	files, err := fs.Glob(pageFiles, "pages/*.html")
	if err != nil || len(files) == 0 {
		t.Fatalf("no page files: %v", err)
	}
	for _, f := range files {
		if tmpl.Lookup(path.Base(f)) == nil {
			t.Errorf("page %s is not among the parsed templates", f)
		}
	}
}
