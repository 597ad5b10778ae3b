package kafkaconn

import (
	"context"
	"crypto/tls"
	"crypto/x509"
	"fmt"
	"log/slog"
	"os"
	"sync"
	"time"

	"github.com/twmb/franz-go/pkg/kgo"
	"github.com/twmb/franz-go/pkg/sasl"
	"github.com/twmb/franz-go/pkg/sasl/oauth"
	"github.com/twmb/franz-go/pkg/sasl/plain"
	"github.com/twmb/franz-go/pkg/sasl/scram"
)

// ClientOpts turns o into franz-go options: seed brokers, client ID, TLS
// (files are read now, so a bad path fails at startup), SASL, and a logger
// that writes the client's warnings and errors to log.
func (o Options) ClientOpts(log *slog.Logger) ([]kgo.Opt, error) {
	opts := []kgo.Opt{kgo.SeedBrokers(o.Brokers...), kgo.ClientID(o.ClientID)}
	if log != nil {
		opts = append(opts, kgo.WithLogger(&slogger{l: log, last: map[string]time.Time{}}))
	}
	if o.TLS != nil {
		tc, err := o.TLS.config()
		if err != nil {
			return nil, err
		}
		opts = append(opts, kgo.DialTLSConfig(tc))
	}
	if m := o.SASL.mechanism(); m != nil {
		opts = append(opts, kgo.SASL(m))
	}
	return opts, nil
}

func (t *TLS) config() (*tls.Config, error) {
	tc := &tls.Config{MinVersion: tls.VersionTLS12, ServerName: t.ServerName, InsecureSkipVerify: t.Insecure} //nolint:gosec // the user's choice
	if t.CACert != "" {
		pool, err := x509.SystemCertPool()
		if err != nil {
			pool = x509.NewCertPool()
		}
		pem, err := os.ReadFile(t.CACert)
		if err != nil {
			return nil, fmt.Errorf("tls.ca_cert: %w", err)
		}
		if !pool.AppendCertsFromPEM(pem) {
			return nil, fmt.Errorf("tls.ca_cert: %s holds no PEM certificate", t.CACert)
		}
		tc.RootCAs = pool
	}
	if t.ClientCert != "" {
		cert, err := tls.LoadX509KeyPair(t.ClientCert, t.ClientKey)
		if err != nil {
			return nil, fmt.Errorf("tls.client_cert: %w", err)
		}
		tc.Certificates = []tls.Certificate{cert}
	}
	return tc, nil
}

func (s SASL) mechanism() sasl.Mechanism {
	switch s.Mechanism {
	case "PLAIN":
		return plain.Auth{User: s.Username, Pass: s.Password}.AsMechanism()
	case "SCRAM-SHA-256":
		return scram.Auth{User: s.Username, Pass: s.Password}.AsSha256Mechanism()
	case "SCRAM-SHA-512":
		return scram.Auth{User: s.Username, Pass: s.Password}.AsSha512Mechanism()
	case "OAUTHBEARER":
		ts := newTokenSource(s.OAuth)
		return oauth.Oauth(func(ctx context.Context) (oauth.Auth, error) {
			tok, err := ts.Token(ctx)
			return oauth.Auth{Token: tok}, err
		})
	}
	return nil
}

// slogger writes franz-go's log lines to slog. Only warnings and errors
// (the client's info level logs every request), and each message at most
// once per logEvery with the count of the ones held back: while a broker
// is down the client retries, and says so, several times a second.
type slogger struct {
	l    *slog.Logger
	mu   sync.Mutex
	last map[string]time.Time
	held map[string]int
}

const logEvery = 10 * time.Second

func (s *slogger) Level() kgo.LogLevel { return kgo.LogLevelWarn }

func (s *slogger) Log(level kgo.LogLevel, msg string, keyvals ...any) {
	s.mu.Lock()
	if time.Since(s.last[msg]) < logEvery {
		if s.held == nil {
			s.held = map[string]int{}
		}
		s.held[msg]++
		s.mu.Unlock()
		return
	}
	if len(s.last) > 1000 { // messages are a fixed set; this only bounds a surprise
		clear(s.last)
	}
	s.last[msg] = time.Now()
	held := s.held[msg]
	delete(s.held, msg)
	s.mu.Unlock()
	lv := slog.LevelWarn
	if level == kgo.LogLevelError {
		lv = slog.LevelError
	}
	if held > 0 {
		keyvals = append(keyvals, "repeats_not_logged", held)
	}
	s.l.Log(context.Background(), lv, "kafka: "+msg, keyvals...)
}
