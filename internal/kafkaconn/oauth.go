package kafkaconn

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"os"
	"strconv"
	"strings"
	"sync"
	"time"
)

// imdsURL is Azure's instance metadata token endpoint (managed identity);
// a variable so tests can point it elsewhere.
var imdsURL = "http://169.254.169.254/metadata/identity/oauth2/token"

// tokenSource gives OAUTHBEARER tokens. A fetched token is reused until
// shortly before it expires: every new broker connection authenticates,
// and asking the identity provider for each would be slow and throttled.
type tokenSource struct {
	a      OAuth
	client *http.Client
	now    func() time.Time

	mu      sync.Mutex
	tok     string
	renewAt time.Time
}

func newTokenSource(a OAuth) *tokenSource {
	return &tokenSource{a: a, client: &http.Client{Timeout: 30 * time.Second}, now: time.Now}
}

// refreshBefore is how long before expiry a cached token is replaced, so
// that a connection never authenticates with one about to lapse.
const refreshBefore = 5 * time.Minute

// Token returns a valid token.
func (t *tokenSource) Token(ctx context.Context) (string, error) {
	if t.a.Provider == "file" {
		// Read every time: whatever writes the file (a sidecar, a
		// projected volume) refreshes it.
		b, err := os.ReadFile(t.a.TokenFile)
		if err != nil {
			return "", fmt.Errorf("sasl.token_file: %w", err)
		}
		return strings.TrimSpace(string(b)), nil
	}
	t.mu.Lock()
	defer t.mu.Unlock()
	if t.tok != "" && t.now().Before(t.renewAt) {
		return t.tok, nil
	}
	tok, life, err := t.fetch(ctx)
	if err != nil {
		return "", err
	}
	t.tok, t.renewAt = tok, t.now().Add(life-min(refreshBefore, life/2))
	return tok, nil
}

func (t *tokenSource) fetch(ctx context.Context) (string, time.Duration, error) {
	a := t.a
	if a.Provider == "azure" && a.ClientSecret == "" && a.ClientAssertionFile == "" {
		return t.managedIdentity(ctx)
	}
	if a.TokenURL == "" {
		return "", 0, errors.New("sasl: no token_url (set tenant_id or AZURE_TENANT_ID for Azure AD)")
	}
	form := url.Values{"grant_type": {"client_credentials"}, "client_id": {a.ClientID}}
	if a.Scope != "" {
		form.Set("scope", a.Scope)
	}
	if a.ClientAssertionFile != "" {
		// Workload identity: the projected service-account token is the
		// client assertion, read anew because the kubelet rotates it.
		b, err := os.ReadFile(a.ClientAssertionFile)
		if err != nil {
			return "", 0, fmt.Errorf("sasl.client_assertion_file: %w", err)
		}
		form.Set("client_assertion_type", "urn:ietf:params:oauth:client-assertion-type:jwt-bearer")
		form.Set("client_assertion", strings.TrimSpace(string(b)))
	} else {
		form.Set("client_secret", a.ClientSecret)
	}
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, a.TokenURL, strings.NewReader(form.Encode()))
	if err != nil {
		return "", 0, fmt.Errorf("sasl.token_url: %w", err)
	}
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	return t.do(req)
}

// managedIdentity asks the Azure instance metadata service for a token of
// the VM's or node pool's managed identity (user-assigned when client_id
// is set).
func (t *tokenSource) managedIdentity(ctx context.Context) (string, time.Duration, error) {
	q := url.Values{"api-version": {"2018-02-01"}, "resource": {strings.TrimSuffix(t.a.Scope, "/.default")}}
	if t.a.ClientID != "" {
		q.Set("client_id", t.a.ClientID)
	}
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, imdsURL+"?"+q.Encode(), nil)
	if err != nil {
		return "", 0, err
	}
	req.Header.Set("Metadata", "true")
	return t.do(req)
}

// tokenResponse is an OAuth 2.0 token answer; Azure's managed identity
// endpoint writes expires_in as a string.
type tokenResponse struct {
	AccessToken string          `json:"access_token"`
	ExpiresIn   json.RawMessage `json:"expires_in"`
	Error       string          `json:"error"`
	Description string          `json:"error_description"`
}

func (t *tokenSource) do(req *http.Request) (string, time.Duration, error) {
	where := req.URL.Scheme + "://" + req.URL.Host + req.URL.Path // no query: it may name the client
	resp, err := t.client.Do(req)
	if err != nil {
		var ue *url.Error
		if errors.As(err, &ue) {
			err = ue.Err
		}
		return "", 0, fmt.Errorf("sasl: token request to %s: %w", where, err)
	}
	defer resp.Body.Close()
	var tr tokenResponse
	body, _ := io.ReadAll(io.LimitReader(resp.Body, 1<<20))
	if err := json.Unmarshal(body, &tr); err != nil || resp.StatusCode/100 != 2 || tr.AccessToken == "" {
		// error and error_description name the problem (AADSTS codes)
		// and carry no secret.
		return "", 0, fmt.Errorf("sasl: token request to %s: %s %s %s", where, resp.Status, tr.Error, firstLine(tr.Description))
	}
	life := time.Hour
	if s := strings.Trim(string(tr.ExpiresIn), `"`); s != "" {
		if n, err := strconv.Atoi(s); err == nil && n > 0 {
			life = time.Duration(n) * time.Second
		}
	}
	return tr.AccessToken, life, nil
}

func firstLine(s string) string {
	s, _, _ = strings.Cut(s, "\n")
	s, _, _ = strings.Cut(s, "\r")
	return s
}
