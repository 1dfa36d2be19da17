package peer

import (
	"context"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/tls"
	"crypto/x509"
	"crypto/x509/pkix"
	"io"
	"log"
	"math/big"
	"net"
	"net/http"
	"net/http/httptest"
	"testing"
	"time"

	"v2etcd/raft"
)

// testPKI is a CA and a certificate it signed for 127.0.0.1, good both for
// serving and as a client certificate (as one --peer-cert-file is).
type testPKI struct {
	pool *x509.CertPool
	cert tls.Certificate
}

func newTestPKI(t testing.TB) *testPKI {
	t.Helper()
	caKey, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	now := time.Now()
	caTmpl := &x509.Certificate{
		SerialNumber: big.NewInt(1), Subject: pkix.Name{CommonName: "test CA"},
		NotBefore: now.Add(-time.Hour), NotAfter: now.Add(time.Hour),
		IsCA: true, BasicConstraintsValid: true, KeyUsage: x509.KeyUsageCertSign,
	}
	caDER, err := x509.CreateCertificate(rand.Reader, caTmpl, caTmpl, &caKey.PublicKey, caKey)
	if err != nil {
		t.Fatal(err)
	}
	ca, err := x509.ParseCertificate(caDER)
	if err != nil {
		t.Fatal(err)
	}
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	tmpl := &x509.Certificate{
		SerialNumber: big.NewInt(2), Subject: pkix.Name{CommonName: "member"},
		NotBefore: now.Add(-time.Hour), NotAfter: now.Add(time.Hour),
		KeyUsage:    x509.KeyUsageDigitalSignature,
		ExtKeyUsage: []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth, x509.ExtKeyUsageClientAuth},
		IPAddresses: []net.IP{net.ParseIP("127.0.0.1")},
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, ca, &key.PublicKey, caKey)
	if err != nil {
		t.Fatal(err)
	}
	pool := x509.NewCertPool()
	pool.AddCert(ca)
	return &testPKI{pool: pool, cert: tls.Certificate{Certificate: [][]byte{der}, PrivateKey: key}}
}

// server is the peer listener's side: --peer-cert-file, --peer-key-file,
// and with --peer-client-cert-auth, client certificates from the CA only.
func (p *testPKI) server(clientAuth bool) *tls.Config {
	c := &tls.Config{Certificates: []tls.Certificate{p.cert}, ClientCAs: p.pool}
	if clientAuth {
		c.ClientAuth = tls.RequireAndVerifyClientCert
	}
	return c
}

// client is the transport's side; withCert adds the client certificate.
func (p *testPKI) client(withCert bool) *tls.Config {
	c := &tls.Config{RootCAs: p.pool}
	if withCert {
		c.Certificates = []tls.Certificate{p.cert}
	}
	return c
}

func TestTLSPeers(t *testing.T) {
	pki := newTestPKI(t)
	a := newNode(t, 1, withTLS(pki.client(true), pki.server(true)))
	b := newNode(t, 2, withTLS(pki.client(true), pki.server(true)))
	connect(a, b)
	waitFor(t, "streams over TLS", func() bool { return streamsUp(a, b) && streamsUp(b, a) })
	a.tr.Send([]raft.Message{msgApp(1, 2, 1, 16, 128), heartbeat(1, 2, 1)})
	b.tr.Send([]raft.Message{heartbeat(2, 1, 1)})
	waitFor(t, "messages both ways", func() bool { return len(b.raft.received(1)) == 2 && len(a.raft.received(2)) == 1 })

	// A snapshot goes over TLS too.
	meta := raft.SnapshotMetadata{Index: 9, Term: 1}
	a.snaps.data[9] = randomBytes(100 << 10)
	a.tr.Send([]raft.Message{snapMsg(1, 2, meta, nil)})
	waitFor(t, "the snapshot report", func() bool { return len(a.raft.snapshotReports()) == 1 })
	if r := a.raft.snapshotReports()[0]; !r.ok {
		t.Error("snapshot over TLS failed")
	}

	t.Run("no client certificate", func(t *testing.T) {
		c := newNode(t, 3, withTLS(pki.client(false), pki.server(true)))
		c.tr.AddPeer(1, []string{a.url})
		c.tr.Send([]raft.Message{heartbeat(3, 1, 1)})
		waitFor(t, "c to report a unreachable", func() bool { return c.raft.unreachableCount(1) > 0 })
		if len(a.raft.received(3)) != 0 {
			t.Error("a member without a client certificate got through")
		}
		if c.logs.count("peer 1 became inactive") == 0 {
			t.Errorf("c's log:\n%s", c.logs)
		}
	})
	t.Run("client certificate not required", func(t *testing.T) {
		d := newNode(t, 4, withTLS(pki.client(false), pki.server(false)))
		e := newNode(t, 5, withTLS(pki.client(false), pki.server(false)))
		connect(d, e)
		d.tr.Send([]raft.Message{heartbeat(4, 5, 1)})
		waitFor(t, "a message without client certificates", func() bool { return len(e.raft.received(4)) == 1 })
	})
	t.Run("untrusted server", func(t *testing.T) {
		f := newNode(t, 6, withTLS(&tls.Config{}, pki.server(false))) // system roots only
		f.tr.AddPeer(1, []string{a.url})
		f.tr.Send([]raft.Message{heartbeat(6, 1, 1)})
		waitFor(t, "f to report a unreachable", func() bool { return f.raft.unreachableCount(1) > 0 })
		if len(a.raft.received(6)) != 0 {
			t.Error("a message went to an untrusted server")
		}
	})
}

func TestGetMembersOverTLS(t *testing.T) {
	pki := newTestPKI(t)
	srv := httptest.NewUnstartedServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("X-Etcd-Cluster-ID", "7e27652122e8b2ae")
		w.Write([]byte(`[{"id":14855829450254237642,"peerURLs":["https://127.0.0.1:2380"],"name":"default","clientURLs":["https://127.0.0.1:2379"]}]` + "\n"))
	}))
	srv.TLS = pki.server(true)
	srv.Config.ErrorLog = log.New(io.Discard, "", 0) // the refused handshake below
	srv.StartTLS()
	defer srv.Close()
	ms, cid, err := GetMembers(context.Background(), []string{srv.URL}, pki.client(true))
	if err != nil || cid != 0x7e27652122e8b2ae || len(ms) != 1 || ms[0].ID != 0xce2a822cea30bfca {
		t.Fatalf("GetMembers = %v, %s, %v", ms, cid, err)
	}
	if _, _, err := GetMembers(context.Background(), []string{srv.URL}, pki.client(false)); err == nil {
		t.Error("GetMembers without a client certificate succeeded")
	}
}
