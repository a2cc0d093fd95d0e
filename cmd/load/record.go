package main

import (
	"fmt"
	"io"
	"os"
	"regexp"

	"github.com/spf13/cobra"

	"github.com/sessionload/load/profiles/record"
)

func newRecordCmd(stdout, stderr io.Writer) *cobra.Command {
	var (
		out     string
		think   string
		exclude []string
		name    string
	)
	c := &cobra.Command{
		Use:   "record session.har -o plan.yaml",
		Short: "Turn a browser recording (HAR) into a plan",
		Long: "record converts a HAR 1.2 file (DevTools → Network → \"Save all as HAR\") into a\n" +
			"commented plan: static resources and third-party hosts left out, the login\n" +
			"replaced by its preset (spring-form, tomcat-form, json-token) with the session\n" +
			"cookie found, values that later requests reuse extracted from the response that\n" +
			"returned them, the recorded user and password replaced by {{.User}} and\n" +
			"{{.Password}}. It prints what it recognised and what it left literal.",
		Args: cobra.ExactArgs(1),
		RunE: func(_ *cobra.Command, args []string) error {
			o := record.Options{Name: name}
			switch think {
			case "per-step":
			case "range":
				o.ThinkRange = true
			default:
				return badInput(fmt.Errorf("--think %q: expected per-step or range", think))
			}
			for _, p := range exclude {
				re, err := regexp.Compile(p)
				if err != nil {
					return badInput(fmt.Errorf("--exclude %q: %w", p, err))
				}
				o.Exclude = append(o.Exclude, re)
			}
			res, err := record.ConvertFile(args[0], o)
			if err != nil {
				return badInput(err)
			}
			if out == "" || out == "-" {
				fmt.Fprint(stdout, res.Plan)
			} else if err := os.WriteFile(out, []byte(res.Plan), 0o644); err != nil {
				return &exitError{code: exitRunError, err: err}
			} else {
				fmt.Fprintf(stderr, "wrote %s: login %s, %d steps\n", out, res.Login, len(res.Steps))
			}
			for _, l := range res.Recognised {
				fmt.Fprintln(stderr, "  recognised:", l)
			}
			for _, l := range res.Literal {
				fmt.Fprintln(stderr, "  CHECK:     ", l)
			}
			if res.UsersHeader != "" {
				fmt.Fprintf(stderr, "  users: write users.csv with the header %q and one row per VU\n", res.UsersHeader)
			}
			for _, w := range res.Warnings {
				fmt.Fprintln(stderr, "warning:", w)
			}
			return nil
		},
	}
	c.Flags().StringVarP(&out, "out", "o", "", "plan file to write (default: standard output)")
	c.Flags().StringVar(&think, "think", "per-step", "think times: per-step (each step's own recorded pause, as its think:) or range (one plan-wide think {min, max})")
	c.Flags().StringArrayVar(&exclude, "exclude", nil, "regular expression on the URL path and query to leave out (repeatable)")
	c.Flags().StringVar(&name, "name", "recorded", "the plan's name")
	return c
}
