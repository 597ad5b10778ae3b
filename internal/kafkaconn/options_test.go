package kafkaconn

import (
	"slices"
	"strings"
	"testing"
)

func TestParse(t *testing.T) {
	for _, v := range []string{"AZURE_AUTHORITY_HOST", "AZURE_TENANT_ID", "AZURE_CLIENT_ID", "AZURE_FEDERATED_TOKEN_FILE"} {
		t.Setenv(v, "")
	}
	const cs = "Endpoint=sb://ns.servicebus.windows.net/;SharedAccessKeyName=listen;SharedAccessKey=s3cret;EntityPath=audit"
	tests := []struct {
		name  string
		m     map[string]any
		check func(t *testing.T, o Options)
		err   string
	}{
		{name: "brokers string", m: map[string]any{"brokers": "a:9092, b:9092"}, check: func(t *testing.T, o Options) {
			if !slices.Equal(o.Brokers, []string{"a:9092", "b:9092"}) || o.TLS != nil || o.SASL.Mechanism != "" || o.ClientID != "peregrine" {
				t.Errorf("%+v", o)
			}
		}},
		{name: "tls true", m: map[string]any{"brokers": []any{"a:9093"}, "tls": true}, check: func(t *testing.T, o Options) {
			if o.TLS == nil {
				t.Error("no TLS")
			}
		}},
		{name: "tls block", m: map[string]any{"brokers": "a:9093", "tls": map[string]any{"ca_cert": "/ca.pem", "server_name": "k"}},
			check: func(t *testing.T, o Options) {
				if o.TLS == nil || o.TLS.CACert != "/ca.pem" || o.TLS.ServerName != "k" {
					t.Errorf("%+v", o.TLS)
				}
			}},
		{name: "scram", m: map[string]any{"brokers": "a:9092", "sasl": map[string]any{"mechanism": "scram-sha-512", "username": "u", "password": "p"}},
			check: func(t *testing.T, o Options) {
				if o.SASL.Mechanism != "SCRAM-SHA-512" || o.SASL.Username != "u" {
					t.Errorf("%+v", o.SASL)
				}
			}},
		{name: "event hubs connection string", m: map[string]any{"event_hubs_connection_string": cs}, check: func(t *testing.T, o Options) {
			if !slices.Equal(o.Brokers, []string{"ns.servicebus.windows.net:9093"}) || o.TLS == nil || o.EntityPath != "audit" ||
				o.SASL.Mechanism != "PLAIN" || o.SASL.Username != "$ConnectionString" || o.SASL.Password != cs {
				t.Errorf("%+v", o)
			}
		}},
		{name: "azure ad", m: map[string]any{"brokers": "ns.servicebus.windows.net:9093",
			"sasl": map[string]any{"mechanism": "OAUTHBEARER", "provider": "azure", "tenant_id": "t1", "client_id": "c1", "client_secret": "x"}},
			check: func(t *testing.T, o Options) {
				a := o.SASL.OAuth
				if a.TokenURL != "https://login.microsoftonline.com/t1/oauth2/v2.0/token" || a.Scope != "https://ns.servicebus.windows.net/.default" {
					t.Errorf("%+v", a)
				}
				if o.TLS == nil {
					t.Error("no TLS for Event Hubs")
				}
			}},
		{name: "token file", m: map[string]any{"brokers": "a:9092", "sasl": map[string]any{"mechanism": "OAUTHBEARER", "token_file": "/t"}},
			check: func(t *testing.T, o Options) {
				if o.SASL.OAuth.Provider != "file" {
					t.Errorf("%+v", o.SASL.OAuth)
				}
			}},
		{name: "no brokers", m: map[string]any{}, err: "x.brokers: at least one"},
		{name: "broker without port", m: map[string]any{"brokers": "kafka"}, err: `x.brokers: "kafka" is not host:port`},
		{name: "bad mechanism", m: map[string]any{"brokers": "a:1", "sasl": map[string]any{"mechanism": "GSSAPI"}}, err: "x.sasl.mechanism"},
		{name: "plain without user", m: map[string]any{"brokers": "a:1", "sasl": map[string]any{"mechanism": "PLAIN", "password": "s3cret"}},
			err: "x.sasl.username: required"},
		{name: "oauth without source", m: map[string]any{"brokers": "a:1", "sasl": map[string]any{"mechanism": "OAUTHBEARER"}}, err: "x.sasl.provider"},
		{name: "bad connection string", m: map[string]any{"event_hubs_connection_string": "SharedAccessKey=s3cret"}, err: "no Endpoint"},
		{name: "half a client certificate", m: map[string]any{"brokers": "a:1", "tls": map[string]any{"client_cert": "/c"}}, err: "x.tls.client_cert"},
		{name: "sasl not a mapping", m: map[string]any{"brokers": "a:1", "sasl": "PLAIN"}, err: "x.sasl: expected a mapping"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			o, err := Parse(NewKeys(tc.m, "x."))
			if tc.err != "" {
				if err == nil || !strings.Contains(err.Error(), tc.err) {
					t.Fatalf("error %v, want %q", err, tc.err)
				}
				if strings.Contains(err.Error(), "s3cret") {
					t.Fatalf("error shows the secret: %v", err)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			tc.check(t, o)
		})
	}
}
