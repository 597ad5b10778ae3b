package aks

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/Azure/azure-sdk-for-go/sdk/storage/azblob/container"

	"github.com/peregrine-sec/peregrine/audit"
	"github.com/peregrine-sec/peregrine/source"
	"github.com/peregrine-sec/peregrine/source/aks/akstest"
)

// archive writes PT1H.json blobs to a container as a diagnostic setting
// does: one record per line, one blob per cluster and hour.
func archiveBlobs(t *testing.T, conn, name string, blobs map[string][]string) {
	t.Helper()
	ctx := context.Background()
	cc, err := container.NewClientFromConnectionString(conn, name, nil)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := cc.Create(ctx, nil); err != nil {
		t.Fatal(err)
	}
	for path, lines := range blobs {
		body := []byte(strings.Join(lines, "\n") + "\n")
		if _, err := cc.NewBlockBlobClient(path).UploadBuffer(ctx, body, nil); err != nil {
			t.Fatal(err)
		}
	}
}

func hourPath(cluster string, h int) string {
	return fmt.Sprintf("resourceId=%s/y=2024/m=05/d=01/h=%02d/m=00/PT1H.json", akstest.ResourceID(cluster), h)
}

// at is an audit event record at 2024-05-01 h:00:00 + ms.
func at(cluster string, h, ms int) string {
	ev := akstest.AuditEvent(fmt.Sprintf("a1b2c3d4-0000-4000-8000-%012d", h*1000+ms), 0)
	ts := time.Date(2024, 5, 1, h, 0, 0, ms*int(time.Millisecond), time.UTC).Format("2006-01-02T15:04:05.000000Z")
	ev = strings.ReplaceAll(ev, akstest.Base.Format("2006-01-02T15:04:05.000000Z"), ts)
	return akstest.Record("kube-audit", cluster, ev)
}

func readAll(t *testing.T, it source.Iterator) []string {
	t.Helper()
	defer it.Close()
	var out []string
	for {
		e, err := it.Next()
		if errors.Is(err, io.EOF) {
			return out
		}
		if err != nil {
			t.Fatal(err)
		}
		id, _ := e.Get("auditID").Str()
		out = append(out, fmt.Sprintf("%s@%s#%d", strings.TrimLeft(id[24:], "0"), e.Cluster, e.Num))
	}
}

// TestHistory lists the hours of a time range across clusters and reads
// their events in order, keeping those of the range.
func TestHistory(t *testing.T) {
	srv := akstest.Need(t)
	cont := "archive-" + strings.ToLower(strings.ReplaceAll(t.Name(), "/", "-"))
	cut := akstest.Record("kube-audit", "prod", akstest.Truncated(akstest.AuditEvent("x", 1), 200))
	archiveBlobs(t, srv.BlobConn, cont, map[string][]string{
		hourPath("prod", 12):  {at("prod", 12, 1)},
		hourPath("prod", 13):  {at("prod", 13, 1), at("prod", 13, 2), cut, akstest.Record("guard", "prod", "{}"), at("prod", 13, 3)},
		hourPath("stage", 13): {at("stage", 13, 4)},
		hourPath("prod", 14):  {at("prod", 14, 1), at("prod", 14, 2)},
		"unrelated/blob.json": {at("prod", 13, 9)},
	})
	var logs bytes.Buffer
	env := source.Env{Plugin: "k8saudit-aks", Log: newTextLog(&logs), InitConfig: map[string]any{
		"blob_storage_connection_string": srv.BlobConn, "archive_container": cont}}
	since := time.Date(2024, 5, 1, 13, 0, 0, 2e6, time.UTC)
	until := time.Date(2024, 5, 1, 14, 0, 0, 2e6, time.UTC)
	it, err := History(env, since, until)
	if err != nil {
		t.Fatal(err)
	}
	got := strings.Join(readAll(t, it), " ")
	want := "13002@PROD#1 13003@PROD#2 13004@STAGE#3 14001@PROD#4"
	if got != want {
		t.Errorf("got  %s\nwant %s", got, want)
	}
	if !strings.Contains(logs.String(), "reason=truncated") { // no OnProblem: logged
		t.Errorf("truncated record not logged:\n%s", logs.String())
	}

	env.OpenParams = "prod-eu" // open_params names the cluster when set
	it, err = History(env, since, time.Date(2024, 5, 1, 13, 0, 0, 3e6, time.UTC))
	if err != nil {
		t.Fatal(err)
	}
	if got := strings.Join(readAll(t, it), " "); got != "13002@prod-eu#1" {
		t.Errorf("with open_params: %s", got)
	}
}

// TestHistoryAdminContainer: a setting that archives only
// kube-audit-admin writes to insights-logs-kube-audit-admin.
func TestHistoryAdminContainer(t *testing.T) {
	srv := akstest.Need(t)
	archiveBlobs(t, srv.BlobConn, DefaultArchiveContainer+"-admin", map[string][]string{hourPath("prod", 13): {at("prod", 13, 1)}})
	env := source.Env{Plugin: "k8saudit-aks", InitConfig: map[string]any{"blob_storage_connection_string": srv.BlobConn}}
	it, err := History(env, time.Date(2024, 5, 1, 0, 0, 0, 0, time.UTC), time.Time{})
	if err != nil {
		t.Fatal(err)
	}
	if got := strings.Join(readAll(t, it), " "); got != "13001@PROD#1" {
		t.Errorf("got %s", got)
	}
	env.InitConfig["archive_container"] = "nothing-here"
	if _, err := History(env, time.Now().Add(-time.Hour), time.Time{}); err == nil ||
		!strings.Contains(err.Error(), "archive container nothing-here not found") {
		t.Errorf("missing container: %v", err)
	}
}

// TestHistoryProblems: every archive record that gives no event is
// reported once, at its blob, line and offset, with its reason; a line
// too long to read ends its blob with one problem.
func TestHistoryProblems(t *testing.T) {
	srv := akstest.Need(t)
	cut := akstest.Record("kube-audit", "prod", akstest.Truncated(akstest.AuditEvent("x", 1), 200))
	broken := akstest.Record("kube-audit", "prod", `{"kind":"Event","auditID":"b"}]`)
	tests := []struct {
		name   string
		lines  []string
		maxDoc int
		events int
		want   []string // "line reason"
	}{
		{name: "bad records", lines: []string{at("prod", 13, 1), cut, "{not json", "", akstest.Record("guard", "prod", "{}"),
			`{"foo":1}`, broken, at("prod", 13, 2)}, events: 2,
			want: []string{"2 truncated", "3 malformed", "5 other-category", "6 not-audit", "7 malformed"}},
		{name: "line too long", lines: []string{at("prod", 13, 1), strings.Repeat("x", 5000), at("prod", 13, 2)},
			maxDoc: 4096, events: 1, want: []string{"2 too-large"}},
		{name: "no problem", lines: []string{at("prod", 13, 1)}, events: 1},
	}
	for i, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			cont := fmt.Sprintf("problems-%d", i)
			archiveBlobs(t, srv.BlobConn, cont, map[string][]string{hourPath("prod", 13): tt.lines})
			env := source.Env{Plugin: "k8saudit-aks", Log: newTextLog(io.Discard), InitConfig: map[string]any{
				"blob_storage_connection_string": srv.BlobConn, "archive_container": cont}}
			it, err := History(env, time.Date(2024, 5, 1, 13, 0, 0, 0, time.UTC), time.Date(2024, 5, 1, 14, 0, 0, 0, time.UTC))
			if err != nil {
				t.Fatal(err)
			}
			if tt.maxDoc > 0 {
				it.(*archive).maxDoc = tt.maxDoc
			}
			var got []string
			it.OnProblem(func(p audit.Problem) {
				got = append(got, fmt.Sprintf("%d %s", p.Line, p.Reason))
				if p.File != hourPath("prod", 13) || p.Offset != lineOffset(tt.lines, p.Line) {
					t.Errorf("problem at %s", p.Error())
				}
			})
			if n := len(readAll(t, it)); n != tt.events {
				t.Errorf("%d events, want %d", n, tt.events)
			}
			if !slices.Equal(got, tt.want) {
				t.Errorf("problems\n%q\nwant\n%q", got, tt.want)
			}
		})
	}
}

// lineOffset is where 1-based line n of a blob of lines starts.
func lineOffset(lines []string, n int) int64 {
	var off int64
	for _, l := range lines[:n-1] {
		off += int64(len(l)) + 1
	}
	return off
}
