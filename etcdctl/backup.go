package main

import (
	"errors"
	"fmt"
	"math/rand/v2"
	"path/filepath"
	"time"

	"v2etcd/raft"
	"v2etcd/wal"
)

// backupCommand returns backup: an offline copy of a member's data
// directory that can start a new cluster (with etcd --force-new-cluster)
// but can never rejoin the old one.
func backupCommand() *command {
	return &command{
		name:  "backup",
		usage: "backup an etcd directory",
		description: "Copies the newest snapshot of --data-dir and the write-ahead log after it into\n" +
			"--backup-dir, giving the copy a new member ID and cluster ID so that it can never\n" +
			"rejoin the cluster it came from. Works on files only (the member may be running).\n" +
			"Restore by starting etcd on the backup directory with --force-new-cluster.",
		options: []option{
			{names: []string{"data-dir"}, kind: stringFlag, usage: "Path to the etcd data dir"},
			{names: []string{"wal-dir"}, kind: stringFlag, usage: "Path to the etcd wal dir"},
			{names: []string{"backup-dir"}, kind: stringFlag, usage: "Path to the backup dir"},
			{names: []string{"backup-wal-dir"}, kind: stringFlag, usage: "Path to the backup wal dir"},
		},
		run: runBackup,
	}
}

// runBackup is the action of backup. Like etcdctl 2.3.8 it prints nothing
// when it succeeds, and one log line and exit code 1 when it fails.
func runBackup(a *app, g *globalOptions, in *invocation) error {
	err := backup(in.String("data-dir"), in.String("wal-dir"), in.String("backup-dir"), in.String("backup-wal-dir"))
	if err != nil {
		return rawExit(exitBadArgs, time.Now().Format("2006-01-02 15:04:05.000000")+" I | "+err.Error()+"\n")
	}
	return nil
}

// backup copies the member data in dataDir (with its WAL in walDir, by
// default <dataDir>/member/wal) to backupDir (WAL in backupWALDir):
//
//  1. the newest snapshot the WAL can replay from is copied as it is;
//  2. the WAL is read from that snapshot on, without its lock, so the
//     member may be running;
//  3. a new WAL is written with the same hard state and entries after a
//     marker for the snapshot, under a new random member ID and cluster ID.
func backup(dataDir, walDir, backupDir, backupWALDir string) error {
	if walDir == "" {
		walDir = filepath.Join(dataDir, "member", "wal")
	}
	if backupWALDir == "" {
		backupWALDir = filepath.Join(backupDir, "member", "wal")
	}
	if dataDir == "" && walDir == "" || backupDir == "" {
		return errors.New("backup needs --data-dir and --backup-dir")
	}
	markers, err := wal.Markers(walDir)
	if err != nil {
		return err
	}
	src := wal.NewSnapshotter(filepath.Join(dataDir, "member", "snap"), nil)
	snap, err := src.LoadNewestAvailable(markers)
	if err != nil && !errors.Is(err, wal.ErrNoSnapshot) {
		return err
	}
	at := wal.SnapshotMarker{Index: snap.Metadata.Index, Term: snap.Metadata.Term}
	_, hs, ents, err := wal.ReadOnly(walDir, at)
	if err != nil {
		return err
	}
	if wal.Exist(backupWALDir) {
		return fmt.Errorf("%s already holds a WAL", backupWALDir)
	}
	if at.Index > 0 {
		dst := wal.NewSnapshotter(filepath.Join(backupDir, "member", "snap"), nil)
		if err := dst.SaveSnap(snap); err != nil {
			return err
		}
	}
	md := wal.Metadata{MemberID: newRandomID(), ClusterID: newRandomID()}
	w, err := wal.Create(backupWALDir, md, wal.Options{})
	if err != nil {
		return err
	}
	if at.Index > 0 {
		if err := w.SaveSnapshot(at); err != nil {
			w.Close()
			return err
		}
	}
	if err := w.Save(hs, ents); err != nil {
		w.Close()
		return err
	}
	return w.Close()
}

// newRandomID returns a random non-zero 64-bit ID (0 means "no member").
func newRandomID() uint64 {
	for {
		if id := rand.Uint64(); id != raft.None {
			return id
		}
	}
}
