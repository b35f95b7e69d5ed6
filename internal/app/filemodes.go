package app

import (
	"context"
	"errors"
	"fmt"
	"io/fs"
	"log/slog"
	"os"
	"path/filepath"

	"github.com/gatehouse-auth/gatehouse/internal/keys"
)

// secretFiles are the files in the data dir that hold secrets: the SQLite
// database (password hashes, sealed signing keys) with its WAL and shared
// memory, the admin token and the generated key-encryption key. Gatehouse
// creates each with mode 0600.
var secretFiles = []string{
	"gatehouse.db", "gatehouse.db-wal", "gatehouse.db-shm",
	"admin-token", keys.KEKFile,
}

// warnOpenModes logs a warning for the data dir, its mail dir if there is
// one, and each secret file in it, that its group or other users may
// read, write or enter. It
// changes nothing: tightening the modes of existing files is left to the
// operator (chmod 700 the dir, chmod 600 the files).
func warnOpenModes(ctx context.Context, log *slog.Logger, dataDir string) {
	check := func(path, fix string) {
		fi, err := os.Stat(path)
		if err != nil {
			if !errors.Is(err, fs.ErrNotExist) {
				log.WarnContext(ctx, "cannot check file mode", "path", path, "err", err)
			}
			return
		}
		if m := fi.Mode().Perm(); m&0o077 != 0 {
			log.WarnContext(ctx, "data dir file is accessible to other users; it holds secrets",
				"path", path, "mode", fmt.Sprintf("%04o", m), "fix", fix+" "+path)
		}
	}
	check(dataDir, "chmod 700")
	// Mail written to files (links with one-time tokens), when there is any.
	check(filepath.Join(dataDir, "mail"), "chmod 700")
	for _, name := range secretFiles {
		check(filepath.Join(dataDir, name), "chmod 600")
	}
}
