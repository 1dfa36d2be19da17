package main

import (
	"crypto/tls"
	"crypto/x509"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"os"
	"time"

	"v2etcd/peer"
)

// tlsConfig builds the server side TLS configuration of a listener kind
// (client or peer) from its flags. It returns nil when no cert and key are
// given.
func (t tlsInfo) serverConfig() (*tls.Config, error) {
	if t.empty() {
		return nil, nil
	}
	if t.CertFile == "" || t.KeyFile == "" {
		return nil, errors.New("KeyFile and CertFile must both be present [key: " + t.KeyFile + ", cert: " + t.CertFile + "]")
	}
	cert, err := tls.LoadX509KeyPair(t.CertFile, t.KeyFile)
	if err != nil {
		return nil, err
	}
	cfg := &tls.Config{Certificates: []tls.Certificate{cert}}
	if cas := t.caFiles(); len(cas) > 0 {
		pool, err := loadCAs(cas)
		if err != nil {
			return nil, err
		}
		cfg.ClientCAs = pool
	}
	if t.requireClientCert() {
		cfg.ClientAuth = tls.RequireAndVerifyClientCert
	}
	return cfg, nil
}

// clientConfig builds the TLS configuration for connections this member
// opens (to peers): its certificate, and the CAs that sign the others'.
func (t tlsInfo) clientConfig() (*tls.Config, error) {
	cfg := &tls.Config{}
	if t.CertFile != "" || t.KeyFile != "" {
		cert, err := tls.LoadX509KeyPair(t.CertFile, t.KeyFile)
		if err != nil {
			return nil, err
		}
		cfg.Certificates = []tls.Certificate{cert}
	}
	if cas := t.caFiles(); len(cas) > 0 {
		pool, err := loadCAs(cas)
		if err != nil {
			return nil, err
		}
		cfg.RootCAs = pool
	}
	return cfg, nil
}

func loadCAs(files []string) (*x509.CertPool, error) {
	pool := x509.NewCertPool()
	for _, f := range files {
		b, err := os.ReadFile(f)
		if err != nil {
			return nil, err
		}
		if !pool.AppendCertsFromPEM(b) {
			return nil, fmt.Errorf("no certificate found in %s", f)
		}
	}
	return pool, nil
}

// listenURLs opens a listener per URL: https:// ones wrapped in TLS (which
// needs cert and key files), http:// ones plain (warning when cert files
// were given for nothing).
func listenURLs(urls peer.URLs, t tlsInfo, kind string, log *slog.Logger) ([]net.Listener, error) {
	tc, err := t.serverConfig()
	if err != nil {
		return nil, err
	}
	var ls []net.Listener
	closeAll := func() {
		for _, l := range ls {
			l.Close()
		}
	}
	for _, u := range urls {
		if u.Scheme == "https" && tc == nil {
			closeAll()
			return nil, fmt.Errorf("cannot listen on TLS for %s: KeyFile and CertFile are not presented", u.Host)
		}
		if u.Scheme == "http" && tc != nil {
			log.Warn(fmt.Sprintf("The scheme of %s url %s is http while %s key/cert files are presented. Ignored %s key/cert files.", kind, u.String(), kind, kind))
		}
		tl, err := net.Listen("tcp", u.Host)
		if err != nil {
			closeAll()
			return nil, err
		}
		var l net.Listener = keepAliveListener{tl.(*net.TCPListener)}
		if u.Scheme == "https" {
			l = tls.NewListener(l, tc)
		}
		ls = append(ls, l)
		if kind == "peer" {
			log.Info("listening for peers on " + u.String())
		} else {
			log.Info("listening for client requests on " + u.String())
		}
	}
	return ls, nil
}

// keepAliveListener turns on TCP keepalive (30 s) for accepted connections,
// as etcd does for client connections.
type keepAliveListener struct{ *net.TCPListener }

func (l keepAliveListener) Accept() (net.Conn, error) {
	c, err := l.AcceptTCP()
	if err != nil {
		return nil, err
	}
	c.SetKeepAlive(true)
	c.SetKeepAlivePeriod(30 * time.Second)
	return c, nil
}

// serveAll serves h on every listener until the servers are shut down.
func serveAll(ls []net.Listener, h http.Handler, log *slog.Logger) []*http.Server {
	var srvs []*http.Server
	for _, l := range ls {
		srv := &http.Server{Handler: h, ReadHeaderTimeout: 30 * time.Second, ErrorLog: slog.NewLogLogger(log.Handler(), slog.LevelDebug)}
		srvs = append(srvs, srv)
		go func() {
			if err := srv.Serve(l); err != nil && !errors.Is(err, http.ErrServerClosed) {
				log.Error("serving failed", "addr", l.Addr().String(), "err", err)
			}
		}()
	}
	return srvs
}

// peerMemberJSON is a member as the peer endpoint /members shows it: the ID
// as a JSON number, name and client URLs left out while empty (spec §9.1).
type peerMemberJSON struct {
	ID         uint64   `json:"id"`
	PeerURLs   []string `json:"peerURLs"`
	Name       string   `json:"name,omitempty"`
	ClientURLs []string `json:"clientURLs,omitempty"`
}

// peerInfoHandler serves the peer endpoints that describe the cluster:
// /members and /version.
func peerInfoHandler(s *server, mux *http.ServeMux) {
	mux.HandleFunc("/members", func(w http.ResponseWriter, r *http.Request) {
		if r.Method != http.MethodGet {
			w.Header().Set("Allow", http.MethodGet)
			http.Error(w, "Method Not Allowed", http.StatusMethodNotAllowed)
			return
		}
		var ms []peerMemberJSON
		for _, m := range s.Members() {
			ms = append(ms, peerMemberJSON{ID: uint64(m.ID), PeerURLs: m.PeerURLs.Strings(), Name: m.Name, ClientURLs: m.ClientURLs.Strings()})
		}
		w.Header().Set("Content-Type", "application/json")
		w.Header().Set("X-Etcd-Cluster-ID", s.ClusterID().String())
		json.NewEncoder(w).Encode(ms)
	})
	mux.HandleFunc("/version", func(w http.ResponseWriter, r *http.Request) {
		cv := s.ClusterVersion()
		if cv == "" {
			cv = "not_decided"
		}
		w.Header().Set("Content-Type", "application/json")
		b, _ := json.Marshal(struct {
			Server  string `json:"etcdserver"`
			Cluster string `json:"etcdcluster"`
		}{Version, cv})
		w.Write(b)
	})
}

// peerClientTLS is the TLS configuration for dialing peers, or nil when no
// peer TLS flag is set.
func (c *Config) peerClientTLS() (*tls.Config, error) {
	if c.PeerTLS.empty() && c.PeerTLS.TrustedCAFile == "" && c.PeerTLS.CAFile == "" {
		return nil, nil
	}
	return c.PeerTLS.clientConfig()
}
