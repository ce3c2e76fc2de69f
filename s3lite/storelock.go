package s3lite

import (
	"context"
	"time"

	bolt "go.etcd.io/bbolt"
)

// Object Lock in the store. A version's retention and legal hold are its record's Lock
// field, MAC'd with the rest of the record; they change only through updateVersionLock.
// Every path that removes a version asks removable first: DELETE with a version id and
// DeleteObjects (removeVersion, with the requester's bypass), lifecycle's expiry of
// noncurrent versions (expireNoncurrent, never bypassing). Making a delete marker or a
// new version removes nothing and is always allowed.

const (
	lockGovernance = "GOVERNANCE"
	lockCompliance = "COMPLIANCE"
	legalHoldOn    = "ON"
	legalHoldOff   = "OFF"
)

// objectLock is the Object Lock state of one version.
type objectLock struct {
	// Mode is GOVERNANCE or COMPLIANCE, with RetainUntil; "" no retention.
	Mode        string    `json:"mode,omitempty"`
	RetainUntil time.Time `json:"until,omitzero"`
	// LegalHold is ON or OFF as last put; "" never put.
	LegalHold string `json:"hold,omitempty"`
}

// retained reports whether l's retention still runs at now.
func (l *objectLock) retained(now time.Time) bool {
	return l != nil && l.Mode != "" && now.Before(l.RetainUntil)
}

// held reports whether l has a legal hold.
func (l *objectLock) held() bool { return l != nil && l.LegalHold == legalHoldOn }

// removable is nil if a version locked by l may be removed at now, else errObjectLocked:
// a legal hold or COMPLIANCE retention always keeps it, GOVERNANCE retention unless the
// requester bypasses it (and may: the caller checked s3:BypassGovernanceRetention).
func (l *objectLock) removable(now time.Time, bypass bool) error {
	if l.held() || l.retained(now) && (l.Mode == lockCompliance || !bypass) {
		return errLockedVersion
	}
	return nil
}

// clock is the store's time for lock checks that have no request time (lifecycle).
func (st *store) clock() time.Time {
	if st.now != nil {
		return st.now()
	}
	return time.Now()
}

// updateVersionLock runs fn on the record of version vid of bucket/key ("" the current
// version) and stores the record fn changed, with a fresh MAC, atomically: fn sees the
// version as it is when it is written and returns an error to change nothing. A delete
// marker is errNoSuchKey (current) or errMethodNotAllowed (named by vid). It returns the
// record as stored.
func (st *store) updateVersionLock(ctx context.Context, bucket, key, vid string, fn func(m *objectMeta) error) (*objectMeta, error) {
	mm, err := st.macs(ctx)
	if err != nil {
		return nil, err
	}
	var out *objectMeta
	err = st.update(ctx, func(tx *bolt.Tx) error {
		b, err := bucketOf(tx, bucket)
		if err != nil {
			return err
		}
		var m *objectMeta
		var at []byte
		if vid == "" {
			raw := b.Bucket(objectsBucket).Get([]byte(key))
			if raw == nil {
				return errNoSuchKey
			}
			if m, err = readObject(b, mm, bucket, key, raw); err != nil {
				return err
			}
			if m.DeleteMarker {
				return &deleteMarkerError{versionID: m.versionID()}
			}
		} else {
			if m, at, err = st.findVersion(b, mm, bucket, key, vid); err != nil {
				return err
			}
			if m.DeleteMarker {
				return withMsg(errMethodNotAllowed, "The specified method is not allowed against this resource.")
			}
		}
		if err := fn(m); err != nil {
			return err
		}
		out = m
		if at == nil {
			return putCurrent(b, mm, bucket, m)
		}
		return putNoncurrent(b, mm, bucket, m, m.Noncurrent)
	})
	if err != nil {
		return nil, err
	}
	return out, nil
}
