package main

import (
	"bytes"
	"context"
	"crypto/tls"
	"crypto/x509"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/vatsector/vatsector/internal/shareddata"
	"github.com/vatsector/vatsector/internal/testcert"
)

// With --tls-cert and --tls-key the service serves TLS only on both ports: the healthcheck command reaches
// it with --tls-ca and not in plain text, and HTTPS answers the REST routes.
func TestServiceOverTLS(t *testing.T) {
	dir := t.TempDir()
	certFile, keyFile := writeSelfSigned(t, dir)
	grpcAddr, httpAddr := freeAddr(t), freeAddr(t)
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() {
		done <- run(ctx, []string{"--feed", "sim:20", "--interval", "1s", "--data-dir", filepath.Join(dir, "data"),
			"--sectors", shareddata.VATSpyDir(t), "--listen", grpcAddr, "--http-listen", httpAddr, "--metrics-listen", "",
			"--tls-cert", certFile, "--tls-key", keyFile, "--shutdown-wait", "0s"},
			func(string) string { return "" }, &bytes.Buffer{}, &bytes.Buffer{})
	}()
	defer func() {
		cancel()
		if err := <-done; err != nil {
			t.Errorf("service: %v", err)
		}
	}()
	var out, errOut bytes.Buffer
	if err := healthcheck(ctx, []string{"--addr", grpcAddr, "--wait", "--timeout", "60s", "--tls-ca", certFile}, &out, &errOut); err != nil {
		t.Fatalf("healthcheck over TLS: %v (%s)", err, errOut.String())
	}
	if got := strings.TrimSpace(out.String()); got != "SERVING" {
		t.Fatalf("healthcheck over TLS: %q", got)
	}
	if err := healthcheck(ctx, []string{"--addr", grpcAddr, "--timeout", "2s"}, &out, &errOut); err == nil {
		t.Error("healthcheck in plain text to the TLS port succeeded")
	}
	certPEM, err := os.ReadFile(certFile)
	if err != nil {
		t.Fatal(err)
	}
	pool := x509.NewCertPool()
	pool.AppendCertsFromPEM(certPEM)
	client := &http.Client{Transport: &http.Transport{TLSClientConfig: &tls.Config{RootCAs: pool}, ForceAttemptHTTP2: true}, Timeout: 10 * time.Second}
	resp, err := client.Get("https://" + httpAddr + "/v1/sectors?page_size=1")
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusOK || resp.ProtoMajor != 2 {
		t.Errorf("HTTPS GET: %s over %s, want 200 over HTTP/2", resp.Status, resp.Proto)
	}
}

// freeAddr is a loopback address with a port free a moment ago.
func freeAddr(t *testing.T) string {
	t.Helper()
	lis, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer lis.Close()
	return lis.Addr().String()
}

// writeSelfSigned writes a certificate for 127.0.0.1 and its key as PEM files.
func writeSelfSigned(t *testing.T, dir string) (certFile, keyFile string) {
	t.Helper()
	c := testcert.New(t)
	certFile, keyFile = filepath.Join(dir, "cert.pem"), filepath.Join(dir, "key.pem")
	for _, f := range []struct {
		path string
		pem  []byte
	}{{certFile, c.CertPEM}, {keyFile, c.KeyPEM}} {
		if err := os.WriteFile(f.path, f.pem, 0o600); err != nil {
			t.Fatal(err)
		}
	}
	return certFile, keyFile
}
