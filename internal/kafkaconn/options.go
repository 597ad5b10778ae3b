package kafkaconn

import (
	"fmt"
	"net"
	"os"
	"strings"
)

// Options are the connection keys of a kafka plugins: entry's init_config
// and of the kafka_output block.
type Options struct {
	// Brokers are the seed brokers, host:port.
	Brokers []string
	// ClientID names the client to the brokers (default "peregrine").
	ClientID string
	// TLS, when set, encrypts connections.
	TLS *TLS
	// SASL authenticates connections when Mechanism is set.
	SASL SASL
	// EntityPath is the Event Hub named by an event_hubs_connection_string
	// (its EntityPath), the default topic; "" otherwise.
	EntityPath string
}

// TLS are the tls: keys.
type TLS struct {
	CACert     string // PEM file of CAs to trust besides the system's
	ClientCert string // PEM client certificate (mutual TLS)
	ClientKey  string
	ServerName string // overrides the name verified in the certificate
	Insecure   bool   // insecure_skip_verify
}

// SASL are the sasl: keys.
type SASL struct {
	// Mechanism is PLAIN, SCRAM-SHA-256, SCRAM-SHA-512 or OAUTHBEARER.
	Mechanism string
	Username  string
	Password  string
	OAuth     OAuth
}

// OAuth says where OAUTHBEARER tokens come from: a file (TokenFile, read
// again for every new connection), an OAuth 2.0 client-credentials token
// endpoint (TokenURL), or Azure AD (Provider "azure": a client secret, a
// workload-identity assertion file, or the managed identity).
type OAuth struct {
	Provider            string // "", "oauth2", "azure"
	TokenFile           string
	TokenURL            string
	TenantID            string
	ClientID            string
	ClientSecret        string
	ClientAssertionFile string
	Scope               string
}

// Mechanisms are the SASL mechanisms Parse accepts.
var Mechanisms = []string{"PLAIN", "SCRAM-SHA-256", "SCRAM-SHA-512", "OAUTHBEARER"}

// ConnKeys are the keys Parse reads, as dotted paths (tls is true or a
// mapping of its own keys): a block's other keys are the caller's, and
// what neither reads gets a warning (internal/keys).
var ConnKeys = []string{
	"brokers", "client_id", "event_hubs_connection_string",
	"tls", "tls.enabled", "tls.ca_cert", "tls.client_cert", "tls.client_key", "tls.server_name", "tls.insecure_skip_verify",
	"sasl.mechanism", "sasl.username", "sasl.password", "sasl.provider", "sasl.token_file", "sasl.token_url",
	"sasl.tenant_id", "sasl.client_id", "sasl.client_secret", "sasl.client_assertion_file", "sasl.scope",
}

// Parse reads the connection keys of k. Event Hubs' connection string
// stands for the brokers, TLS and SASL PLAIN that its Kafka endpoint needs.
func Parse(k *Keys) (Options, error) {
	o := Options{Brokers: k.Strings("brokers"), ClientID: k.Str("client_id", "peregrine")}
	if cs := k.Str("event_hubs_connection_string", ""); cs != "" {
		if err := o.eventHubs(cs); err != nil {
			return o, fmt.Errorf("%sevent_hubs_connection_string: %w", k.where, err)
		}
	}
	o.parseTLS(k)
	sk := k.Sub("sasl")
	o.parseSASL(sk)
	k.Adopt(sk)
	if err := k.Err(); err != nil {
		return o, err
	}
	if len(o.Brokers) == 0 {
		return o, fmt.Errorf("%sbrokers: at least one host:port is required", k.where)
	}
	for _, b := range o.Brokers {
		if _, _, err := net.SplitHostPort(b); err != nil {
			return o, fmt.Errorf("%sbrokers: %q is not host:port", k.where, b)
		}
	}
	return o, o.checkSASL(k.where + "sasl.")
}

// eventHubs applies an Event Hubs connection string: the namespace's Kafka
// endpoint on port 9093, TLS, and SASL PLAIN with the user
// "$ConnectionString" and the whole string as the password, as Microsoft
// documents for Kafka clients.
func (o *Options) eventHubs(cs string) error {
	host := ""
	for _, part := range strings.Split(cs, ";") {
		key, val, _ := strings.Cut(strings.TrimSpace(part), "=")
		switch strings.ToLower(key) {
		case "endpoint":
			host = strings.TrimSuffix(strings.TrimPrefix(val, "sb://"), "/")
		case "entitypath":
			o.EntityPath = val
		}
	}
	if host == "" {
		// Not quoting the string: it holds the shared access key.
		return fmt.Errorf("no Endpoint=sb://NAMESPACE.servicebus.windows.net/ in it")
	}
	if len(o.Brokers) == 0 {
		o.Brokers = []string{host + ":9093"}
	}
	o.TLS = &TLS{}
	o.SASL = SASL{Mechanism: "PLAIN", Username: "$ConnectionString", Password: cs}
	return nil
}

// parseTLS reads tls: true, or a mapping whose keys imply enabled.
func (o *Options) parseTLS(k *Keys) {
	switch k.m["tls"].(type) {
	case nil:
		return
	case map[string]any:
	default:
		if k.Bool("tls", false) {
			o.TLS = &TLS{}
		}
		return
	}
	tk := k.Sub("tls")
	defer k.Adopt(tk)
	if !tk.Bool("enabled", true) {
		o.TLS = nil
		return
	}
	o.TLS = &TLS{
		CACert: tk.Str("ca_cert", ""), ClientCert: tk.Str("client_cert", ""), ClientKey: tk.Str("client_key", ""),
		ServerName: tk.Str("server_name", ""), Insecure: tk.Bool("insecure_skip_verify", false),
	}
	if (o.TLS.ClientCert == "") != (o.TLS.ClientKey == "") {
		tk.fail("client_cert", "client_cert and client_key go together")
	}
}

func (o *Options) parseSASL(k *Keys) {
	if len(k.m) == 0 {
		return
	}
	o.SASL = SASL{
		Mechanism: strings.ToUpper(k.Str("mechanism", "")),
		Username:  k.Str("username", ""),
		Password:  k.Str("password", ""),
		OAuth: OAuth{
			Provider:            strings.ToLower(k.Str("provider", "")),
			TokenFile:           k.Str("token_file", ""),
			TokenURL:            k.Str("token_url", ""),
			TenantID:            k.Str("tenant_id", ""),
			ClientID:            k.Str("client_id", ""),
			ClientSecret:        k.Str("client_secret", ""),
			ClientAssertionFile: k.Str("client_assertion_file", ""),
			Scope:               k.Str("scope", ""),
		},
	}
}

func (o *Options) checkSASL(where string) error {
	s := &o.SASL
	switch s.Mechanism {
	case "":
		return nil
	case "PLAIN", "SCRAM-SHA-256", "SCRAM-SHA-512":
		if s.Username == "" {
			return fmt.Errorf("%susername: required for %s", where, s.Mechanism)
		}
		return nil
	case "OAUTHBEARER":
		return o.checkOAuth(where)
	}
	return fmt.Errorf("%smechanism: %q must be one of %s", where, s.Mechanism, strings.Join(Mechanisms, ", "))
}

// checkOAuth picks the token provider and fills Azure's defaults: the
// AZURE_* variables that AKS workload identity injects, and the Event
// Hubs namespace's scope.
func (o *Options) checkOAuth(where string) error {
	a := &o.SASL.OAuth
	if a.Provider == "" {
		switch {
		case a.TokenFile != "":
			a.Provider = "file"
		case a.TokenURL != "":
			a.Provider = "oauth2"
		case a.TenantID != "":
			a.Provider = "azure"
		}
	}
	switch a.Provider {
	case "file":
		if a.TokenFile == "" {
			return fmt.Errorf("%stoken_file: required", where)
		}
	case "oauth2":
		if a.TokenURL == "" || a.ClientID == "" {
			return fmt.Errorf("%stoken_url and client_id: required for provider oauth2", where)
		}
	case "azure":
		a.azureDefaults(o.Brokers)
		if o.TLS == nil {
			o.TLS = &TLS{} // Event Hubs' Kafka endpoint takes nothing else
		}
	default:
		return fmt.Errorf("%sprovider: OAUTHBEARER needs token_file, token_url (provider oauth2) or provider azure", where)
	}
	return nil
}

func (a *OAuth) azureDefaults(brokers []string) {
	a.TenantID = orEnv(a.TenantID, "AZURE_TENANT_ID")
	a.ClientID = orEnv(a.ClientID, "AZURE_CLIENT_ID")
	if a.ClientSecret == "" {
		a.ClientAssertionFile = orEnv(a.ClientAssertionFile, "AZURE_FEDERATED_TOKEN_FILE")
	}
	if a.Scope == "" && len(brokers) > 0 {
		host, _, _ := net.SplitHostPort(brokers[0])
		a.Scope = "https://" + host + "/.default"
	}
	if a.TokenURL == "" && a.TenantID != "" {
		host := orEnv("", "AZURE_AUTHORITY_HOST")
		if host == "" {
			host = "https://login.microsoftonline.com/"
		}
		a.TokenURL = strings.TrimSuffix(host, "/") + "/" + a.TenantID + "/oauth2/v2.0/token"
	}
}

func orEnv(v, name string) string {
	if v != "" {
		return v
	}
	return os.Getenv(name)
}
