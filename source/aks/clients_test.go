package aks

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// TestCredentials builds the Azure AD credentials each azure_credential
// asks for from the environment a pod would have. Getting a token needs
// Azure, so only the construction (where misconfiguration shows) is
// tested here.
func TestCredentials(t *testing.T) {
	token := filepath.Join(t.TempDir(), "token")
	os.WriteFile(token, []byte("header.payload.signature"), 0o600)
	sp := map[string]string{"AZURE_TENANT_ID": "00000000-0000-0000-0000-000000000001", "AZURE_CLIENT_ID": "00000000-0000-0000-0000-000000000002", "AZURE_CLIENT_SECRET": "s"}
	wi := map[string]string{"AZURE_TENANT_ID": "00000000-0000-0000-0000-000000000001", "AZURE_CLIENT_ID": "00000000-0000-0000-0000-000000000002", "AZURE_FEDERATED_TOKEN_FILE": token}
	tests := []struct {
		name, kind string
		env        map[string]string
		err        string
	}{
		{"service principal", "environment", sp, ""},
		{"environment without variables", "environment", nil, "missing environment variable"},
		{"workload identity", "workload_identity", wi, ""},
		{"workload identity without its token", "workload_identity", nil, "no client ID specified"},
		{"managed identity", "managed_identity", nil, ""},
		{"default chain on AKS", "default", wi, ""},
		{"default chain anywhere (managed identity)", "default", nil, ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			for _, k := range []string{"AZURE_TENANT_ID", "AZURE_CLIENT_ID", "AZURE_CLIENT_SECRET", "AZURE_FEDERATED_TOKEN_FILE", "AZURE_CLIENT_CERTIFICATE_PATH", "AZURE_USERNAME"} {
				t.Setenv(k, tt.env[k])
				if tt.env[k] == "" {
					os.Unsetenv(k)
				}
			}
			_, err := credential(Config{Credential: tt.kind})
			if (err == nil) != (tt.err == "") || (err != nil && !strings.Contains(err.Error(), tt.err)) {
				t.Errorf("err %v, want %q", err, tt.err)
			}
		})
	}
}

// TestAzureADClients: with Azure AD the clients are built from the
// namespace and account URL, and the checkpoint blobs are named by the
// namespace as the SDK names them.
func TestAzureADClients(t *testing.T) {
	cfg, err := ParseConfig(map[string]any{
		"fully_qualified_namespace": "aks-audit.servicebus.windows.net", "event_hub_name": "hub",
		"blob_storage_account_url": "https://acct.blob.core.windows.net/", "blob_storage_container_name": "cp",
		"azure_credential": "managed_identity",
	})
	if err != nil {
		t.Fatal(err)
	}
	cl, err := newClients(cfg, "pod-a", nil)
	if err != nil {
		t.Fatal(err)
	}
	if cl.namespace != "aks-audit.servicebus.windows.net" || cl.hub != "hub" || cl.checkpoint.URL() != "https://acct.blob.core.windows.net/cp" {
		t.Errorf("namespace %q hub %q container %q", cl.namespace, cl.hub, cl.checkpoint.URL())
	}
	s := &Source{cl: cl, cfg: cfg}
	if got := s.blobName("checkpoint", "3"); got != "aks-audit.servicebus.windows.net/hub/$Default/checkpoint/3" {
		t.Errorf("checkpoint blob %s", got)
	}
}
