package record_test

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"golang.org/x/net/websocket"
)

// chromium finds Debian's chromium, or skips (fails in CI, which installs it).
func chromium(t *testing.T) string {
	t.Helper()
	for _, name := range []string{"chromium", "chromium-browser"} {
		if p, err := exec.LookPath(name); err == nil {
			return p
		}
	}
	if os.Getenv("CI") == "true" {
		t.Fatal("chromium is not installed; .ci/run installs it (apt-get install chromium)")
	}
	t.Skip("chromium not installed: apt-get install -y chromium to run the browser recording test")
	return ""
}

// cdp is a minimal DevTools protocol client over one page's websocket:
// commands with replies, and every event kept in arrival order.
type cdp struct {
	ws     *websocket.Conn
	mu     sync.Mutex
	next   int
	wait   map[int]chan json.RawMessage
	events []cdpEvent
	loads  chan struct{}
	bodies map[string]string
	fetch  sync.WaitGroup
}

type cdpEvent struct {
	Method string
	Params json.RawMessage
}

// startBrowser runs headless chromium, connects to its first page and
// turns on the Network and Page events.
func startBrowser(t *testing.T) *cdp {
	t.Helper()
	bin := chromium(t)
	dir := t.TempDir()
	ctx, cancel := context.WithCancel(context.Background())
	cmd := exec.CommandContext(ctx, bin, "--headless=new", "--no-sandbox", "--disable-gpu", "--disable-dev-shm-usage",
		"--no-first-run", "--disable-extensions", "--remote-debugging-address=127.0.0.1", "--remote-debugging-port=0",
		"--remote-allow-origins=*", "--user-data-dir="+dir, "about:blank")
	var stderr bytes.Buffer
	cmd.Stderr = &stderr
	if err := cmd.Start(); err != nil {
		t.Fatalf("chromium: %v", err)
	}
	t.Cleanup(func() { cancel(); _ = cmd.Wait() })
	// Chromium writes the port it picked into DevToolsActivePort.
	var port string
	for deadline := time.Now().Add(30 * time.Second); port == "" && time.Now().Before(deadline); time.Sleep(100 * time.Millisecond) {
		if b, err := os.ReadFile(filepath.Join(dir, "DevToolsActivePort")); err == nil {
			if line, _, ok := strings.Cut(string(b), "\n"); ok {
				port = line
			}
		}
	}
	if _, err := strconv.Atoi(port); err != nil {
		t.Fatalf("chromium did not open its DevTools port: %s", stderr.String())
	}
	var pages []struct{ Type, WebSocketDebuggerURL string }
	for deadline := time.Now().Add(10 * time.Second); time.Now().Before(deadline); time.Sleep(100 * time.Millisecond) {
		resp, err := http.Get("http://127.0.0.1:" + port + "/json/list")
		if err != nil {
			continue
		}
		_ = json.NewDecoder(resp.Body).Decode(&pages)
		resp.Body.Close()
		if len(pages) > 0 {
			break
		}
	}
	ws := ""
	for _, p := range pages {
		if p.Type == "page" {
			ws = p.WebSocketDebuggerURL
		}
	}
	if ws == "" {
		t.Fatalf("chromium has no page: %+v", pages)
	}
	conn, err := websocket.Dial(ws, "", "http://127.0.0.1/")
	if err != nil {
		t.Fatalf("devtools websocket: %v", err)
	}
	conn.MaxPayloadBytes = 64 << 20
	c := &cdp{ws: conn, wait: map[int]chan json.RawMessage{}, loads: make(chan struct{}, 16), bodies: map[string]string{}}
	t.Cleanup(func() { conn.Close() })
	go c.read()
	c.call(t, "Network.enable", map[string]any{"maxTotalBufferSize": 64 << 20, "maxResourceBufferSize": 8 << 20})
	c.call(t, "Page.enable", nil)
	return c
}

func (c *cdp) read() {
	for {
		var m struct {
			ID     int             `json:"id"`
			Method string          `json:"method"`
			Params json.RawMessage `json:"params"`
			Result json.RawMessage `json:"result"`
			Error  json.RawMessage `json:"error"`
		}
		if err := websocket.JSON.Receive(c.ws, &m); err != nil {
			return
		}
		c.mu.Lock()
		if m.ID != 0 {
			if ch, ok := c.wait[m.ID]; ok {
				if m.Error != nil {
					ch <- m.Error
				} else {
					ch <- m.Result
				}
				delete(c.wait, m.ID)
			}
		} else {
			c.events = append(c.events, cdpEvent{m.Method, m.Params})
			if m.Method == "Network.loadingFinished" {
				// Fetched at once: chromium drops a page's bodies when it
				// navigates away.
				var p struct{ RequestID string }
				_ = json.Unmarshal(m.Params, &p)
				c.fetch.Add(1)
				go c.fetchBody(p.RequestID)
			}
			if m.Method == "Page.loadEventFired" {
				select {
				case c.loads <- struct{}{}:
				default:
				}
			}
		}
		c.mu.Unlock()
	}
}

func (c *cdp) fetchBody(id string) {
	defer c.fetch.Done()
	r, err := c.send("Network.getResponseBody", map[string]any{"requestId": id})
	if err != nil {
		return
	}
	var b struct {
		Body          string
		Base64Encoded bool
	}
	if json.Unmarshal(r, &b) == nil && !b.Base64Encoded {
		c.mu.Lock()
		c.bodies[id] = b.Body
		c.mu.Unlock()
	}
}

// call sends a command and waits for its result.
func (c *cdp) call(t *testing.T, method string, params any) json.RawMessage {
	t.Helper()
	r, err := c.send(method, params)
	if err != nil {
		t.Fatal(err)
	}
	return r
}

func (c *cdp) send(method string, params any) (json.RawMessage, error) {
	c.mu.Lock()
	c.next++
	id := c.next
	ch := make(chan json.RawMessage, 1)
	c.wait[id] = ch
	c.mu.Unlock()
	if params == nil {
		params = map[string]any{}
	}
	c.mu.Lock()
	err := websocket.JSON.Send(c.ws, map[string]any{"id": id, "method": method, "params": params})
	c.mu.Unlock()
	if err != nil {
		return nil, fmt.Errorf("%s: %w", method, err)
	}
	select {
	case r := <-ch:
		return r, nil
	case <-time.After(30 * time.Second):
		return nil, fmt.Errorf("%s: no answer from chromium", method)
	}
}

// waitLoad waits for the page's next load event.
func (c *cdp) waitLoad(t *testing.T) {
	t.Helper()
	select {
	case <-c.loads:
	case <-time.After(30 * time.Second):
		t.Fatal("the page did not load")
	}
}

// eval runs JavaScript in the page, awaiting a promise it returns.
func (c *cdp) eval(t *testing.T, js string) string {
	t.Helper()
	r := c.call(t, "Runtime.evaluate", map[string]any{"expression": js, "awaitPromise": true, "returnByValue": true})
	var v struct {
		Result           struct{ Value any }
		ExceptionDetails any
	}
	_ = json.Unmarshal(r, &v)
	if v.ExceptionDetails != nil {
		t.Fatalf("javascript %q: %s", js, r)
	}
	return fmt.Sprint(v.Result.Value)
}

// har builds a HAR 1.2 from the Network domain's events so far, as
// DevTools' "Save all as HAR" does: one entry per request and redirect
// hop, with the raw headers (cookies included) and the response bodies.
func (c *cdp) har(t *testing.T) []byte {
	t.Helper()
	c.fetch.Wait()
	type hop struct {
		started   float64 // wall time, s
		ts        float64 // monotonic, s
		end       float64
		typ       string
		method    string
		url       string
		reqH      map[string]string
		postData  string
		status    int
		respH     map[string]string
		mime      string
		body      string
		responded bool
	}
	type req struct {
		hops      []*hop
		reqExtra  []map[string]string
		respExtra []map[string]string
		finished  bool
	}
	reqs := map[string]*req{}
	var order []string
	get := func(id string) *req {
		r, ok := reqs[id]
		if !ok {
			r = &req{}
			reqs[id] = r
			order = append(order, id)
		}
		return r
	}
	type response struct {
		Status   int
		Headers  map[string]string
		MimeType string
	}
	c.mu.Lock()
	events := append([]cdpEvent(nil), c.events...)
	c.mu.Unlock()
	for _, ev := range events {
		var p struct {
			RequestID string `json:"requestId"`
			Timestamp float64
			WallTime  float64
			Type      string
			Request   struct {
				URL      string
				Method   string
				Headers  map[string]string
				PostData string
			}
			RedirectResponse *response
			Response         response
			Headers          map[string]string
		}
		_ = json.Unmarshal(ev.Params, &p)
		switch ev.Method {
		case "Network.requestWillBeSent":
			r := get(p.RequestID)
			if p.RedirectResponse != nil && len(r.hops) > 0 {
				last := r.hops[len(r.hops)-1]
				last.status, last.respH, last.mime, last.responded, last.end = p.RedirectResponse.Status, p.RedirectResponse.Headers, p.RedirectResponse.MimeType, true, p.Timestamp
			}
			r.hops = append(r.hops, &hop{started: p.WallTime, ts: p.Timestamp, typ: p.Type, method: p.Request.Method, url: p.Request.URL, reqH: p.Request.Headers, postData: p.Request.PostData})
		case "Network.requestWillBeSentExtraInfo":
			get(p.RequestID).reqExtra = append(get(p.RequestID).reqExtra, p.Headers)
		case "Network.responseReceivedExtraInfo":
			get(p.RequestID).respExtra = append(get(p.RequestID).respExtra, p.Headers)
		case "Network.responseReceived":
			if r := get(p.RequestID); len(r.hops) > 0 {
				last := r.hops[len(r.hops)-1]
				last.status, last.respH, last.mime, last.responded = p.Response.Status, p.Response.Headers, p.Response.MimeType, true
			}
		case "Network.loadingFinished":
			if r := get(p.RequestID); len(r.hops) > 0 {
				r.finished = true
				r.hops[len(r.hops)-1].end = p.Timestamp
			}
		}
	}
	nvs := func(h map[string]string) []map[string]string {
		out := []map[string]string{}
		for k, v := range h {
			for _, line := range strings.Split(v, "\n") { // DevTools joins repeated headers with \n
				out = append(out, map[string]string{"name": k, "value": line})
			}
		}
		return out
	}
	var entries []map[string]any
	for _, id := range order {
		r := reqs[id]
		for i, h := range r.hops {
			if !h.responded {
				continue
			}
			if i < len(r.reqExtra) {
				h.reqH = r.reqExtra[i]
			}
			if i < len(r.respExtra) {
				h.respH = r.respExtra[i]
			}
			if i == len(r.hops)-1 && r.finished {
				c.mu.Lock()
				h.body = c.bodies[id]
				c.mu.Unlock()
			}
			req := map[string]any{"method": h.method, "url": h.url, "httpVersion": "HTTP/1.1", "headers": nvs(h.reqH),
				"queryString": []any{}, "cookies": []any{}, "headersSize": -1, "bodySize": len(h.postData)}
			if h.postData != "" {
				mt := ""
				for k, v := range h.reqH {
					if strings.EqualFold(k, "content-type") {
						mt = v
					}
				}
				req["postData"] = map[string]any{"mimeType": mt, "text": h.postData}
			}
			entries = append(entries, map[string]any{
				"startedDateTime": time.UnixMicro(int64(h.started * 1e6)).UTC().Format(time.RFC3339Nano),
				"time":            max(0, (h.end-h.ts)*1000),
				"_resourceType":   strings.ToLower(h.typ),
				"request":         req,
				"response": map[string]any{"status": h.status, "statusText": "", "httpVersion": "HTTP/1.1", "headers": nvs(h.respH),
					"cookies": []any{}, "content": map[string]any{"size": len(h.body), "mimeType": h.mime, "text": h.body},
					"redirectURL": "", "headersSize": -1, "bodySize": len(h.body)},
				"cache": map[string]any{}, "timings": map[string]any{"send": 0, "wait": 0, "receive": 0},
			})
		}
	}
	out, err := json.MarshalIndent(map[string]any{"log": map[string]any{"version": "1.2",
		"creator": map[string]any{"name": "load test CDP recorder", "version": "1"}, "pages": []any{}, "entries": entries}}, "", "  ")
	if err != nil {
		t.Fatal(err)
	}
	return out
}
