package s3lite

import "time"

// Object Lock in the store. A version's retention and legal hold are its record's Lock
// field, MAC'd with the rest of the record; they change only through store.updateObject.
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
