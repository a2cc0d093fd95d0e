package kubernetes

import (
	"bytes"
	"errors"
	"io"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"testing"

	"go.yaml.in/yaml/v3"

	"github.com/sessionload/load/profiles"
)

// docs decodes every YAML document of the manifests, by kind/name.
func docs(t *testing.T) map[string]map[string]any {
	t.Helper()
	out := map[string]map[string]any{}
	files, _ := filepath.Glob("*.yaml")
	for _, f := range files {
		b, err := os.ReadFile(f)
		if err != nil {
			t.Fatal(err)
		}
		dec := yaml.NewDecoder(bytes.NewReader(b))
		for {
			var m map[string]any
			err := dec.Decode(&m)
			if errors.Is(err, io.EOF) {
				break
			}
			if err != nil {
				t.Fatalf("%s: %v", f, err)
			}
			kind, _ := m["kind"].(string)
			name, _ := get(m, "metadata", "name").(string)
			want := map[string]string{"ConfigMap": "v1", "Secret": "v1", "PersistentVolumeClaim": "v1", "Job": "batch/v1"}[kind]
			if want == "" || m["apiVersion"] != want || name == "" {
				t.Errorf("%s: kind %q apiVersion %v name %q: want a known kind with its apiVersion and a name", f, kind, m["apiVersion"], name)
			}
			out[kind+"/"+name] = m
		}
	}
	return out
}

// get walks nested maps and lists (list indices as numbers).
func get(v any, path ...string) any {
	for _, p := range path {
		switch x := v.(type) {
		case map[string]any:
			v = x[p]
		case []any:
			i, err := strconv.Atoi(p)
			if err != nil || i >= len(x) {
				return nil
			}
			v = x[i]
		default:
			return nil
		}
	}
	return v
}

func strs(v any) []string {
	var out []string
	for _, x := range v.([]any) {
		out = append(out, x.(string))
	}
	return out
}

// The load Job is Indexed, runs one segment per pod and writes one result
// per index; its volumes exist; the merge Job merges exactly those.
func TestManifests(t *testing.T) {
	t.Parallel()
	d := docs(t)
	job := d["Job/load"]
	if job == nil {
		t.Fatal("no Job named load")
	}
	spec := job["spec"]
	n, _ := get(spec, "completions").(int)
	if get(spec, "completionMode") != "Indexed" || n < 2 || get(spec, "parallelism") != n {
		t.Fatalf("load Job: completionMode %v, completions %v, parallelism %v; want Indexed, n >= 2, n", get(spec, "completionMode"), n, get(spec, "parallelism"))
	}
	pod := get(spec, "template", "spec")
	if get(pod, "restartPolicy") != "Never" || get(pod, "securityContext", "runAsNonRoot") != true {
		t.Error("load Job pods: want restartPolicy Never and runAsNonRoot")
	}
	args := strs(get(pod, "containers", "0", "args"))
	i := slices.Index(args, "--segments")
	if args[0] != "run" || i < 0 || args[i+1] != strconv.Itoa(n) {
		t.Errorf("load Job args %q: want run ... --segments %d", args, n)
	}
	if !slices.Contains(args, "--start-at") || !slices.Contains(args, "/results/seg-$(JOB_COMPLETION_INDEX).json") {
		t.Errorf("load Job args %q: want --start-at and one results file per index", args)
	}
	checkVolumes(t, "load", pod, d)

	merge := d["Job/load-merge"]
	if merge == nil {
		t.Fatal("no Job named load-merge")
	}
	mpod := get(merge, "spec", "template", "spec")
	margs := strs(get(mpod, "initContainers", "0", "args"))
	var segs []string
	for i := range n {
		segs = append(segs, "/results/seg-"+strconv.Itoa(i)+".json")
	}
	if margs[0] != "merge" || !slices.Equal(margs[len(margs)-n:], segs) {
		t.Errorf("merge args %q: want merge ... %q", margs, segs)
	}
	if rargs := strs(get(mpod, "containers", "0", "args")); rargs[0] != "report" || !slices.Contains(rargs, "--thresholds") {
		t.Errorf("merge Job report args %q: want report ... --thresholds", rargs)
	}
	checkVolumes(t, "load-merge", mpod, d)
}

// checkVolumes: every mount names a volume of the pod, and every volume a
// ConfigMap, Secret or claim the manifests define.
func checkVolumes(t *testing.T, job string, pod any, d map[string]map[string]any) {
	t.Helper()
	vols := map[string]bool{}
	for _, v := range get(pod, "volumes").([]any) {
		name, _ := get(v, "name").(string)
		vols[name] = true
		ref := ""
		switch {
		case get(v, "configMap") != nil:
			ref = "ConfigMap/" + get(v, "configMap", "name").(string)
		case get(v, "secret") != nil:
			ref = "Secret/" + get(v, "secret", "secretName").(string)
		case get(v, "persistentVolumeClaim") != nil:
			ref = "PersistentVolumeClaim/" + get(v, "persistentVolumeClaim", "claimName").(string)
		}
		if d[ref] == nil {
			t.Errorf("%s: volume %s refers to %q, which the manifests do not define", job, name, ref)
		}
	}
	for _, key := range []string{"initContainers", "containers"} {
		cs, _ := get(pod, key).([]any)
		for _, c := range cs {
			for _, m := range get(c, "volumeMounts").([]any) {
				if name := get(m, "name").(string); !vols[name] {
					t.Errorf("%s: mount of %s, which is not a volume of the pod", job, name)
				}
			}
		}
	}
}

// The plan in the ConfigMap, with the users of the Secret beside it, is a
// valid plan.
func TestManifestPlanLoads(t *testing.T) {
	t.Parallel()
	d := docs(t)
	dir := t.TempDir()
	plan := get(d["ConfigMap/load-plan"], "data", "plan.yaml").(string)
	users := get(d["Secret/load-users"], "stringData", "users.csv").(string)
	if !strings.HasPrefix(users, "username,password\n") {
		t.Errorf("the Secret's users.csv must start with the header username,password")
	}
	// The example Secret holds a few rows; a real one holds one per VU.
	var csv strings.Builder
	csv.WriteString("username,password\n")
	for i := 1; i <= 4000; i++ {
		csv.WriteString("user" + strconv.Itoa(i) + ",pw\n")
	}
	if err := os.WriteFile(filepath.Join(dir, "users.csv"), []byte(csv.String()), 0o600); err != nil {
		t.Fatal(err)
	}
	p, err := profiles.Parse("plan.yaml", []byte(plan), dir)
	if err != nil {
		t.Fatalf("the ConfigMap's plan: %v", err)
	}
	if p.Load.Open == nil || len(p.Thresholds) == 0 {
		t.Error("the example plan should use the open model and have thresholds")
	}
}

// The image is built in two stages, static, and runs as a non-root user.
func TestDockerfile(t *testing.T) {
	t.Parallel()
	b, err := os.ReadFile("../../Dockerfile")
	if err != nil {
		t.Fatal(err)
	}
	s := string(b)
	if strings.Count(s, "\nFROM ") != 2 || !strings.Contains(s, "CGO_ENABLED=0") || !strings.Contains(s, "COPY --from=build") ||
		!strings.Contains(s, "USER 65532") {
		t.Errorf("Dockerfile: want two stages, CGO_ENABLED=0, a copy from the build stage and USER 65532:\n%s", s)
	}
}
