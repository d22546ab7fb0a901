// Package atomicfile writes files that a reader never sees half-written: the content goes to a hidden temporary
// file in the target's folder (the same file system, so the rename is atomic), is synced, and is renamed into
// place. A failure leaves nothing behind.
package atomicfile

import (
	"bytes"
	"fmt"
	"io"
	"os"
	"path/filepath"
)

// Mode is what every file written here gets: os.CreateTemp makes 0600, and what the service writes (recorded
// snapshots, the downloaded sector data) is meant to be read by others too.
const Mode = 0o644

// Write streams r to path. More than limit bytes is an error (limit <= 0: no limit).
func Write(path string, r io.Reader, limit int64) (err error) {
	f, err := os.CreateTemp(filepath.Dir(path), "."+filepath.Base(path)+".*.tmp")
	if err != nil {
		return err
	}
	defer func() {
		if err != nil {
			_ = f.Close()
			_ = os.Remove(f.Name())
		}
	}()
	if limit > 0 {
		r = io.LimitReader(r, limit+1)
	}
	n, err := io.Copy(f, r)
	if err != nil {
		return err
	}
	if limit > 0 && n > limit {
		return fmt.Errorf("%s: larger than %d bytes", path, limit)
	}
	if err := f.Chmod(Mode); err != nil {
		return err
	}
	if err := f.Sync(); err != nil {
		return err
	}
	if err := f.Close(); err != nil {
		return err
	}
	return os.Rename(f.Name(), path)
}

// WriteBytes writes data to path.
func WriteBytes(path string, data []byte) error {
	return Write(path, bytes.NewReader(data), 0)
}
