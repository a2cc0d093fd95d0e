package profiles

import "fmt"

// openFilesReserve is what the generator holds besides its connections:
// the runtime's own descriptors, outputs, the Prometheus listener, the
// server poller, DNS, a few spare.
const openFilesReserve = 64

// OpenFiles estimates the file descriptors seg's share of p may hold at
// once: one connection per VU that can have a request in flight (at most
// http.max_conns_per_host when it is set), plus a reserve for the process.
func (p *Plan) OpenFiles(seg Segment) int {
	conns := int(seg.Share(int64(p.MaxVUs())))
	if m := p.Pool.MaxConnsPerHost; m > 0 {
		conns = min(conns, m)
	}
	return conns + openFilesReserve
}

// CheckOpenFiles compares p's estimate (OpenFiles) with the process's
// open-file limit (see OpenFileLimit; 0: unknown) and returns a warning
// when the run can exceed it, else "". A run over the limit fails its
// dials with too_many_open_files.
func CheckOpenFiles(p *Plan, seg Segment, limit uint64) string {
	need := p.OpenFiles(seg)
	if limit == 0 || uint64(need) <= limit {
		return ""
	}
	conns := "http.max_conns_per_host unset"
	if m := p.Pool.MaxConnsPerHost; m > 0 {
		conns = fmt.Sprintf("http.max_conns_per_host %d", m)
	}
	return fmt.Sprintf("up to %d VUs (%s) may hold about %d open files, over the open-file limit of %d (ulimit -n): "+
		"connections beyond it fail as too_many_open_files; raise the limit (ulimit -n %d; LimitNOFILE= in a systemd unit; "+
		"--ulimit nofile= for docker) or cap http.max_conns_per_host",
		seg.Share(int64(p.MaxVUs())), conns, need, limit, max(need*2, 65536))
}
