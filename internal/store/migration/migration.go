// Package migration reads the numbered schema migrations that the SQL
// backends embed (NNNN_description.sql, versions 1, 2, 3… without gaps).
// Each backend keeps its own SQL and its own way of applying them; the
// file naming rules and their checks live here once.
package migration

import (
	"fmt"
	"io/fs"
	"path"
	"slices"
	"strconv"
	"strings"
)

// Migration is one numbered step of the schema.
type Migration struct {
	// Version is the number the file name starts with; versions run 1, 2,
	// 3… without gaps.
	Version int
	// Name is the rest of the file name, without the extension: in
	// "0001_users_sessions.sql" it is "users_sessions".
	Name string
	// SQL is the file's content, run in one transaction.
	SQL string
}

// String returns the migration's file name without the extension, such as
// "0001_users_sessions".
func (m Migration) String() string {
	return fmt.Sprintf("%04d_%s", m.Version, m.Name)
}

// Parse reads the NNNN_name.sql files of dir in fsys and returns them in
// order. It fails on any other file name and on a duplicated or missing
// version, so two branches that add the same number cannot both be merged
// unnoticed.
func Parse(fsys fs.FS, dir string) ([]Migration, error) {
	entries, err := fs.ReadDir(fsys, dir)
	if err != nil {
		return nil, fmt.Errorf("read migrations: %w", err)
	}
	var ms []Migration
	for _, e := range entries {
		base, ok := strings.CutSuffix(e.Name(), ".sql")
		num, name, ok2 := strings.Cut(base, "_")
		version, err := strconv.Atoi(num)
		if e.IsDir() || !ok || !ok2 || len(num) != 4 || err != nil || version < 1 || name == "" {
			return nil, fmt.Errorf("migration file %q is not named NNNN_description.sql", e.Name())
		}
		sql, err := fs.ReadFile(fsys, path.Join(dir, e.Name()))
		if err != nil {
			return nil, fmt.Errorf("read migration: %w", err)
		}
		ms = append(ms, Migration{Version: version, Name: name, SQL: string(sql)})
	}
	slices.SortFunc(ms, func(a, b Migration) int { return a.Version - b.Version })
	for i, m := range ms {
		if m.Version != i+1 {
			return nil, fmt.Errorf("migration %s: want version %d (versions run 1, 2, 3… without gaps or duplicates)", m, i+1)
		}
	}
	return ms, nil
}
