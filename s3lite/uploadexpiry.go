package s3lite

import (
	"context"
	"encoding/json"
	"time"

	bolt "go.etcd.io/bbolt"
)

// defaultUploadExpiry is the age past which an unfinished multipart upload is removed
// when Config.UploadExpiry is zero: MinIO's default for stale uploads (24 h).
const defaultUploadExpiry = 24 * time.Hour

// maxSweepInterval bounds the time between two sweeps of expired uploads.
const maxSweepInterval = 6 * time.Hour

// uploadSweeper removes expired multipart uploads in the background. Open starts it, Close
// stops it and waits for it.
type uploadSweeper struct {
	stop chan struct{}
	done chan struct{}
}

// startUploadSweeper runs s.expireUploads at every tick of ticks (nil: a ticker of a
// quarter of the expiry, at most maxSweepInterval).
func (s *Server) startUploadSweeper(ticks <-chan time.Time) *uploadSweeper {
	sw := &uploadSweeper{stop: make(chan struct{}), done: make(chan struct{})}
	var ticker *time.Ticker
	if ticks == nil {
		ticker = time.NewTicker(min(s.uploadExpiry()/4, maxSweepInterval))
		ticks = ticker.C
	}
	go func() {
		defer close(sw.done)
		if ticker != nil {
			defer ticker.Stop()
		}
		for {
			select {
			case <-sw.stop:
				return
			case <-ticks:
				ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
				if n, err := s.expireUploads(ctx); err != nil {
					s.log.Warn("s3: removing expired multipart uploads failed", "err", err)
				} else if n > 0 {
					s.log.Info("s3: removed expired multipart uploads", "count", n, "older than", s.uploadExpiry())
				}
				cancel()
			}
		}
	}()
	return sw
}

// close stops the sweeper and waits for a sweep under way.
func (sw *uploadSweeper) close() {
	close(sw.stop)
	<-sw.done
}

func (s *Server) uploadExpiry() time.Duration {
	if s.cfg.UploadExpiry > 0 {
		return s.cfg.UploadExpiry
	}
	return defaultUploadExpiry
}

// expireUploads aborts the uploads initiated longer than the expiry ago (by Config.Now)
// and removes their part files; it returns how many it aborted.
func (s *Server) expireUploads(ctx context.Context) (int, error) {
	files, n, err := s.st.expireUploads(ctx, s.now().Add(-s.uploadExpiry()))
	s.st.removeFiles(files)
	return n, err
}

// expireUploads deletes the uploads initiated before cutoff and returns their part files.
// An upload whose record does not decode is left for Check.
func (st *store) expireUploads(ctx context.Context, cutoff time.Time) ([]string, int, error) {
	var old []string
	n := 0
	err := st.update(ctx, func(tx *bolt.Tx) error {
		old, n = nil, 0
		return tx.Bucket(rootBucket).ForEachBucket(func(name []byte) error {
			ub := tx.Bucket(rootBucket).Bucket(name).Bucket(uploadsBucket)
			if ub == nil {
				return nil
			}
			var ids [][]byte
			_ = ub.ForEachBucket(func(id []byte) error {
				var u uploadMeta
				if json.Unmarshal(ub.Bucket(id).Get(infoKey), &u) == nil && u.Initiated.Before(cutoff) {
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
			return nil
		})
	})
	return old, n, err
}
