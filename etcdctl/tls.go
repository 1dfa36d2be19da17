package main

import (
	"crypto/tls"
	"crypto/x509"
	"encoding/pem"
	"fmt"
	"net"
	"net/http"
	"os"
	"time"
)

// Dialling limits, as etcdctl 2.3 sets them.
const (
	maxDialTimeout      = 30 * time.Second
	keepAlivePeriod     = 30 * time.Second
	tlsHandshakeTimeout = 10 * time.Second
)

// maxIdleConnsPerHost lets every client of check perf's largest load keep
// its connection between requests (Go's default keeps 2, and the rest
// would be closed and dialled again for each request).
const maxIdleConnsPerHost = 1000

// tlsFiles names the certificate files given with --cert-file, --key-file
// and --ca-file or their ETCDCTL_* variables (the option wins).
type tlsFiles struct {
	certFile, keyFile, caFile string
}

// tlsFiles returns the TLS files to use.
func (a *app) tlsFiles(g *globalOptions) tlsFiles {
	pick := func(flagValue, env string) string {
		if flagValue != "" {
			return flagValue
		}
		return a.getenv(env)
	}
	return tlsFiles{
		certFile: pick(g.certFile, "ETCDCTL_CERT_FILE"),
		keyFile:  pick(g.keyFile, "ETCDCTL_KEY_FILE"),
		caFile:   pick(g.caFile, "ETCDCTL_CA_FILE"),
	}
}

// newTransport builds the HTTP transport: the dial timeout is the smaller
// of 30 s and --total-timeout (when that is set), with TCP keepalives and
// the TLS settings from the certificate files.
func (a *app) newTransport(g *globalOptions) (*http.Transport, error) {
	cfg, err := a.tlsFiles(g).clientConfig()
	if err != nil {
		return nil, err
	}
	dialTimeout := maxDialTimeout
	if g.totalTimeout != 0 && g.totalTimeout < dialTimeout {
		dialTimeout = g.totalTimeout
	}
	dialer := &net.Dialer{Timeout: dialTimeout, KeepAlive: keepAlivePeriod, Resolver: a.resolver}
	return &http.Transport{
		Proxy:               http.ProxyFromEnvironment,
		DialContext:         dialer.DialContext,
		TLSHandshakeTimeout: tlsHandshakeTimeout,
		TLSClientConfig:     cfg,
		MaxIdleConnsPerHost: maxIdleConnsPerHost,
	}, nil
}

// clientConfig loads the client certificate and the CA bundle. A client
// certificate needs both its files. A CA bundle holding no PEM block adds
// no authority, which makes every server certificate fail to verify; that
// is how etcdctl 2.3 behaves too.
func (f tlsFiles) clientConfig() (*tls.Config, error) {
	cfg := &tls.Config{}
	if f.certFile != "" || f.keyFile != "" {
		if f.certFile == "" || f.keyFile == "" {
			return nil, fmt.Errorf("KeyFile and CertFile must both be present[key: %v, cert: %v]", f.keyFile, f.certFile)
		}
		cert, err := tls.LoadX509KeyPair(f.certFile, f.keyFile)
		if err != nil {
			return nil, err
		}
		cfg.Certificates = []tls.Certificate{cert}
	}
	if f.caFile != "" {
		pool, err := loadCertPool(f.caFile)
		if err != nil {
			return nil, err
		}
		cfg.RootCAs = pool
	}
	return cfg, nil
}

// loadCertPool reads every certificate of a PEM file into a pool.
func loadCertPool(file string) (*x509.CertPool, error) {
	data, err := os.ReadFile(file)
	if err != nil {
		return nil, err
	}
	pool := x509.NewCertPool()
	for {
		var block *pem.Block
		block, data = pem.Decode(data)
		if block == nil {
			break
		}
		cert, err := x509.ParseCertificate(block.Bytes)
		if err != nil {
			return nil, err
		}
		pool.AddCert(cert)
	}
	return pool, nil
}
