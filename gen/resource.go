package gen

// resource is an API resource as it appears in request URIs and objectRef.
type resource struct {
	plural, group, version, kind string
	namespaced                   bool
}

// apiVersion is the group/version objects of r carry.
func (r *resource) apiVersion() string {
	if r.group == "" {
		return r.version
	}
	return r.group + "/" + r.version
}

var (
	rPods        = &resource{"pods", "", "v1", "Pod", true}
	rNodes       = &resource{"nodes", "", "v1", "Node", false}
	rNamespaces  = &resource{"namespaces", "", "v1", "Namespace", false}
	rServices    = &resource{"services", "", "v1", "Service", true}
	rEndpoints   = &resource{"endpoints", "", "v1", "Endpoints", true}
	rConfigMaps  = &resource{"configmaps", "", "v1", "ConfigMap", true}
	rSecrets     = &resource{"secrets", "", "v1", "Secret", true}
	rSAs         = &resource{"serviceaccounts", "", "v1", "ServiceAccount", true}
	rEvents      = &resource{"events", "", "v1", "Event", true}
	rEventsV1    = &resource{"events", "events.k8s.io", "v1", "Event", true}
	rPVCs        = &resource{"persistentvolumeclaims", "", "v1", "PersistentVolumeClaim", true}
	rDeployments = &resource{"deployments", "apps", "v1", "Deployment", true}
	rReplicaSets = &resource{"replicasets", "apps", "v1", "ReplicaSet", true}
	rDaemonSets  = &resource{"daemonsets", "apps", "v1", "DaemonSet", true}
	rSTS         = &resource{"statefulsets", "apps", "v1", "StatefulSet", true}
	rJobs        = &resource{"jobs", "batch", "v1", "Job", true}
	rCronJobs    = &resource{"cronjobs", "batch", "v1", "CronJob", true}
	rLeases      = &resource{"leases", "coordination.k8s.io", "v1", "Lease", true}
	rSlices      = &resource{"endpointslices", "discovery.k8s.io", "v1", "EndpointSlice", true}
	rIngresses   = &resource{"ingresses", "networking.k8s.io", "v1", "Ingress", true}
	rNetPols     = &resource{"networkpolicies", "networking.k8s.io", "v1", "NetworkPolicy", true}
	rRoles       = &resource{"roles", "rbac.authorization.k8s.io", "v1", "Role", true}
	rRBs         = &resource{"rolebindings", "rbac.authorization.k8s.io", "v1", "RoleBinding", true}
	rCRoles      = &resource{"clusterroles", "rbac.authorization.k8s.io", "v1", "ClusterRole", false}
	rCRBs        = &resource{"clusterrolebindings", "rbac.authorization.k8s.io", "v1", "ClusterRoleBinding", false}
	rMWCs        = &resource{"mutatingwebhookconfigurations", "admissionregistration.k8s.io", "v1", "MutatingWebhookConfiguration", false}
	rVWCs        = &resource{"validatingwebhookconfigurations", "admissionregistration.k8s.io", "v1", "ValidatingWebhookConfiguration", false}
	rCSRs        = &resource{"certificatesigningrequests", "certificates.k8s.io", "v1", "CertificateSigningRequest", false}
	rCRDs        = &resource{"customresourcedefinitions", "apiextensions.k8s.io", "v1", "CustomResourceDefinition", false}
	rHPAs        = &resource{"horizontalpodautoscalers", "autoscaling", "v2", "HorizontalPodAutoscaler", true}
	rPDBs        = &resource{"poddisruptionbudgets", "policy", "v1", "PodDisruptionBudget", true}
	rCerts       = &resource{"certificates", "cert-manager.io", "v1", "Certificate", true}
	rApps        = &resource{"applications", "argoproj.io", "v1alpha1", "Application", true}
	rCSINodes    = &resource{"csinodes", "storage.k8s.io", "v1", "CSINode", false}
	rRuntime     = &resource{"runtimeclasses", "node.k8s.io", "v1", "RuntimeClass", false}
)

// appendPath writes r's URL path: /api/v1[/namespaces/NS]/PLURAL[/NAME[/SUB]].
func appendPath(dst []byte, r *resource, ns, name, sub string) []byte {
	if r.group == "" {
		dst = append(dst, "/api/"...)
	} else {
		dst = append(dst, "/apis/"...)
		dst = append(dst, r.group...)
		dst = append(dst, '/')
	}
	dst = append(dst, r.version...)
	if ns != "" && r.namespaced {
		dst = append(dst, "/namespaces/"...)
		dst = append(dst, ns...)
	}
	dst = append(dst, '/')
	dst = append(dst, r.plural...)
	if name != "" {
		dst = append(dst, '/')
		dst = append(dst, name...)
		if sub != "" {
			dst = append(dst, '/')
			dst = append(dst, sub...)
		}
	}
	return dst
}

// appendObjectRef writes the objectRef member, fields in the order
// kube-apiserver writes them.
func appendObjectRef(dst []byte, r *resource, ns, name, sub string) []byte {
	dst = append(dst, `"objectRef":{"resource":"`...)
	dst = append(dst, r.plural...)
	if ns != "" && r.namespaced {
		dst = append(dst, `","namespace":"`...)
		dst = append(dst, ns...)
	}
	if name != "" {
		dst = append(dst, `","name":"`...)
		dst = append(dst, name...)
	}
	if r.group != "" {
		dst = append(dst, `","apiGroup":"`...)
		dst = append(dst, r.group...)
	}
	dst = append(dst, `","apiVersion":"`...)
	dst = append(dst, r.version...)
	if sub != "" {
		dst = append(dst, `","subresource":"`...)
		dst = append(dst, sub...)
	}
	return append(dst, `"}`...)
}
