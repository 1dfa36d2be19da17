package wal

import (
	"bufio"
	"bytes"
	"flag"
	"fmt"
	"math/rand/v2"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"testing"

	"v2etcd/raft"
)

var crashRounds = flag.Int("wal.crashrounds", 15, "rounds of the SIGKILL crash test (TestCrashKill9)")

// crashChildEnv names the environment variable that turns the test binary
// into the crash test's child process.
const crashChildEnv = "WAL_CRASH_CHILD_DIR"

func TestMain(m *testing.M) {
	if dir := os.Getenv(crashChildEnv); dir != "" {
		seed, _ := strconv.ParseUint(os.Getenv("WAL_CRASH_CHILD_SEED"), 10, 64)
		if err := crashChild(dir, seed); err != nil {
			fmt.Fprintln(os.Stderr, "child:", err)
			os.Exit(1)
		}
		os.Exit(0)
	}
	os.Exit(m.Run())
}

var crashOpts = Options{SegmentSize: 256 << 10, MaxSegments: 3}

// crashChild appends entries to the WAL in dir until it is killed. After
// each Save returns it prints "ack <last index>"; after each snapshot
// marker, "snap <index>".
func crashChild(dir string, seed uint64) error {
	rng := rand.New(rand.NewPCG(seed, 2))
	var (
		w    *WAL
		err  error
		next uint64 = 1
		term uint64 = 1
	)
	if !Exist(dir) {
		if w, err = Create(dir, Metadata{MemberID: 1}, crashOpts); err != nil {
			return err
		}
	} else {
		markers, err := Markers(dir)
		if err != nil {
			return err
		}
		at := markers[len(markers)-1]
		if w, err = Open(dir, at, crashOpts); err != nil {
			return err
		}
		_, hs, ents, err := w.ReadAll()
		if err != nil {
			return err
		}
		next, term = at.Index+1, hs.Term+1
		if len(ents) > 0 {
			next = ents[len(ents)-1].Index + 1
		}
	}
	fmt.Println("open")
	sinceSnap := 0
	for {
		// Mostly small writes; some of a few hundred KB, which a SIGKILL
		// can interrupt half copied (a torn tail the next open repairs).
		n, size := 1+rng.IntN(16), rng.IntN(300)
		if rng.IntN(8) == 0 {
			n, size = 64+rng.IntN(192), 1024+rng.IntN(1024)
		}
		ents := makeEntries(next, n, term, size)
		next += uint64(n)
		if err := w.Save(raft.HardState{Term: term, Vote: 1, Commit: next - 1}, ents); err != nil {
			return err
		}
		fmt.Printf("ack %d\n", next-1)
		if sinceSnap += n; sinceSnap > 500 {
			sinceSnap = 0
			m := SnapshotMarker{Index: next - 1, Term: term}
			if err := w.SaveSnapshot(m); err != nil {
				return err
			}
			fmt.Printf("snap %d\n", m.Index)
			if err := w.ReleaseTo(m.Index); err != nil {
				return err
			}
		}
	}
}

// TestCrashKill9 runs a child process that appends and fsyncs in a loop,
// kills it with SIGKILL at random moments (sometimes before it has even
// opened the WAL, so also during replay and repair), reopens the WAL and
// checks that every index the child acknowledged is there, with its data.
// Run more rounds with -wal.crashrounds=N.
func TestCrashKill9(t *testing.T) {
	if testing.Short() {
		t.Skip("starts child processes")
	}
	dir := filepath.Join(t.TempDir(), "wal")
	rng := rand.New(rand.NewPCG(uint64(*crashRounds), 3))
	var maxAck, maxSnap uint64
	repairs := 0
	for round := 0; round < *crashRounds; round++ {
		killAfter := rng.IntN(80) // ack lines to read before the kill; 0 kills at once
		cmd := exec.Command(os.Args[0], "-test.run=^$")
		cmd.Env = append(os.Environ(), crashChildEnv+"="+dir, fmt.Sprintf("WAL_CRASH_CHILD_SEED=%d", round))
		var stderr bytes.Buffer
		cmd.Stderr = &stderr
		stdout, err := cmd.StdoutPipe()
		if err != nil {
			t.Fatal(err)
		}
		if err := cmd.Start(); err != nil {
			t.Fatal(err)
		}
		acks := 0
		sc := bufio.NewScanner(stdout)
		for acks < killAfter && sc.Scan() {
			kind, num, _ := strings.Cut(sc.Text(), " ")
			x, _ := strconv.ParseUint(num, 10, 64)
			switch kind {
			case "ack":
				if x <= maxAck {
					t.Fatalf("round %d: child acknowledged %d after %d", round, x, maxAck)
				}
				maxAck = x
				acks++
			case "snap":
				maxSnap = x
			}
		}
		cmd.Process.Kill()
		err = cmd.Wait()
		if acks < killAfter {
			t.Fatalf("round %d: child stopped by itself after %d acks: %v\n%s", round, acks, err, stderr.String())
		}
		if !Exist(dir) {
			if maxAck > 0 {
				t.Fatalf("round %d: the WAL is gone", round)
			}
			continue
		}
		checkAcked(t, round, dir, maxAck, maxSnap, &repairs)
	}
	t.Logf("%d rounds, %d entries acknowledged, newest acknowledged snapshot marker %d, %d torn tails repaired",
		*crashRounds, maxAck, maxSnap, repairs)
}

// checkAcked replays the WAL in dir from its newest marker and checks that
// it holds every acknowledged entry.
func checkAcked(t *testing.T, round int, dir string, maxAck, maxSnap uint64, repairs *int) {
	t.Helper()
	markers, err := Markers(dir)
	if err != nil {
		t.Fatalf("round %d: Markers: %v", round, err)
	}
	at := markers[len(markers)-1]
	if at.Index < maxSnap {
		t.Fatalf("round %d: newest marker %d, but marker %d was acknowledged", round, at.Index, maxSnap)
	}
	opts := crashOpts
	logger, logs := newTestLogger()
	opts.Logger = logger
	_, _, ents, err := replayAll(t, dir, at, opts)
	if strings.Contains(logs.String(), "repaired torn tail") {
		*repairs++
	}
	if err != nil {
		t.Fatalf("round %d: replay: %v", round, err)
	}
	last := at.Index
	if len(ents) > 0 {
		last = ents[len(ents)-1].Index
	}
	if last < maxAck {
		t.Fatalf("round %d: replay ends at %d, but %d was acknowledged", round, last, maxAck)
	}
	for _, e := range ents {
		if !bytes.Equal(e.Data, entryData(e.Index, e.Term, len(e.Data))) {
			t.Fatalf("round %d: entry %d has wrong data", round, e.Index)
		}
	}
}
