package main

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
)

const recordedHAR = `{"log": {"version": "1.2", "creator": {"name": "test", "version": "1"}, "entries": [
 {"startedDateTime": "2026-12-02T10:00:00.000Z", "time": 10,
  "request": {"method": "POST", "url": "http://127.0.0.1:8080/api/token", "headers": [{"name": "Content-Type", "value": "application/json"}],
   "postData": {"mimeType": "application/json", "text": "{\"username\":\"user1\",\"password\":\"hunter22\"}"}},
  "response": {"status": 200, "headers": [], "content": {"mimeType": "application/json", "text": "{\"token\":\"tok-9f8e7d6c5b4a\"}"}}},
 {"startedDateTime": "2026-12-02T10:00:01.000Z", "time": 10,
  "request": {"method": "GET", "url": "http://127.0.0.1:8080/api/me", "headers": [{"name": "Authorization", "value": "Bearer tok-9f8e7d6c5b4a"}]},
  "response": {"status": 200, "headers": [], "content": {"mimeType": "application/json", "text": "{\"user\":\"user1\"}"}}}
]}}`

// load record writes the plan, reports what it found and warns about the
// password in the HAR, showing no secret of the recording.
func TestRecordCommand(t *testing.T) {
	har := writeFile(t, "session.har", recordedHAR)
	out := filepath.Join(t.TempDir(), "plan.yaml")
	code, stdout, stderr := runCLI(t, "record", har, "-o", out, "--think", "range")
	if code != exitOK {
		t.Fatalf("exit %d: %s", code, stderr)
	}
	plan, err := os.ReadFile(out)
	if err != nil {
		t.Fatal(err)
	}
	for _, want := range []string{"wrote " + out + ": login json-token, 1 steps", "recognised: login: json-token", "warning:", "delete the HAR", `"username,password"`} {
		if !strings.Contains(stderr, want) {
			t.Errorf("stderr lacks %q:\n%s", want, stderr)
		}
	}
	if !strings.Contains(string(plan), `token_path: "token"`) {
		t.Errorf("plan:\n%s", plan)
	}
	for _, s := range []string{"hunter22", "tok-9f8e7d6c5b4a"} {
		if strings.Contains(stdout+stderr+string(plan), s) {
			t.Errorf("the secret %q was shown or written", s)
		}
	}
}

// Bad input is exit 2 with the file named and what was expected.
func TestRecordBadInput(t *testing.T) {
	for _, c := range []struct{ name, text, flag, want string }{
		{"not json", "hello", "", "not valid JSON at the start"},
		{"no entries", `{"log": {"version": "1.2", "entries": []}}`, "", "log.entries is empty"},
		{"other version", `{"log": {"version": "0.9", "entries": []}}`, "", `expected version "1.2"`},
		{"bad think", recordedHAR, "--think=often", `--think "often": expected per-step or range`},
		{"bad exclude", recordedHAR, "--exclude=(", "--exclude"},
	} {
		t.Run(c.name, func(t *testing.T) {
			har := writeFile(t, "bad.har", c.text)
			args := []string{"record", har}
			if c.flag != "" {
				args = append(args, c.flag)
			}
			code, _, stderr := runCLI(t, args...)
			if code != exitBadInput || !strings.Contains(stderr, c.want) {
				t.Errorf("exit %d, stderr %q: expected exit 2 and %q", code, stderr, c.want)
			}
			if c.flag == "" && !strings.Contains(stderr, har) {
				t.Errorf("the error does not name %s: %s", har, stderr)
			}
		})
	}
	code, _, stderr := runCLI(t, "record", filepath.Join(t.TempDir(), "none.har"))
	if code != exitBadInput || !strings.Contains(stderr, "none.har: no such file") {
		t.Errorf("missing file: exit %d, %s", code, stderr)
	}
}
