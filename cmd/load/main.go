// Command load is a load generator whose virtual users behave like real
// logged-in people: each has its own cookie jar and session.
package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"os/signal"
	"syscall"

	"github.com/spf13/cobra"
)

// Exit codes.
const (
	exitOK         = 0
	exitRunError   = 1
	exitBadInput   = 2
	exitThresholds = 99
)

// exitCodesHelp explains the exit codes, in load --help and load run --help
// (README's "Exit codes" says the same).
const exitCodesHelp = `Exit codes:
  0    the run tested the target and every threshold held
  1    the run could not test, with one line saying which: the target was
       unreachable before the load (one request with the plan's timeout),
       no request got an HTTP response, no VU logged in, or the run was
       interrupted (the results cover the part that ran)
  2    bad input: plan, flags or files (an unwritable --out, too), before any request
  99   a threshold failed (run, report, merge --thresholds) or a regression (compare)
  130  a second Ctrl-C quit at once (the --out stream R.json.partial stays)`

// version is set at build time with -ldflags "-X main.version=...".
var version = "dev"

// exitError carries an exit code out of a command.
type exitError struct {
	code int
	err  error
}

func (e *exitError) Error() string { return e.err.Error() }
func (e *exitError) Unwrap() error { return e.err }

func badInput(err error) error { return &exitError{code: exitBadInput, err: err} }

func main() {
	os.Exit(run(os.Args[1:], os.Stdout, os.Stderr))
}

// run is main without the process: it returns the exit code.
func run(args []string, stdout, stderr io.Writer) int {
	ctx, stop := interrupts(context.Background(), stderr)
	defer stop()
	root := newRoot(stdout, stderr)
	root.SetArgs(args)
	err := root.ExecuteContext(ctx)
	if err == nil {
		return exitOK
	}
	fmt.Fprintln(stderr, "load:", err)
	var ee *exitError
	if errors.As(err, &ee) {
		return ee.code
	}
	// Cobra's own errors are about flags and arguments.
	return exitBadInput
}

// interrupts cancels the context on the first SIGINT/SIGTERM (a graceful
// stop that still writes the results) and exits on the second.
func interrupts(parent context.Context, stderr io.Writer) (context.Context, func()) {
	ctx, cancel := context.WithCancel(parent)
	ch := make(chan os.Signal, 2)
	signal.Notify(ch, os.Interrupt, syscall.SIGTERM)
	go func() {
		select {
		case <-ch:
		case <-ctx.Done():
			return
		}
		fmt.Fprintln(stderr, "\nload: stopping: VUs finish their requests and end their sessions; results follow (Ctrl-C again to quit now)")
		cancel()
		<-ch
		fmt.Fprintln(stderr, "load: quit (with --out, R.json.partial keeps the intervals so far: load report R.json.partial --out R.json)")
		os.Exit(130)
	}()
	return ctx, func() { signal.Stop(ch); cancel() }
}

func newRoot(stdout, stderr io.Writer) *cobra.Command {
	root := &cobra.Command{
		Use:           "load",
		Short:         "A load generator whose virtual users log in and keep their own sessions",
		Long:          "load is a load generator whose virtual users log in and keep their own sessions.\n\n" + exitCodesHelp,
		SilenceUsage:  true,
		SilenceErrors: true,
	}
	root.SetOut(stdout)
	root.SetErr(stderr)
	root.AddCommand(
		newRunCmd(stdout, stderr),
		newDemoCmd(stdout, stderr),
		newTargetCmd(stdout, stderr),
		newInitCmd(stdout, stderr),
		newMergeCmd(stdout, stderr),
		newSessionsCmd(stdout, stderr),
		newReportCmd(stdout, stderr),
		newCompareCmd(stdout, stderr),
		newRecordCmd(stdout, stderr),
		&cobra.Command{
			Use:   "version",
			Short: "Print the version",
			Args:  cobra.NoArgs,
			Run:   func(*cobra.Command, []string) { fmt.Fprintln(stdout, "load", version) },
		},
	)
	root.SetFlagErrorFunc(func(_ *cobra.Command, err error) error { return badInput(err) })
	return root
}
