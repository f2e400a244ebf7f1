package deploy

import (
	"bufio"
	"errors"
	"fmt"
	"io"
	"maps"
	"path"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"testing"

	appsv1 "k8s.io/api/apps/v1"
	corev1 "k8s.io/api/core/v1"
	policyv1 "k8s.io/api/policy/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/labels"
	"k8s.io/apimachinery/pkg/util/intstr"
	"k8s.io/apimachinery/pkg/util/validation"
	k8syaml "k8s.io/apimachinery/pkg/util/yaml"
	"sigs.k8s.io/yaml"
)

// kinds are the API types the chart may render; each rendered object is
// decoded strictly (unknown or misspelt fields, wrong types and duplicate
// keys fail) into the type its apiVersion and kind name. A kind missing
// here fails the test: add it with its type.
var kinds = map[string]func() metav1.Object{
	"v1/ConfigMap":                  func() metav1.Object { return &corev1.ConfigMap{} },
	"v1/Secret":                     func() metav1.Object { return &corev1.Secret{} },
	"v1/Service":                    func() metav1.Object { return &corev1.Service{} },
	"apps/v1/Deployment":            func() metav1.Object { return &appsv1.Deployment{} },
	"apps/v1/StatefulSet":           func() metav1.Object { return &appsv1.StatefulSet{} },
	"policy/v1/PodDisruptionBudget": func() metav1.Object { return &policyv1.PodDisruptionBudget{} },
}

// object is one rendered manifest.
type object struct {
	kind   string // apiVersion/kind
	source string // the template it came from
	obj    metav1.Object
}

func (o *object) String() string { return fmt.Sprintf("%s %s (%s)", o.kind, o.obj.GetName(), o.source) }

// objects is a rendered release.
type objects struct {
	all []*object
}

func (all *objects) get(kind, name string) *object {
	for _, o := range all.all {
		if o.kind == kind && o.obj.GetName() == name {
			return o
		}
	}
	return nil
}

func (all *objects) of(kind string) []*object {
	var out []*object
	for _, o := range all.all {
		if o.kind == kind {
			out = append(out, o)
		}
	}
	return out
}

// workload is a Deployment or StatefulSet: its pods and their count.
type workload struct {
	*object
	template corev1.PodTemplateSpec
	selector *metav1.LabelSelector
	replicas *int32
}

func (all *objects) workloads() []workload {
	var out []workload
	for _, o := range all.all {
		switch v := o.obj.(type) {
		case *appsv1.Deployment:
			out = append(out, workload{o, v.Spec.Template, v.Spec.Selector, v.Spec.Replicas})
		case *appsv1.StatefulSet:
			out = append(out, workload{o, v.Spec.Template, v.Spec.Selector, v.Spec.Replicas})
		}
	}
	return out
}

// selecting returns the workloads whose pods sel selects.
func (all *objects) selecting(sel labels.Selector) []workload {
	var out []workload
	for _, w := range all.workloads() {
		if sel.Matches(labels.Set(w.template.Labels)) {
			out = append(out, w)
		}
	}
	return out
}

var sourceLine = regexp.MustCompile(`(?m)^# Source: (.*)$`)

// decodeAll splits helm's output into documents and decodes each strictly.
func decodeAll(t *testing.T, manifest string) *objects {
	t.Helper()
	r := k8syaml.NewYAMLReader(bufio.NewReader(strings.NewReader(manifest)))
	all := &objects{}
	for {
		doc, err := r.Read()
		if errors.Is(err, io.EOF) {
			break
		}
		if err != nil {
			t.Fatalf("split the manifest: %v", err)
		}
		var tm metav1.TypeMeta
		if err := yaml.Unmarshal(doc, &tm); err != nil {
			t.Errorf("not YAML: %v\n%s", err, doc)
			continue
		}
		src := "?"
		if m := sourceLine.FindSubmatch(doc); m != nil {
			src = string(m[1])
		}
		if tm.Kind == "" && tm.APIVersion == "" {
			if strings.TrimSpace(sourceLine.ReplaceAllString(string(doc), "")) != "" {
				t.Errorf("%s: a document without apiVersion and kind:\n%s", src, doc)
			}
			continue
		}
		kind := tm.APIVersion + "/" + tm.Kind
		newObj, ok := kinds[kind]
		if !ok {
			t.Errorf("%s: kind %s is not one the test knows; add it to kinds", src, kind)
			continue
		}
		obj := newObj()
		if err := yaml.UnmarshalStrict(doc, obj); err != nil {
			t.Errorf("%s: %s does not decode strictly: %v", src, kind, err)
			continue
		}
		all.all = append(all.all, &object{kind: kind, source: src, obj: obj})
	}
	if len(all.all) == 0 {
		t.Fatal("helm rendered no object")
	}
	return all
}

// validate checks what the API server and the kubelet would refuse, or
// accept and then fail on: names, labels, selectors that select nothing,
// ports and volumes that do not exist, unresolved $(VAR) references,
// and, for Milvago's containers, a role the code has and a config file
// that points at services that exist.
func validate(t *testing.T, objs *objects, roles map[string]bool) (advertised map[string]bool) {
	t.Helper()
	advertised = map[string]bool{}
	errf := func(o *object, format string, args ...any) {
		t.Helper()
		t.Errorf("%s: %s", o, fmt.Sprintf(format, args...))
	}
	seen := map[string]bool{}
	for _, o := range objs.all {
		name := o.obj.GetName()
		if seen[o.kind+"/"+name] {
			errf(o, "rendered twice")
		}
		seen[o.kind+"/"+name] = true
		nameCheck := validation.IsDNS1123Subdomain
		if o.kind == "v1/Service" {
			nameCheck = validation.IsDNS1035Label
		}
		for _, msg := range nameCheck(name) {
			errf(o, "name: %s", msg)
		}
		if ns := o.obj.GetNamespace(); ns != "" && ns != namespace {
			errf(o, "namespace %q, not the release's", ns)
		}
		checkLabels(t, o, "labels", o.obj.GetLabels())
		for k := range o.obj.GetAnnotations() {
			for _, msg := range validation.IsQualifiedName(k) {
				errf(o, "annotation %q: %s", k, msg)
			}
		}
	}

	for _, w := range objs.workloads() {
		if w.replicas == nil || *w.replicas < 0 {
			errf(w.object, "replicas not set")
		}
		sel, err := metav1.LabelSelectorAsSelector(w.selector)
		if err != nil || w.selector == nil || sel.Empty() {
			errf(w.object, "selector %v: %v", w.selector, err)
		} else if !sel.Matches(labels.Set(w.template.Labels)) {
			errf(w.object, "selector %v does not select its own pods %v", w.selector, w.template.Labels)
		}
		checkLabels(t, w.object, "pod labels", w.template.Labels)
		claims := map[string]bool{}
		if ss, ok := w.obj.(*appsv1.StatefulSet); ok {
			svc := objs.get("v1/Service", ss.Spec.ServiceName)
			if svc == nil || svc.obj.(*corev1.Service).Spec.ClusterIP != corev1.ClusterIPNone {
				errf(w.object, "serviceName %q is not a headless Service of the release", ss.Spec.ServiceName)
			}
			if w.replicas != nil {
				for _, msg := range validation.IsDNS1123Label(fmt.Sprintf("%s-%d", ss.Name, *w.replicas)) {
					errf(w.object, "pod names: %s", msg)
				}
			}
			for _, c := range ss.Spec.VolumeClaimTemplates {
				claims[c.Name] = true
				if q, ok := c.Spec.Resources.Requests[corev1.ResourceStorage]; !ok || q.IsZero() {
					errf(w.object, "volume claim %s requests no storage", c.Name)
				}
				if len(c.Spec.AccessModes) == 0 {
					errf(w.object, "volume claim %s has no access mode", c.Name)
				}
			}
		}
		checkPod(t, objs, w.object, w.template.Spec, claims)
		for _, c := range w.template.Spec.Containers {
			if len(c.Args) > 0 && c.Args[0] == "run" {
				checkMilvago(t, objs, w, c, roles, advertised)
			}
		}
	}

	for _, o := range objs.of("v1/Service") {
		svc := o.obj.(*corev1.Service)
		switch svc.Spec.Type {
		case "", corev1.ServiceTypeClusterIP, corev1.ServiceTypeLoadBalancer, corev1.ServiceTypeNodePort:
		default:
			errf(o, "type %q", svc.Spec.Type)
		}
		if len(svc.Spec.Selector) == 0 {
			errf(o, "no selector")
			continue
		}
		selected := objs.selecting(labels.SelectorFromSet(svc.Spec.Selector))
		if len(selected) == 0 {
			errf(o, "selector %v selects no workload's pods", svc.Spec.Selector)
		}
		if len(svc.Spec.Ports) == 0 {
			errf(o, "no ports")
		}
		names := map[string]bool{}
		for _, p := range svc.Spec.Ports {
			if len(svc.Spec.Ports) > 1 && p.Name == "" {
				errf(o, "port %d: a Service with several ports must name each", p.Port)
			}
			if names[p.Name] {
				errf(o, "port name %q twice", p.Name)
			}
			names[p.Name] = true
			for _, msg := range validation.IsValidPortNum(int(p.Port)) {
				errf(o, "port %d: %s", p.Port, msg)
			}
			for _, w := range selected {
				if !hasPort(w.template.Spec, p.TargetPort) {
					errf(o, "port %s: target port %s is not a container port of %s", p.Name, p.TargetPort.String(), w.obj.GetName())
				}
			}
		}
	}

	for _, o := range objs.of("policy/v1/PodDisruptionBudget") {
		pdb := o.obj.(*policyv1.PodDisruptionBudget)
		sel, err := metav1.LabelSelectorAsSelector(pdb.Spec.Selector)
		if err != nil || sel.Empty() || len(objs.selecting(sel)) == 0 {
			errf(o, "selector %v selects no workload (%v)", pdb.Spec.Selector, err)
		}
		if (pdb.Spec.MinAvailable == nil) == (pdb.Spec.MaxUnavailable == nil) {
			errf(o, "set exactly one of minAvailable and maxUnavailable")
		}
	}
	for _, o := range objs.of("v1/ConfigMap") {
		for k := range o.obj.(*corev1.ConfigMap).Data {
			for _, msg := range validation.IsConfigMapKey(k) {
				errf(o, "key %q: %s", k, msg)
			}
		}
	}
	// The bundled NATS servers route to each other's pods.
	for _, o := range objs.of("apps/v1/StatefulSet") {
		ss := o.obj.(*appsv1.StatefulSet)
		if ss.Spec.Template.Labels["app.kubernetes.io/component"] != "nats" {
			continue
		}
		var cm *corev1.ConfigMap
		for _, v := range ss.Spec.Template.Spec.Volumes {
			if v.ConfigMap != nil {
				if c := objs.get("v1/ConfigMap", v.ConfigMap.Name); c != nil {
					cm = c.obj.(*corev1.ConfigMap)
				}
			}
		}
		if cm == nil || cm.Data["nats.conf"] == "" {
			errf(o, "no ConfigMap with nats.conf mounted")
			continue
		}
		routes := natsConf(t, o.String(), cm.Data["nats.conf"])
		if n := int(*ss.Spec.Replicas); n > 1 && len(routes) != n {
			errf(o, "%d routes for %d servers", len(routes), n)
		}
		for _, r := range routes {
			host, port, _ := strings.Cut(r, ":")
			p, _ := strconv.Atoi(port)
			checkEndpoint(t, objs, workload{object: o}, "nats.conf cluster route", endpoint{host, p})
		}
	}
	for _, o := range objs.of("v1/Secret") {
		s := o.obj.(*corev1.Secret)
		for k := range s.StringData {
			for _, msg := range validation.IsConfigMapKey(k) {
				errf(o, "key %q: %s", k, msg)
			}
		}
	}
	return advertised
}

func checkLabels(t *testing.T, o *object, what string, l map[string]string) {
	t.Helper()
	for k, v := range l {
		for _, msg := range validation.IsQualifiedName(k) {
			t.Errorf("%s: %s key %q: %s", o, what, k, msg)
		}
		for _, msg := range validation.IsValidLabelValue(v) {
			t.Errorf("%s: %s %q value %q: %s", o, what, k, v, msg)
		}
	}
}

func hasPort(spec corev1.PodSpec, p intstr.IntOrString) bool {
	for _, c := range spec.Containers {
		for _, cp := range c.Ports {
			if p.Type == intstr.String && cp.Name == p.StrVal || p.Type == intstr.Int && cp.ContainerPort == p.IntVal {
				return true
			}
		}
	}
	return false
}

var varRef = regexp.MustCompile(`\$\(([A-Za-z_][A-Za-z0-9_]*)\)`)

// fieldPaths are the downward-API fields an env var may read.
var fieldPaths = []string{"metadata.name", "metadata.namespace", "metadata.uid", "spec.nodeName",
	"spec.serviceAccountName", "status.hostIP", "status.podIP", "status.podIPs"}

func checkPod(t *testing.T, objs *objects, o *object, spec corev1.PodSpec, claims map[string]bool) {
	t.Helper()
	errf := func(format string, args ...any) {
		t.Helper()
		t.Errorf("%s: %s", o, fmt.Sprintf(format, args...))
	}
	volumes := maps.Clone(claims)
	for _, v := range spec.Volumes {
		if volumes[v.Name] {
			errf("volume %s declared twice", v.Name)
		}
		volumes[v.Name] = true
		sources := 0
		if v.ConfigMap != nil {
			sources++
			if cm := objs.get("v1/ConfigMap", v.ConfigMap.Name); cm == nil {
				errf("volume %s: ConfigMap %s is not rendered", v.Name, v.ConfigMap.Name)
			}
		}
		if v.EmptyDir != nil {
			sources++
		}
		if v.Secret != nil {
			sources++
		}
		if v.PersistentVolumeClaim != nil {
			sources++
		}
		if sources != 1 {
			errf("volume %s: %d sources, want one", v.Name, sources)
		}
	}
	for _, s := range spec.ImagePullSecrets {
		if s.Name == "" {
			errf("an image pull secret without a name")
		}
	}
	if len(spec.Containers) == 0 {
		errf("no containers")
	}
	cnames := map[string]bool{}
	for _, c := range spec.Containers {
		for _, msg := range validation.IsDNS1123Label(c.Name) {
			errf("container name %q: %s", c.Name, msg)
		}
		if cnames[c.Name] {
			errf("container %s twice", c.Name)
		}
		cnames[c.Name] = true
		if c.Image == "" || strings.ContainsAny(c.Image, " \t") {
			errf("container %s: image %q", c.Name, c.Image)
		}
		switch c.ImagePullPolicy {
		case "", corev1.PullAlways, corev1.PullIfNotPresent, corev1.PullNever:
		default:
			errf("container %s: imagePullPolicy %q", c.Name, c.ImagePullPolicy)
		}
		ports := map[string]bool{}
		for _, p := range c.Ports {
			for _, msg := range validation.IsValidPortNum(int(p.ContainerPort)) {
				errf("container %s: port %d: %s", c.Name, p.ContainerPort, msg)
			}
			if p.Name != "" {
				for _, msg := range validation.IsValidPortName(p.Name) {
					errf("container %s: port name %q: %s", c.Name, p.Name, msg)
				}
				if ports[p.Name] {
					errf("container %s: port name %q twice", c.Name, p.Name)
				}
				ports[p.Name] = true
			}
		}
		for what, p := range map[string]*corev1.Probe{"startup": c.StartupProbe, "liveness": c.LivenessProbe, "readiness": c.ReadinessProbe} {
			if p == nil {
				continue
			}
			handlers := 0
			if h := p.HTTPGet; h != nil {
				handlers++
				if !strings.HasPrefix(h.Path, "/") {
					errf("container %s: %s probe path %q", c.Name, what, h.Path)
				}
				if !hasPort(corev1.PodSpec{Containers: []corev1.Container{c}}, h.Port) {
					errf("container %s: %s probe port %s is not a container port", c.Name, what, h.Port.String())
				}
			}
			if p.Exec != nil {
				handlers++
			}
			if p.TCPSocket != nil {
				handlers++
			}
			if p.GRPC != nil {
				handlers++
			}
			if handlers != 1 {
				errf("container %s: %s probe has %d handlers, want one", c.Name, what, handlers)
			}
		}
		env := map[string]bool{}
		for _, e := range c.Env {
			for _, msg := range validation.IsEnvVarName(e.Name) {
				errf("container %s: env %q: %s", c.Name, e.Name, msg)
			}
			env[e.Name] = true
			if e.ValueFrom == nil {
				continue
			}
			switch {
			case e.ValueFrom.FieldRef != nil:
				if !slices.Contains(fieldPaths, e.ValueFrom.FieldRef.FieldPath) {
					errf("container %s: env %s reads unknown field %q", c.Name, e.Name, e.ValueFrom.FieldRef.FieldPath)
				}
			case e.ValueFrom.SecretKeyRef != nil:
				ref := e.ValueFrom.SecretKeyRef
				if s := objs.get("v1/Secret", ref.Name); s != nil {
					if _, ok := s.obj.(*corev1.Secret).StringData[ref.Key]; !ok {
						errf("container %s: env %s: Secret %s has no key %q", c.Name, e.Name, ref.Name, ref.Key)
					}
				} else if ref.Name == "" {
					errf("container %s: env %s: secret without a name", c.Name, e.Name)
				}
			case e.ValueFrom.ConfigMapKeyRef != nil:
				ref := e.ValueFrom.ConfigMapKeyRef
				if cm := objs.get("v1/ConfigMap", ref.Name); cm == nil {
					errf("container %s: env %s: ConfigMap %s is not rendered", c.Name, e.Name, ref.Name)
				}
			default:
				errf("container %s: env %s: empty valueFrom", c.Name, e.Name)
			}
		}
		// The kubelet leaves an unresolved $(VAR) as it is: a silent bug.
		for _, s := range slices.Concat(c.Command, c.Args) {
			for _, m := range varRef.FindAllStringSubmatch(s, -1) {
				if !env[m[1]] {
					errf("container %s: argument %q uses $(%s), which is not an env var of the container", c.Name, s, m[1])
				}
			}
		}
		mounts := map[string]bool{}
		for _, m := range c.VolumeMounts {
			if !volumes[m.Name] {
				errf("container %s: mounts volume %s, which is not declared", c.Name, m.Name)
			}
			if !path.IsAbs(m.MountPath) || mounts[m.MountPath] {
				errf("container %s: mount path %q", c.Name, m.MountPath)
			}
			mounts[m.MountPath] = true
		}
	}
}

// checkMilvago checks a Milvago role's container: the role exists, the
// config file is mounted from a rendered ConfigMap, its ports are the
// container's, and its endpoints name services of the release (or are
// external).
func checkMilvago(t *testing.T, objs *objects, w workload, c corev1.Container, roles, advertised map[string]bool) {
	t.Helper()
	errf := func(format string, args ...any) {
		t.Helper()
		t.Errorf("%s: container %s: %s", w.object, c.Name, fmt.Sprintf(format, args...))
	}
	role, cfgPath := milvagoCommand(t, w.obj.GetName(), c.Args, roles)
	if !roles[role] || cfgPath == "" {
		return // reported
	}
	if l := w.template.Spec.EnableServiceLinks; l == nil || *l {
		errf("enableServiceLinks is not false: Kubernetes' <SERVICE>_PORT variables would reach the config's environment source")
	}
	if got := w.template.Labels["app.kubernetes.io/component"]; got != role {
		errf("runs %s but its pods are labelled component=%s", role, got)
	}
	var cm *corev1.ConfigMap
	for _, m := range c.VolumeMounts {
		if m.MountPath != path.Dir(cfgPath) {
			continue
		}
		for _, v := range w.template.Spec.Volumes {
			if v.Name == m.Name && v.ConfigMap != nil {
				if o := objs.get("v1/ConfigMap", v.ConfigMap.Name); o != nil {
					cm = o.obj.(*corev1.ConfigMap)
				}
			}
		}
	}
	if cm == nil {
		errf("--config %s is not in a mounted ConfigMap of the release", cfgPath)
		return
	}
	data, ok := cm.Data[path.Base(cfgPath)]
	if !ok {
		errf("ConfigMap %s has no key %s", cm.Name, path.Base(cfgPath))
		return
	}
	cfg := parseConfig(t, []byte(data))
	port := func(name string) int {
		for _, p := range c.Ports {
			if p.Name == name {
				return int(p.ContainerPort)
			}
		}
		errf("no container port %q", name)
		return 0
	}
	if got, want := cfg.port(t, sections[role]+".port"), port("grpc"); got != want {
		errf("%s.port is %d, the container port grpc %d", sections[role], got, want)
	}
	if got, want := cfg.port(t, "common.MetricsPort"), port("metrics"); got != want {
		errf("common.MetricsPort is %d, the container port metrics %d", got, want)
	}
	if c.ReadinessProbe == nil || c.ReadinessProbe.HTTPGet == nil || c.ReadinessProbe.HTTPGet.Path != "/healthz" ||
		c.ReadinessProbe.HTTPGet.Port.String() != "metrics" {
		errf("readiness probe is not /healthz on the metrics port")
	}
	// An advertised address set by env must be this role's key, from the
	// pod IP: another pod's or a fixed one would point peers elsewhere.
	for _, e := range c.Env {
		if !strings.HasSuffix(e.Name, "_IP") {
			continue
		}
		if want := strings.ToUpper(sections[role]) + "_IP"; e.Name != want ||
			e.ValueFrom == nil || e.ValueFrom.FieldRef == nil || e.ValueFrom.FieldRef.FieldPath != "status.podIP" {
			errf("env %s: want %s from status.podIP", e.Name, want)
		}
		advertised[role] = true
	}
	for _, e := range endpoints(t, "etcd.endpoints", cfg.str(t, "etcd.endpoints"), 2379) {
		checkEndpoint(t, objs, w, "etcd.endpoints", e)
	}
	checkEndpoint(t, objs, w, "minio.address", endpoints(t, "minio.address", cfg.str(t, "minio.address"), cfg.port(t, "minio.port"))[0])
	for _, e := range endpoints(t, "milvago.natsmq.url", cfg.str(t, "milvago.natsmq.url"), 4222) {
		checkEndpoint(t, objs, w, "milvago.natsmq.url", e)
	}
	if mq := cfg.str(t, "mq.type"); mq != "natsmq" {
		errf("mq.type %q", mq)
	}
}

// checkEndpoint checks that an in-cluster address (….svc) names a Service
// of the release in its namespace, on one of its ports; for a
// <pod>.<service> address, that a StatefulSet has that pod behind that
// headless Service.
func checkEndpoint(t *testing.T, objs *objects, w workload, key string, e endpoint) {
	t.Helper()
	if !strings.HasSuffix(e.host, ".svc") && !strings.HasSuffix(e.host, ".svc.cluster.local") {
		return // outside the cluster, or a bare name: nothing to check against
	}
	parts := strings.Split(strings.TrimSuffix(strings.TrimSuffix(e.host, ".cluster.local"), ".svc"), ".")
	var pod string
	switch len(parts) {
	case 2:
	case 3:
		pod, parts = parts[0], parts[1:]
	default:
		t.Errorf("%s: %s host %q is not [pod.]service.namespace.svc", w.object, key, e.host)
		return
	}
	svcName, ns := parts[0], parts[1]
	if ns != namespace {
		t.Errorf("%s: %s host %q is in namespace %s, not the release's %s", w.object, key, e.host, ns, namespace)
	}
	o := objs.get("v1/Service", svcName)
	if o == nil {
		t.Errorf("%s: %s host %q: no Service %s", w.object, key, e.host, svcName)
		return
	}
	svc := o.obj.(*corev1.Service)
	if !slices.ContainsFunc(svc.Spec.Ports, func(p corev1.ServicePort) bool { return int(p.Port) == e.port }) {
		t.Errorf("%s: %s %s:%d: Service %s has no port %d", w.object, key, e.host, e.port, svcName, e.port)
	}
	if pod == "" {
		return
	}
	ok := false
	for _, ss := range objs.of("apps/v1/StatefulSet") {
		s := ss.obj.(*appsv1.StatefulSet)
		if s.Spec.ServiceName != svcName || s.Spec.Replicas == nil {
			continue
		}
		for i := range *s.Spec.Replicas {
			ok = ok || pod == s.Name+"-"+strconv.Itoa(int(i))
		}
	}
	if !ok {
		t.Errorf("%s: %s host %q: no StatefulSet pod %s behind Service %s", w.object, key, e.host, pod, svcName)
	}
}

// checkScenario checks which Deployments and bundled services rendered.
func checkScenario(t *testing.T, objs *objects, sc scenario) {
	t.Helper()
	got := map[string]int32{}
	for _, o := range objs.of("apps/v1/Deployment") {
		d := o.obj.(*appsv1.Deployment)
		got[d.Spec.Template.Labels["app.kubernetes.io/component"]] = *d.Spec.Replicas
	}
	if !maps.Equal(got, sc.deployments) {
		t.Errorf("Deployments (role: replicas) %v, want %v", got, sc.deployments)
	}
	var bundled []string
	for _, o := range objs.of("apps/v1/StatefulSet") {
		bundled = append(bundled, o.obj.(*appsv1.StatefulSet).Spec.Template.Labels["app.kubernetes.io/component"])
	}
	slices.Sort(bundled)
	if !slices.Equal(bundled, sc.bundled) {
		t.Errorf("bundled StatefulSets %v, want %v", bundled, sc.bundled)
	}
}
