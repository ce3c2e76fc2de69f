package s3lite

import (
	"net/http"
	"time"
)

// putObjectRetention answers PutObjectRetention (?retention, optional versionId). An empty
// Retention removes the retention. While a retention runs, COMPLIANCE may only be
// extended; GOVERNANCE may be extended, and shortened, removed or changed to COMPLIANCE
// only with the bypass (bypassGovernance); otherwise 403 AccessDenied.
func (s *Server) putObjectRetention(w http.ResponseWriter, q *request) error {
	vid, data, err := s.lockBody(q)
	if err != nil {
		return err
	}
	now := s.now().UTC()
	want, err := parseRetention(data, now)
	if err != nil {
		return err
	}
	bypass := s.bypassGovernance(q, q.key)
	return s.setVersionLock(w, q, vid, func(m *objectMeta) error {
		cur := m.Lock
		if cur.retained(now) {
			weaker := want.Mode != cur.Mode || want.RetainUntil.Before(cur.RetainUntil)
			if weaker && (cur.Mode == lockCompliance || !bypass) {
				return errLockedVersion
			}
		}
		l := objectLock{Mode: want.Mode, RetainUntil: want.RetainUntil}
		if cur != nil {
			l.LegalHold = cur.LegalHold
		}
		m.Lock = lockRef(l)
		return nil
	})
}

// parseRetention decodes the body of PutObjectRetention at now: the retention it sets,
// none (Mode "") for an empty Retention.
func parseRetention(data []byte, now time.Time) (objectLock, error) {
	var r objectRetention
	if err := readXML(bytesReader(data), &r); err != nil {
		return objectLock{}, err
	}
	if r.Mode == "" && r.RetainUntilDate == "" {
		return objectLock{}, nil
	}
	if !validLockMode(r.Mode) || r.RetainUntilDate == "" {
		return objectLock{}, errMalformedXML
	}
	t, ok := parseLockTime(r.RetainUntilDate)
	if !ok {
		return objectLock{}, errMalformedXML
	}
	if !t.After(now) {
		return objectLock{}, withMsg(errInvalidArgument, "The retain until date must be in the future!")
	}
	return objectLock{Mode: r.Mode, RetainUntil: t}, nil
}

// getObjectRetention answers GetObjectRetention: 404 NoSuchObjectLockConfiguration for a
// version without retention.
func (s *Server) getObjectRetention(w http.ResponseWriter, q *request) error {
	m, err := s.lockedVersion(w, q)
	if err != nil {
		return err
	}
	if m.Lock == nil || m.Lock.Mode == "" {
		return errNoObjectRetention
	}
	writeXML(w, http.StatusOK, objectRetention{Xmlns: s3NS, Mode: m.Lock.Mode, RetainUntilDate: lockTime(m.Lock.RetainUntil)})
	return nil
}

// putObjectLegalHold answers PutObjectLegalHold (?legal-hold, optional versionId): Status
// ON or OFF.
func (s *Server) putObjectLegalHold(w http.ResponseWriter, q *request) error {
	vid, data, err := s.lockBody(q)
	if err != nil {
		return err
	}
	var lh objectLegalHold
	if err := readXML(bytesReader(data), &lh); err != nil {
		return err
	}
	if lh.Status != legalHoldOn && lh.Status != legalHoldOff {
		return errMalformedXML
	}
	return s.setVersionLock(w, q, vid, func(m *objectMeta) error {
		var l objectLock
		if m.Lock != nil {
			l = *m.Lock
		}
		l.LegalHold = lh.Status
		m.Lock = lockRef(l)
		return nil
	})
}

// getObjectLegalHold answers GetObjectLegalHold: 404 NoSuchObjectLockConfiguration for a
// version whose legal hold was never set.
func (s *Server) getObjectLegalHold(w http.ResponseWriter, q *request) error {
	m, err := s.lockedVersion(w, q)
	if err != nil {
		return err
	}
	if m.Lock == nil || m.Lock.LegalHold == "" {
		return errNoObjectRetention
	}
	writeXML(w, http.StatusOK, objectLegalHold{Xmlns: s3NS, Status: m.Lock.LegalHold})
	return nil
}

// lockedVersion reads the version q names (the current one without versionId) in a
// bucket with Object Lock.
func (s *Server) lockedVersion(w http.ResponseWriter, q *request) (*objectMeta, error) {
	vid, err := requestVersionID(q)
	if err != nil {
		return nil, err
	}
	if _, err := s.lockedBucket(q); err != nil {
		return nil, err
	}
	return s.readVersion(w, q, vid)
}

// lockBody returns the version q names ("" the current one) and q's body, which S3 takes
// only with Content-MD5 or an x-amz-checksum-* (verified here), in a bucket with Object
// Lock: the start of PutObjectRetention and PutObjectLegalHold.
func (s *Server) lockBody(q *request) (string, []byte, error) {
	vid, err := requestVersionID(q)
	if err != nil {
		return "", nil, err
	}
	if _, err := s.lockedBucket(q); err != nil {
		return "", nil, err
	}
	data, err := readIntegrityBody(q)
	return vid, data, err
}

// setVersionLock changes the lock of version vid of q's object with fn (see
// store.updateObject) and answers 200.
func (s *Server) setVersionLock(w http.ResponseWriter, q *request, vid string, fn func(m *objectMeta) error) error {
	if _, err := s.st.updateObject(q.r.Context(), q.bucket, q.key, vid, fn); err != nil {
		return err
	}
	w.WriteHeader(http.StatusOK)
	return nil
}

// lockRef is l as a record's Lock: nil when it holds nothing.
func lockRef(l objectLock) *objectLock {
	if l == (objectLock{}) {
		return nil
	}
	return &l
}
