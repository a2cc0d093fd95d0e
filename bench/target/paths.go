package target

import (
	"encoding/json"
	"net/http"
	"sync"
)

// PathCount is what the target saw of one user on one path: requests in
// an authenticated session (the JSESSIONID cookie) and with a bearer
// token.
type PathCount struct {
	Cookie int64 `json:"cookie"`
	Bearer int64 `json:"bearer"`
}

// pathCounts counts the authenticated /api/ requests per path and user
// (Config.CountPaths), in shards by user so VUs of different users do not
// contend on one lock.
type pathCounts struct {
	shards [16]struct {
		mu sync.Mutex
		m  map[pathUser]*PathCount
	}
}

type pathUser struct {
	path string
	user int32
}

func (c *pathCounts) add(path string, user int32, bearer bool) {
	sh := &c.shards[uint32(user)%uint32(len(c.shards))]
	sh.mu.Lock()
	n := sh.m[pathUser{path, user}]
	if n == nil {
		if sh.m == nil {
			sh.m = map[pathUser]*PathCount{}
		}
		n = new(PathCount)
		sh.m[pathUser{path, user}] = n
	}
	if bearer {
		n.Bearer++
	} else {
		n.Cookie++
	}
	sh.mu.Unlock()
}

// PathUsers returns, with Config.CountPaths, the authenticated /api/
// requests the target answered (not 404s), per path as requested
// (without the query) and per user name; nil without CountPaths.
func (t *Target) PathUsers() map[string]map[string]PathCount {
	if t.paths == nil {
		return nil
	}
	out := map[string]map[string]PathCount{}
	for i := range t.paths.shards {
		sh := &t.paths.shards[i]
		sh.mu.Lock()
		for k, n := range sh.m {
			m := out[k.path]
			if m == nil {
				m = map[string]PathCount{}
				out[k.path] = m
			}
			m[userName(k.user)] = *n
		}
		sh.mu.Unlock()
	}
	return out
}

// TokenUsers returns, for each user that was ever issued a bearer token
// (POST /api/token), how many tokens.
func (t *Target) TokenUsers() map[string]int {
	m := make(map[string]int)
	for n := range t.tokenUsers {
		if c := t.tokenUsers[n].Load(); c > 0 {
			m[userName(int32(n))] = int(c)
		}
	}
	return m
}

// echo answers /api/echo/…, any method: the caller's user and the path,
// {"user":"user3","path":"/api/echo/x"}, so a test can give each kind of
// user paths of its own.
func (t *Target) echo(w http.ResponseWriter, u int32, path string) {
	p, _ := json.Marshal(path)
	t.write(w, http.StatusOK, t.hJSON, []byte(`{"user":"`+userName(u)+`","path":`+string(p)+`}`))
}
