//go:build e2e

package e2e

import (
	"context"
	"fmt"
	"net/http"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"
	"testing"
	"time"

	"github.com/minio/minio-go/v7"
)

// Crash test sizes: KMSBOX_CRASH_ROUNDS rounds (2 in `make test`, 8 in `make crash`), each
// killed once crashAcks operations of crashWorkers workers were acknowledged.
const (
	crashWorkers = 8
	crashAcks    = 200
	crashBucket  = "crash"
	crashKeys    = 6 // keys of each kind per worker
)

// ledger is what the server acknowledged: for every key, the values it may hold now. An
// acknowledged write leaves one; a write that was in flight at the kill adds its value to
// the old ones (it may or may not have happened). "" is absent (objects, KV) and "0"/"1" are
// a KES key's existence.
type ledger struct {
	mu     sync.Mutex
	may    map[string][]string
	acked  atomic.Int64
	target int64
	done   chan struct{} // closed once acked reaches target
	once   sync.Once
	killed atomic.Bool // set just before the kill: errors after it are expected
}

func (l *ledger) begin(key, v string) {
	l.mu.Lock()
	defer l.mu.Unlock()
	if _, ok := l.may[key]; !ok { // a key never written before is absent
		l.may[key] = []string{absent(key)}
	}
	if !slices.Contains(l.may[key], v) {
		l.may[key] = append(l.may[key], v)
	}
}

func (l *ledger) ack(key, v string) {
	l.mu.Lock()
	l.may[key] = []string{v}
	l.mu.Unlock()
	if l.acked.Add(1) >= l.target {
		l.once.Do(func() { close(l.done) })
	}
}

// absent is the value of key when it does not exist.
func absent(key string) string {
	if strings.HasPrefix(key, "kes:") {
		return "0"
	}
	return ""
}

// current is the one value key is known to hold (after a verify), "" if absent.
func (l *ledger) current(key string) string {
	l.mu.Lock()
	defer l.mu.Unlock()
	if v := l.may[key]; len(v) == 1 {
		return v[0]
	}
	return absent(key)
}

// TestCrash kills the real binary with SIGKILL during mixed load (PUT, overwrite, multipart,
// delete, DeleteObjects, KES key create and delete, KV v1 and v2 writes) and checks after
// each restart that every acknowledged write reads back exactly, that nothing partial is
// listed, that the object store's files do not outgrow its objects, and that `kmsbox check`
// passes on the stopped data dir.
func TestCrash(t *testing.T) {
	rounds := envInt(t, "KMSBOX_CRASH_ROUNDS", 2)
	dir := t.TempDir()
	l := &ledger{may: map[string][]string{}}
	var total int64
	for round := 0; round <= rounds; round++ {
		srv := startServer(t, dir)
		c := newLoadClients(t, srv)
		ctx := context.Background()
		if round == 0 {
			c.enableKV(t)
			must(t, "make bucket", c.s3.MakeBucket(ctx, crashBucket, minio.MakeBucketOptions{}))
		}
		bodies := verifyLedger(t, c, l, round)
		if round > 0 {
			// Orphans: every body file belongs to a listed object (a body a kill left
			// behind would stay and grow from round to round).
			if files := countFiles(t, filepath.Join(dir, "s3", "data")); files != bodies {
				t.Errorf("after restart %d: %d body files in s3/data for %d bodies of listed objects", round, files, bodies)
			}
		}
		if round == rounds {
			srv.mustStop(t)
			break
		}
		l.acked.Store(0)
		l.target, l.done, l.once = crashAcks, make(chan struct{}), sync.Once{}
		l.killed.Store(false)
		lctx, cancel := context.WithCancel(ctx)
		var wg sync.WaitGroup
		for w := range crashWorkers {
			wg.Add(1)
			go func() { defer wg.Done(); crashWorker(t, lctx, c, l, w) }()
		}
		select {
		case <-l.done:
		case <-time.After(3 * time.Minute):
			t.Errorf("round %d: only %d operations acknowledged in 3 minutes", round, l.acked.Load())
		}
		l.killed.Store(true)
		must(t, "SIGKILL", srv.cmd.Process.Signal(syscall.SIGKILL))
		<-srv.exited
		cancel()
		wg.Wait()
		total += l.acked.Load()
		t.Logf("round %d: killed after %d acknowledged operations", round+1, l.acked.Load())
		// Straight after the kill, the only problems check may find are what a crash leaves
		// and the next start sweeps (the orphan count after the restart proves it does):
		// bodies written and renamed whose record never committed, and temp files.
		out := checkAfterKill(t, dir)
		t.Logf("kmsbox check:\n%s", out)
		if t.Failed() {
			return
		}
	}
	t.Logf("%d rounds, %d acknowledged operations, nothing lost", rounds, total)
	runCheck(t, dir)
}

// crashWorker runs operations on worker w's own keys until ctx ends.
func crashWorker(t *testing.T, ctx context.Context, c *loadClients, l *ledger, w int) {
	for ctx.Err() == nil {
		j := randN(crashKeys)
		obj := fmt.Sprintf("w%d/o%d", w, j)
		var key, val string
		var err error
		switch op := randN(20); {
		case op < 8: // PUT, an overwrite when the key exists
			data, sum := randomData(randN(128 << 10))
			key, val = "s3:"+obj, sum
			l.begin(key, val)
			err = c.putObject(ctx, crashBucket, obj, data, 0)
		case op < 9: // multipart: two parts
			data, sum := randomData(5<<20 + randN(64<<10) + 1)
			key, val = "s3:"+obj, sum
			l.begin(key, val)
			err = c.putObject(ctx, crashBucket, obj, data, 5<<20)
		case op < 11:
			key = "s3:" + obj
			l.begin(key, "")
			err = c.s3.RemoveObject(ctx, crashBucket, obj, minio.RemoveObjectOptions{})
		case op < 12: // DeleteObjects of two keys
			other := fmt.Sprintf("w%d/o%d", w, (j+1)%crashKeys)
			l.begin("s3:"+obj, "")
			l.begin("s3:"+other, "")
			ch := make(chan minio.ObjectInfo, 2)
			ch <- minio.ObjectInfo{Key: obj}
			ch <- minio.ObjectInfo{Key: other}
			close(ch)
			for e := range c.s3.RemoveObjects(ctx, crashBucket, ch, minio.RemoveObjectsOptions{}) {
				if err == nil {
					err = e.Err
				}
			}
			if err == nil {
				l.ack("s3:"+other, "")
			}
			key = "s3:" + obj
		case op < 15: // KES key create or delete
			name := fmt.Sprintf("crash-w%d-%d", w, j)
			key = "kes:" + name
			var code int
			if l.current(key) == "1" {
				val = "0"
				l.begin(key, val)
				code, err = c.kesDo(ctx, http.MethodDelete, "/v1/key/delete/"+name, nil)
			} else {
				val = "1"
				l.begin(key, val)
				code, err = c.kesDo(ctx, http.MethodPost, "/v1/key/create/"+name, nil)
			}
			// A create that finds the key (an earlier create in flight at a kill happened)
			// and a delete that does not are acknowledged states too.
			if err == nil && code != http.StatusOK && !(val == "1" && code == http.StatusBadRequest) && !(val == "0" && code == http.StatusNotFound) {
				err = fmt.Errorf("KES answered %d", code)
			}
		default: // KV v1 or v2
			version := 1 + op%2
			kv := fmt.Sprintf("w%d-k%d", w, j)
			_, val = randomData(8)
			key = fmt.Sprintf("kv%d:%s", version, kv)
			l.begin(key, val)
			err = c.kvWrite(ctx, version, kv, val)
		}
		switch {
		case err == nil:
			l.ack(key, val)
		case l.killed.Load() || ctx.Err() != nil:
			return // in flight at the kill: either value may be there
		default:
			t.Errorf("%s: %v", key, err)
			return
		}
	}
}

// verifyLedger checks a freshly started server against everything acknowledged, aborts
// multipart uploads a kill left (they are the client's to abort), and pins each key to the
// value it was found with. It returns how many body files the listed objects have.
func verifyLedger(t *testing.T, c *loadClients, l *ledger, round int) int {
	t.Helper()
	ctx := context.Background()
	l.mu.Lock()
	defer l.mu.Unlock()
	live := map[string]bool{}
	for key, may := range l.may {
		kind, name, _ := strings.Cut(key, ":")
		var got string
		var err error
		switch kind {
		case "s3":
			got, err = c.getHash(ctx, crashBucket, name)
			if got != "" {
				live[name] = true
			}
		case "kv1", "kv2":
			got, err = c.kvRead(ctx, int(kind[2]-'0'), name)
		case "kes":
			var code int
			code, err = c.kesDo(ctx, http.MethodGet, "/v1/key/describe/"+name, nil)
			got = map[int]string{http.StatusOK: "1", http.StatusNotFound: "0"}[code]
			if got == "" && err == nil {
				err = fmt.Errorf("describe answered %d", code)
			}
		}
		if err != nil {
			t.Errorf("after restart %d: %s: %v", round, key, err)
			continue
		}
		if !slices.Contains(may, got) {
			t.Errorf("after restart %d: %s holds %q, want one of %q", round, key, got, may)
		}
		l.may[key] = []string{got}
	}
	if round == 0 {
		return 0
	}
	for u := range c.s3.ListIncompleteUploads(ctx, crashBucket, "", true) {
		if u.Err != nil {
			t.Fatalf("list uploads: %v", u.Err)
		}
		must(t, "abort "+u.Key, c.s3.RemoveIncompleteUpload(ctx, crashBucket, u.Key))
	}
	listed, bodies := 0, 0
	for o := range c.s3.ListObjects(ctx, crashBucket, minio.ListObjectsOptions{Recursive: true}) {
		if o.Err != nil {
			t.Fatalf("list: %v", o.Err)
		}
		listed++
		bodies++ // one body file per object, one per part of a multipart one ("<md5>-<parts>")
		if _, n, ok := strings.Cut(strings.Trim(o.ETag, `"`), "-"); ok {
			parts, _ := strconv.Atoi(n)
			bodies += parts - 1
		}
		if !live[o.Key] {
			t.Errorf("after restart %d: %s is listed but holds no acknowledged or in-flight write", round, o.Key)
		}
	}
	if listed != len(live) {
		t.Errorf("after restart %d: %d objects listed, %d readable", round, listed, len(live))
	}
	return bodies
}

// countFiles counts the regular files under dir.
func countFiles(t testing.TB, dir string) int {
	t.Helper()
	n := 0
	err := filepath.WalkDir(dir, func(_ string, d os.DirEntry, err error) error {
		if err == nil && d.Type().IsRegular() {
			n++
		}
		return err
	})
	must(t, "walk "+dir, err)
	return n
}
