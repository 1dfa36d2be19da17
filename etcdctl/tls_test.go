package main

import (
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/tls"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/pem"
	"io"
	"log"
	"math/big"
	"net"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

// testPKI is a CA with a server certificate for 127.0.0.1 and a client
// certificate, written as PEM files in a temporary directory.
type testPKI struct {
	dir                   string
	caFile                string
	serverCert            tls.Certificate
	clientCert, clientKey string
	pool                  *x509.CertPool
}

func newTestPKI(t *testing.T) *testPKI {
	t.Helper()
	dir := t.TempDir()
	p := &testPKI{dir: dir}
	write := func(name, typ string, der []byte) string {
		f := filepath.Join(dir, name)
		if err := os.WriteFile(f, pem.EncodeToMemory(&pem.Block{Type: typ, Bytes: der}), 0o600); err != nil {
			t.Fatal(err)
		}
		return f
	}
	caKey, _ := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	now := time.Now()
	caTmpl := &x509.Certificate{SerialNumber: big.NewInt(1), Subject: pkix.Name{CommonName: "test ca"},
		NotBefore: now.Add(-time.Hour), NotAfter: now.Add(time.Hour), IsCA: true, BasicConstraintsValid: true,
		KeyUsage: x509.KeyUsageCertSign}
	caDER, err := x509.CreateCertificate(rand.Reader, caTmpl, caTmpl, &caKey.PublicKey, caKey)
	if err != nil {
		t.Fatal(err)
	}
	ca, _ := x509.ParseCertificate(caDER)
	p.caFile = write("ca.pem", "CERTIFICATE", caDER)
	p.pool = x509.NewCertPool()
	p.pool.AddCert(ca)
	leaf := func(name string) (certFile, keyFile string) {
		key, _ := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
		tmpl := &x509.Certificate{SerialNumber: big.NewInt(2), Subject: pkix.Name{CommonName: name},
			NotBefore: now.Add(-time.Hour), NotAfter: now.Add(time.Hour), IPAddresses: []net.IP{net.IPv4(127, 0, 0, 1)},
			ExtKeyUsage: []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth, x509.ExtKeyUsageClientAuth}}
		der, err := x509.CreateCertificate(rand.Reader, tmpl, ca, &key.PublicKey, caKey)
		if err != nil {
			t.Fatal(err)
		}
		kder, _ := x509.MarshalECPrivateKey(key)
		return write(name+".pem", "CERTIFICATE", der), write(name+"-key.pem", "EC PRIVATE KEY", kder)
	}
	sc, sk := leaf("server")
	p.serverCert, err = tls.LoadX509KeyPair(sc, sk)
	if err != nil {
		t.Fatal(err)
	}
	p.clientCert, p.clientKey = leaf("client")
	return p
}

// tlsStub is a stub etcd served over TLS; with clientAuth it demands a
// client certificate signed by the test CA.
func tlsStub(t *testing.T, p *testPKI, clientAuth bool) *stubEtcd {
	t.Helper()
	s := &stubEtcd{t: t, routes: map[string][]answer{}}
	s.Server = httptest.NewUnstartedServer(nil)
	s.Server.Config.Handler = httpHandler(s)
	s.Server.TLS = &tls.Config{Certificates: []tls.Certificate{p.serverCert}}
	if clientAuth {
		s.Server.TLS.ClientAuth = tls.RequireAndVerifyClientCert
		s.Server.TLS.ClientCAs = p.pool
	}
	s.Server.Config.ErrorLog = log.New(io.Discard, "", 0) // failed handshakes are expected
	s.StartTLS()
	t.Cleanup(s.Close)
	return s
}

func TestTLS(t *testing.T) {
	p := newTestPKI(t)
	s := tlsStub(t, p, false).on("GET /v2/keys/foo", keys(200, 4, getFooAnswer))
	check(t, run(runOpts{}, ep(s.URL, "--ca-file", p.caFile, "get", "foo")...), "bar\n", "", 0)
	check(t, run(runOpts{env: map[string]string{"ETCDCTL_CA_FILE": p.caFile}}, ep(s.URL, "get", "foo")...), "bar\n", "", 0)

	// Without the CA the server is not trusted: the sync fails, and so
	// does the fallback to the peers API, with the same error.
	unknown := "tls: failed to verify certificate: x509: certificate signed by unknown authority"
	check(t, run(runOpts{}, ep(s.URL, "get", "foo")...), "", "Error:  "+unknown+"\n", exitServerError)
	check(t, run(runOpts{}, ep(s.URL, "--no-sync", "get", "foo")...), "",
		"Error:  client: etcd cluster is unavailable or misconfigured\nerror #0: "+unknown+"\n\n", exitServerError)
	// A CA file with no PEM block trusts nobody, as in etcdctl.
	empty := filepath.Join(p.dir, "empty.pem")
	os.WriteFile(empty, []byte("no certificate here\n"), 0o600)
	check(t, run(runOpts{}, ep(s.URL, "--ca-file", empty, "get", "foo")...), "", "Error:  "+unknown+"\n", exitServerError)
}

func TestTLSClientCertificate(t *testing.T) {
	p := newTestPKI(t)
	s := tlsStub(t, p, true).on("GET /v2/keys/foo", keys(200, 4, getFooAnswer))
	check(t, run(runOpts{}, ep(s.URL, "--ca-file", p.caFile, "--cert-file", p.clientCert, "--key-file", p.clientKey, "get", "foo")...), "bar\n", "", 0)
	env := map[string]string{"ETCDCTL_CA_FILE": p.caFile, "ETCDCTL_CERT_FILE": p.clientCert, "ETCDCTL_KEY_FILE": p.clientKey}
	check(t, run(runOpts{env: env}, ep(s.URL, "get", "foo")...), "bar\n", "", 0)
	got := run(runOpts{}, ep(s.URL, "--ca-file", p.caFile, "get", "foo")...)
	if got.code != exitServerError || !strings.HasPrefix(got.stderr, "Error:  ") || strings.Count(got.stderr, "\n") != 1 || got.stdout != "" {
		t.Errorf("without a client certificate: %+v", got)
	}
}

func TestTLSFileErrors(t *testing.T) {
	p := newTestPKI(t)
	for _, tt := range []struct {
		args []string
		msg  string
	}{
		{[]string{"--cert-file", p.clientCert}, "KeyFile and CertFile must both be present[key: , cert: " + p.clientCert + "]"},
		{[]string{"--key-file", p.clientKey}, "KeyFile and CertFile must both be present[key: " + p.clientKey + ", cert: ]"},
		{[]string{"--cert-file", "/nonexistent/c.pem", "--key-file", p.clientKey}, "open /nonexistent/c.pem: no such file or directory"},
		{[]string{"--cert-file", p.clientCert, "--key-file", p.caFile}, "tls: found a certificate rather than a key in the PEM for the private key"},
		{[]string{"--ca-file", "/nonexistent/ca.pem"}, "open /nonexistent/ca.pem: no such file or directory"},
		{[]string{"--ca-file", p.clientKey}, "x509: malformed tbs certificate"},
	} {
		args := append(append([]string{"--endpoints", "https://127.0.0.1:1"}, tt.args...), "get", "foo")
		// Printed as they are, exit 1.
		check(t, run(runOpts{}, args...), "", tt.msg+"\n", exitBadArgs)
	}
}
