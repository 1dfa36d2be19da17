package main

import (
	"fmt"
	"io"
	"log/slog"
	"runtime"
)

// Version and GitSHA describe the build. They are the only package-level
// variables of the binary, and only the linker writes them:
//
//	go build -ldflags "-X main.Version=2.3.8 -X main.GitSHA=$(git rev-parse --short HEAD)" ./etcd
//
// Version is the etcd release whose API and behaviour this server follows,
// and what /version reports as etcdserver.
var (
	Version = "2.3.8"
	GitSHA  = "Not provided (use ./build instead of go build)"
)

// versionLines returns the four lines --version prints, which the server
// also logs when it starts.
func versionLines() []string {
	return []string{
		"etcd Version: " + Version,
		"Git SHA: " + GitSHA,
		"Go Version: " + runtime.Version(),
		"Go OS/Arch: " + runtime.GOOS + "/" + runtime.GOARCH,
	}
}

// printVersion writes the --version output to w.
func printVersion(w io.Writer) {
	for _, l := range versionLines() {
		fmt.Fprintln(w, l)
	}
}

// logVersion logs the version lines and the processor count, the first
// lines of every start.
func logVersion(log *slog.Logger) {
	for _, l := range versionLines() {
		log.Info(l)
	}
	log.Info(fmt.Sprintf("setting maximum number of CPUs to %d, total number of available CPUs is %d",
		runtime.GOMAXPROCS(0), runtime.NumCPU()))
}
