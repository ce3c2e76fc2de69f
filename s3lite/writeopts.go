package s3lite

// writeOptions are what a PutObject or CopyObject asks for its new object besides data,
// metadata and encryption: tags, ACL and Object Lock.
type writeOptions struct {
	tags map[string]string
	acl  *[]aclGrant
	lock *objectLock
}

// writeOptionsOf reads q's ACL and Object Lock headers for a new object in the bucket bi;
// tags are the new object's tags (x-amz-tagging, or a copy's source tags).
func (s *Server) writeOptionsOf(q *request, bi bucketInfo, tags map[string]string) (writeOptions, error) {
	acl, err := s.requestACL(q, bi, false, true)
	if err != nil {
		return writeOptions{}, err
	}
	lock, err := writeLock(q.r.Header, &bi, s.now().UTC())
	if err != nil {
		return writeOptions{}, err
	}
	return writeOptions{tags: tags, acl: aclRef(acl), lock: lock}, nil
}

// apply sets o on the object record m.
func (o writeOptions) apply(m *objectMeta) { m.Tags, m.ACL, m.Lock = o.tags, o.acl, o.lock }
