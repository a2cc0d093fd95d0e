package server

import (
	"context"
	"fmt"
	"net/http"
	"net/http/httptest"
	"os"
	"strings"
	"sync"
	"testing"
)

// fakeJMX is a JMX proxy with writable attributes, answering as Tomcat
// 10.1's does (the qry answers are recorded from a real one), counting
// the gc operations it was asked for.
type fakeJMX struct {
	mu    sync.Mutex
	attrs map[string]string // bean + "|" + att → value
	gcs   int
}

func newFakeJMX(t *testing.T) (*fakeJMX, Config) {
	t.Helper()
	read := func(f string) string {
		b, err := os.ReadFile("testdata/" + f)
		if err != nil {
			t.Fatal(err)
		}
		return string(b)
	}
	mgr := "Catalina:type=Manager,context=/shop,host=localhost"
	f := &fakeJMX{attrs: map[string]string{
		mgr + "|maxActiveSessions":       "300",
		mgr + "|processExpiresFrequency": "6",
		"Catalina:j2eeType=WebModule,name=//localhost/shop,J2EEApplication=none,J2EEServer=none|backgroundProcessorDelay": "-1",
		"Catalina:type=Host,host=localhost|backgroundProcessorDelay":                                                      "-1",
		"Catalina:type=Engine|backgroundProcessorDelay":                                                                   "10",
		"java.lang:type=Memory|HeapMemoryUsage":                                                                           "javax.management.openmbean.CompositeDataSupport(compositeType=...,contents={committed=100663296, init=398458880, max=268435456, used=52428800})",
		"java.lang:type=OperatingSystem|ProcessCpuLoad":                                                                   "0.25",
		"java.lang:name=G1 Young Generation,type=GarbageCollector|CollectionCount":                                        "7",
		"java.lang:name=G1 Young Generation,type=GarbageCollector|CollectionTime":                                         "70",
		"java.lang:name=G1 Old Generation,type=GarbageCollector|CollectionCount":                                          "1",
		"java.lang:name=G1 Old Generation,type=GarbageCollector|CollectionTime":                                           "19",
	}}
	qry := map[string]string{
		mgr:                               "manager.txt",
		"Catalina:type=ThreadPool,name=*": "threadpool.txt",
	}
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if u, p, ok := r.BasicAuth(); !ok || u != "jmx" || p != "pw" || r.URL.Path != "/manager/jmxproxy" {
			w.WriteHeader(http.StatusUnauthorized)
			return
		}
		q := r.URL.Query()
		f.mu.Lock()
		defer f.mu.Unlock()
		switch {
		case q.Get("qry") == "java.lang:type=GarbageCollector,*":
			// As Tomcat prints them: the collector's Name attribute too.
			fmt.Fprint(w, "OK - Number of results: 2\n\nName: java.lang:name=G1 Young Generation,type=GarbageCollector\nCollectionCount: 7\nName: G1 Young Generation\n\n"+
				"Name: java.lang:name=G1 Old Generation,type=GarbageCollector\nCollectionCount: 1\nName: G1 Old Generation\n\n")
		case q.Get("qry") != "":
			if file, ok := qry[q.Get("qry")]; ok {
				body := read(file)
				if q.Get("qry") == mgr {
					body = strings.Replace(body, "maxActiveSessions: 50", "maxActiveSessions: "+f.attrs[mgr+"|maxActiveSessions"], 1)
				}
				fmt.Fprint(w, body)
				return
			}
			fmt.Fprint(w, "OK - Number of results: 0\n\n")
		case q.Get("get") != "":
			v, ok := f.attrs[q.Get("get")+"|"+q.Get("att")]
			if !ok {
				fmt.Fprintf(w, "Error - javax.management.InstanceNotFoundException: %s\n", q.Get("get"))
				return
			}
			fmt.Fprintf(w, "OK - Attribute get '%s' - %s = %s\n", q.Get("get"), q.Get("att"), v)
		case q.Get("set") != "":
			f.attrs[q.Get("set")+"|"+q.Get("att")] = q.Get("val")
			fmt.Fprint(w, "OK - Attribute set\n")
		case q.Get("invoke") == "java.lang:type=Memory" && q.Get("op") == "gc":
			f.gcs++
			f.attrs["java.lang:type=Memory|HeapMemoryUsage"] = "javax.management.openmbean.CompositeDataSupport(contents={committed=100663296, init=398458880, max=268435456, used=20971520})"
			fmt.Fprint(w, "OK - Operation gc without return value\n")
		default:
			fmt.Fprint(w, "Error - unknown request\n")
		}
	}))
	t.Cleanup(srv.Close)
	return f, Config{Kind: KindTomcat, URL: srv.URL + "/manager", Context: "/shop", Username: "jmx", Password: "pw"}
}

// The JMX client reads, sets and invokes; the reader reads every figure
// the capacity search uses, the sweep from the engine when the context
// and host inherit, the heap after a GC it asked for, and changes the cap.
func TestJMXTomcatResources(t *testing.T) {
	t.Parallel()
	f, c := newFakeJMX(t)
	ctx := context.Background()
	tc, err := NewTomcat(c)
	if err != nil {
		t.Fatal(err)
	}
	r, err := tc.Read(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if r.MaxActiveSessions != 300 || r.BusyThreads != 1 || r.MaxThreads != 200 || r.ConnectionCount != 2 || r.MaxConnections != 8192 || r.AcceptCount != 100 ||
		r.HeapUsedMB != 50 || r.HeapMaxMB != 256 || r.ProcessCPU != 0.25 || r.GCCount != 8 || r.GCTimeMs != 89 {
		t.Errorf("resources %+v", r)
	}
	sw, err := tc.Sweep(ctx)
	if err != nil || sw.Delay.Seconds() != 10 || sw.Frequency != 6 || sw.From != "engine" || sw.Every().Seconds() != 60 {
		t.Errorf("sweep %+v (%v): want 10 s from the engine × 6 = 60 s", sw, err)
	}
	mb, err := tc.HeapAfterGC(ctx)
	if err != nil || mb != 20 || f.gcs != 1 {
		t.Errorf("heap after GC %.1f MB (%v), %d gc calls; want 20 MB after one", mb, err, f.gcs)
	}
	if err := tc.SetMaxActiveSessions(ctx, -1); err != nil {
		t.Fatal(err)
	}
	if n, err := tc.MaxActiveSessions(ctx); err != nil || n != -1 {
		t.Errorf("maxActiveSessions after set -1: %d (%v)", n, err)
	}
	if _, err := tc.JMX().Get(ctx, "Catalina:type=Nope", "x"); err == nil || !strings.Contains(err.Error(), "InstanceNotFoundException") {
		t.Errorf("get of a missing bean: %v, want the proxy's error", err)
	}
	if _, err := NewJMX(Config{Kind: KindActuator, URL: c.URL}); err == nil {
		t.Error("an actuator has no JMX proxy: want an error")
	}
}
