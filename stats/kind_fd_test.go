//go:build unix

package stats

import (
	"errors"
	"fmt"
	"net"
	"net/http"
	"os"
	"os/exec"
	"strings"
	"syscall"
	"testing"
	"time"
)

// Running out of file descriptors is its own kind, with a hint, not
// "other": a child process with a low open-file limit dials until the
// kernel refuses it a socket, over net.Dial and over an http.Client.
func TestClassifyTooManyOpenFiles(t *testing.T) {
	t.Parallel()
	addr := rawServer(t, func(c net.Conn) { defer c.Close(); readRequest(c) })
	cmd := exec.Command(os.Args[0])
	cmd.Env = append(os.Environ(), "LOAD_TEST_EMFILE=1", "LOAD_TEST_ADDR="+addr)
	out, err := cmd.CombinedOutput()
	if err != nil {
		t.Fatalf("child: %v\n%s", err, out)
	}
	for _, want := range []string{"dial: too_many_open_files", "http: too_many_open_files"} {
		if !strings.Contains(string(out), want) {
			t.Errorf("child lacks %q:\n%s", want, out)
		}
	}
	if h := TooManyOpenFiles.Hint(); !strings.Contains(h, "ulimit -n") {
		t.Errorf("hint %q", h)
	}
	// The results warn with the hint.
	r := NewRecorder(Options{})
	s := sample(r.Endpoint("catalog"), time.Millisecond)
	s.Kind = TooManyOpenFiles
	r.Record(0, s)
	res, err := r.Result(time.Second)
	if err != nil || len(res.Warnings) != 1 || !strings.Contains(res.Warnings[0], "ulimit -n") {
		t.Errorf("results warnings %q (%v)", res.Warnings, err)
	}
	if w := KindHints(map[string]int64{"too_many_open_files": 3, "timeout": 1}); len(w) != 1 || !strings.Contains(w[0], "too_many_open_files 3") {
		t.Errorf("hints %q", w)
	}
}

// TestMain runs emfileChild instead of the tests in the child process of
// TestClassifyTooManyOpenFiles.
func TestMain(m *testing.M) {
	if os.Getenv("LOAD_TEST_EMFILE") == "1" {
		if err := emfileChild(os.Getenv("LOAD_TEST_ADDR")); err != nil {
			fmt.Println("child:", err)
			os.Exit(1)
		}
		os.Exit(0)
	}
	os.Exit(m.Run())
}

// emfileChild lowers its process's open-file limit and prints how the
// refusals classify.
func emfileChild(addr string) error {
	if err := syscall.Setrlimit(syscall.RLIMIT_NOFILE, &syscall.Rlimit{Cur: 32, Max: 32}); err != nil {
		return err
	}
	var conns []net.Conn
	defer func() {
		for _, c := range conns {
			c.Close()
		}
	}()
	var dialErr error
	for range 64 {
		c, err := net.Dial("tcp", addr)
		if err != nil {
			dialErr = err
			break
		}
		conns = append(conns, c)
	}
	if !errors.Is(dialErr, syscall.EMFILE) {
		return fmt.Errorf("dial error %v, want EMFILE", dialErr)
	}
	fmt.Printf("dial: %s (%v)\n", Classify(dialErr), dialErr)
	_, err := http.Get("http://" + addr + "/")
	fmt.Printf("http: %s (%v)\n", Classify(err), err)
	return nil
}
