package s3lite

import (
	"net/http"
	"sort"
	"strconv"
	"strings"
)

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
