package report

import (
	"strings"
	"testing"

	"github.com/sessionload/load/stats"
)

// The capacity report charts each step count's last run, draws the heap
// fit, and escapes what it shows.
func TestWriteCapacityHTML(t *testing.T) {
	t.Parallel()
	c := &stats.Capacity{
		Knee: 200, KneeWhy: "the highest step that passed twice", Binding: "heap after GC", BindingWhy: []string{"step 300 broke: <heap>"},
		Steps: []stats.CapacityStep{
			{Sessions: 100, Phase: "step", P95: 10, P99: 20, OK: true, BusyThreads: 3, MaxThreads: 200, Connections: 10, MaxConnections: 8192},
			{Sessions: 200, Phase: "step", P95: 12, P99: 25, OK: true, BusyThreads: 5, MaxThreads: 200, Connections: 12, MaxConnections: 8192},
			{Sessions: 300, Phase: "step", P95: 90, P99: 200, Signal: "heap after GC", Why: "heap 230 MB", BusyThreads: 7, MaxThreads: 200, Connections: 20, MaxConnections: 8192},
			{Sessions: 200, Phase: "confirm", P95: 11, P99: 22, OK: true, BusyThreads: 5, MaxThreads: 200, Connections: 12, MaxConnections: 8192},
		},
		HeapPerSession: &stats.HeapFit{SlopeKB: 51.2, LowKB: 50, HighKB: 52, Confidence: 0.95, InterceptMB: 0.1, Points: [][2]float64{{100, 5}, {200, 10}, {300, 15}}, Formula: "slope = …"},
		Recommendation: []stats.Figure{{Name: "maxActiveSessions", Value: 160, Unit: "sessions", Formula: "⌊200 × (1 − 0.20)⌋ = 160"}},
	}
	var b strings.Builder
	if err := WriteCapacityHTML(&b, "shop <prod>", c); err != nil {
		t.Fatal(err)
	}
	h := b.String()
	for _, want := range []string{"Capacity search: shop &lt;prod&gt;", "step 300 broke: &lt;heap&gt;", `id="capacity-latency"`, `id="capacity-heap"`,
		`data-points="3"`, "⌊200 × (1 − 0.20)⌋ = 160", `class="broke"`, "51.2 KB per session"} {
		if !strings.Contains(h, want) {
			t.Errorf("report lacks %q", want)
		}
	}
	if strings.Contains(h, "<prod>") || strings.Contains(h, "<heap>") {
		t.Error("unescaped text in the report")
	}
}
