package main

import (
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strings"
	"time"

	"github.com/spf13/cobra"

	"github.com/sessionload/load/bench/target"
	"github.com/sessionload/load/profiles"
)

func newTargetCmd(_, stderr io.Writer) *cobra.Command {
	var (
		addr    string
		cfg     target.Config
		timeout time.Duration
	)
	c := &cobra.Command{
		Use:   "target",
		Short: "Run the built-in Spring-Security-like target alone",
		Long: "target serves the built-in demo app until interrupted: form login at /login\n" +
			"(hidden _csrf, session id changed on login), JSON API under /api (needs the\n" +
			"session; 401 for Accept: application/json, else a redirect to /login), POST\n" +
			"/logout, POST /api/token for bearer tokens, counters at /_stats.\n" +
			"Users are user1..userN, all with the password \"" + target.Password + "\"; the session\n" +
			"cookie is JSESSIONID. With --max-sessions, a request that needs a new session\n" +
			"beyond the cap gets Tomcat's 500 \"Too many active sessions\". With\n" +
			"--max-sessions-per-user N, a login of a user who holds N sessions already is\n" +
			"refused as Spring's maxSessionsPreventsLogin does (a redirect to /login?error).",
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			if !loopback(addr) {
				return badInput(fmt.Errorf("--addr %s: the target listens on loopback only", addr))
			}
			cfg.SessionTimeout = timeout
			srv, err := target.New(cfg).Start(addr)
			if err != nil {
				return &exitError{code: exitRunError, err: err}
			}
			defer srv.Close()
			fmt.Fprintf(stderr, "target on %s (users user1..user%d, password %q); Ctrl-C stops it\n", srv.URL(), max(cfg.Users, 1), target.Password)
			<-cmd.Context().Done()
			return nil
		},
	}
	c.Flags().StringVar(&addr, "addr", "127.0.0.1:8080", "listen address (loopback)")
	c.Flags().IntVar(&cfg.Users, "users", 1000, "users user1..userN")
	c.Flags().IntVar(&cfg.MaxSessions, "max-sessions", 0, "cap on active sessions like Tomcat's maxActiveSessions (0: none)")
	c.Flags().IntVar(&cfg.MaxSessionsPerUser, "max-sessions-per-user", 0, "Spring's maximumSessions(N) with maxSessionsPreventsLogin (0: none)")
	c.Flags().DurationVar(&timeout, "session-timeout", 30*time.Minute, "idle session timeout")
	c.Flags().DurationVar(&cfg.ServiceTime, "service-time", 0, "added latency on /api endpoints")
	return c
}

func loopback(addr string) bool {
	host := addr
	if i := strings.LastIndex(addr, ":"); i >= 0 {
		host = addr[:i]
	}
	host = strings.Trim(host, "[]")
	return host == "localhost" || host == "::1" || strings.HasPrefix(host, "127.")
}

// writeNew writes a file that must not exist yet.
func writeNew(path string, data []byte) error {
	fh, err := os.OpenFile(path, os.O_WRONLY|os.O_CREATE|os.O_EXCL, 0o644)
	if err != nil {
		return err
	}
	if _, err := fh.Write(data); err != nil {
		fh.Close()
		return err
	}
	return fh.Close()
}

func newInitCmd(stdout, stderr io.Writer) *cobra.Command {
	var out string
	c := &cobra.Command{
		Use:       "init [" + strings.Join(profiles.StarterKinds(), "|") + "]",
		Short:     "Write a commented starter plan",
		Args:      cobra.MaximumNArgs(1),
		ValidArgs: profiles.StarterKinds(),
		RunE: func(_ *cobra.Command, args []string) error {
			kind := "spring-form"
			if len(args) == 1 {
				kind = args[0]
			}
			b, err := profiles.Starter(kind)
			if err != nil {
				return badInput(err)
			}
			files, err := profiles.StarterFiles(kind)
			if err != nil {
				return err
			}
			if out == "-" {
				for name := range files {
					fmt.Fprintf(stderr, "the plan reads %s: write it beside the plan with load init %s -o FILE\n", name, kind)
				}
				_, err = stdout.Write(b)
				return err
			}
			if out == "" {
				out = "plan.yaml"
			}
			fh, err := os.OpenFile(out, os.O_WRONLY|os.O_CREATE|os.O_EXCL, 0o644)
			if err != nil {
				return badInput(fmt.Errorf("%w (choose another file with -o)", err))
			}
			if _, err := fh.Write(b); err != nil {
				fh.Close()
				return err
			}
			if err := fh.Close(); err != nil {
				return err
			}
			for name, data := range files {
				// The starter's test data, beside it; an existing file is kept.
				p := filepath.Join(filepath.Dir(out), name)
				if err := writeNew(p, data); err != nil {
					fmt.Fprintf(stderr, "kept %s: %v\n", p, err)
					continue
				}
				fmt.Fprintf(stderr, "wrote %s (the plan's test data)\n", p)
			}
			fmt.Fprintf(stderr, "wrote %s; run it with: load run %s\n", out, filepath.Clean(out))
			return nil
		},
	}
	c.Flags().StringVarP(&out, "out", "o", "", "file to write (default plan.yaml; - for stdout)")
	return c
}
