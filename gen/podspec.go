package gen

import "strconv"

// container is what the generator varies in a container; the rest of the
// fields are the defaults the API server fills in.
type container struct {
	name, image string
	privileged  int8 // 1: true, -1: false, 0: not set
	escalation  bool // allowPrivilegeEscalation when privileged is false
	ports       []int
	args        []string
	mounts      []mount
	cpu, mem    string
	stdin       bool // debug containers: stdin and tty
}

type mount struct {
	volume, path string
	readOnly     bool
}

type volume struct {
	name      string
	hostPath  string
	hostType  string
	configMap string
	secret    string
	emptyDir  bool
}

// podSpec is a pod spec as the generator varies it.
type podSpec struct {
	containers, init, ephemeral []container
	volumes                     []volume
	hostNetwork, hostPID        bool
	hostIPC                     bool
	nodeName                    string
	sa                          string
	priorityClass               string
	tolerateAll                 bool
	runAsNonRoot                bool
	apiAccess                   string // suffix of the kube-api-access volume
}

// appendPodSpec writes spec as JSON. full adds what admission and defaulting
// add (the service account token volume and its mounts, tolerations,
// priority): the response body has it, a controller's request does not.
func appendPodSpec(dst []byte, p *podSpec, full bool) []byte {
	dst = append(dst, '{')
	vols := p.volumes
	if full {
		vols = append(vols[:len(vols):len(vols)], volume{name: "kube-api-access-" + p.apiAccess})
	}
	if len(vols) > 0 {
		dst = append(dst, `"volumes":[`...)
		for i := range vols {
			if i > 0 {
				dst = append(dst, ',')
			}
			dst = appendVolume(dst, &vols[i])
		}
		dst = append(dst, "],"...)
	}
	dst = appendContainers(dst, "initContainers", p.init, p, full)
	dst = appendContainers(dst, "containers", p.containers, p, full)
	dst = appendContainers(dst, "ephemeralContainers", p.ephemeral, p, full)
	dst = append(dst, `"restartPolicy":"Always","terminationGracePeriodSeconds":30,"dnsPolicy":"ClusterFirst"`...)
	if p.sa != "" {
		dst = append(dst, `,"serviceAccountName":"`...)
		dst = append(dst, p.sa...)
		dst = append(dst, '"')
		if full {
			dst = append(dst, `,"serviceAccount":"`...)
			dst = append(dst, p.sa...)
			dst = append(dst, '"')
		}
	}
	if p.nodeName != "" {
		dst = append(dst, `,"nodeName":"`...)
		dst = append(dst, p.nodeName...)
		dst = append(dst, '"')
	}
	dst = appendFlag(dst, "hostNetwork", p.hostNetwork)
	dst = appendFlag(dst, "hostPID", p.hostPID)
	dst = appendFlag(dst, "hostIPC", p.hostIPC)
	if p.runAsNonRoot {
		dst = append(dst, `,"securityContext":{"runAsUser":10001,"runAsNonRoot":true,"fsGroup":10001,"seccompProfile":{"type":"RuntimeDefault"}}`...)
	} else {
		dst = append(dst, `,"securityContext":{}`...)
	}
	dst = append(dst, `,"schedulerName":"default-scheduler"`...)
	if p.tolerateAll {
		dst = append(dst, `,"tolerations":[{"operator":"Exists"}]`...)
	} else if full {
		dst = append(dst, `,"tolerations":[{"key":"node.kubernetes.io/not-ready","operator":"Exists","effect":"NoExecute","tolerationSeconds":300},{"key":"node.kubernetes.io/unreachable","operator":"Exists","effect":"NoExecute","tolerationSeconds":300}]`...)
	}
	if p.priorityClass != "" {
		dst = append(dst, `,"priorityClassName":"`...)
		dst = append(dst, p.priorityClass...)
		dst = append(dst, '"')
		if full {
			dst = append(dst, `,"priority":2000001000`...)
		}
	} else if full {
		dst = append(dst, `,"priority":0`...)
	}
	if full {
		dst = append(dst, `,"enableServiceLinks":true,"preemptionPolicy":"PreemptLowerPriority"`...)
	}
	return append(dst, '}')
}

func appendFlag(dst []byte, key string, on bool) []byte {
	if !on {
		return dst
	}
	dst = append(dst, `,"`...)
	dst = append(dst, key...)
	return append(dst, `":true`...)
}

func appendVolume(dst []byte, v *volume) []byte {
	dst = append(dst, `{"name":"`...)
	dst = append(dst, v.name...)
	dst = append(dst, `",`...)
	switch {
	case v.hostPath != "":
		dst = append(dst, `"hostPath":{"path":"`...)
		dst = append(dst, v.hostPath...)
		dst = append(dst, `","type":"`...)
		dst = append(dst, v.hostType...)
		dst = append(dst, `"}}`...)
	case v.configMap != "":
		dst = append(dst, `"configMap":{"name":"`...)
		dst = append(dst, v.configMap...)
		dst = append(dst, `","defaultMode":420}}`...)
	case v.secret != "":
		dst = append(dst, `"secret":{"secretName":"`...)
		dst = append(dst, v.secret...)
		dst = append(dst, `","defaultMode":420}}`...)
	case v.emptyDir:
		dst = append(dst, `"emptyDir":{}}`...)
	default: // the projected service account token
		dst = append(dst, `"projected":{"sources":[{"serviceAccountToken":{"expirationSeconds":3607,"path":"token"}},{"configMap":{"name":"kube-root-ca.crt","items":[{"key":"ca.crt","path":"ca.crt"}]}},{"downwardAPI":{"items":[{"path":"namespace","fieldRef":{"apiVersion":"v1","fieldPath":"metadata.namespace"}}]}}],"defaultMode":420}}`...)
	}
	return dst
}

func appendContainers(dst []byte, key string, cs []container, p *podSpec, full bool) []byte {
	if len(cs) == 0 {
		return dst
	}
	dst = append(dst, '"')
	dst = append(dst, key...)
	dst = append(dst, `":[`...)
	for i := range cs {
		if i > 0 {
			dst = append(dst, ',')
		}
		dst = appendContainer(dst, &cs[i], p, full && key != "ephemeralContainers")
	}
	return append(dst, "],"...)
}

func appendContainer(dst []byte, c *container, p *podSpec, full bool) []byte {
	dst = append(dst, `{"name":"`...)
	dst = append(dst, c.name...)
	dst = append(dst, `","image":"`...)
	dst = append(dst, c.image...)
	dst = append(dst, '"')
	if len(c.args) > 0 {
		dst = append(dst, `,"args":[`...)
		for i, a := range c.args {
			if i > 0 {
				dst = append(dst, ',')
			}
			dst = append(dst, '"')
			dst = append(dst, a...)
			dst = append(dst, '"')
		}
		dst = append(dst, ']')
	}
	if len(c.ports) > 0 {
		dst = append(dst, `,"ports":[`...)
		for i, port := range c.ports {
			if i > 0 {
				dst = append(dst, ',')
			}
			dst = append(dst, `{"name":"p`...)
			dst = strconv.AppendInt(dst, int64(port), 10)
			dst = append(dst, `","containerPort":`...)
			dst = strconv.AppendInt(dst, int64(port), 10)
			dst = append(dst, `,"protocol":"TCP"}`...)
		}
		dst = append(dst, ']')
	}
	if c.cpu != "" {
		dst = append(dst, `,"resources":{"limits":{"memory":"`...)
		dst = append(dst, c.mem...)
		dst = append(dst, `"},"requests":{"cpu":"`...)
		dst = append(dst, c.cpu...)
		dst = append(dst, `","memory":"`...)
		dst = append(dst, c.mem...)
		dst = append(dst, `"}}`...)
	} else {
		dst = append(dst, `,"resources":{}`...)
	}
	mounts := c.mounts
	if full && p.apiAccess != "" {
		mounts = append(mounts[:len(mounts):len(mounts)], mount{volume: "kube-api-access-" + p.apiAccess, path: "/var/run/secrets/kubernetes.io/serviceaccount", readOnly: true})
	}
	if len(mounts) > 0 {
		dst = append(dst, `,"volumeMounts":[`...)
		for i, m := range mounts {
			if i > 0 {
				dst = append(dst, ',')
			}
			dst = append(dst, `{"name":"`...)
			dst = append(dst, m.volume...)
			dst = append(dst, '"')
			if m.readOnly {
				dst = append(dst, `,"readOnly":true`...)
			}
			dst = append(dst, `,"mountPath":"`...)
			dst = append(dst, m.path...)
			dst = append(dst, `"}`...)
		}
		dst = append(dst, ']')
	}
	dst = append(dst, `,"terminationMessagePath":"/dev/termination-log","terminationMessagePolicy":"File","imagePullPolicy":"IfNotPresent"`...)
	switch c.privileged {
	case 1:
		dst = append(dst, `,"securityContext":{"privileged":true}`...)
	case -1:
		if c.escalation {
			dst = append(dst, `,"securityContext":{"privileged":false}`...)
		} else {
			dst = append(dst, `,"securityContext":{"capabilities":{"drop":["ALL"]},"privileged":false,"readOnlyRootFilesystem":true,"allowPrivilegeEscalation":false}`...)
		}
	}
	if c.stdin {
		dst = append(dst, `,"stdin":true,"tty":true`...)
	}
	return append(dst, '}')
}

// benignPod is an app's pod: unprivileged, non-root, a config volume.
func benignPod(a *app) *podSpec {
	c := container{name: a.name, image: a.image, privileged: -1, ports: []int{8080}, cpu: "100m", mem: "256Mi",
		args:   []string{"--config=/etc/" + a.name + "/config.yaml", "--log-format=json"},
		mounts: []mount{{volume: "config", path: "/etc/" + a.name, readOnly: true}, {volume: "tmp", path: "/tmp"}}}
	return &podSpec{
		containers:   []container{c},
		volumes:      []volume{{name: "config", configMap: a.name + "-config"}, {name: "tmp", emptyDir: true}},
		sa:           a.sa,
		runAsNonRoot: true,
		apiAccess:    a.hash[:5],
	}
}

// daemonSet is a node agent: the benign pods that use the host.
type daemonSet struct {
	ns, name, image string
	pod             func() *podSpec
}

var daemonSets = []daemonSet{
	{"kube-system", "kube-proxy", "registry.k8s.io/kube-proxy:" + kubeVersion, func() *podSpec {
		return &podSpec{
			containers: []container{{name: "kube-proxy", image: "registry.k8s.io/kube-proxy:" + kubeVersion, privileged: 1,
				args: []string{"--config=/var/lib/kube-proxy/config.conf", "--hostname-override=$(NODE_NAME)"},
				mounts: []mount{{volume: "kube-proxy", path: "/var/lib/kube-proxy"}, {volume: "xtables-lock", path: "/run/xtables.lock"},
					{volume: "lib-modules", path: "/lib/modules", readOnly: true}}}},
			volumes: []volume{{name: "kube-proxy", configMap: "kube-proxy"}, {name: "xtables-lock", hostPath: "/run/xtables.lock", hostType: "FileOrCreate"},
				{name: "lib-modules", hostPath: "/lib/modules", hostType: ""}},
			hostNetwork: true, sa: "kube-proxy", priorityClass: "system-node-critical", tolerateAll: true, apiAccess: "k8p2x",
		}
	}},
	{"monitoring", "node-exporter", "quay.io/prometheus/node-exporter:v1.8.2", func() *podSpec {
		return &podSpec{
			containers: []container{{name: "node-exporter", image: "quay.io/prometheus/node-exporter:v1.8.2", privileged: -1, ports: []int{9100},
				cpu: "50m", mem: "64Mi",
				args: []string{"--path.procfs=/host/proc", "--path.sysfs=/host/sys", "--path.rootfs=/host/root"},
				mounts: []mount{{volume: "proc", path: "/host/proc", readOnly: true}, {volume: "sys", path: "/host/sys", readOnly: true},
					{volume: "root", path: "/host/root", readOnly: true}}}},
			volumes:     []volume{{name: "proc", hostPath: "/proc"}, {name: "sys", hostPath: "/sys"}, {name: "root", hostPath: "/"}},
			hostNetwork: true, hostPID: true, sa: "node-exporter", tolerateAll: true, runAsNonRoot: true, apiAccess: "n9x4c",
		}
	}},
	{"logging", "fluent-bit", "cr.fluentbit.io/fluent/fluent-bit:3.1.7", func() *podSpec {
		return &podSpec{
			containers: []container{{name: "fluent-bit", image: "cr.fluentbit.io/fluent/fluent-bit:3.1.7", privileged: -1, ports: []int{2020},
				cpu: "100m", mem: "128Mi",
				mounts: []mount{{volume: "config", path: "/fluent-bit/etc/"}, {volume: "varlog", path: "/var/log"}, {volume: "etcmachineid", path: "/etc/machine-id", readOnly: true}}}},
			volumes: []volume{{name: "config", configMap: "fluent-bit"}, {name: "varlog", hostPath: "/var/log"},
				{name: "etcmachineid", hostPath: "/etc/machine-id", hostType: "File"}},
			sa: "fluent-bit", tolerateAll: true, apiAccess: "f7b2m",
		}
	}},
}
