package vuser

import (
	"net/http"
	"strconv"
	"strings"
	"testing"
)

// The jar keeps what a browser keeps, counts what it refuses, and never
// changes the caller's slice.
func TestJarLimits(t *testing.T) {
	t.Parallel()
	u := mustURL("http://127.0.0.1:8080/app")
	tests := []struct {
		name     string
		cookies  []*http.Cookie
		kept     int // cookies the jar then sends to u
		rejected int
	}{
		// Well under every limit.
		{"plain", []*http.Cookie{{Name: "JSESSIONID", Value: "abc"}}, 1, 0},
		// 4,096 bytes of name and value is the most a browser keeps.
		{"at the size cap", []*http.Cookie{{Name: "a", Value: strings.Repeat("v", maxCookieBytes-1)}}, 1, 0},
		{"over the size cap", []*http.Cookie{{Name: "a", Value: strings.Repeat("v", maxCookieBytes)}, {Name: "b", Value: "1"}}, 1, 1},
		// An IP host may not set a cookie for a domain.
		{"other domain", []*http.Cookie{{Name: "f", Value: "1", Domain: "example.com"}, {Name: "g", Value: "1"}}, 1, 1},
		// Its own address as Domain is the host itself.
		{"own domain", []*http.Cookie{{Name: "f", Value: "1", Domain: "127.0.0.1"}}, 1, 0},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			j := newJar()
			in := append([]*http.Cookie(nil), tt.cookies...)
			j.SetCookies(u, in)
			for i := range in {
				if in[i] != tt.cookies[i] {
					t.Fatal("SetCookies changed the caller's slice")
				}
			}
			if got := len(j.Cookies(u)); got != tt.kept || j.rejected != tt.rejected {
				t.Errorf("kept %d, rejected %d; want %d, %d", got, j.rejected, tt.kept, tt.rejected)
			}
		})
	}
}

func TestJarCount(t *testing.T) {
	t.Parallel()
	u := mustURL("http://shop.test/")
	j := newJar()
	cs := make([]*http.Cookie, 2*maxCookies)
	for i := range cs {
		cs[i] = &http.Cookie{Name: "c" + strconv.Itoa(i), Value: "1"}
	}
	j.SetCookies(u, cs)
	j.SetCookies(u, cs[:1]) // an update of a kept cookie is no new one
	if got := len(j.Cookies(u)); got != maxCookies || j.rejected != maxCookies {
		t.Errorf("kept %d, rejected %d; want %d each", got, j.rejected, maxCookies)
	}
}

func TestDroppedSetCookie(t *testing.T) {
	t.Parallel()
	if droppedSetCookie([]string{"a=1; Path=/", "b=2"}) {
		t.Error("well-formed lines reported dropped")
	}
	if !droppedSetCookie([]string{"a=1", "=novalue"}) {
		t.Error("a line without a name not reported")
	}
	if !droppedSetCookie(make([]string, maxSetCookies+1)) {
		t.Error("more lines than net/http keeps not reported")
	}
}
