package main

import (
	"bufio"
	"encoding/json"
	"io"
	"net/http"
	"net/url"
	"os"
	"os/exec"
	"strings"
	"syscall"
	"testing"
	"time"
)

// TestEmulatorCommand runs the built binary: it starts on loopback, prints
// its URLs and apps, answers the token endpoint with NHS row 6 for a form
// without client_assertion, and stops cleanly on SIGTERM.
func TestEmulatorCommand(t *testing.T) {
	cmd := exec.Command(pkjwtBin(t), "emulator", "--addr", "127.0.0.1:0",
		"--app-key", "cli-test-key", "--app-jwks-url", "http://127.0.0.1:1/jwks.json", "--sandbox")
	for _, kv := range os.Environ() {
		if !strings.HasPrefix(kv, "PKJWT_") {
			cmd.Env = append(cmd.Env, kv)
		}
	}
	stdout, err := cmd.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	var stderr strings.Builder
	cmd.Stderr = &stderr
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	done := make(chan error, 1)
	t.Cleanup(func() {
		if cmd.ProcessState == nil {
			_ = cmd.Process.Kill()
		}
	})

	lines := make(chan string, 64)
	go func() {
		sc := bufio.NewScanner(stdout)
		for sc.Scan() {
			lines <- sc.Text()
		}
		close(lines)
		done <- cmd.Wait()
	}()
	var out []string
	var tokenURL string
	deadline := time.After(30 * time.Second)
	for tokenURL == "" || !strings.Contains(strings.Join(out, "\n"), "app ") {
		select {
		case l, ok := <-lines:
			if !ok {
				t.Fatalf("emulator exited early:\n%s\n%s", strings.Join(out, "\n"), stderr.String())
			}
			out = append(out, l)
			if v, found := strings.CutPrefix(strings.TrimSpace(l), "token URL:"); found {
				tokenURL = strings.TrimSpace(v)
			}
		case <-deadline:
			t.Fatalf("no URLs printed:\n%s", strings.Join(out, "\n"))
		}
	}
	text := strings.Join(out, "\n")
	base := strings.TrimSuffix(tokenURL, "/oauth2/token")
	if !strings.HasPrefix(base, "http://127.0.0.1:") {
		t.Errorf("token URL %q not on loopback", tokenURL)
	}
	for _, want := range []string{
		"listening on " + base,
		"PDS base URL:    " + base + "/personal-demographics/FHIR/R4",
		"sandbox PDS URL: " + base + "/personal-demographics/FHIR/R4-sandbox",
		"hello-world URL: " + base + "/hello-world/hello/application",
		`app "app cli-test-key": api key cli-test-key, JWKS URL http://127.0.0.1:1/jwks.json, status approved, scopes urn:nhsd:apim:app:level3:personal-demographics-service`,
	} {
		if !strings.Contains(text, want) {
			t.Errorf("output lacks %q:\n%s", want, text)
		}
	}

	form := url.Values{
		"grant_type":            {"client_credentials"},
		"client_assertion_type": {"urn:ietf:params:oauth:client-assertion-type:jwt-bearer"},
	}
	resp, err := http.Post(tokenURL, "application/x-www-form-urlencoded", strings.NewReader(form.Encode()))
	if err != nil {
		t.Fatal(err)
	}
	body, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	var m map[string]string
	if err := json.Unmarshal(body, &m); err != nil || resp.StatusCode != 400 || m["error"] != "invalid_request" ||
		m["error_description"] != "Missing client_assertion" || m["message_id"] == "" {
		t.Errorf("token endpoint: %d %s", resp.StatusCode, body)
	}

	if err := cmd.Process.Signal(syscall.SIGTERM); err != nil {
		t.Fatal(err)
	}
	for range lines {
	}
	select {
	case err := <-done:
		if err != nil {
			t.Errorf("exit after SIGTERM: %v\n%s", err, stderr.String())
		}
	case <-time.After(15 * time.Second):
		t.Fatal("emulator did not stop on SIGTERM")
	}
	if !strings.Contains(stderr.String(), `error_description="Missing client_assertion"`) {
		t.Errorf("stderr lacks the request log line:\n%s", stderr.String())
	}
}

func TestEmulatorCommandUsage(t *testing.T) {
	r := runCLI(t, nil, "emulator", "--app-key", "k")
	if r.Code != 2 || !strings.Contains(r.Stderr, "--app-key and --app-jwks-url go together") {
		t.Errorf("code %d stderr %q", r.Code, r.Stderr)
	}
	r = runCLI(t, nil, "emulator", "--apps", "/nonexistent/apps.yaml", "--addr", "127.0.0.1:0")
	if r.Code != 1 {
		t.Errorf("missing apps file: code %d stderr %q", r.Code, r.Stderr)
	}
}
