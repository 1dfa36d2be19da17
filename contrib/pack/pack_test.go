package main

import (
	"archive/tar"
	"archive/zip"
	"bytes"
	"compress/gzip"
	"crypto/sha256"
	"encoding/hex"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"runtime"
	"strings"
	"testing"
	"time"
)

// stamp is the time the tests ask pack to give every entry.
var stamp = time.Date(2001, 2, 3, 4, 5, 6, 0, time.UTC)

// file is one file of a test tree: its contents and the mode on disk.
type file struct {
	name string // slash-separated, relative to the tree
	data string
	perm fs.FileMode
}

var treeFiles = []file{
	{"README.md", "read me\n", 0o644},
	{"LICENSE", "license text\n", 0o600},
	{"etcd", strings.Repeat("binary ", 1000), 0o755},
	{"etcdctl", "another binary", 0o700},
	{"doc/z.txt", "z", 0o664},
	{"doc/a.txt", "a", 0o444},
}

// makeTree writes treeFiles under parent/top and dates every file and
// directory mtime, so that two trees differ in everything pack must hide.
func makeTree(t *testing.T, parent string, mtime time.Time) string {
	t.Helper()
	dir := filepath.Join(parent, "top")
	for _, f := range treeFiles {
		p := filepath.Join(dir, filepath.FromSlash(f.name))
		if err := os.MkdirAll(filepath.Dir(p), 0o700); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(p, []byte(f.data), f.perm); err != nil {
			t.Fatal(err)
		}
		if err := os.Chmod(p, f.perm); err != nil { // despite the umask
			t.Fatal(err)
		}
		if err := os.Chtimes(p, mtime, mtime); err != nil {
			t.Fatal(err)
		}
	}
	return dir
}

// wantEntries is what an archive of treeFiles holds, in order.
var wantEntries = []struct {
	name string
	mode fs.FileMode
	data string
}{
	{"top/", 0o755, ""},
	{"top/LICENSE", 0o644, "license text\n"},
	{"top/README.md", 0o644, "read me\n"},
	{"top/doc/", 0o755, ""},
	{"top/doc/a.txt", 0o644, "a"},
	{"top/doc/z.txt", 0o644, "z"},
	{"top/etcd", 0o755, strings.Repeat("binary ", 1000)},
	{"top/etcdctl", 0o755, "another binary"},
}

func TestArchiveIsReproducible(t *testing.T) {
	for _, suffix := range []string{".tar.gz", ".zip"} {
		t.Run(suffix, func(t *testing.T) {
			// Two trees in different places, with different file times.
			a := makeTree(t, t.TempDir(), time.Now())
			b := makeTree(t, t.TempDir(), time.Date(2020, 5, 6, 7, 8, 9, 0, time.UTC))
			out := t.TempDir()
			outA, outB := filepath.Join(out, "a"+suffix), filepath.Join(out, "b"+suffix)
			if err := writeArchive(outA, a, stamp); err != nil {
				t.Fatal(err)
			}
			if err := writeArchive(outB, b, stamp); err != nil {
				t.Fatal(err)
			}
			dataA, dataB := readFile(t, outA), readFile(t, outB)
			if !bytes.Equal(dataA, dataB) {
				t.Fatalf("two archives of the same files differ (%d and %d bytes)", len(dataA), len(dataB))
			}
			info, err := os.Stat(outA)
			if err != nil {
				t.Fatal(err)
			}
			if runtime.GOOS != "windows" && info.Mode().Perm() != 0o644 {
				t.Errorf("archive mode = %v, want 0644", info.Mode().Perm())
			}
			// A different time gives a different archive: the time is in it.
			outC := filepath.Join(out, "c"+suffix)
			if err := writeArchive(outC, a, stamp.Add(time.Hour)); err != nil {
				t.Fatal(err)
			}
			if bytes.Equal(dataA, readFile(t, outC)) {
				t.Error("archives dated an hour apart are the same")
			}
		})
	}
}

func TestTarGzContents(t *testing.T) {
	out := filepath.Join(t.TempDir(), "x.tar.gz")
	if err := writeArchive(out, makeTree(t, t.TempDir(), time.Now()), stamp); err != nil {
		t.Fatal(err)
	}
	zr, err := gzip.NewReader(bytes.NewReader(readFile(t, out)))
	if err != nil {
		t.Fatal(err)
	}
	if zr.Name != "" || !zr.ModTime.IsZero() || zr.Comment != "" {
		t.Errorf("gzip header has name %q, time %v, comment %q; want none", zr.Name, zr.ModTime, zr.Comment)
	}
	tr := tar.NewReader(zr)
	for i, want := range wantEntries {
		hdr, err := tr.Next()
		if err != nil {
			t.Fatalf("entry %d (%s): %v", i, want.name, err)
		}
		wantType := byte(tar.TypeReg)
		if strings.HasSuffix(want.name, "/") {
			wantType = tar.TypeDir
		}
		if hdr.Name != want.name || hdr.Typeflag != wantType || hdr.Mode != int64(want.mode) {
			t.Errorf("entry %d = %s type %c mode %o; want %s type %c mode %o",
				i, hdr.Name, hdr.Typeflag, hdr.Mode, want.name, wantType, want.mode)
		}
		if !hdr.ModTime.Equal(stamp) || hdr.Uid != 0 || hdr.Gid != 0 || hdr.Uname != "" || hdr.Gname != "" {
			t.Errorf("%s: time %v uid %d gid %d uname %q gname %q; want %v, 0, 0, no names",
				hdr.Name, hdr.ModTime, hdr.Uid, hdr.Gid, hdr.Uname, hdr.Gname, stamp)
		}
		if hdr.Format != tar.FormatUSTAR {
			t.Errorf("%s: format %v, want ustar", hdr.Name, hdr.Format)
		}
		data, err := io.ReadAll(tr)
		if err != nil {
			t.Fatal(err)
		}
		if string(data) != want.data {
			t.Errorf("%s holds %q, want %q", hdr.Name, data, want.data)
		}
	}
	if hdr, err := tr.Next(); err != io.EOF {
		t.Errorf("after the last entry: %v, %v; want io.EOF", hdr, err)
	}
}

func TestZipContents(t *testing.T) {
	out := filepath.Join(t.TempDir(), "x.zip")
	if err := writeArchive(out, makeTree(t, t.TempDir(), time.Now()), stamp); err != nil {
		t.Fatal(err)
	}
	zr, err := zip.OpenReader(out)
	if err != nil {
		t.Fatal(err)
	}
	defer zr.Close()
	if len(zr.File) != len(wantEntries) {
		t.Fatalf("%d entries, want %d", len(zr.File), len(wantEntries))
	}
	for i, want := range wantEntries {
		f := zr.File[i]
		wantMode := want.mode
		if strings.HasSuffix(want.name, "/") {
			wantMode |= fs.ModeDir
		}
		if f.Name != want.name || f.Mode() != wantMode || !f.Modified.Equal(stamp) {
			t.Errorf("entry %d = %s mode %v time %v; want %s mode %v time %v",
				i, f.Name, f.Mode(), f.Modified, want.name, wantMode, stamp)
		}
		rc, err := f.Open()
		if err != nil {
			t.Fatal(err)
		}
		data, err := io.ReadAll(rc)
		rc.Close()
		if err != nil {
			t.Fatal(err)
		}
		if string(data) != want.data {
			t.Errorf("%s holds %q, want %q", f.Name, data, want.data)
		}
	}
}

func TestArchiveErrors(t *testing.T) {
	tmp := t.TempDir()
	good := makeTree(t, filepath.Join(tmp, "good"), time.Now())
	withLink := makeTree(t, filepath.Join(tmp, "link"), time.Now())
	if err := os.Symlink("README.md", filepath.Join(withLink, "link")); err != nil {
		t.Skipf("cannot make a symbolic link here: %v", err)
	}
	out := filepath.Join(tmp, "out")
	if err := os.Mkdir(out, 0o755); err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		name string
		args []string
		code int
		want string // in stderr
	}{
		{"no subcommand", nil, 2, "no subcommand"},
		{"unknown subcommand", []string{"zip"}, 2, `unknown subcommand "zip"`},
		{"unknown flag", []string{"archive", "-x"}, 2, "flag provided but not defined: -x"},
		{"no -o", []string{"archive", "-time", "315532800", good}, 2, "archive needs -o"},
		{"no -time", []string{"archive", "-o", out + "/a.zip", good}, 2, "archive needs -time"},
		{"two dirs", []string{"archive", "-o", out + "/a.zip", "-time", "315532800", good, good}, 2, "one directory, not 2"},
		{"bad suffix", []string{"archive", "-o", out + "/a.tar", "-time", "315532800", good}, 1, "must end in .tar.gz or .zip"},
		{"before 1980", []string{"archive", "-o", out + "/a.zip", "-time", "315532799", good}, 1, "1979-12-31T23:59:59Z) is outside"},
		{"after 2107", []string{"archive", "-o", out + "/a.zip", "-time", "4354819199", good}, 1, "is outside"},
		{"missing dir", []string{"archive", "-o", out + "/a.zip", "-time", "315532800", filepath.Join(tmp, "nope")}, 1, "no such file"},
		{"symlink", []string{"archive", "-o", out + "/a.tar.gz", "-time", "315532800", withLink}, 1, "not a regular file or a directory"},
		{"unnamed dir", []string{"archive", "-o", out + "/a.zip", "-time", "315532800", "/"}, 1, "needs a name"},
		{"sums without -o", []string{"sums", good + "/etcd"}, 2, "sums needs -o"},
		{"sums of nothing", []string{"sums", "-o", out + "/S"}, 1, "no files to sum"},
		{"sums of a missing file", []string{"sums", "-o", out + "/S", filepath.Join(tmp, "nope")}, 1, "no such file"},
		{"sums of two equal names", []string{"sums", "-o", out + "/S", good + "/etcd", withLink + "/etcd"}, 1, "two files are named etcd"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var stderr bytes.Buffer
			code := run(tt.args, &stderr)
			if code != tt.code || !strings.Contains(stderr.String(), tt.want) {
				t.Errorf("exit %d, stderr %q; want exit %d and %q", code, stderr.String(), tt.code, tt.want)
			}
			if !strings.HasPrefix(stderr.String(), "pack: ") {
				t.Errorf("stderr %q does not start with pack: ", stderr.String())
			}
			// A failed run leaves nothing behind, not even a temporary file.
			if left, _ := os.ReadDir(out); len(left) != 0 {
				t.Errorf("files left in the output directory: %v", left)
			}
		})
	}
}

func TestSums(t *testing.T) {
	dir := makeTree(t, t.TempDir(), time.Now())
	out := filepath.Join(t.TempDir(), "SHA256SUMS")
	var stderr bytes.Buffer
	files := []string{dir + "/etcdctl", dir + "/README.md", dir + "/doc/a.txt", dir + "/etcd"}
	if code := run(append([]string{"sums", "-o", out}, files...), &stderr); code != 0 {
		t.Fatalf("exit %d: %s", code, stderr.String())
	}
	var want strings.Builder
	for _, name := range []string{"README.md", "a.txt", "etcd", "etcdctl"} { // byte order
		var data string
		for _, f := range treeFiles {
			if filepath.Base(f.name) == name {
				data = f.data
			}
		}
		sum := sha256.Sum256([]byte(data))
		want.WriteString(hex.EncodeToString(sum[:]) + "  " + name + "\n")
	}
	if got := string(readFile(t, out)); got != want.String() {
		t.Errorf("SHA256SUMS =\n%s\nwant\n%s", got, want.String())
	}
}

func TestArchiveCommand(t *testing.T) {
	dir := makeTree(t, t.TempDir(), time.Now())
	out := filepath.Join(t.TempDir(), "x.tar.gz")
	var stderr bytes.Buffer
	if code := run([]string{"archive", "-o", out, "-time", "981173106", dir}, &stderr); code != 0 {
		t.Fatalf("exit %d: %s", code, stderr.String())
	}
	direct := filepath.Join(t.TempDir(), "x.tar.gz")
	if err := writeArchive(direct, dir, stamp); err != nil { // stamp is 981173106
		t.Fatal(err)
	}
	if !bytes.Equal(readFile(t, out), readFile(t, direct)) {
		t.Error("pack archive -time 981173106 differs from an archive dated 2001-02-03T04:05:06Z")
	}
}

func readFile(t *testing.T, name string) []byte {
	t.Helper()
	data, err := os.ReadFile(name)
	if err != nil {
		t.Fatal(err)
	}
	return data
}
