package main

import (
	"go/ast"
	"go/parser"
	"go/token"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// The CLI is flags, files and display: what a run does, fills in its
// results and judges lives behind load.Run and load.Test.Judge, so a Go
// program embedding load gets the same. This test reads cmd/load's own
// sources and fails on a call or an assignment that would put that logic
// back here.
func TestCLIHoldsNoRunLogic(t *testing.T) {
	forbidden := map[string]string{
		"profiles.Run":          "runs a plan: use load.Run",
		"stats.CheckThresholds": "judges thresholds: use load.Run or Test.Judge",
		"profiles.CheckTarget":  "the check before the load is load.Run's",
		"stats.NewRecorder":     "recording is the run's",
		"vuser.NewEnv":          "VUs are the run's",
	}
	files, err := filepath.Glob("*.go")
	if err != nil {
		t.Fatal(err)
	}
	fset := token.NewFileSet()
	for _, name := range files {
		if strings.HasSuffix(name, "_test.go") {
			continue
		}
		src, err := os.ReadFile(name)
		if err != nil {
			t.Fatal(err)
		}
		f, err := parser.ParseFile(fset, name, src, 0)
		if err != nil {
			t.Fatal(err)
		}
		ast.Inspect(f, func(n ast.Node) bool {
			switch n := n.(type) {
			case *ast.SelectorExpr:
				if x, ok := n.X.(*ast.Ident); ok {
					if why, bad := forbidden[x.Name+"."+n.Sel.Name]; bad {
						t.Errorf("%s: %s.%s %s", fset.Position(n.Pos()), x.Name, n.Sel.Name, why)
					}
				}
			case *ast.AssignStmt:
				// Writing a field of the results (res.X = ...) is filling them.
				for _, l := range n.Lhs {
					if sel, ok := l.(*ast.SelectorExpr); ok {
						if x, ok := sel.X.(*ast.Ident); ok && (x.Name == "res" || x.Name == "r") {
							t.Errorf("%s: assigns %s.%s: the results are filled by load.Run", fset.Position(n.Pos()), x.Name, sel.Sel.Name)
						}
					}
				}
			}
			return true
		})
	}
}
