package e2e

import (
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/tls"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/pem"
	"io"
	"math/big"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

// testPKI is a CA and certificates signed by it, written as PEM files.
type testPKI struct {
	dir    string
	caFile string
	ca     *x509.Certificate
	caKey  *ecdsa.PrivateKey
}

func newTestPKI(t *testing.T) *testPKI {
	t.Helper()
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	tmpl := &x509.Certificate{
		SerialNumber:          big.NewInt(1),
		Subject:               pkix.Name{CommonName: "v2etcd test CA"},
		NotBefore:             time.Now().Add(-time.Hour),
		NotAfter:              time.Now().Add(24 * time.Hour),
		IsCA:                  true,
		KeyUsage:              x509.KeyUsageCertSign,
		BasicConstraintsValid: true,
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, &key.PublicKey, key)
	if err != nil {
		t.Fatal(err)
	}
	ca, _ := x509.ParseCertificate(der)
	p := &testPKI{dir: t.TempDir(), ca: ca, caKey: key}
	p.caFile = p.write(t, "ca.pem", "CERTIFICATE", der)
	return p
}

func (p *testPKI) write(t *testing.T, name, typ string, der []byte) string {
	t.Helper()
	f := filepath.Join(p.dir, name)
	if err := os.WriteFile(f, pem.EncodeToMemory(&pem.Block{Type: typ, Bytes: der}), 0o600); err != nil {
		t.Fatal(err)
	}
	return f
}

// issue makes a certificate for 127.0.0.1 and localhost usable by both
// servers and clients, and returns its cert and key files.
func (p *testPKI) issue(t *testing.T, name string) (certFile, keyFile string) {
	t.Helper()
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	tmpl := &x509.Certificate{
		SerialNumber: big.NewInt(time.Now().UnixNano()),
		Subject:      pkix.Name{CommonName: name},
		NotBefore:    time.Now().Add(-time.Hour),
		NotAfter:     time.Now().Add(24 * time.Hour),
		KeyUsage:     x509.KeyUsageDigitalSignature,
		ExtKeyUsage:  []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth, x509.ExtKeyUsageClientAuth},
		IPAddresses:  []net.IP{net.IPv4(127, 0, 0, 1)},
		DNSNames:     []string{"localhost"},
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, p.ca, &key.PublicKey, p.caKey)
	if err != nil {
		t.Fatal(err)
	}
	kder, err := x509.MarshalECPrivateKey(key)
	if err != nil {
		t.Fatal(err)
	}
	return p.write(t, name+".pem", "CERTIFICATE", der), p.write(t, name+"-key.pem", "EC PRIVATE KEY", kder)
}

// clientTLS returns a client configuration trusting the CA, with the given
// certificate (none when certFile is "").
func (p *testPKI) clientTLS(t *testing.T, certFile, keyFile string) *tls.Config {
	t.Helper()
	pool := x509.NewCertPool()
	pool.AddCert(p.ca)
	cfg := &tls.Config{RootCAs: pool}
	if certFile != "" {
		c, err := tls.LoadX509KeyPair(certFile, keyFile)
		if err != nil {
			t.Fatal(err)
		}
		cfg.Certificates = []tls.Certificate{c}
	}
	return cfg
}

// TestClientTLS serves clients over https with client certificates
// required: a client with a certificate signed by the trusted CA is served,
// one without is refused, and https without cert files is a start error.
func TestClientTLS(t *testing.T) {
	pki := newTestPKI(t)
	serverCert, serverKey := pki.issue(t, "server")
	clientCert, clientKey := pki.issue(t, "client")
	m := newMember(t, "tls")
	m.clientURL = strings.Replace(m.clientURL, "http://", "https://", 1)
	m.p = startProc(t, t.TempDir(), nil, bin.etcd, m.args(m.name+"="+m.peerURL,
		"--cert-file", serverCert, "--key-file", serverKey,
		"--trusted-ca-file", pki.caFile, "--client-cert-auth")...)

	good := &http.Client{Transport: &http.Transport{TLSClientConfig: pki.clientTLS(t, clientCert, clientKey)}}
	deadline := time.Now().Add(20 * time.Second)
	for {
		req, _ := http.NewRequest("PUT", m.clientURL+"/v2/keys/secure", strings.NewReader("value=yes"))
		req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
		resp, err := good.Do(req)
		if err == nil {
			b, _ := io.ReadAll(resp.Body)
			resp.Body.Close()
			if resp.StatusCode == 201 && strings.Contains(string(b), `"value":"yes"`) {
				break
			}
		}
		if time.Now().After(deadline) || m.p.Exited() {
			t.Fatalf("no answer over TLS with a client certificate: %v\n%s", err, m.p.out.String())
		}
		time.Sleep(20 * time.Millisecond)
	}

	bad := &http.Client{Transport: &http.Transport{TLSClientConfig: pki.clientTLS(t, "", "")}}
	if resp, err := bad.Get(m.clientURL + "/v2/keys/secure"); err == nil {
		resp.Body.Close()
		t.Errorf("a client without a certificate was served: %d", resp.StatusCode)
	}
	if resp, err := http.Get(strings.Replace(m.clientURL, "https://", "http://", 1) + "/v2/keys/secure"); err == nil {
		// A plain-HTTP request to a TLS port gets Go's 400 "client sent an HTTP request to an HTTPS server".
		if resp.StatusCode != http.StatusBadRequest {
			t.Errorf("plain HTTP to the TLS port: %d", resp.StatusCode)
		}
		resp.Body.Close()
	}

	// https without cert files refuses to start, naming the address.
	m2 := newMember(t, "notls")
	m2.clientURL = strings.Replace(m2.clientURL, "http://", "https://", 1)
	p := startProc(t, t.TempDir(), nil, bin.etcd, m2.args(m2.name+"="+m2.peerURL)...)
	if code := p.waitExit(20 * time.Second); code != 1 {
		t.Errorf("exit code %d, want 1", code)
	}
	if want := "cannot listen on TLS for " + strings.TrimPrefix(m2.clientURL, "https://") + ": KeyFile and CertFile are not presented"; !strings.Contains(p.out.String(), want) {
		t.Errorf("output lacks %q:\n%s", want, p.out.String())
	}
}
