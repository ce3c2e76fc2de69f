package s3lite

import (
	"crypto/md5"
	"crypto/rand"
	"encoding/binary"
	"encoding/hex"
	"errors"
	"io"
	"net/http"
	"sort"
	"strconv"
	"strings"
	"time"

	"github.com/kmsbox/kmsbox/s3lite/internal/checksum"
)

// minPartSize is S3's minimum size of every part but the last.
const minPartSize = 5 << 20

// createMultipartUpload answers CreateMultipartUpload. The object key is
// made and sealed now; each part derives its own key from it.
func (s *Server) createMultipartUpload(w http.ResponseWriter, q *request) error {
	bi, err := s.st.getBucket(q.r.Context(), q.bucket)
	if err != nil {
		return err
	}
	hdrs, err := objectHeaders(q.r.Header)
	if err != nil {
		return err
	}
	tags, err := requestTags(q.r.Header)
	if err != nil {
		return err
	}
	u := &uploadMeta{Key: q.key, Initiated: s.now().UTC(), Header: hdrs, Tags: tags}
	acl, err := s.requestACL(q, bi, false, true)
	if err != nil {
		return err
	}
	u.ACL = aclRef(acl)
	if u.Lock, err = lockHeaders(q.r.Header, &bi, u.Initiated); err != nil {
		return err
	}
	if v := q.r.Header.Get("X-Amz-Checksum-Algorithm"); v != "" {
		a, err := checksum.Parse(v)
		if err != nil {
			return err
		}
		u.ChecksumAlgo, u.ChecksumType = a.String(), "COMPOSITE"
		if t := q.r.Header.Get("X-Amz-Checksum-Type"); strings.EqualFold(t, "FULL_OBJECT") {
			if a != checksum.CRC32 && a != checksum.CRC32C && a != checksum.CRC64NVME {
				return withMsg(errInvalidRequest, "The FULL_OBJECT checksum type needs a CRC algorithm.")
			}
			u.ChecksumType = "FULL_OBJECT"
		}
	}
	sreq, oc, err := s.uploadEncryption(q, bi)
	if err != nil {
		return err
	}
	if oc != nil {
		u.SSE = oc.meta
		u.SSE[metaMultipart] = "true"
	}
	if u.ID, err = newUploadID(u.Initiated); err != nil {
		return err
	}
	if err := s.st.createUpload(q.r.Context(), q.bucket, u); err != nil {
		return err
	}
	h := w.Header()
	setSSEHeaders(h, u.SSE, &sreq)
	if u.ChecksumAlgo != "" {
		h.Set("X-Amz-Checksum-Algorithm", u.ChecksumAlgo)
		h.Set("X-Amz-Checksum-Type", u.ChecksumType)
	}
	writeXML(w, http.StatusOK, initiateMultipartUploadResult{Xmlns: s3NS, Bucket: q.bucket, Key: q.key, UploadID: u.ID})
	return nil
}

// newUploadID returns a fresh upload ID whose lexicographic order is the
// order of initiation: 16 hex digits of the initiation time in nanoseconds
// since 1970, then 32 random hex digits. S3 lists the uploads of one key in
// initiation order but resumes after upload-id-marker by comparing IDs, so
// the two orders must agree.
func newUploadID(initiated time.Time) (string, error) {
	var id [24]byte
	binary.BigEndian.PutUint64(id[:8], uint64(initiated.UnixNano()))
	if _, err := rand.Read(id[8:]); err != nil {
		return "", err
	}
	return hex.EncodeToString(id[:]), nil
}

// parsePartNumber parses the partNumber query value: 1 to 10000.
func parsePartNumber(v string) (int, error) {
	n, err := strconv.Atoi(v)
	if err != nil || n < 1 || n > 10000 {
		return 0, withMsg(errInvalidArgument, "Part number must be an integer between 1 and 10000, inclusive")
	}
	return n, nil
}

// uploadPart answers UploadPart.
func (s *Server) uploadPart(w http.ResponseWriter, q *request) error {
	if q.auth.ContentLength > maxObjectSize {
		return errEntityTooLarge
	}
	rc, err := parseRequestChecksum(q.r.Header)
	if err != nil {
		return err
	}
	p, u, err := s.storePart(q, q.body, rc, func(res bodyResult) error { return s.checkUpload(q, rc, res) })
	if err != nil {
		return err
	}
	h := w.Header()
	h.Set("ETag", `"`+p.ETag+`"`)
	ssec, _ := parseSSEC(q.r.Header, hdrSSECPrefix, q.r.TLS != nil)
	setSSEHeaders(h, u.SSE, ssec)
	if a, err := checksum.Parse(u.ChecksumAlgo); err == nil && p.Checksum != "" {
		h.Set(a.Header(), p.Checksum)
	}
	w.WriteHeader(http.StatusOK)
	return nil
}

// storePart writes src as part ?partNumber of upload ?uploadId, encrypted
// with the part key, and records it once check accepts the result.
func (s *Server) storePart(q *request, src io.Reader, rc requestChecksum, check func(bodyResult) error) (partMeta, *uploadMeta, error) {
	v := q.r.URL.Query()
	n, err := parsePartNumber(v.Get("partNumber"))
	if err != nil {
		return partMeta{}, nil, err
	}
	id := v.Get("uploadId")
	u, _, err := s.st.getUpload(q.r.Context(), q.bucket, q.key, id)
	if err != nil {
		return partMeta{}, nil, err
	}
	algo := rc.algo
	if ua, err := checksum.Parse(u.ChecksumAlgo); err == nil {
		if algo != checksum.None && algo != ua {
			return partMeta{}, nil, withMsg(errInvalidRequest, "Checksum Type mismatch occurred, expected checksum Type: "+strings.ToLower(ua.String()))
		}
		algo = ua
	}
	ssec, err := parseSSEC(q.r.Header, hdrSSECPrefix, q.r.TLS != nil)
	if err != nil {
		return partMeta{}, nil, err
	}
	oek, err := s.objectKey(q.r.Context(), u.SSE, q.bucket, q.key, ssec)
	if err != nil {
		return partMeta{}, nil, err
	}
	var key []byte
	var oc *objectCrypto
	if oek != nil {
		key = partKey(oek, n)
		oc = &objectCrypto{typ: sseTypeOf(u.SSE), oek: oek}
	}
	f, res, err := s.writeBody(q.r.Context(), src, key, partNonce(id, n), algo, maxObjectSize)
	if err != nil {
		return partMeta{}, nil, err
	}
	if err := check(res); err != nil {
		discard(f)
		return partMeta{}, nil, err
	}
	etag, err := visibleETag(oc, res.md5)
	if err != nil {
		discard(f)
		return partMeta{}, nil, err
	}
	name, err := s.st.commitFile(q.r.Context(), f)
	if err != nil {
		return partMeta{}, nil, err
	}
	p := partMeta{Number: n, File: name, Size: res.size, EncSize: res.encSize, ETag: etag, ModTime: s.now().UTC(), Hash: res.hash}
	if res.sum != nil {
		p.Checksum = checksum.Encode(res.sum)
	}
	old, err := s.st.putPart(q.r.Context(), q.bucket, q.key, id, p)
	if err != nil {
		s.st.removeFiles([]string{name})
		return partMeta{}, nil, err
	}
	s.st.removeFiles(old)
	return p, u, nil
}

// completeMultipartUpload answers CompleteMultipartUpload: a metadata
// commit only; the part files become the object's body.
func (s *Server) completeMultipartUpload(w http.ResponseWriter, q *request) error {
	data, err := io.ReadAll(q.body)
	if err != nil {
		return err
	}
	bodyHeaders, sumName, sumValue := completeChecksumHeader(q.r.Header)
	if err := verifyBodyIntegrityHeaders(q, bodyHeaders, data); err != nil {
		return err
	}
	var req completeMultipartUpload
	if err := readXML(bytesReader(data), &req); err != nil {
		return err
	}
	if len(req.Parts) == 0 {
		return withMsg(errMalformedXML, "You must specify at least one part")
	}
	id := q.r.URL.Query().Get("uploadId")
	u, stored, err := s.st.getUpload(q.r.Context(), q.bucket, q.key, id)
	if errors.Is(err, errNoSuchUpload) {
		if ok, rerr := s.replayCompletion(w, q, id, req.Parts); ok || rerr != nil {
			return rerr
		}
	}
	if err != nil {
		return err
	}
	m, err := assembleParts(u, stored, req.Parts)
	if err != nil {
		return err
	}
	if err := checkCompleteChecksum(m, sumName, sumValue); err != nil {
		return err
	}
	m.Key, m.ModTime, m.Header, m.SSE, m.UploadID = q.key, s.now().UTC(), u.Header, u.SSE, id
	m.ACL, m.Tags = u.ACL, u.Tags
	bi, err := s.st.getBucket(q.r.Context(), q.bucket)
	if err != nil && !errors.Is(err, errBucketDamaged) {
		return err
	}
	m.versioning, m.Lock = bi.Versioning, withDefaultRetention(u.Lock, &bi, m.ModTime)
	old, err := s.st.completeUpload(q.r.Context(), q.bucket, id, m, writeCondition(q.r.Header))
	if err != nil {
		return err
	}
	s.st.removeFiles(old)
	s.writeCompleteResult(w, q, m)
	return nil
}

// assembleParts checks the client's part list against the stored parts
// (order, ETags, checksums, sizes) and builds the object record.
func assembleParts(u *uploadMeta, stored []partMeta, want []completePart) (*objectMeta, error) {
	byNum := make(map[int]partMeta, len(stored))
	for _, p := range stored {
		byNum[p.Number] = p
	}
	m := &objectMeta{Multipart: true}
	etags := md5.New()
	var sums [][]byte
	var crcParts []checksum.PartSum
	algo, _ := checksum.Parse(u.ChecksumAlgo)
	prev := 0
	for _, cp := range want {
		if cp.PartNumber <= prev {
			return nil, errInvalidPartOrder
		}
		prev = cp.PartNumber
	}
	for i, cp := range want {
		p, ok := byNum[cp.PartNumber]
		if !ok || strings.Trim(cp.ETag, `"`) != p.ETag {
			return nil, errInvalidPart
		}
		if given := partChecksumOf(cp, algo); given != "" && given != p.Checksum {
			return nil, withMsg(errInvalidPart, "The checksum of part "+strconv.Itoa(p.Number)+" does not match the uploaded part.")
		}
		if i < len(want)-1 && p.Size < minPartSize {
			return nil, errEntityTooSmall
		}
		raw, err := hex.DecodeString(p.ETag)
		if err != nil {
			return nil, errInvalidPart
		}
		etags.Write(raw)
		if algo != checksum.None {
			sum, err := checksum.Decode(algo, p.Checksum)
			if err != nil {
				return nil, errors.Join(errInternal, err)
			}
			sums = append(sums, sum)
			crcParts = append(crcParts, checksum.PartSum{Sum: sum, Size: p.Size})
		}
		m.Size += p.Size
		m.Parts = append(m.Parts, p)
	}
	m.ETag = hex.EncodeToString(etags.Sum(nil)) + "-" + strconv.Itoa(len(want))
	if algo != checksum.None {
		m.ChecksumAlgo, m.ChecksumType = algo.String(), u.ChecksumType
		if u.ChecksumType == "FULL_OBJECT" {
			sum, err := checksum.FullObjectCRC(algo, crcParts)
			if err != nil {
				return nil, err
			}
			m.Checksum = checksum.Encode(sum)
		} else {
			m.Checksum = checksum.Composite(algo, sums)
		}
	}
	return m, nil
}

// partChecksumOf returns the checksum of algorithm a the client sent for
// part cp, "" if none.
func partChecksumOf(cp completePart, a checksum.Algorithm) string {
	switch a {
	case checksum.CRC32:
		return cp.ChecksumCRC32
	case checksum.CRC32C:
		return cp.ChecksumCRC32C
	case checksum.CRC64NVME:
		return cp.ChecksumCRC64NVME
	case checksum.SHA1:
		return cp.ChecksumSHA1
	case checksum.SHA256:
		return cp.ChecksumSHA256
	}
	return ""
}

// abortMultipartUpload answers AbortMultipartUpload.
func (s *Server) abortMultipartUpload(w http.ResponseWriter, q *request) error {
	old, err := s.st.abortUpload(q.r.Context(), q.bucket, q.key, q.r.URL.Query().Get("uploadId"))
	if err != nil {
		return err
	}
	s.st.removeFiles(old)
	w.WriteHeader(http.StatusNoContent)
	return nil
}

// listParts answers ListParts; sizes are plaintext sizes.
func (s *Server) listParts(w http.ResponseWriter, q *request) error {
	v := q.r.URL.Query()
	maxParts, err := parseMaxKeys(v.Get("max-parts"), 1000)
	if err != nil {
		return err
	}
	marker := 0
	if m := v.Get("part-number-marker"); m != "" {
		if marker, err = strconv.Atoi(m); err != nil || marker < 0 {
			return withMsg(errInvalidArgument, "Invalid part-number-marker")
		}
	}
	u, parts, err := s.st.getUpload(q.r.Context(), q.bucket, q.key, v.Get("uploadId"))
	if err != nil {
		return err
	}
	o := s.owner(q)
	res := listPartsResult{Xmlns: s3NS, Bucket: q.bucket, Key: q.key, UploadID: u.ID, Initiator: o, Owner: o,
		StorageClass: "STANDARD", PartNumberMarker: marker, MaxParts: maxParts, ChecksumAlgorithm: u.ChecksumAlgo, ChecksumType: u.ChecksumType}
	sort.Slice(parts, func(i, j int) bool { return parts[i].Number < parts[j].Number })
	for _, p := range parts {
		if p.Number <= marker {
			continue
		}
		if len(res.Parts) == maxParts {
			res.IsTruncated = true
			break
		}
		it := partItem{PartNumber: p.Number, LastModified: s3Time(p.ModTime), ETag: `"` + p.ETag + `"`, Size: p.Size}
		it.setChecksum(u.ChecksumAlgo, p.Checksum)
		res.Parts = append(res.Parts, it)
		res.NextPartNumberMarker = p.Number
	}
	writeXML(w, http.StatusOK, res)
	return nil
}

// listMultipartUploads answers ListMultipartUploads: uploads in key order,
// the uploads of one key in initiation order (which upload IDs follow, see
// newUploadID); keys with the delimiter after the prefix fold into common
// prefixes, which count toward max-uploads like uploads. The next markers
// name the last entry returned (a common prefix has no upload ID).
func (s *Server) listMultipartUploads(w http.ResponseWriter, q *request) error {
	v := q.r.URL.Query()
	maxUploads, err := parseMaxKeys(v.Get("max-uploads"), 1000)
	if err != nil {
		return withMsg(errInvalidArgument, "Argument max-uploads must be an integer between 0 and 2147483647")
	}
	enc, encodingType, err := listEncoding(v)
	if err != nil {
		return err
	}
	prefix, delim := v.Get("prefix"), v.Get("delimiter")
	keyMarker, idMarker := v.Get("key-marker"), v.Get("upload-id-marker")
	ups, err := s.st.listUploads(q.r.Context(), q.bucket, prefix)
	if err != nil {
		return err
	}
	commonPrefixOf := func(key string) string {
		if delim != "" {
			if i := strings.Index(key[len(prefix):], delim); i >= 0 {
				return key[:len(prefix)+i+len(delim)]
			}
		}
		return ""
	}
	o := s.owner(q)
	res := listMultipartUploadsResult{Xmlns: s3NS, Bucket: q.bucket,
		KeyMarker: enc(keyMarker), UploadIDMarker: idMarker, Prefix: enc(prefix), Delimiter: enc(delim), MaxUploads: maxUploads,
		EncodingType: encodingType}
	n, lastCP := 0, ""
	for _, u := range uploadsAfter(ups, keyMarker, idMarker) {
		cp := commonPrefixOf(u.Key)
		if cp != "" && (cp == lastCP || cp == keyMarker) {
			continue // folded into a prefix already returned, on this page or before
		}
		if n == maxUploads {
			res.IsTruncated = maxUploads > 0
			break
		}
		n++
		if cp != "" {
			lastCP = cp
			res.CommonPrefixes = append(res.CommonPrefixes, commonPrefix{Prefix: enc(cp)})
			res.NextKeyMarker, res.NextUploadIDMarker = enc(cp), ""
			continue
		}
		res.Uploads = append(res.Uploads, uploadItem{Key: enc(u.Key), UploadID: u.ID, Initiator: o, Owner: o,
			StorageClass: "STANDARD", Initiated: s3Time(u.Initiated)})
		res.NextKeyMarker, res.NextUploadIDMarker = enc(u.Key), u.ID
	}
	writeXML(w, http.StatusOK, res)
	return nil
}

// uploadsAfter drops from ups (in listing order) what key-marker and
// upload-id-marker put before the page: keys before keyMarker, and the
// uploads of keyMarker itself up to and including upload idMarker (all of
// them without idMarker). idMarker is ignored without keyMarker. When
// idMarker is not an upload of keyMarker (aborted meanwhile), the uploads
// of keyMarker with an ID lexicographically greater stay, as S3 documents.
func uploadsAfter(ups []uploadMeta, keyMarker, idMarker string) []uploadMeta {
	if keyMarker == "" {
		return ups
	}
	i := sort.Search(len(ups), func(i int) bool { return ups[i].Key >= keyMarker })
	j := i
	for j < len(ups) && ups[j].Key == keyMarker {
		j++
	}
	same := ups[i:j]
	if idMarker == "" {
		return ups[j:]
	}
	for k, u := range same {
		if u.ID == idMarker {
			return ups[i+k+1:]
		}
	}
	var out []uploadMeta
	for _, u := range same {
		if u.ID > idMarker {
			out = append(out, u)
		}
	}
	return append(out, ups[j:]...)
}
