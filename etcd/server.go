package main

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"sync"
	"sync/atomic"
	"time"

	"v2etcd/httpd"
	"v2etcd/kv"
	"v2etcd/peer"
	"v2etcd/raft"
	"v2etcd/wal"
)

// clusterVersion is the cluster version this binary sets and reports: the
// etcd release line whose v2 API it serves.
const clusterVersion = "2.3.0"

// server is one member: raft, its WAL and snapshots, the store, the
// membership view and the transport to the other members. It implements
// httpd.Server.
type server struct {
	cfg *Config
	log *slog.Logger

	id, clusterID peer.ID
	r             *raft.Raft // raft loop only
	wal           *wal.WAL
	snap          *wal.Snapshotter
	store         *kv.Store
	cluster       *cluster
	tr            transport
	stats         *serverStats
	metrics       *serverMetrics

	ids     *idGenerator
	w       *waiters
	applied *appliedWait
	queue   *applyQueue
	ap      applier // apply goroutine only
	reads   readBatches
	// pendingConf are this member's membership changes proposed and not
	// yet applied: re-proposed when a new leader is elected (see confChange).
	pendingConf   map[uint64]raft.ConfChange
	pendingConfMu sync.Mutex

	tickInterval time.Duration
	reqTimeout   time.Duration

	propc      chan proposal
	readNotify chan struct{}
	confc      chan confProposal
	confApplyc chan confApply
	compactc   chan raft.SnapshotMetadata
	recvc      chan raft.Message
	reportc    chan func(*raft.Raft)

	lead         atomic.Uint64
	term         atomic.Uint64
	committed    atomic.Uint64
	isLeader     atomic.Bool
	appliedIndex atomic.Uint64
	snapshotting atomic.Bool
	versionOnce  atomic.Bool

	stopping  chan struct{}
	stopOnce  sync.Once
	raftDone  chan struct{}
	applyDone chan struct{}
	bg        sync.WaitGroup // publish, sync and other helpers
	removed   chan struct{}  // closed when this member learns it was removed
	remOnce   sync.Once
	failed    chan error // a fatal error from a loop
	failOnce  sync.Once
}

// newServer builds a member from its state; start runs it.
func newServer(cfg *Config, st *memberState, metrics *serverMetrics, log *slog.Logger) (*server, error) {
	rc := st.raft
	rc.ID = uint64(st.id)
	rc.ElectionTick = cfg.electionTicks()
	rc.HeartbeatTick = 1
	rc.CheckQuorum = true
	rc.Seed = uint64(time.Now().UnixNano())
	rc.Logger = log.With(pkgKey, "raft")
	r, err := raft.New(rc)
	if err != nil {
		return nil, err
	}
	s := &server{
		cfg: cfg, log: log.With(pkgKey, "etcdserver"),
		id: st.id, clusterID: st.clusterID, r: r, wal: st.wal, snap: st.snap,
		store: st.store, cluster: st.cluster, metrics: metrics,
		ids:          newIDGenerator(uint64(st.id), time.Now()),
		w:            newWaiters(),
		applied:      newAppliedWait(st.snapIndex),
		queue:        newApplyQueue(),
		ap:           applier{index: st.snapIndex, term: st.snapTerm, snapIndex: st.snapIndex, confState: st.confState},
		reads:        readBatches{pending: map[uint64]*readBatch{}},
		pendingConf:  map[uint64]raft.ConfChange{},
		tickInterval: time.Duration(cfg.HeartbeatMs) * time.Millisecond,
		reqTimeout:   5*time.Second + 2*time.Duration(cfg.ElectionMs)*time.Millisecond,
		propc:        make(chan proposal, 4096),
		readNotify:   make(chan struct{}, 1),
		confc:        make(chan confProposal),
		confApplyc:   make(chan confApply),
		compactc:     make(chan raft.SnapshotMetadata),
		recvc:        make(chan raft.Message, 4096),
		reportc:      make(chan func(*raft.Raft), 64),
		stopping:     make(chan struct{}),
		raftDone:     make(chan struct{}),
		applyDone:    make(chan struct{}),
		removed:      make(chan struct{}),
		failed:       make(chan error, 1),
	}
	s.appliedIndex.Store(st.snapIndex)
	s.stats = newServerStats(cfg.Name, st.id, time.Now())
	metrics.register(s)
	return s, nil
}

// start runs the member's loops with tr as its transport.
func (s *server) start(tr transport, peerStats *peer.Stats, seed []*peer.Member) {
	s.tr, s.stats.traffic = tr, peerStats
	peers := s.cluster.Members()
	if len(peers) == 0 {
		peers = seed
	}
	tr.SetPeers(peers, s.id)
	go s.raftLoop()
	go s.applyLoop()
	s.bg.Add(2)
	go s.publish()
	go s.syncLoop()
}

// Stop ends the member gracefully: open watches and waiting clients are
// told the server stopped, the loops end, and the WAL is closed.
func (s *server) Stop() {
	s.stopOnce.Do(func() {
		close(s.stopping)
		<-s.raftDone
		s.queue.close()
		<-s.applyDone
		s.ap.snapping.Wait()
		s.bg.Wait()
		s.tr.Stop()
		if err := s.wal.Close(); err != nil {
			s.log.Error("cannot close the WAL", "err", err)
		}
	})
}

// fatal reports an error that makes the member unable to go on (a disk
// that fails a write); main stops the server and exits 1.
func (s *server) fatal(what string, err error) {
	s.failOnce.Do(func() {
		s.failed <- fmt.Errorf("%s: %w", what, err)
	})
}

// removedSelf is called by the apply goroutine when this member applies its
// own removal: it stops serving (main exits 0, as etcd does).
func (s *server) removedSelf() {
	s.remOnce.Do(func() { close(s.removed) })
}

// Do proposes a request through raft and waits for its result, for at most
// 5 s + 2 election timeouts (spec v2-api §2.6).
func (s *server) Do(ctx context.Context, req *kv.Request) (*kv.Event, error) {
	req.ID = s.ids.Next()
	term := s.term.Load()
	ch := s.w.Register(req.ID)
	timer := time.NewTimer(s.reqTimeout)
	defer timer.Stop()
	s.metrics.proposalsPending.With().Add(1)
	defer s.metrics.proposalsPending.With().Add(-1)
	select {
	case s.propc <- proposal{id: req.ID, data: req.Marshal()}:
	case <-ctx.Done():
		s.w.Cancel(req.ID)
		return nil, ctx.Err()
	case <-timer.C:
		s.w.Cancel(req.ID)
		s.metrics.proposalsFailed.With().Inc()
		return nil, errTimeout
	case <-s.stopping:
		s.w.Cancel(req.ID)
		return nil, errStopped
	}
	select {
	case res := <-ch:
		return res.ev, res.err
	case <-ctx.Done():
		s.w.Cancel(req.ID)
		return nil, ctx.Err()
	case <-timer.C:
		s.w.Cancel(req.ID)
		s.metrics.proposalsFailed.With().Inc()
		if s.term.Load() != term {
			return nil, errTimeoutLeaderFail
		}
		return nil, errTimeout
	case <-s.stopping:
		s.w.Cancel(req.ID)
		return nil, errStopped
	}
}

// LinearizableRead waits until this member has applied every write that
// committed before the call: it joins the next ReadIndex batch, and the
// batch is released when the leader has confirmed its leadership and the
// local store has caught up with the leader's commit index at that moment.
func (s *server) LinearizableRead(ctx context.Context) error {
	b := s.reads.join()
	select {
	case s.readNotify <- struct{}{}:
	default:
	}
	timer := time.NewTimer(s.reqTimeout)
	defer timer.Stop()
	select {
	case <-b.done:
		return b.err
	case <-ctx.Done():
		return ctx.Err()
	case <-timer.C:
		return errTimeout
	case <-s.stopping:
		return errStopped
	}
}

func (s *server) Store() *kv.Store             { return s.store }
func (s *server) ID() peer.ID                  { return s.id }
func (s *server) ClusterID() peer.ID           { return s.clusterID }
func (s *server) Leader() peer.ID              { return peer.ID(s.lead.Load()) }
func (s *server) Members() []*peer.Member      { return s.cluster.Members() }
func (s *server) ClusterVersion() string       { return s.cluster.Version() }
func (s *server) Stopping() <-chan struct{}    { return s.stopping }
func (s *server) SelfStats() []byte            { return s.stats.selfJSON() }
func (s *server) LeaderStats() ([]byte, bool)  { return s.stats.leaderJSON(s.isLeader.Load()) }
func (s *server) RaftStatus() (uint64, uint64) { return s.appliedIndex.Load(), s.term.Load() }

// AddMember proposes adding a member with these peer URLs; its ID is
// derived from them and the current time, as etcd does.
func (s *server) AddMember(ctx context.Context, urls peer.URLs) (*peer.Member, error) {
	now := time.Now()
	m, err := peer.NewMember("", urls, "", &now)
	if err != nil {
		return nil, err
	}
	if err := s.strictReconfigCheck(confAdd, m.ID); err != nil {
		return nil, err
	}
	if err := s.confChange(ctx, raft.ConfChangeAddNode, m.ID, urls.Strings()); err != nil {
		return nil, onlyDeleteSaysGone(err)
	}
	return m, nil
}

// errIDRemoved is how an add or update of a removed member fails: etcd
// answers those with a plain 500 and keeps 410 for a DELETE.
var errIDRemoved = errors.New("etcdserver: ID removed")

func onlyDeleteSaysGone(err error) error {
	if errors.Is(err, httpd.ErrMemberRemoved) {
		return errIDRemoved
	}
	return err
}

// RemoveMember proposes removing member id. A leader asked to remove
// itself first hands leadership to another member, so the cluster does not
// wait an election timeout for a new leader once it is gone.
func (s *server) RemoveMember(ctx context.Context, id peer.ID) error {
	if err := s.cluster.checkConfChange(confRemove, id, nil); err != nil {
		return err
	}
	if err := s.strictReconfigCheck(confRemove, id); err != nil {
		return err
	}
	if id == s.id {
		s.transferLeadership()
	}
	return s.confChange(ctx, raft.ConfChangeRemoveNode, id, nil)
}

// errReconfigRejected is what --strict-reconfig-check answers (500 to the
// client, as etcd).
var errReconfigRejected = errors.New("etcdserver: re-configuration failed due to not enough started members")

// strictReconfigCheck refuses, with --strict-reconfig-check, an add or a
// remove after which fewer members would be started (published) and
// reachable than the new quorum (spec §6.5). Growing a lone member to two
// is allowed, so a restored one-member cluster can grow again.
func (s *server) strictReconfigCheck(kind confChangeKind, id peer.ID) error {
	if !s.cfg.StrictReconfigCheck {
		return nil
	}
	started := func(m *peer.Member) bool {
		return m.Name != "" && (m.ID == s.id || !s.tr.ActiveSince(m.ID).IsZero())
	}
	n, up := 0, 0
	for _, m := range s.cluster.Members() {
		if kind == confRemove && m.ID == id {
			continue
		}
		n++
		if started(m) {
			up++
		}
	}
	what := "remove"
	if kind == confAdd {
		n, what = n+1, "add"
		if up == 1 && n == 2 {
			return nil
		}
	}
	if quorum := n/2 + 1; up < quorum {
		s.log.Warn(fmt.Sprintf("Reject %s member request: the number of started member (%d) will be less than the quorum number of the cluster (%d)", what, up, quorum))
		return errReconfigRejected
	}
	return nil
}

// UpdateMember proposes new peer URLs for member id.
func (s *server) UpdateMember(ctx context.Context, id peer.ID, urls peer.URLs) error {
	if err := s.cluster.checkConfChange(confUpdate, id, urls.Strings()); err != nil {
		return onlyDeleteSaysGone(err)
	}
	return onlyDeleteSaysGone(s.confChange(ctx, raft.ConfChangeUpdateNode, id, urls.Strings()))
}

// confChange proposes a membership change and waits until it is applied
// (or refused when applied).
func (s *server) confChange(ctx context.Context, typ raft.ConfChangeType, id peer.ID, urls []string) error {
	cctx, _ := json.Marshal(confChangeContext{ID: id.String(), PeerURLs: urls})
	cc := raft.ConfChange{ID: s.ids.Next(), Type: typ, NodeID: uint64(id), Context: cctx}
	ch := s.w.Register(cc.ID)
	// A follower forwards the proposal to the leader it knows; if that
	// leader is gone, the proposal is lost with it. A conf change is safe
	// to propose again (its proposer is answered at its first application,
	// and a second one is refused by validation without effect), so the
	// raft loop re-proposes pending ones once per election timeout.
	s.pendingConfMu.Lock()
	s.pendingConf[cc.ID] = cc
	s.pendingConfMu.Unlock()
	defer func() {
		s.pendingConfMu.Lock()
		delete(s.pendingConf, cc.ID)
		s.pendingConfMu.Unlock()
	}()
	timer := time.NewTimer(s.reqTimeout)
	defer timer.Stop()
	p := confProposal{cc: cc, errc: make(chan error, 1)}
	select {
	case s.confc <- p:
	case <-ctx.Done():
		s.w.Cancel(cc.ID)
		return ctx.Err()
	case <-s.stopping:
		s.w.Cancel(cc.ID)
		return errStopped
	}
	if err := <-p.errc; err != nil {
		s.w.Cancel(cc.ID)
		return fmt.Errorf("etcdserver: membership change not proposed: %w", err)
	}
	select {
	case res := <-ch:
		return res.err
	case <-ctx.Done():
		s.w.Cancel(cc.ID)
		return ctx.Err()
	case <-timer.C:
		s.w.Cancel(cc.ID)
		return errTimeout
	case <-s.stopping:
		s.w.Cancel(cc.ID)
		return errStopped
	}
}

// publish writes this member's name and client URLs into the cluster,
// retrying until it succeeds: until then the member is "unstarted".
func (s *server) publish() {
	defer s.bg.Done()
	b, _ := json.Marshal(attributes{Name: s.cfg.Name, ClientURLs: s.cfg.AdvertiseClientURLs.Strings()})
	req := &kv.Request{Method: kv.MethodPut, Path: attributesKey(s.id), Val: string(b)}
	for {
		_, err := s.Do(context.Background(), req)
		if err == nil {
			s.log.Info(fmt.Sprintf("published {Name:%s ClientURLs:%v} to cluster %s", s.cfg.Name, s.cfg.AdvertiseClientURLs.Strings(), s.clusterID))
			return
		}
		if errors.Is(err, errStopped) {
			return
		}
		s.log.Warn("publish error", "err", err)
		select {
		case <-s.stopping:
			return
		case <-time.After(s.tickInterval):
		}
	}
}

// becameLeader starts what only the leader does: setting the cluster
// version the first time.
func (s *server) becameLeader() {
	if s.cluster.Version() != "" || !s.versionOnce.CompareAndSwap(false, true) {
		return
	}
	s.bg.Add(1)
	go func() {
		defer s.bg.Done()
		s.log.Info("setting up the initial cluster version to " + clusterVersion[:3])
		_, err := s.Do(context.Background(), &kv.Request{Method: kv.MethodPut, Path: versionKey, Val: clusterVersion})
		if err != nil {
			s.versionOnce.Store(false) // the next leader term tries again
			s.log.Warn("cannot set the cluster version", "err", err)
			return
		}
		s.log.Info("set the initial cluster version to " + clusterVersion[:3])
	}()
}

// syncInterval is how often the leader proposes its clock so that keys
// with a TTL expire on every member at the same index (spec v2-api §3.11).
const syncInterval = 500 * time.Millisecond

// syncLoop proposes a SYNC entry every 500 ms while this member leads and
// the store holds a key with a TTL (etcd 3.1+ does the same; 2.3 proposed
// one even with no TTL in the store).
func (s *server) syncLoop() {
	defer s.bg.Done()
	t := time.NewTicker(syncInterval)
	defer t.Stop()
	for {
		select {
		case <-s.stopping:
			return
		case now := <-t.C:
			if !s.isLeader.Load() || !s.store.HasTTL() {
				continue
			}
			req := &kv.Request{Method: kv.MethodSync, Time: now.UnixNano()}
			req.ID = s.ids.Next()
			select {
			case s.propc <- proposal{id: req.ID, data: req.Marshal()}:
			case <-s.stopping:
				return
			}
		}
	}
}

// transferLeadership hands leadership to the most up-to-date follower
// before this member stops, so the cluster does not wait an election
// timeout for a new leader. It gives up after two election timeouts.
func (s *server) transferLeadership() {
	if !s.isLeader.Load() || len(s.cluster.Members()) < 2 {
		return
	}
	to := make(chan uint64, 1)
	select {
	case s.reportc <- func(r *raft.Raft) {
		st := r.Status()
		var best, match uint64
		for id, pr := range st.Progress {
			if id != st.ID && pr.RecentActive && pr.Match >= match {
				best, match = id, pr.Match
			}
		}
		if best != 0 && r.TransferLeader(best) != nil {
			best = 0
		}
		to <- best
	}:
	case <-s.stopping:
		return
	}
	target := <-to
	if target == 0 {
		return
	}
	s.log.Info("transferring leadership before stopping", "to", peer.ID(target).String())
	deadline := time.Now().Add(2 * time.Duration(s.cfg.ElectionMs) * time.Millisecond)
	for s.isLeader.Load() && time.Now().Before(deadline) {
		time.Sleep(s.tickInterval / 4)
	}
}

// debugVars are the server's variables in /debug/vars: enough to compare
// members (the fault tests check that every member holds the same store).
func (s *server) debugVars() map[string]any {
	return map[string]any{
		"etcd_store_index":       s.store.Index(),
		"etcd_store_hash":        fmt.Sprintf("%016x", s.store.Hash()),
		"raft_applied_index":     s.appliedIndex.Load(),
		"raft_committed_index":   s.committed.Load(),
		"raft_term":              s.term.Load(),
		"etcd_member_id":         s.id.String(),
		"etcd_cluster_id":        s.clusterID.String(),
		"etcd_store_nodes":       s.store.Nodes(),
		"etcd_proposals_waiting": s.w.Pending(),
	}
}
