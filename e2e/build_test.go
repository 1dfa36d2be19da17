package e2e

import (
	"archive/tar"
	"bytes"
	"compress/gzip"
	"crypto/sha256"
	"fmt"
	"io"
	"io/fs"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"strconv"
	"strings"
	"testing"
	"time"
)

// The tests of ./build run the script itself, on copies of this source
// tree: the copies hold no build output, and nothing the other tests or
// the developer do to the tree can change them between two builds.

// buildTestVersion is written to VERSION in the copies, so that a binary
// printing it proves the stamp came from ./build and not from the default
// in the source.
const buildTestVersion = "2.3.99-buildtest.1"

// commitDate is the author and committer date of the copies' commit: with
// it, two copies of the same files make the same commit.
var commitDate = time.Date(2001, 2, 3, 4, 5, 6, 0, time.UTC)

// TestBuildIsReproducible builds twice, in two copies of the tree at
// different paths: copy A is a git checkout and runs `./build` and
// `./build release OS/ARCH` (this machine's platform only, to stay short);
// copy B is a plain directory, as unpacked from a source archive, that is
// told the commit through GIT_SHA and SOURCE_DATE_EPOCH and writes
// elsewhere with -o. Both must give the same bytes, and the binaries must
// print the stamps and show the module list an auditor checks.
func TestBuildIsReproducible(t *testing.T) {
	requireBuildTools(t)
	tmp := t.TempDir()
	srcA := filepath.Join(tmp, "a", "v2etcd")
	srcB := filepath.Join(tmp, "b", "elsewhere", "etcd-source")
	copyTree(t, "..", srcA)
	copyTree(t, "..", srcB)
	for _, src := range []string{srcA, srcB} {
		if err := os.WriteFile(filepath.Join(src, "VERSION"), []byte(buildTestVersion+"\n"), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	commit := gitCommitAll(t, srcA)
	platform := runtime.GOOS + "/" + runtime.GOARCH

	// A: a git checkout, built in place.
	runBuild(t, srcA, nil, "./build")
	runBuild(t, srcA, nil, "./build", "release", platform)
	binA, relA := filepath.Join(srcA, "bin"), filepath.Join(srcA, "release")

	// B: no git, relative -o paths from another working directory.
	envB := []string{"GIT_SHA=" + commit, "SOURCE_DATE_EPOCH=" + strconv.FormatInt(commitDate.Unix(), 10)}
	dirB := filepath.Join(tmp, "b")
	script := filepath.Join("elsewhere", "etcd-source", "build")
	runBuild(t, dirB, envB, script, "-o", "out/bin")
	runBuild(t, dirB, envB, script, "release", "-o", "out/release", platform)
	binB, relB := filepath.Join(dirB, "out", "bin"), filepath.Join(dirB, "out", "release")

	name := "etcd-" + buildTestVersion + "-" + runtime.GOOS + "-" + runtime.GOARCH
	archive := name + ".tar.gz"
	for _, f := range []string{"etcd", "etcdctl"} {
		sameFile(t, filepath.Join(binA, f), filepath.Join(binB, f))
	}
	for _, f := range []string{archive, "SHA256SUMS"} {
		sameFile(t, filepath.Join(relA, f), filepath.Join(relB, f))
	}
	if entries, err := os.ReadDir(relA); err != nil || len(entries) != 2 {
		t.Errorf("release/ holds %v (%v); want only %s and SHA256SUMS", entries, err, archive)
	}

	// SHA256SUMS names the archive with its hash, as sha256sum -c reads it.
	data := readFileT(t, filepath.Join(relA, archive))
	want := fmt.Sprintf("%x  %s\n", sha256.Sum256(data), archive)
	if got := string(readFileT(t, filepath.Join(relA, "SHA256SUMS"))); got != want {
		t.Errorf("SHA256SUMS = %q, want %q", got, want)
	}

	// The archive holds the very binaries ./build makes, and the docs.
	checkArchive(t, data, name, map[string][]byte{
		"etcd":      readFileT(t, filepath.Join(binA, "etcd")),
		"etcdctl":   readFileT(t, filepath.Join(binA, "etcdctl")),
		"LICENSE":   readFileT(t, filepath.Join(srcA, "LICENSE")),
		"README.md": readFileT(t, filepath.Join(srcA, "README.md")),
	})

	// The stamps.
	goVersion := strings.TrimSpace(string(runOutput(t, "", "go", "env", "GOVERSION")))
	wantEtcd := strings.Join([]string{
		"etcd Version: " + buildTestVersion,
		"Git SHA: " + commit,
		"Go Version: " + goVersion,
		"Go OS/Arch: " + platform,
	}, "\n") + "\n"
	if got := string(runOutput(t, "", filepath.Join(binA, "etcd"), "--version")); got != wantEtcd {
		t.Errorf("etcd --version =\n%s\nwant\n%s", got, wantEtcd)
	}
	wantCtl := strings.Join([]string{
		"etcdctl version " + buildTestVersion,
		"Git SHA: " + commit,
		"Go Version: " + goVersion,
		"Go OS/Arch: " + platform,
	}, "\n") + "\n"
	if got := string(runOutput(t, "", filepath.Join(binA, "etcdctl"), "--version")); got != wantCtl {
		t.Errorf("etcdctl --version = %q, want %q", got, wantCtl)
	}

	// What an auditor reads with go version -m.
	for _, f := range []string{"etcd", "etcdctl"} {
		checkBuildInfo(t, string(runOutput(t, "", "go", "version", "-m", filepath.Join(binA, f))), f)
	}
}

// TestBuildRefusesBadInput runs ./build with what it must refuse before it
// compiles anything: a clear message and a non-zero exit, nothing built.
func TestBuildRefusesBadInput(t *testing.T) {
	requireBuildTools(t)
	script := readFileT(t, filepath.Join("..", "build"))
	tests := []struct {
		name    string
		files   map[string]string // beside the script; VERSION "" means none
		env     []string
		args    []string
		code    int
		wantErr string
	}{
		{"unknown argument", nil, nil, []string{"bogus"}, 2, "build: unknown argument bogus"},
		{"unknown option", nil, nil, []string{"release", "-x"}, 2, "build: unknown option -x"},
		{"-o without a directory", nil, nil, []string{"-o"}, 2, "build: -o needs a directory"},
		{"platform without release", nil, nil, []string{"linux/amd64"}, 2, "is for ./build release"},
		{"malformed platform", nil, nil, []string{"release", "linux/amd64/v3"}, 2, "is not an OS/ARCH pair"},
		{"bad VERSION", map[string]string{"VERSION": "banana\n"}, nil, nil, 1, `build: VERSION: "banana" is not a version`},
		{"VERSION with a v", map[string]string{"VERSION": "v2.3.8\n"}, nil, nil, 1, `"v2.3.8" is not a version`},
		{"no VERSION, no git", map[string]string{"VERSION": ""}, nil, nil, 1, "build: cannot tell the version"},
		{"bad GIT_SHA", nil, []string{"GIT_SHA=abc def"}, nil, 1, `build: GIT_SHA="abc def" may hold only`},
		{"bad SOURCE_DATE_EPOCH", nil, []string{"GIT_SHA=abc", "SOURCE_DATE_EPOCH=yesterday"}, nil, 1, "is not a number of seconds"},
		{"release without LICENSE", map[string]string{"LICENSE": ""}, []string{"GIT_SHA=abc"}, []string{"release"}, 1, "build: LICENSE is missing"},
		{"unknown platform", nil, []string{"GIT_SHA=abc"}, []string{"release", "plan10/vax"}, 1, "build: plan10/vax is not a platform Go builds for"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			dir := t.TempDir()
			files := map[string]string{"VERSION": "2.3.8\n", "README.md": "readme\n", "LICENSE": "license\n"}
			for k, v := range tt.files {
				files[k] = v
			}
			if err := os.WriteFile(filepath.Join(dir, "build"), script, 0o755); err != nil {
				t.Fatal(err)
			}
			for k, v := range files {
				if v == "" {
					continue
				}
				if err := os.WriteFile(filepath.Join(dir, k), []byte(v), 0o644); err != nil {
					t.Fatal(err)
				}
			}
			cmd := exec.CommandContext(t.Context(), "./build", tt.args...)
			cmd.Dir = dir
			cmd.Env = buildEnv(tt.env)
			var stdout, stderr bytes.Buffer
			cmd.Stdout, cmd.Stderr = &stdout, &stderr
			err := cmd.Run()
			code := 0
			if ee, ok := err.(*exec.ExitError); ok {
				code = ee.ExitCode()
			} else if err != nil {
				t.Fatal(err)
			}
			if code != tt.code || !strings.Contains(stderr.String(), tt.wantErr) {
				t.Errorf("exit %d, stderr:\n%s\nwant exit %d and %q", code, stderr.String(), tt.code, tt.wantErr)
			}
			if stdout.Len() != 0 {
				t.Errorf("stdout = %q, want nothing", stdout.String())
			}
			for _, out := range []string{"bin", "release"} {
				if _, err := os.Stat(filepath.Join(dir, out)); err == nil {
					t.Errorf("%s/ was made", out)
				}
			}
		})
	}
}

// requireBuildTools skips the test where ./build cannot run.
func requireBuildTools(t *testing.T) {
	t.Helper()
	if runtime.GOOS == "windows" {
		t.Skip("./build is a bash script")
	}
	for _, tool := range []string{"bash", "git", "go"} {
		if _, err := exec.LookPath(tool); err != nil {
			t.Skipf("./build needs %s: %v", tool, err)
		}
	}
}

// copyTree copies the source tree at root to dst, leaving out hidden
// directories (.git among them), build output and data directories.
func copyTree(t *testing.T, root, dst string) {
	t.Helper()
	err := filepath.WalkDir(root, func(p string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		rel, err := filepath.Rel(root, p)
		if err != nil {
			return err
		}
		name := d.Name()
		if d.IsDir() && rel != "." && (strings.HasPrefix(name, ".") || strings.HasSuffix(name, ".etcd") ||
			rel == "bin" || rel == "release") {
			return filepath.SkipDir
		}
		target := filepath.Join(dst, rel)
		switch {
		case d.IsDir():
			return os.MkdirAll(target, 0o755)
		case d.Type().IsRegular():
			info, err := d.Info()
			if err != nil {
				return err
			}
			data, err := os.ReadFile(p)
			if err != nil {
				return err
			}
			return os.WriteFile(target, data, info.Mode().Perm())
		}
		return nil // symbolic links and the like are no part of the source
	})
	if err != nil {
		t.Fatalf("copying the source tree: %v", err)
	}
}

// gitEnv is the environment of the test's own git commands: no user or
// system configuration (no signing, no hooks), fixed names and dates.
func gitEnv() []string {
	date := commitDate.Format(time.RFC3339)
	return append(buildEnv(nil),
		"GIT_CONFIG_NOSYSTEM=1", "GIT_CONFIG_GLOBAL="+os.DevNull,
		"GIT_AUTHOR_NAME=build test", "GIT_AUTHOR_EMAIL=build@test.invalid", "GIT_AUTHOR_DATE="+date,
		"GIT_COMMITTER_NAME=build test", "GIT_COMMITTER_EMAIL=build@test.invalid", "GIT_COMMITTER_DATE="+date)
}

// gitCommitAll makes dir a git repository with everything in it committed
// and returns the commit's hash.
func gitCommitAll(t *testing.T, dir string) string {
	t.Helper()
	for _, args := range [][]string{
		{"-c", "init.defaultBranch=main", "init", "-q"},
		{"add", "-A"},
		{"-c", "commit.gpgsign=false", "commit", "-q", "--no-verify", "-m", "build test"},
	} {
		cmd := exec.CommandContext(t.Context(), "git", args...)
		cmd.Dir, cmd.Env = dir, gitEnv()
		if out, err := cmd.CombinedOutput(); err != nil {
			t.Fatalf("git %s: %v\n%s", strings.Join(args, " "), err, out)
		}
	}
	cmd := exec.CommandContext(t.Context(), "git", "rev-parse", "HEAD")
	cmd.Dir, cmd.Env = dir, gitEnv()
	out, err := cmd.Output()
	if err != nil {
		t.Fatalf("git rev-parse HEAD: %v", err)
	}
	return strings.TrimSpace(string(out))
}

// buildEnv is the test's environment without what would change what
// ./build stamps or builds for, plus extra.
func buildEnv(extra []string) []string {
	var env []string
	for _, kv := range os.Environ() {
		name, _, _ := strings.Cut(kv, "=")
		switch name {
		case "GIT_SHA", "SOURCE_DATE_EPOCH", "GOOS", "GOARCH", "GIT_DIR", "GIT_WORK_TREE", "GIT_INDEX_FILE":
			continue
		}
		env = append(env, kv)
	}
	return append(env, extra...)
}

// runBuild runs the build script in dir and fails the test if it fails or
// warns (a clean commit, or one named through GIT_SHA, gives no warning).
func runBuild(t *testing.T, dir string, extraEnv []string, script string, args ...string) {
	t.Helper()
	cmd := exec.CommandContext(t.Context(), script, args...)
	cmd.Dir = dir
	cmd.Env = buildEnv(extraEnv)
	var stdout, stderr bytes.Buffer
	cmd.Stdout, cmd.Stderr = &stdout, &stderr
	if err := cmd.Run(); err != nil {
		t.Fatalf("%s %s: %v\n%s%s", script, strings.Join(args, " "), err, stdout.String(), stderr.String())
	}
	if stderr.Len() != 0 {
		t.Errorf("%s %s wrote to stderr:\n%s", script, strings.Join(args, " "), stderr.String())
	}
	if !strings.HasPrefix(stdout.String(), "build: ") {
		t.Errorf("%s %s printed %q; want what it built", script, strings.Join(args, " "), stdout.String())
	}
}

// runOutput runs a command and returns its standard output.
func runOutput(t *testing.T, dir, name string, args ...string) []byte {
	t.Helper()
	cmd := exec.CommandContext(t.Context(), name, args...)
	cmd.Dir = dir
	var stderr bytes.Buffer
	cmd.Stderr = &stderr
	out, err := cmd.Output()
	if err != nil {
		t.Fatalf("%s %s: %v\n%s", name, strings.Join(args, " "), err, stderr.String())
	}
	return out
}

// sameFile fails the test unless a and b hold the same bytes.
func sameFile(t *testing.T, a, b string) {
	t.Helper()
	da, db := readFileT(t, a), readFileT(t, b)
	if !bytes.Equal(da, db) {
		i := 0
		for i < len(da) && i < len(db) && da[i] == db[i] {
			i++
		}
		t.Errorf("%s (%d bytes) and %s (%d bytes) differ from byte %d on", a, len(da), b, len(db), i)
	}
}

// checkArchive checks a release .tar.gz: a gzip header without name or
// time, then the top directory and the files in name order, each with
// fixed modes, owner 0 and the commit's time, holding the given bytes.
func checkArchive(t *testing.T, data []byte, top string, files map[string][]byte) {
	t.Helper()
	zr, err := gzip.NewReader(bytes.NewReader(data))
	if err != nil {
		t.Fatal(err)
	}
	if zr.Name != "" || !zr.ModTime.IsZero() {
		t.Errorf("gzip header: name %q, time %v; want neither", zr.Name, zr.ModTime)
	}
	want := []struct {
		name string
		mode int64
	}{
		{top + "/", 0o755},
		{top + "/LICENSE", 0o644},
		{top + "/README.md", 0o644},
		{top + "/etcd", 0o755},
		{top + "/etcdctl", 0o755},
	}
	tr := tar.NewReader(zr)
	for _, w := range want {
		hdr, err := tr.Next()
		if err != nil {
			t.Fatalf("reading the archive, expecting %s: %v", w.name, err)
		}
		if hdr.Name != w.name || hdr.Mode != w.mode || !hdr.ModTime.Equal(commitDate) ||
			hdr.Uid != 0 || hdr.Gid != 0 || hdr.Uname != "" || hdr.Gname != "" {
			t.Errorf("entry %s mode %o time %v owner %d:%d (%q:%q); want %s mode %o time %v owner 0:0 unnamed",
				hdr.Name, hdr.Mode, hdr.ModTime, hdr.Uid, hdr.Gid, hdr.Uname, hdr.Gname, w.name, w.mode, commitDate)
		}
		got, err := io.ReadAll(tr)
		if err != nil {
			t.Fatal(err)
		}
		if base := strings.TrimPrefix(w.name, top+"/"); base != "" && !bytes.Equal(got, files[base]) {
			t.Errorf("%s in the archive differs from %s (%d and %d bytes)", w.name, base, len(got), len(files[base]))
		}
	}
	if hdr, err := tr.Next(); err != io.EOF {
		t.Errorf("after etcdctl the archive holds %v (%v); want nothing", hdr, err)
	}
}

// checkBuildInfo checks what go version -m prints for a binary: built with
// -trimpath, without cgo, from this module, and needing no module but
// golang.org/x/sync.
func checkBuildInfo(t *testing.T, info, bin string) {
	t.Helper()
	for _, want := range []string{"\tpath\tv2etcd/" + bin + "\n", "\tmod\tv2etcd\t", "\tbuild\t-trimpath=true\n", "\tbuild\tCGO_ENABLED=0\n"} {
		if !strings.Contains(info, want) {
			t.Errorf("go version -m %s lacks %q:\n%s", bin, want, info)
		}
	}
	for _, line := range strings.Split(info, "\n") {
		f := strings.Fields(line)
		if len(f) >= 2 && (f[0] == "dep" || f[0] == "=>") && f[1] != "golang.org/x/sync" {
			t.Errorf("go version -m %s: the binary needs %s; only golang.org/x/sync is allowed", bin, f[1])
		}
	}
}

// readFileT reads a file or fails the test.
func readFileT(t *testing.T, name string) []byte {
	t.Helper()
	data, err := os.ReadFile(name)
	if err != nil {
		t.Fatal(err)
	}
	return data
}
