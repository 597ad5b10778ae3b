package e2e

import (
	"bufio"
	"bytes"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"maps"
	"net/url"
	"os"
	"path"
	"path/filepath"
	"reflect"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"testing"

	"helm.sh/helm/v3/pkg/chart/loader"
	"helm.sh/helm/v3/pkg/chartutil"
	"helm.sh/helm/v3/pkg/engine"
	appsv1 "k8s.io/api/apps/v1"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apimachinery/pkg/runtime/serializer"
	utilyaml "k8s.io/apimachinery/pkg/util/yaml"
	auditinternal "k8s.io/apiserver/pkg/apis/audit"
	"k8s.io/apiserver/pkg/audit"
	"k8s.io/apiserver/pkg/audit/policy"
	"k8s.io/apiserver/pkg/authentication/user"
	"k8s.io/apiserver/pkg/authorization/authorizer"
	"k8s.io/client-go/kubernetes/scheme"
	"k8s.io/client-go/tools/clientcmd"
	clientcmdv1 "k8s.io/client-go/tools/clientcmd/api/v1"
	"sigs.k8s.io/yaml"

	"github.com/peregrine-sec/peregrine/config"
	"github.com/peregrine-sec/peregrine/rules"
	defaultrules "github.com/peregrine-sec/peregrine/rules/default"
	"github.com/peregrine-sec/peregrine/source/k8saudit"
)

// strict decodes the built-in Kubernetes kinds, refusing unknown and
// duplicate fields, as `kubectl apply --validate=strict` does.
var strict = serializer.NewCodecFactory(scheme.Scheme, serializer.EnableStrict).UniversalDeserializer()

// object is one document of a manifest or a rendered template.
type object struct {
	where string // file (and document number)
	obj   runtime.Object
}

// decodeDocs decodes every document of a multi-document YAML stream:
// Kubernetes objects strictly into the k8s.io/api types, a kubeconfig
// into clientcmd's, an audit policy with kube-apiserver's loader, a
// PrometheusRule into its schema. Anything else fails the test, so that
// no manifest escapes checking.
func decodeDocs(t *testing.T, where string, data []byte) []object {
	t.Helper()
	var out []object
	r := utilyaml.NewYAMLReader(bufio.NewReader(bytes.NewReader(data)))
	for i := 1; ; i++ {
		doc, err := r.Read()
		if errors.Is(err, io.EOF) {
			break
		}
		if err != nil {
			t.Fatalf("%s: %v", where, err)
		}
		at := fmt.Sprintf("%s#%d", where, i)
		var tm metav1.TypeMeta
		if err := yaml.Unmarshal(doc, &tm); err != nil {
			t.Errorf("%s: %v", at, err)
			continue
		}
		switch {
		case tm.Kind == "" && tm.APIVersion == "" && isEmptyDoc(doc):
		case tm.Kind == "Policy" && strings.HasPrefix(tm.APIVersion, "audit.k8s.io/"):
			checkAuditPolicy(t, at, doc)
		case tm.Kind == "Config" && tm.APIVersion == "v1":
			var kc clientcmdv1.Config
			if err := yaml.UnmarshalStrict(doc, &kc); err != nil {
				t.Errorf("%s: kubeconfig: %v", at, err)
			} else if _, err := clientcmd.Load(doc); err != nil {
				t.Errorf("%s: kubeconfig: %v", at, err)
			}
		case tm.Kind == "PrometheusRule":
			checkPrometheusRule(t, at, doc)
		default:
			obj, _, err := strict.Decode(doc, nil, nil)
			if err != nil {
				t.Errorf("%s: %v", at, err)
				continue
			}
			out = append(out, object{at, obj})
		}
	}
	return out
}

func isEmptyDoc(doc []byte) bool {
	var v any
	return yaml.Unmarshal(doc, &v) == nil && v == nil
}

// TestManifests decodes every manifest under deploy/ (the Helm chart has
// its own test) and checks each workload against its ConfigMaps and
// Services.
func TestManifests(t *testing.T) {
	n := 0
	err := filepath.WalkDir("../deploy", func(p string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		if d.IsDir() && d.Name() == "helm" {
			return filepath.SkipDir
		}
		if d.IsDir() || (!strings.HasSuffix(p, ".yaml") && !strings.HasSuffix(p, ".yml")) {
			return nil
		}
		data, err := os.ReadFile(p)
		if err != nil {
			return err
		}
		n++
		checkBundle(t, decodeDocs(t, p, data))
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	if n < 4 { // the audit policy, the kubeconfig, webhook.yaml, daemonset.yaml
		t.Errorf("only %d manifests under deploy/", n)
	}
}

// helmCases are value sets the chart must render for: each mode, each TLS
// mode, the options that add objects.
var helmCases = map[string]string{
	"defaults": ``,
	"webhook secret mTLS PVC rules": `
clusterName: prod
webhook:
  tls: {mode: secret, existingSecret: my-tls, pemKey: tls-combined.pem, clientCAKey: ca.crt}
  auth: {existingSecret: my-token, tokenKey: audit-token}
  initConfig: {maxEventSize: 8388608}
persistence: {enabled: true, storageClass: fast}
service: {clusterIP: 10.96.0.97}
rules:
  custom:
    custom-rules.yaml: |
      - list: pg_pod_shell_users
        items: [ci-bot@example.com]
        override: {items: append}
    zz-mine.yaml: |
      - rule: Secret deleted
        desc: A secret was deleted.
        condition: ka.verb = delete and ka.target.resource = secrets
        output: Secret deleted (user=%ka.user.name secret=%ka.target.name ns=%ka.target.namespace)
        priority: NOTICE
        source: k8s_audit
config:
  stdout_output: {enabled: false}
  http_output: {enabled: true, url: "http://falcosidekick.falcosidekick.svc:2801/"}
  peregrine: {overflow: drop}
prometheusRule: {enabled: true, labels: {release: kube-prometheus-stack}}
extraEnv:
  - {name: TZ, value: UTC}
`,
	"webhook plain HTTP": `
webhook: {tls: {mode: disabled}, auth: {enabled: false}}
`,
	"daemonset": `
mode: daemonset
clusterName: prod
resources: {requests: {cpu: 50m, memory: 64Mi}, limits: {memory: 256Mi}}
`,
}

// TestHelmChart renders deploy/helm/peregrine with Helm's own engine (as
// `helm template`, with missing values an error as in `helm lint
// --strict`) for each of helmCases, and checks the result as the plain
// manifests are checked.
func TestHelmChart(t *testing.T) {
	ch, err := loader.Load("../deploy/helm/peregrine")
	if err != nil {
		t.Fatal(err)
	}
	if err := ch.Validate(); err != nil {
		t.Fatal(err)
	}
	for name, values := range helmCases {
		t.Run(name, func(t *testing.T) {
			vals, err := chartutil.ReadValues([]byte(values))
			if err != nil {
				t.Fatal(err)
			}
			opts := chartutil.ReleaseOptions{Name: "peregrine", Namespace: "security", Revision: 1, IsInstall: true}
			top, err := chartutil.ToRenderValues(ch, vals, opts, chartutil.DefaultCapabilities)
			if err != nil {
				t.Fatal(err)
			}
			out, err := engine.Engine{Strict: true}.Render(ch, top)
			if err != nil {
				t.Fatal(err)
			}
			var objs []object
			for _, file := range slices.Sorted(maps.Keys(out)) {
				if strings.HasSuffix(file, ".yaml") {
					objs = append(objs, decodeDocs(t, file, []byte(out[file]))...)
				}
			}
			kinds := map[string]int{}
			for _, o := range objs {
				kinds[o.obj.GetObjectKind().GroupVersionKind().Kind]++
			}
			want := map[string]int{"ServiceAccount": 1, "ConfigMap": 1, "Service": 1}
			switch name {
			case "defaults":
				want["Deployment"], want["Secret"] = 1, 2
			case "webhook secret mTLS PVC rules":
				want["Deployment"], want["PersistentVolumeClaim"], want["ConfigMap"] = 1, 1, 2
			case "webhook plain HTTP":
				want["Deployment"] = 1
			case "daemonset":
				want["DaemonSet"] = 1
			}
			if !reflect.DeepEqual(kinds, want) {
				t.Errorf("rendered %v, want %v", kinds, want)
			}
			checkBundle(t, objs)
			if !strings.Contains(out["peregrine/templates/NOTES.txt"], "kube-apiserver") {
				t.Errorf("NOTES.txt:\n%s", out["peregrine/templates/NOTES.txt"])
			}
		})
	}
}

// checkBundle checks each Deployment and DaemonSet of a manifest against
// the objects beside it: its falco.yaml (found through the container's -c
// and its volumes) loads with Peregrine's own loader without a warning;
// every file the configuration names is provided by a volume (TLS from a
// Secret item, rules from a ConfigMap item, state_dir on a writable
// volume, the followed log on a hostPath); the rules load over the
// defaults; ${VARS} are set by the container; the ports match; and the
// Services select the pods and name their ports.
func checkBundle(t *testing.T, objs []object) {
	t.Helper()
	configMaps := map[string]*corev1.ConfigMap{}
	for _, o := range objs {
		if cm, ok := o.obj.(*corev1.ConfigMap); ok {
			configMaps[cm.Name] = cm
		}
	}
	var pods []podOf
	for _, o := range objs {
		switch w := o.obj.(type) {
		case *appsv1.Deployment:
			pods = append(pods, podOf{o.where, w.Spec.Template})
		case *appsv1.DaemonSet:
			pods = append(pods, podOf{o.where, w.Spec.Template})
		}
	}
	for _, p := range pods {
		checkPod(t, p, configMaps)
	}
	for _, o := range objs {
		if svc, ok := o.obj.(*corev1.Service); ok {
			checkService(t, o.where, svc, pods)
		}
	}
}

type podOf struct {
	where string
	tpl   corev1.PodTemplateSpec
}

var envRef = regexp.MustCompile(`\$\{(\w+)\}`)

func checkPod(t *testing.T, p podOf, configMaps map[string]*corev1.ConfigMap) {
	t.Helper()
	spec := &p.tpl.Spec
	var c *corev1.Container
	for i := range spec.Containers {
		if spec.Containers[i].Name == "peregrine" {
			c = &spec.Containers[i]
		}
	}
	if c == nil {
		t.Errorf("%s: no container named peregrine", p.where)
		return
	}
	at := func(format string, args ...any) { t.Errorf(p.where+": "+format, args...) }
	i := slices.Index(c.Args, "-c")
	if len(c.Args) < 1 || c.Args[0] != "run" || i < 0 || i+1 >= len(c.Args) {
		at("args %q: want run -c FILE", c.Args)
		return
	}
	falcoYAML, ok := fileIn(t, spec, c, c.Args[i+1], configMaps, p.where)
	if !ok {
		return
	}
	for _, m := range envRef.FindAllStringSubmatch(falcoYAML, -1) {
		if !slices.ContainsFunc(c.Env, func(e corev1.EnvVar) bool { return e.Name == m[1] }) {
			at("falco.yaml uses ${%s}, which the container does not set", m[1])
		}
		t.Setenv(m[1], "e2e-value")
	}
	cfgPath := filepath.Join(t.TempDir(), "falco.yaml")
	os.WriteFile(cfgPath, []byte(falcoYAML), 0o600)
	cfg, err := config.Load(cfgPath, nil)
	if err != nil {
		at("falco.yaml: %v", err)
		return
	}
	for _, w := range cfg.Warnings {
		at("falco.yaml: %s", w)
	}
	ports := map[string]int32{}
	for _, port := range c.Ports {
		ports[port.Name] = port.ContainerPort
	}
	if ports["metrics"] != int32(cfg.Daemon.Webserver.ListenPort) {
		at("containerPort metrics %d, webserver.listen_port %d", ports["metrics"], cfg.Daemon.Webserver.ListenPort)
	}
	for _, probe := range []*corev1.Probe{c.StartupProbe, c.ReadinessProbe, c.LivenessProbe} {
		if probe == nil {
			at("a probe is missing")
			continue
		}
		port := probe.TCPSocket
		if probe.HTTPGet != nil {
			port = &corev1.TCPSocketAction{Port: probe.HTTPGet.Port}
			if probe.HTTPGet.Path != cfg.Daemon.Webserver.HealthzEndpoint {
				at("probe path %s, k8s_healthz_endpoint %s", probe.HTTPGet.Path, cfg.Daemon.Webserver.HealthzEndpoint)
			}
		}
		if port == nil || ports[port.Port.StrVal] == 0 {
			at("probe port %v is no container port", port)
		}
	}
	if cfg.Daemon.Peregrine.StateDir == "" {
		at("no peregrine.state_dir")
	} else if m := mountOf(c, cfg.Daemon.Peregrine.StateDir); m == nil || m.ReadOnly {
		at("state_dir %s is on no writable volume", cfg.Daemon.Peregrine.StateDir)
	}
	for _, pl := range cfg.Plugins {
		init, err := pl.InitMap()
		if err != nil {
			at("plugin %s: %v", pl.Name, err)
			continue
		}
		kc, err := k8saudit.ParseConfig(init)
		if err != nil {
			at("plugin %s: %v", pl.Name, err)
			continue
		}
		u, err := url.Parse(pl.OpenParams)
		if err != nil {
			at("open_params: %v", err)
			continue
		}
		switch u.Scheme {
		case "https", "http":
			if port, _ := strconv.Atoi(u.Port()); int32(port) != ports["webhook"] {
				at("open_params port %s, containerPort webhook %d", u.Port(), ports["webhook"])
			}
			if u.Scheme == "https" {
				fileIn(t, spec, c, kc.SSLCertificate, configMaps, p.where)
			}
			if kc.ClientCA != "" {
				fileIn(t, spec, c, kc.ClientCA, configMaps, p.where)
			}
		case "file":
			m := mountOf(c, u.Path)
			if m == nil || volumeOf(spec, m.Name).HostPath == nil || m.MountPath != path.Dir(u.Path) {
				at("the followed log %s: mount its directory from the host", u.Path)
			}
		default:
			at("open_params %s", pl.OpenParams)
		}
	}
	srcs := defaultrules.Sources()
	for _, f := range cfg.RulesFiles {
		if f == "<default>" {
			continue
		}
		data, ok := fileIn(t, spec, c, f, configMaps, p.where)
		if !ok {
			continue
		}
		srcs = append(srcs, rules.Source{Name: f, Data: []byte(data)})
	}
	if _, rep := rules.Load(srcs, rules.Options{}); rep.Err() != nil {
		at("rules: %v", rep.Err())
	}
}

// mountOf is the container's mount holding p.
func mountOf(c *corev1.Container, p string) *corev1.VolumeMount {
	var best *corev1.VolumeMount
	for i, m := range c.VolumeMounts {
		if (p == m.MountPath || strings.HasPrefix(p, strings.TrimSuffix(m.MountPath, "/")+"/")) &&
			(best == nil || len(m.MountPath) > len(best.MountPath)) {
			best = &c.VolumeMounts[i]
		}
	}
	return best
}

func volumeOf(spec *corev1.PodSpec, name string) *corev1.Volume {
	for i := range spec.Volumes {
		if spec.Volumes[i].Name == name {
			return &spec.Volumes[i]
		}
	}
	return &corev1.Volume{}
}

// fileIn finds the file p of the container in a ConfigMap or Secret item
// of its volumes; it returns a ConfigMap's content.
func fileIn(t *testing.T, spec *corev1.PodSpec, c *corev1.Container, p string, configMaps map[string]*corev1.ConfigMap, where string) (string, bool) {
	t.Helper()
	m := mountOf(c, p)
	if m == nil {
		t.Errorf("%s: %s is on no volume", where, p)
		return "", false
	}
	rel := strings.TrimPrefix(strings.TrimPrefix(p, m.MountPath), "/")
	v := volumeOf(spec, m.Name)
	var sources []corev1.VolumeProjection
	switch {
	case v.Projected != nil:
		sources = v.Projected.Sources
	case v.ConfigMap != nil:
		sources = []corev1.VolumeProjection{{ConfigMap: &corev1.ConfigMapProjection{
			LocalObjectReference: v.ConfigMap.LocalObjectReference, Items: v.ConfigMap.Items}}}
	case v.Secret != nil:
		sources = []corev1.VolumeProjection{{Secret: &corev1.SecretProjection{
			LocalObjectReference: corev1.LocalObjectReference{Name: v.Secret.SecretName}, Items: v.Secret.Items}}}
	}
	key := func(items []corev1.KeyToPath) (string, bool) {
		for _, it := range items {
			if it.Path == rel {
				return it.Key, true
			}
		}
		return rel, len(items) == 0
	}
	for _, s := range sources {
		switch {
		case s.ConfigMap != nil:
			k, ok := key(s.ConfigMap.Items)
			if !ok {
				continue
			}
			cm := configMaps[s.ConfigMap.Name]
			if cm == nil {
				t.Errorf("%s: ConfigMap %s is not in the manifest", where, s.ConfigMap.Name)
				return "", false
			}
			if data, ok := cm.Data[k]; ok {
				return data, true
			}
		case s.Secret != nil:
			if _, ok := key(s.Secret.Items); ok {
				return "", true // its content is the user's
			}
		}
	}
	t.Errorf("%s: %s: no item of volume %s provides it", where, p, m.Name)
	return "", false
}

func checkService(t *testing.T, where string, svc *corev1.Service, pods []podOf) {
	t.Helper()
	for _, p := range pods {
		if !selects(svc.Spec.Selector, p.tpl.Labels) {
			continue
		}
		for _, port := range svc.Spec.Ports {
			if !slices.ContainsFunc(p.tpl.Spec.Containers[0].Ports, func(cp corev1.ContainerPort) bool {
				return cp.Name == port.TargetPort.StrVal
			}) {
				t.Errorf("%s: Service port %s targets %q, which %s does not name", where, port.Name, port.TargetPort.String(), p.where)
			}
		}
		return
	}
	t.Errorf("%s: Service %s selects no pod of the manifest", where, svc.Name)
}

func selects(selector, labels map[string]string) bool {
	for k, v := range selector {
		if labels[k] != v {
			return false
		}
	}
	return len(selector) > 0
}

// promRules is the part of prometheus-operator's PrometheusRule the chart
// fills, and the format of docs/prometheus-rules.yaml (Prometheus's
// rule_files).
type promRules struct {
	Groups []struct {
		Name     string `json:"name"`
		Interval string `json:"interval,omitempty"`
		Rules    []struct {
			Alert       string            `json:"alert,omitempty"`
			Record      string            `json:"record,omitempty"`
			Expr        string            `json:"expr"`
			For         string            `json:"for,omitempty"`
			Labels      map[string]string `json:"labels,omitempty"`
			Annotations map[string]string `json:"annotations,omitempty"`
		} `json:"rules"`
	} `json:"groups"`
}

// checkPrometheusRule decodes a PrometheusRule strictly and requires its
// spec to be docs/prometheus-rules.yaml.
func checkPrometheusRule(t *testing.T, where string, doc []byte) {
	t.Helper()
	var pr struct {
		metav1.TypeMeta `json:",inline"`
		Metadata        metav1.ObjectMeta `json:"metadata"`
		Spec            promRules         `json:"spec"`
	}
	if err := yaml.UnmarshalStrict(doc, &pr); err != nil {
		t.Errorf("%s: %v", where, err)
		return
	}
	if pr.APIVersion != "monitoring.coreos.com/v1" || pr.Metadata.Name == "" {
		t.Errorf("%s: %s %q", where, pr.APIVersion, pr.Metadata.Name)
	}
	ref, err := os.ReadFile("../docs/prometheus-rules.yaml")
	if err != nil {
		t.Fatal(err)
	}
	var want promRules
	if err := yaml.UnmarshalStrict(ref, &want); err != nil {
		t.Fatalf("docs/prometheus-rules.yaml: %v", err)
	}
	if len(want.Groups) == 0 || !reflect.DeepEqual(pr.Spec, want) {
		t.Errorf("%s: the rules differ from docs/prometheus-rules.yaml (copy it to deploy/helm/peregrine/files/)", where)
	}
}

// checkAuditPolicy loads an audit policy as kube-apiserver does
// (--audit-policy-file), strictly (the loader itself falls back to a
// lenient decoding with only a log line), and checks that it records
// the requests the e2e events stand for at least at their level.
func checkAuditPolicy(t *testing.T, where string, doc []byte) {
	t.Helper()
	strictPolicy := serializer.NewCodecFactory(audit.Scheme, serializer.EnableStrict).UniversalDecoder()
	if _, _, err := strictPolicy.Decode(doc, nil, &auditinternal.Policy{}); err != nil {
		t.Errorf("%s: %v", where, err)
	}
	p, err := policy.LoadPolicyFromBytes(doc)
	if err != nil {
		t.Errorf("%s: %v", where, err)
		return
	}
	eval := policy.NewPolicyRuleEvaluator(p)
	jane := &user.DefaultInfo{Name: "jane@example.com", Groups: []string{"developers", "system:authenticated"}}
	for _, ev := range events(t, 4) {
		ref := ev.ObjectRef
		attrs := authorizer.AttributesRecord{
			User: jane, Verb: ev.Verb, Namespace: ref.Namespace, APIGroup: ref.APIGroup,
			APIVersion: ref.APIVersion, Resource: ref.Resource, Subresource: ref.Subresource,
			Name: ref.Name, ResourceRequest: true, Path: ev.RequestURI,
		}
		cfg := eval.EvaluatePolicyRule(attrs)
		if cfg.Level.Less(ev.Level) || slices.Contains(cfg.OmitStages, ev.Stage) {
			t.Errorf("%s: %s %s/%s is recorded at level %s without stages %v; the rules need %s at %s",
				where, ev.Verb, ref.Resource, ref.Subresource, cfg.Level, cfg.OmitStages, ev.Level, ev.Stage)
		}
	}
}

// TestAuditPolicy: deploy/audit-policy.yaml (tuned by the default-rules
// work) loads with kube-apiserver's policy loader.
func TestAuditPolicy(t *testing.T) {
	doc, err := os.ReadFile("../deploy/audit-policy.yaml")
	if err != nil {
		t.Fatal(err)
	}
	checkAuditPolicy(t, "deploy/audit-policy.yaml", doc)
}

// TestDockerfile checks what deploy/Dockerfile assumes about the
// repository (it is not built here: no registry is reachable): the Go
// version of go.mod, the package it builds, a static build, a non-root
// user.
func TestDockerfile(t *testing.T) {
	df, err := os.ReadFile("../deploy/Dockerfile")
	if err != nil {
		t.Fatal(err)
	}
	gomod, err := os.ReadFile("../go.mod")
	if err != nil {
		t.Fatal(err)
	}
	goVersion := regexp.MustCompile(`(?m)^go (\S+)`).FindSubmatch(gomod)
	if goVersion == nil {
		t.Fatal("no go directive in go.mod")
	}
	for _, want := range []string{
		"ARG GO_VERSION=" + string(goVersion[1]) + "\n",
		"CGO_ENABLED=0",
		"./cmd/peregrine\n",
		"FROM gcr.io/distroless/static",
		"USER 65532:65532\n",
		`ENTRYPOINT ["/usr/bin/peregrine"]`,
	} {
		if !bytes.Contains(df, []byte(want)) {
			t.Errorf("deploy/Dockerfile has no %q", want)
		}
	}
	if _, err := os.Stat("../cmd/peregrine/main.go"); err != nil {
		t.Error(err)
	}
}
