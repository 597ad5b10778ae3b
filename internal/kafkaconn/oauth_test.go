package kafkaconn

import (
	"context"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"sync/atomic"
	"testing"
	"time"
)

// TestTokenSource asks a fake identity provider for tokens the way each
// provider does, and checks that a token is reused until near expiry.
func TestTokenSource(t *testing.T) {
	dir := t.TempDir()
	assertion := filepath.Join(dir, "sa-token")
	os.WriteFile(assertion, []byte("projected-jwt\n"), 0o600)
	tokenFile := filepath.Join(dir, "token")
	os.WriteFile(tokenFile, []byte("file-token\n"), 0o600)

	var calls atomic.Int32
	var last http.Request
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		calls.Add(1)
		r.ParseForm()
		last = *r
		if r.Form.Get("client_secret") == "wrong" {
			w.WriteHeader(http.StatusUnauthorized)
			w.Write([]byte(`{"error":"invalid_client","error_description":"AADSTS7000215: Invalid client secret provided.\r\nTrace ID: x"}`))
			return
		}
		w.Write([]byte(`{"access_token":"tok-` + r.Form.Get("client_id") + `","expires_in":"3600","token_type":"Bearer"}`))
	}))
	defer srv.Close()
	imdsURL = srv.URL + "/metadata/identity/oauth2/token"

	tests := []struct {
		name  string
		a     OAuth
		want  string
		check func(t *testing.T, r *http.Request)
		err   string
	}{
		{name: "file", a: OAuth{Provider: "file", TokenFile: tokenFile}, want: "file-token"},
		{name: "client secret", a: OAuth{Provider: "oauth2", TokenURL: srv.URL + "/token", ClientID: "c1", ClientSecret: "s", Scope: "sc"},
			want: "tok-c1", check: func(t *testing.T, r *http.Request) {
				if r.Form.Get("grant_type") != "client_credentials" || r.Form.Get("scope") != "sc" || r.Form.Get("client_secret") != "s" {
					t.Errorf("form %v", r.Form)
				}
			}},
		{name: "workload identity", a: OAuth{Provider: "azure", TokenURL: srv.URL + "/t1/oauth2/v2.0/token", ClientID: "c2", ClientAssertionFile: assertion},
			want: "tok-c2", check: func(t *testing.T, r *http.Request) {
				if r.Form.Get("client_assertion") != "projected-jwt" || !strings.HasSuffix(r.Form.Get("client_assertion_type"), "jwt-bearer") {
					t.Errorf("form %v", r.Form)
				}
			}},
		{name: "managed identity", a: OAuth{Provider: "azure", ClientID: "c3", Scope: "https://ns.servicebus.windows.net/.default"},
			want: "tok-c3", check: func(t *testing.T, r *http.Request) {
				if r.Method != http.MethodGet || r.Header.Get("Metadata") != "true" || r.Form.Get("resource") != "https://ns.servicebus.windows.net" {
					t.Errorf("%s %v %v", r.Method, r.Header, r.Form)
				}
			}},
		{name: "refused", a: OAuth{Provider: "oauth2", TokenURL: srv.URL + "/token", ClientID: "c1", ClientSecret: "wrong"},
			err: "401 Unauthorized invalid_client AADSTS7000215: Invalid client secret provided."},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			tok, err := newTokenSource(tc.a).Token(context.Background())
			if tc.err != "" {
				if err == nil || !strings.Contains(err.Error(), tc.err) || strings.Contains(err.Error(), "Trace ID") {
					t.Fatalf("error %v, want %q on one line", err, tc.err)
				}
				return
			}
			if err != nil || tok != tc.want {
				t.Fatalf("Token = %q, %v; want %q", tok, err, tc.want)
			}
			if tc.check != nil {
				tc.check(t, &last)
			}
		})
	}

	ts := newTokenSource(OAuth{Provider: "oauth2", TokenURL: srv.URL, ClientID: "c", ClientSecret: "s"})
	start := time.Now()
	calls.Store(0)
	for _, at := range []time.Duration{0, 30 * time.Minute, 54 * time.Minute, 56 * time.Minute} {
		ts.now = func() time.Time { return start.Add(at) }
		if _, err := ts.Token(context.Background()); err != nil {
			t.Fatal(err)
		}
	}
	if n := calls.Load(); n != 2 {
		t.Errorf("%d token requests for one hour-long token used past 55 minutes, want 2", n)
	}
}
