package s3lite

import (
	"context"
	"encoding/json"
	"sync"
	"time"

	bolt "go.etcd.io/bbolt"
)

// defaultUploadExpiry is the age past which an unfinished multipart upload is removed
// when Config.UploadExpiry is zero: MinIO's default for stale uploads (24 h).
const defaultUploadExpiry = 24 * time.Hour

// maxSweepInterval bounds the time between two sweeps: lifecycle expiry is counted in
// whole days (to midnight UTC), so an hourly pass applies a rule within the hour.
const maxSweepInterval = time.Hour

// uploadSweeper runs the background sweep (Server.sweep: expired multipart uploads and
// lifecycle rules). Open starts it, Close stops it and waits for it.
type uploadSweeper struct {
	*ticking
	mu sync.Mutex // one sweep at a time (the ticker's or a test's)
}

// startUploadSweeper runs s.sweep at every tick of ticks (nil: a ticker of a quarter of
// the upload expiry, at most maxSweepInterval).
func (s *Server) startUploadSweeper(ticks <-chan time.Time) *uploadSweeper {
	every := max(min(s.uploadExpiry()/4, maxSweepInterval), time.Second)
	return &uploadSweeper{ticking: startTicking(every, ticks, func() {
		ctx, cancel := context.WithTimeout(context.Background(), 10*time.Minute)
		defer cancel()
		n, err := s.sweep(ctx)
		if err != nil {
			s.log.Warn("s3: background sweep failed", "err", err)
		}
		if n.Uploads > 0 {
			s.log.Info("s3: removed expired multipart uploads", "count", n.Uploads)
		}
		if n.Objects+n.Noncurrent > 0 {
			s.log.Info("s3: lifecycle expired objects", "current", n.Objects, "noncurrent", n.Noncurrent)
		}
	})}
}

func (s *Server) uploadExpiry() time.Duration {
	if s.cfg.UploadExpiry > 0 {
		return s.cfg.UploadExpiry
	}
	return defaultUploadExpiry
}

// expireUploads aborts the uploads initiated longer than the upload expiry before now and
// those an AbortIncompleteMultipartUpload rule of their bucket's lifecycle configuration
// (rules, by bucket name) has expired, and removes their part files; it returns how many
// it aborted.
func (s *Server) expireUploads(ctx context.Context, now time.Time, rules map[string]*lifecycleConfiguration) (int, error) {
	cutoff := now.Add(-s.uploadExpiry())
	files, n, err := s.st.expireUploads(ctx, func(bucket string, u *uploadMeta) bool {
		return u.Initiated.Before(cutoff) || rules[bucket].abortsUpload(u.Key, u.Initiated, now)
	})
	s.st.removeFiles(files)
	return n, err
}

// expireUploads deletes the uploads expired says are and returns their part files. An
// upload whose record does not decode is left for Check.
func (st *store) expireUploads(ctx context.Context, expired func(bucket string, u *uploadMeta) bool) ([]string, int, error) {
	var old []string
	n := 0
	err := st.update(ctx, func(tx *bolt.Tx) error {
		old, n = nil, 0
		// Names first: bolt's ForEach must not run while the walked bucket changes, and
		// deleting an upload rewrites records below the root bucket it walks.
		var names [][]byte
		_ = tx.Bucket(rootBucket).ForEachBucket(func(name []byte) error {
			names = append(names, append([]byte(nil), name...))
			return nil
		})
		for _, name := range names {
			ub := tx.Bucket(rootBucket).Bucket(name).Bucket(uploadsBucket)
			if ub == nil {
				continue
			}
			var ids [][]byte
			_ = ub.ForEachBucket(func(id []byte) error {
				var u uploadMeta
				if json.Unmarshal(ub.Bucket(id).Get(infoKey), &u) == nil && expired(string(name), &u) {
					ids = append(ids, append([]byte(nil), id...))
				}
				return nil
			})
			for _, id := range ids {
				_ = ub.Bucket(id).ForEach(func(k, v []byte) error {
					var p partMeta
					if len(k) == 4 && json.Unmarshal(v, &p) == nil {
						old = append(old, p.File)
					}
					return nil
				})
				if err := ub.DeleteBucket(id); err != nil {
					return err
				}
				n++
			}
		}
		return nil
	})
	return old, n, err
}
