package main

import (
	"archive/tar"
	"archive/zip"
	"compress/flate"
	"compress/gzip"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path"
	"path/filepath"
	"strings"
	"time"
)

// The range of times a zip entry can hold, in Unix seconds: MS-DOS dates
// run from 1980-01-01 to 2107-12-31. pack asks the same of tar archives so
// that both formats agree.
const (
	minUnix = 315532800  // 1980-01-01T00:00:00Z
	maxUnix = 4354819198 // 2107-12-31T23:59:58Z
)

// entry is one file or directory of an archive.
type entry struct {
	name string      // slash-separated name in the archive; a directory's ends in "/"
	path string      // where the file is on disk ("" for a directory)
	mode fs.FileMode // 0755 or 0644, without type bits
	size int64       // a file's size in bytes
}

func (e entry) isDir() bool { return strings.HasSuffix(e.name, "/") }

// collect lists dir and everything below it, in the order filepath.WalkDir
// visits them, with dir's base name as the top directory. It refuses
// anything that is neither a regular file nor a directory.
func collect(dir string) ([]entry, error) {
	top := filepath.Base(filepath.Clean(dir))
	if top == "." || top == ".." || top == string(filepath.Separator) {
		return nil, fmt.Errorf("pack: %s: the directory needs a name to serve as the archive's top directory", dir)
	}
	var entries []entry
	err := filepath.WalkDir(dir, func(p string, d fs.DirEntry, err error) error {
		if err != nil {
			return fmt.Errorf("pack: %w", err)
		}
		rel, err := filepath.Rel(dir, p)
		if err != nil {
			return fmt.Errorf("pack: %w", err)
		}
		name := path.Join(top, filepath.ToSlash(rel))
		switch {
		case d.IsDir():
			entries = append(entries, entry{name: name + "/", mode: 0o755})
		case d.Type().IsRegular():
			info, err := d.Info()
			if err != nil {
				return fmt.Errorf("pack: %w", err)
			}
			mode := fs.FileMode(0o644)
			if info.Mode().Perm()&0o111 != 0 {
				mode = 0o755
			}
			entries = append(entries, entry{name: name, path: p, mode: mode, size: info.Size()})
		default:
			return fmt.Errorf("pack: %s: not a regular file or a directory (%s)", p, d.Type())
		}
		return nil
	})
	if err != nil {
		return nil, err
	}
	return entries, nil
}

// writeArchive packs dir into out, a .tar.gz or a .zip, with every entry
// dated mtime. It writes a temporary file beside out and renames it into
// place only when everything has been written.
func writeArchive(out, dir string, mtime time.Time) error {
	var write func(io.Writer, []entry, time.Time) error
	switch {
	case strings.HasSuffix(out, ".tar.gz"):
		write = writeTarGz
	case strings.HasSuffix(out, ".zip"):
		write = writeZip
	default:
		return fmt.Errorf("pack: %s: the archive's name must end in .tar.gz or .zip", out)
	}
	if mtime.Unix() < minUnix || mtime.Unix() > maxUnix {
		return fmt.Errorf("pack: time %d (%s) is outside the range a zip file can hold (1980 to 2107)",
			mtime.Unix(), mtime.UTC().Format(time.RFC3339))
	}
	entries, err := collect(dir)
	if err != nil {
		return err
	}
	return writeFileAtomic(out, func(w io.Writer) error { return write(w, entries, mtime) })
}

// writeTarGz writes entries as a gzip-compressed ustar archive.
func writeTarGz(w io.Writer, entries []entry, mtime time.Time) error {
	// The zero gzip.Header leaves out the file name and writes 0 as the time.
	zw, err := gzip.NewWriterLevel(w, gzip.BestCompression)
	if err != nil {
		return fmt.Errorf("pack: %w", err)
	}
	tw := tar.NewWriter(zw)
	for _, e := range entries {
		hdr := &tar.Header{
			Typeflag: tar.TypeReg,
			Name:     e.name,
			Mode:     int64(e.mode),
			Size:     e.size,
			ModTime:  mtime,
			Format:   tar.FormatUSTAR,
		}
		if e.isDir() {
			hdr.Typeflag, hdr.Size = tar.TypeDir, 0
		}
		if err := tw.WriteHeader(hdr); err != nil {
			return fmt.Errorf("pack: %s: %w", e.name, err)
		}
		if !e.isDir() {
			if err := copyFile(tw, e); err != nil {
				return err
			}
		}
	}
	if err := tw.Close(); err != nil {
		return fmt.Errorf("pack: %w", err)
	}
	if err := zw.Close(); err != nil {
		return fmt.Errorf("pack: %w", err)
	}
	return nil
}

// writeZip writes entries as a zip archive, files deflated at the best
// compression.
func writeZip(w io.Writer, entries []entry, mtime time.Time) error {
	zw := zip.NewWriter(w)
	zw.RegisterCompressor(zip.Deflate, func(w io.Writer) (io.WriteCloser, error) {
		return flate.NewWriter(w, flate.BestCompression)
	})
	for _, e := range entries {
		hdr := &zip.FileHeader{Name: e.name, Method: zip.Deflate, Modified: mtime.UTC()}
		mode := e.mode
		if e.isDir() {
			hdr.Method = zip.Store
			mode |= fs.ModeDir
		}
		hdr.SetMode(mode)
		fw, err := zw.CreateHeader(hdr)
		if err != nil {
			return fmt.Errorf("pack: %s: %w", e.name, err)
		}
		if !e.isDir() {
			if err := copyFile(fw, e); err != nil {
				return err
			}
		}
	}
	if err := zw.Close(); err != nil {
		return fmt.Errorf("pack: %w", err)
	}
	return nil
}

// copyFile copies e's file to w and makes sure it still has the size
// collect saw, which the tar header already promised.
func copyFile(w io.Writer, e entry) error {
	f, err := os.Open(e.path)
	if err != nil {
		return fmt.Errorf("pack: %w", err)
	}
	defer f.Close()
	n, err := io.Copy(w, io.LimitReader(f, e.size+1))
	if err != nil {
		return fmt.Errorf("pack: %s: %w", e.path, err)
	}
	if n != e.size {
		return fmt.Errorf("pack: %s: the file changed while it was packed (%d bytes, then %d)", e.path, e.size, n)
	}
	return nil
}

// writeFileAtomic calls write with a temporary file beside name, then
// renames it to name (mode 0644). On any error the temporary file is
// removed and name is left as it was.
func writeFileAtomic(name string, write func(io.Writer) error) (err error) {
	f, err := os.CreateTemp(filepath.Dir(name), ".pack-*")
	if err != nil {
		return fmt.Errorf("pack: %w", err)
	}
	defer func() {
		if err != nil {
			f.Close()
			os.Remove(f.Name())
		}
	}()
	if err := write(f); err != nil {
		return err
	}
	if err := f.Chmod(0o644); err != nil {
		return fmt.Errorf("pack: %w", err)
	}
	if err := f.Close(); err != nil {
		return fmt.Errorf("pack: %w", err)
	}
	if err := os.Rename(f.Name(), name); err != nil {
		return fmt.Errorf("pack: %w", err)
	}
	return nil
}
