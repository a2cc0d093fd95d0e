package main

import (
	"testing"

	"github.com/spf13/cobra"
)

// --seed takes results.json's generator.seed as jq prints it, quoted or
// not, exactly above 2^53; anything else is refused.
func TestSeedFlag(t *testing.T) {
	t.Parallel()
	for _, in := range []string{`18086963770815961001`, `"18086963770815961001"`} {
		var f runFlags
		c := newRunCmdForTest(&f)
		if err := c.Flags().Parse([]string{"--seed", in}); err != nil {
			t.Fatalf("--seed %s: %v", in, err)
		}
		if f.seed != 18086963770815961001 {
			t.Errorf("--seed %s = %d", in, f.seed)
		}
	}
	var f runFlags
	if err := newRunCmdForTest(&f).Flags().Parse([]string{"--seed", "-3"}); err == nil {
		t.Error("--seed -3 accepted")
	}
}

// newRunCmdForTest is a command with run's flags registered into f.
func newRunCmdForTest(f *runFlags) *cobra.Command {
	c := &cobra.Command{Use: "run"}
	f.register(c)
	return c
}
