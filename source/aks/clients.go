package aks

import (
	"context"
	"fmt"
	"strings"

	"github.com/Azure/azure-sdk-for-go/sdk/azcore"
	"github.com/Azure/azure-sdk-for-go/sdk/azidentity"
	"github.com/Azure/azure-sdk-for-go/sdk/messaging/azeventhubs/v2"
	"github.com/Azure/azure-sdk-for-go/sdk/storage/azblob/container"
)

// credential builds the Azure AD credential for the clients that have no
// connection string. "default" is a chain of the three ways a workload
// authenticates without a secret in falco.yaml, tried in this order:
// environment (AZURE_CLIENT_ID/AZURE_TENANT_ID with a secret or a
// certificate), workload identity (the projected token AKS mounts:
// AZURE_FEDERATED_TOKEN_FILE), managed identity (IMDS). Unlike
// azidentity.DefaultAzureCredential it never shells out to developer
// tools, so a daemon does not pick up someone's `az login`.
func credential(cfg Config) (azcore.TokenCredential, error) {
	switch cfg.Credential {
	case "environment":
		return azidentity.NewEnvironmentCredential(nil)
	case "workload_identity":
		return azidentity.NewWorkloadIdentityCredential(nil)
	case "managed_identity":
		return managedIdentity(cfg)
	}
	var chain []azcore.TokenCredential
	var errs []string
	if c, err := azidentity.NewEnvironmentCredential(nil); err == nil {
		chain = append(chain, c)
	} else {
		errs = append(errs, err.Error())
	}
	if c, err := azidentity.NewWorkloadIdentityCredential(nil); err == nil {
		chain = append(chain, c)
	} else {
		errs = append(errs, err.Error())
	}
	if c, err := managedIdentity(cfg); err == nil {
		chain = append(chain, c)
	} else {
		errs = append(errs, err.Error())
	}
	if len(chain) == 0 {
		return nil, fmt.Errorf("no Azure AD credential available: %s", strings.Join(errs, "; "))
	}
	return azidentity.NewChainedTokenCredential(chain, nil)
}

func managedIdentity(cfg Config) (azcore.TokenCredential, error) {
	o := &azidentity.ManagedIdentityCredentialOptions{}
	if cfg.ClientID != "" {
		o.ID = azidentity.ClientID(cfg.ClientID)
	}
	return azidentity.NewManagedIdentityCredential(o)
}

// clients are what one source talks to.
type clients struct {
	consumer   *azeventhubs.ConsumerClient
	checkpoint *container.Client
	// namespace and hub name the checkpoint blobs, as the SDK does.
	namespace, hub string
	// newProbe builds another client of the hub, on a connection of its
	// own, for the health probe.
	newProbe func() (*azeventhubs.ConsumerClient, error)
}

// newClients builds the clients; nothing connects until they are used,
// so an error here is a configuration error.
func newClients(cfg Config, instanceID string, retry *azeventhubs.RetryOptions) (*clients, error) {
	var cred azcore.TokenCredential
	needCred := cfg.EventHubConnString == "" || cfg.BlobConnString == ""
	if needCred {
		var err error
		if cred, err = credential(cfg); err != nil {
			return nil, err
		}
	}
	c := &clients{}
	var err error
	opts := &azeventhubs.ConsumerClientOptions{ApplicationID: "peregrine", InstanceID: instanceID}
	if retry != nil {
		opts.RetryOptions = *retry
	}
	if c.consumer, c.namespace, c.hub, err = newConsumer(cfg, cred, opts); err != nil {
		return nil, err
	}
	c.newProbe = func() (*azeventhubs.ConsumerClient, error) {
		po := *opts
		po.InstanceID += "-probe"
		pc, _, _, err := newConsumer(cfg, cred, &po)
		return pc, err
	}
	if c.checkpoint, err = containerClient(cfg.BlobConnString, cfg.BlobAccountURL, cfg.BlobContainer, cred); err != nil {
		c.consumer.Close(context.Background())
		return nil, fmt.Errorf("checkpoint store: %w", err)
	}
	return c, nil
}

func newConsumer(cfg Config, cred azcore.TokenCredential, opts *azeventhubs.ConsumerClientOptions) (*azeventhubs.ConsumerClient, string, string, error) {
	if cfg.EventHubConnString == "" {
		cc, err := azeventhubs.NewConsumerClient(cfg.Namespace, cfg.EventHub, cfg.ConsumerGroup, cred, opts)
		return cc, cfg.Namespace, cfg.EventHub, err
	}
	props, err := azeventhubs.ParseConnectionString(cfg.EventHubConnString)
	if err != nil {
		// The SDK's message never quotes the secret; say which key it was.
		return nil, "", "", fmt.Errorf("init_config.event_hub_namespace_connection_string: %w", err)
	}
	hub := cfg.EventHub
	if props.EntityPath != nil && *props.EntityPath != "" {
		hub = "" // the SDK refuses both; the connection string's wins
	}
	cc, err := azeventhubs.NewConsumerClientFromConnectionString(cfg.EventHubConnString, hub, cfg.ConsumerGroup, opts)
	if hub == "" {
		hub = *props.EntityPath
	}
	return cc, props.FullyQualifiedNamespace, hub, err
}

// containerClient opens a blob container by connection string or by
// account URL with Azure AD.
func containerClient(connString, accountURL, name string, cred azcore.TokenCredential) (*container.Client, error) {
	if connString != "" {
		return container.NewClientFromConnectionString(connString, name, nil)
	}
	return container.NewClient(strings.TrimRight(accountURL, "/")+"/"+name, cred, nil)
}
