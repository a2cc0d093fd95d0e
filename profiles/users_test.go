package profiles

import (
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"testing"

	"github.com/sessionload/load/vuser"
)

func TestReadUsersCSV(t *testing.T) {
	t.Parallel()
	many := "username,password\n" + strings.Repeat("x\n", 25) // 25 bad rows
	tests := []struct {
		name  string
		text  string
		ids   int
		probs string // Problems.Error() with the file name as F
	}{
		{"plain", "username,password\na,1\nb,2\n", 2, ""},
		{"bom and crlf", "\xef\xbb\xbfusername,password\r\na,1\r\n", 1, ""},
		{"quoted fields", "username,password\n\"a,b\",\"p\"\"q\"\n", 1, ""},
		{"blank lines are skipped", "username,password\n\na,1\n\n", 1, ""},
		{"empty password", "username,password\na,\n", 1, ""},
		{"empty file", "", 0, `F:1: empty file: expected the header "username,password"`},
		{"only a header", "username,password\n", 0, "F:1: no users: the file has only its header"},
		{"header in another order", "password,username\na,1\n", 1, `F:1: header must start with "username,password" (extra columns may follow), got "password,username"`},
		{"bad quote", "username,password\na,\"1\nb,2\n", 0, `F:3:5: extraneous or missing " in quoted-field`},
		{"too many problems", many, 0, manyProblems()},
		{"extra columns", "username,password,tenant,tier\na,1,x,gold\nb,2,y\n", 1, "F:3: expected 4 fields (username,password,tenant,tier), got 3"},
		{"extra column named username", "username,password,username\na,1,x\n", 1, `F:1:19: duplicate column name "username" (also column 1)`},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			f := filepath.Join(t.TempDir(), "users.csv")
			if err := os.WriteFile(f, []byte(tc.text), 0o644); err != nil {
				t.Fatal(err)
			}
			ids, _, probs, err := readUsersCSV(f)
			if err != nil {
				t.Fatal(err)
			}
			if len(ids) != tc.ids {
				t.Errorf("%d identities, want %d", len(ids), tc.ids)
			}
			got := ""
			if len(probs) > 0 {
				got = strings.ReplaceAll(probs.Error(), f, "F")
			}
			if got != tc.probs {
				t.Errorf("problems:\n got %s\nwant %s", got, tc.probs)
			}
		})
	}
}

func manyProblems() string {
	var lines []string
	for i := 2; i < 2+maxCSVProblems; i++ {
		lines = append(lines, fmt.Sprintf("F:%d: expected 2 fields (username,password), got 1", i))
	}
	return strings.Join(append(lines, "F: and 5 more problems"), "\n")
}

func TestReadUsersCSVNotAFile(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	if _, _, _, err := readUsersCSV(dir); err == nil || !strings.Contains(err.Error(), "is not a regular file") {
		t.Errorf("readUsersCSV(dir) = %v, want not a regular file", err)
	}
	if _, _, _, err := readUsersCSV(filepath.Join(dir, "none.csv")); !errors.Is(err, os.ErrNotExist) {
		t.Errorf("readUsersCSV(missing) = %v, want not exist", err)
	}
}

func TestUsersConstructors(t *testing.T) {
	t.Parallel()
	u, err := TemplateUsers("u{{.VU}}", "p{{.VU}}")
	if err != nil {
		t.Fatal(err)
	}
	if got, want := u.Identity(12), (vuser.Identity{Username: "u12", Password: "p12"}); !reflect.DeepEqual(got, want) {
		t.Errorf("Identity(12) = %+v, want %+v", got, want)
	}
	if u.Len() != 0 {
		t.Errorf("a template has Len %d, want 0", u.Len())
	}
	if _, err := TemplateUsers("u{{.Nope}}", ""); err == nil {
		t.Error("TemplateUsers accepted a bad template")
	}

	f := filepath.Join(t.TempDir(), "u.csv")
	if err := os.WriteFile(f, []byte("username,password\na,1\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	c, err := ReadUsers(f)
	if err != nil {
		t.Fatal(err)
	}
	if got := c.Identity(1); !reflect.DeepEqual(got, vuser.Identity{Username: "a", Password: "1"}) || c.Len() != 1 {
		t.Errorf("ReadUsers: Identity(1) = %+v, Len %d", got, c.Len())
	}
	if err := os.WriteFile(f, []byte("username,password,tenant\na,1,acme\nb,2,initech\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	c, err = ReadUsers(f)
	if err != nil {
		t.Fatal(err)
	}
	want := vuser.Identity{Username: "b", Password: "2", Row: map[string]string{"tenant": "initech"}}
	if got := c.Identity(2); !reflect.DeepEqual(got, want) || c.Len() != 2 {
		t.Errorf("ReadUsers: Identity(2) = %+v, Len %d", got, c.Len())
	}
	if got := c.Identity(3); !reflect.DeepEqual(got, vuser.Identity{}) {
		t.Errorf("VU 3 of 2 users: %+v, want none", got)
	}
	cc, err := CircularUsers(c)
	if err != nil {
		t.Fatal(err)
	}
	for vu, name := range map[int]string{1: "a", 2: "b", 3: "a", 4: "b", 101: "a"} {
		if got := cc.Identity(vu); got.Username != name {
			t.Errorf("circular: VU %d is %q, want %q", vu, got.Username, name)
		}
	}
	if cc.Len() != 0 || c.Len() != 2 {
		t.Errorf("circular Len %d (want 0: no end), original's %d (want 2)", cc.Len(), c.Len())
	}
	if err := os.WriteFile(f, []byte("user\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	var ps Problems
	if _, err := ReadUsers(f); !errors.As(err, &ps) {
		t.Errorf("ReadUsers(bad) = %v, want Problems", err)
	}
}
