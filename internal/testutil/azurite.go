package testutil

import (
	"bufio"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"syscall"
	"testing"
	"time"
)

// AzuriteVersion is the Azurite (npm) version "make deps" installs.
const AzuriteVersion = "3.37.0"

// AzuriteAccount and AzuriteKey are the fixed, publicly documented
// development account of every Azurite (not a secret).
const (
	AzuriteAccount = "devstoreaccount1"
	AzuriteKey     = "Eby8vdM02xNOcqFlqUwJPLlmEtlCDXJ1OUzFT50uSRZ6IFsuFq2UVErCz4I6tq/K1SZFPTOtr/KBHBeksoGMGw=="
)

// AzuriteBin finds azurite-blob: $PKJWT_AZURITE, else the copy "make deps"
// installs under ${XDG_CACHE_HOME:-$HOME/.cache}/pkjwt-tools/azurite-VERSION,
// else $PATH. It returns "" when there is none.
func AzuriteBin() string {
	if p := os.Getenv("PKJWT_AZURITE"); p != "" {
		return p
	}
	cache := os.Getenv("XDG_CACHE_HOME")
	if cache == "" {
		if home, err := os.UserHomeDir(); err == nil {
			cache = filepath.Join(home, ".cache")
		}
	}
	if cache != "" {
		p := filepath.Join(cache, "pkjwt-tools", "azurite-"+AzuriteVersion, "node_modules", ".bin", "azurite-blob")
		if _, err := os.Stat(p); err == nil {
			return p
		}
	}
	p, _ := exec.LookPath("azurite-blob")
	return p
}

var azuriteListening = regexp.MustCompile(`successfully listens on (http://127\.0\.0\.1:\d+)`)

// StartAzurite starts Azurite's blob service on a free port of 127.0.0.1,
// in memory, stops it when the test ends, and returns the connection string
// of its development account. Without Azurite the test is skipped, unless
// PKJWT_REQUIRE_AZURITE is set ("make test" sets it): then it fails.
func StartAzurite(t testing.TB) string {
	t.Helper()
	bin := AzuriteBin()
	if bin == "" {
		Missing(t, "PKJWT_REQUIRE_AZURITE", "azurite-blob not found (run 'make deps', or set PKJWT_AZURITE)")
	}
	work := t.TempDir()
	cmd := exec.Command(bin, "--blobHost", "127.0.0.1", "--blobPort", "0",
		"--skipApiVersionCheck", "--inMemoryPersistence", "--extentMemoryLimit", "64",
		"--disableTelemetry", "--silent")
	cmd.Dir = work
	cmd.Env = append(os.Environ(), "TMPDIR="+work) // its scratch files stay in the test's directory
	out, err := cmd.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	var stderr SyncBuffer
	cmd.Stderr = &stderr
	if err := cmd.Start(); err != nil {
		t.Fatalf("start %s: %v", bin, err)
	}
	exited := make(chan struct{})
	found := make(chan string, 1)
	go func() {
		sc := bufio.NewScanner(out)
		for sc.Scan() {
			if m := azuriteListening.FindStringSubmatch(sc.Text()); m != nil {
				select {
				case found <- m[1]:
				default:
				}
			}
		}
		cmd.Wait()
		close(exited)
	}()
	t.Cleanup(func() {
		cmd.Process.Signal(syscall.SIGTERM)
		select {
		case <-exited:
		case <-time.After(10 * time.Second):
			cmd.Process.Kill()
			<-exited
		}
	})
	select {
	case base := <-found:
		return fmt.Sprintf("DefaultEndpointsProtocol=http;AccountName=%s;AccountKey=%s;BlobEndpoint=%s/%s;",
			AzuriteAccount, AzuriteKey, base, AzuriteAccount)
	case <-exited:
		t.Fatalf("azurite exited before listening: %s", stderr.String())
	case <-time.After(90 * time.Second):
		t.Fatalf("azurite did not listen within 90s: %s", stderr.String())
	}
	return ""
}
