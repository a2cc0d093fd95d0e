package kubernetes

import (
	"encoding/csv"
	"maps"
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"testing"

	batchv1 "k8s.io/api/batch/v1"
	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/util/validation"
	"sigs.k8s.io/yaml"

	"github.com/sessionload/load/profiles"
)

// manifests are the typed objects of the rendered manifests.
type manifests struct {
	jobs       map[string]*batchv1.Job
	configMaps map[string]*corev1.ConfigMap
	secrets    map[string]*corev1.Secret
	claims     map[string]*corev1.PersistentVolumeClaim
	pods       map[string]*corev1.Pod
}

// render substitutes the placeholders the README's sed substitutes, as a
// pipeline would for one run.
func render(text, run, startAt string) string {
	return strings.NewReplacer("__RUN__", run, "__START_AT__", startAt).Replace(text)
}

// decode decodes every document of the manifests, rendered for run,
// strictly into the Kubernetes API types: an unknown or misspelt field, a
// wrong type or a duplicate key fails.
func decode(t *testing.T, run string) manifests {
	t.Helper()
	m := manifests{jobs: map[string]*batchv1.Job{}, configMaps: map[string]*corev1.ConfigMap{},
		secrets: map[string]*corev1.Secret{}, claims: map[string]*corev1.PersistentVolumeClaim{}, pods: map[string]*corev1.Pod{}}
	files, _ := filepath.Glob("*.yaml")
	if len(files) == 0 {
		t.Fatal("no manifests")
	}
	for _, f := range files {
		b, err := os.ReadFile(f)
		if err != nil {
			t.Fatal(err)
		}
		text := render(string(b), run, "2026-12-02T23:00:00Z")
		if strings.Contains(text, "__") {
			t.Errorf("%s: a placeholder the README does not substitute is left", f)
		}
		for i, doc := range regexp.MustCompile(`(?m)^---$`).Split(text, -1) {
			var meta struct {
				APIVersion string `json:"apiVersion"`
				Kind       string `json:"kind"`
			}
			if err := yaml.Unmarshal([]byte(doc), &meta); err != nil {
				t.Fatalf("%s doc %d: %v", f, i, err)
			}
			var obj any
			var name *string
			var keep func()
			switch meta.APIVersion + " " + meta.Kind {
			case "batch/v1 Job":
				j := &batchv1.Job{}
				obj, name, keep = j, &j.Name, func() { m.jobs[j.Name] = j }
			case "v1 ConfigMap":
				c := &corev1.ConfigMap{}
				obj, name, keep = c, &c.Name, func() { m.configMaps[c.Name] = c }
			case "v1 Secret":
				s := &corev1.Secret{}
				obj, name, keep = s, &s.Name, func() { m.secrets[s.Name] = s }
			case "v1 PersistentVolumeClaim":
				c := &corev1.PersistentVolumeClaim{}
				obj, name, keep = c, &c.Name, func() { m.claims[c.Name] = c }
			case "v1 Pod":
				p := &corev1.Pod{}
				obj, name, keep = p, &p.Name, func() { m.pods[p.Name] = p }
			default:
				t.Fatalf("%s doc %d: apiVersion %q kind %q: not a kind these manifests use", f, i, meta.APIVersion, meta.Kind)
			}
			if err := yaml.UnmarshalStrict([]byte(doc), obj); err != nil {
				t.Fatalf("%s doc %d (%s): %v", f, i, meta.Kind, err)
			}
			keep()
			if errs := validation.IsDNS1123Subdomain(*name); len(errs) > 0 {
				t.Errorf("%s doc %d: name %q: %v", f, i, *name, errs)
			}
		}
	}
	return m
}

// podChecks: the pod runs as uid 65532 with that fsGroup, so it can write
// the results volume; every image is versioned and pulled only when
// missing; every mount names a volume defined by the manifests.
func podChecks(t *testing.T, job string, pod *corev1.PodSpec, m manifests) {
	t.Helper()
	sc := pod.SecurityContext
	if sc == nil || sc.RunAsUser == nil || *sc.RunAsUser != 65532 || sc.FSGroup == nil || *sc.FSGroup != 65532 ||
		sc.RunAsNonRoot == nil || !*sc.RunAsNonRoot {
		t.Errorf("%s: securityContext %+v: want runAsNonRoot, runAsUser and fsGroup 65532", job, sc)
	}
	if pod.RestartPolicy != corev1.RestartPolicyNever {
		t.Errorf("%s: restartPolicy %q, want Never", job, pod.RestartPolicy)
	}
	vols := map[string]bool{}
	for _, v := range pod.Volumes {
		vols[v.Name] = true
		switch {
		case v.ConfigMap != nil && m.configMaps[v.ConfigMap.Name] != nil,
			v.Secret != nil && m.secrets[v.Secret.SecretName] != nil,
			v.PersistentVolumeClaim != nil && m.claims[v.PersistentVolumeClaim.ClaimName] != nil:
		default:
			t.Errorf("%s: volume %s refers to nothing the manifests define", job, v.Name)
		}
	}
	for _, c := range slices.Concat(pod.InitContainers, pod.Containers) {
		name, tag, ok := strings.Cut(c.Image[strings.LastIndex(c.Image, "/")+1:], ":")
		if !ok || tag == "" || tag == "latest" || !regexp.MustCompile(`^v?\d+\.\d+(\.\d+)?$`).MatchString(tag) {
			t.Errorf("%s: container %s image %q (%s): want a versioned tag", job, c.Name, c.Image, name)
		}
		if c.ImagePullPolicy != corev1.PullIfNotPresent {
			t.Errorf("%s: container %s imagePullPolicy %q, want IfNotPresent", job, c.Name, c.ImagePullPolicy)
		}
		for _, vm := range c.VolumeMounts {
			if !vols[vm.Name] {
				t.Errorf("%s: container %s mounts %s, which is not a volume of the pod", job, c.Name, vm.Name)
			}
			if vm.Name == "results" && vm.SubPathExpr != "$(RUN)" {
				t.Errorf("%s: container %s mounts the results at %q, not in the run's own folder (subPathExpr $(RUN))", job, c.Name, vm.SubPathExpr)
			}
		}
		if slices.ContainsFunc(c.VolumeMounts, func(vm corev1.VolumeMount) bool { return vm.Name == "results" }) &&
			!slices.ContainsFunc(c.Env, func(e corev1.EnvVar) bool { return e.Name == "RUN" && e.Value == "20261202-2300" }) {
			t.Errorf("%s: container %s has no RUN for its results folder", job, c.Name)
		}
	}
}

// Rendered for a run, the load Job is an Indexed Job of run-scoped name
// that writes one result per index into the run's folder and is deleted a
// while after it finished; the merge Job of the same run waits for
// exactly those segments, merges them and judges the plan's thresholds on
// the whole.
func TestManifests(t *testing.T) {
	t.Parallel()
	const run = "20261202-2300"
	m := decode(t, run)
	job := m.jobs["load-"+run]
	merge := m.jobs["load-merge-"+run]
	if job == nil || merge == nil || len(m.jobs) != 2 {
		t.Fatalf("jobs %v: want load-%s and load-merge-%[2]s", slices.Sorted(maps.Keys(m.jobs)), run)
	}
	for _, j := range []*batchv1.Job{job, merge} {
		if j.Spec.TTLSecondsAfterFinished == nil || *j.Spec.TTLSecondsAfterFinished <= 0 {
			t.Errorf("%s: no ttlSecondsAfterFinished: the next run's names would clash", j.Name)
		}
		if j.Labels["load.sessionload.dev/run"] != run {
			t.Errorf("%s: labels %v: want the run", j.Name, j.Labels)
		}
	}
	spec := job.Spec
	if spec.CompletionMode == nil || *spec.CompletionMode != batchv1.IndexedCompletion || spec.Completions == nil || *spec.Completions < 2 ||
		spec.Parallelism == nil || *spec.Parallelism != *spec.Completions {
		t.Fatalf("load Job: want Indexed with completions == parallelism >= 2")
	}
	n := int(*spec.Completions)
	podChecks(t, job.Name, &spec.Template.Spec, m)
	if len(spec.Template.Spec.Containers) != 1 {
		t.Fatalf("load Job: %d containers", len(spec.Template.Spec.Containers))
	}
	args := spec.Template.Spec.Containers[0].Args
	i := slices.Index(args, "--segments")
	if args[0] != "run" || i < 0 || args[i+1] != strconv.Itoa(n) || !slices.Contains(args, "--start-at") ||
		!slices.Contains(args, "/results/seg-$(JOB_COMPLETION_INDEX).json") {
		t.Errorf("load Job args %q: want run ... --segments %d --start-at ... --out /results/seg-$(JOB_COMPLETION_INDEX).json", args, n)
	}

	mspec := merge.Spec.Template.Spec
	podChecks(t, merge.Name, &mspec, m)
	if merge.Spec.ActiveDeadlineSeconds == nil {
		t.Errorf("merge Job: no activeDeadlineSeconds: a segment that never wrote its result would keep it waiting forever")
	}
	var segs []string
	for i := range n {
		segs = append(segs, "/results/seg-"+strconv.Itoa(i)+".json")
	}
	steps := slices.Concat(mspec.InitContainers, mspec.Containers)
	if len(steps) != 3 || len(mspec.Containers) != 1 {
		t.Fatalf("merge Job: %d steps, want wait, merge (init) and thresholds", len(steps))
	}
	// Wait: for every segment's file, and no other.
	wait := strings.Join(append(steps[0].Command, steps[0].Args...), " ")
	if !slices.ContainsFunc(steps[0].Env, func(e corev1.EnvVar) bool { return e.Name == "SEGMENTS" && e.Value == strconv.Itoa(n) }) ||
		!strings.Contains(wait, "/results/seg-$i.json") {
		t.Errorf("merge Job wait step %q (env %v): want it to wait for seg-0..%d", wait, steps[0].Env, n-1)
	}
	if margs := steps[1].Args; margs[0] != "merge" || !slices.Equal(margs[len(margs)-n:], segs) || !slices.Contains(margs, "/results/total.json") {
		t.Errorf("merge args %q: want merge -o /results/total.json %q", margs, segs)
	}
	// The thresholds are judged on the whole, and the report written
	// whatever the verdict.
	rargs := steps[2].Args
	if rargs[0] != "report" || rargs[1] != "/results/total.json" || !hasFlag(rargs, "--thresholds", "/plan/plan.yaml") ||
		!hasFlag(rargs, "--html", "/results/total.html") {
		t.Errorf("merge Job thresholds step %q: want report /results/total.json --thresholds /plan/plan.yaml --html /results/total.html", rargs)
	}
	if !slices.ContainsFunc(steps[2].VolumeMounts, func(vm corev1.VolumeMount) bool { return vm.MountPath == "/plan/plan.yaml" }) {
		t.Errorf("merge Job thresholds step: the plan is not mounted")
	}

	// The pod that copies the results off the volume sees the same folder.
	if pod := m.pods["load-results-"+run]; pod == nil {
		t.Errorf("no pod load-results-%s", run)
	} else {
		podChecks(t, pod.Name, &pod.Spec, m)
	}

	claim := m.claims["load-results"]
	if claim == nil || !slices.Contains(claim.Spec.AccessModes, corev1.ReadWriteMany) || claim.Spec.StorageClassName == nil || *claim.Spec.StorageClassName == "" {
		t.Errorf("results claim: want ReadWriteMany with a storage class")
	}
}

func hasFlag(args []string, flag, value string) bool {
	i := slices.Index(args, flag)
	return i >= 0 && i+1 < len(args) && args[i+1] == value
}

// Two runs render to different names, so the second applies beside the
// first.
func TestManifestsRunScoped(t *testing.T) {
	t.Parallel()
	a, b := decode(t, "20261202-2300"), decode(t, "20261203-2300")
	for name := range a.jobs {
		if b.jobs[name] != nil {
			t.Errorf("job %s is in both runs", name)
		}
	}
}

// The plan in the ConfigMap, with the users of the Secret beside it, is a
// valid plan, and the Secret has a user for every VU it may start.
func TestManifestPlanLoads(t *testing.T) {
	t.Parallel()
	m := decode(t, "20261202-2300")
	dir := t.TempDir()
	cm, sec := m.configMaps["load-plan"], m.secrets["load-users"]
	if cm == nil || sec == nil {
		t.Fatal("want ConfigMap load-plan and Secret load-users")
	}
	users := sec.StringData["users.csv"]
	rows, err := csv.NewReader(strings.NewReader(users)).ReadAll()
	if err != nil || len(rows) < 2 || !slices.Equal(rows[0], []string{"username", "password"}) {
		t.Fatalf("the Secret's users.csv: %v (%d rows); want the header username,password and users", err, len(rows))
	}
	if err := os.WriteFile(filepath.Join(dir, "users.csv"), []byte(users), 0o600); err != nil {
		t.Fatal(err)
	}
	p, err := profiles.Parse("plan.yaml", []byte(cm.Data["plan.yaml"]), dir)
	if err != nil {
		t.Fatalf("the ConfigMap's plan: %v", err)
	}
	if p.Load.Open == nil || len(p.Thresholds) == 0 {
		t.Error("the example plan should use the open model and have thresholds")
	}
	if vus := p.Load.MaxVUs(); len(rows)-1 < vus {
		t.Errorf("the Secret has %d users for a plan of up to %d VUs: every pod would exit 2", len(rows)-1, vus)
	}
	seen := map[string]bool{}
	for _, r := range rows[1:] {
		if seen[r[0]] {
			t.Errorf("user %s twice", r[0])
		}
		seen[r[0]] = true
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
