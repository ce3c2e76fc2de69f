package s3lite

import (
	"encoding/xml"
	"net/http"
	"strconv"
	"strings"
)

// getObjectAttributesResponse is S3's GetObjectAttributes answer; only the attributes
// asked for in x-amz-object-attributes are present.
type getObjectAttributesResponse struct {
	XMLName      xml.Name          `xml:"GetObjectAttributesResponse"`
	Xmlns        string            `xml:"xmlns,attr"`
	ETag         string            `xml:"ETag,omitempty"`
	Checksum     *objectChecksum   `xml:"Checksum,omitempty"`
	ObjectParts  *objectPartsAttrs `xml:"ObjectParts,omitempty"`
	StorageClass string            `xml:"StorageClass,omitempty"`
	ObjectSize   *int64            `xml:"ObjectSize,omitempty"`
}

type objectChecksum struct {
	checksumFields
	ChecksumType string `xml:"ChecksumType,omitempty"`
}

type objectPartsAttrs struct {
	PartsCount           int              `xml:"PartsCount"`
	PartNumberMarker     int              `xml:"PartNumberMarker"`
	NextPartNumberMarker int              `xml:"NextPartNumberMarker"`
	MaxParts             int              `xml:"MaxParts"`
	IsTruncated          bool             `xml:"IsTruncated"`
	Parts                []objectPartAttr `xml:"Part"`
}

type objectPartAttr struct {
	PartNumber int   `xml:"PartNumber"`
	Size       int64 `xml:"Size"`
	checksumFields
}

// objectAttributes are the names x-amz-object-attributes may list.
var objectAttributes = map[string]bool{"ETag": true, "Checksum": true, "ObjectParts": true, "StorageClass": true, "ObjectSize": true}

// parseObjectAttributes reads the x-amz-object-attributes header (comma-separated,
// possibly repeated): at least one known name, no unknown one.
func parseObjectAttributes(h http.Header) (map[string]bool, error) {
	want := map[string]bool{}
	for _, v := range h.Values("X-Amz-Object-Attributes") {
		for _, a := range strings.Split(v, ",") {
			a = strings.TrimSpace(a)
			if a == "" {
				continue
			}
			if !objectAttributes[a] {
				return nil, withMsg(errInvalidArgument, "Invalid attribute name specified.")
			}
			want[a] = true
		}
	}
	if len(want) == 0 {
		return nil, withMsg(errInvalidArgument, "The x-amz-object-attributes header specifying the attributes to be retrieved is either missing or empty")
	}
	return want, nil
}

// headerInt parses the non-negative integer header k, def when absent.
func headerInt(h http.Header, k string, def int) (int, error) {
	v := h.Get(k)
	if v == "" {
		return def, nil
	}
	n, err := strconv.Atoi(v)
	if err != nil || n < 0 {
		return 0, withMsg(errInvalidArgument, "Provided "+strings.ToLower(k)+" not an integer or within integer range")
	}
	return n, nil
}

// getObjectAttributes answers GetObjectAttributes (GET ?attributes): the object's
// metadata without its body. An SSE-C object needs its key, as HeadObject does.
func (s *Server) getObjectAttributes(w http.ResponseWriter, q *request) error {
	h := q.r.Header
	want, err := parseObjectAttributes(h)
	if err != nil {
		return err
	}
	maxParts, err := headerInt(h, "X-Amz-Max-Parts", 1000)
	if err != nil {
		return err
	}
	marker, err := headerInt(h, "X-Amz-Part-Number-Marker", 0)
	if err != nil {
		return err
	}
	ssec, err := parseSSEC(h, hdrSSECPrefix, q.r.TLS != nil)
	if err != nil {
		return err
	}
	m, err := s.readVersion(w, q, versionOf(q))
	if err != nil {
		return err
	}
	if sseTypeOf(m.SSE) == sseC || ssec != nil {
		if _, err := s.objectKey(q.r.Context(), m.SSE, q.bucket, q.key, ssec); err != nil {
			return err
		}
	}
	out := getObjectAttributesResponse{Xmlns: s3NS}
	if want["ETag"] {
		out.ETag = m.ETag
	}
	if want["StorageClass"] {
		out.StorageClass = "STANDARD"
	}
	if want["ObjectSize"] {
		out.ObjectSize = &m.Size
	}
	if want["Checksum"] && m.Checksum != "" {
		out.Checksum = &objectChecksum{ChecksumType: m.ChecksumType}
		out.Checksum.setChecksum(m.ChecksumAlgo, m.Checksum)
	}
	if want["ObjectParts"] && m.Multipart {
		out.ObjectParts = objectParts(m, marker, maxParts)
	}
	w.Header().Set("Last-Modified", m.ModTime.UTC().Format(http.TimeFormat))
	setVersionHeader(w.Header(), m)
	writeXML(w, http.StatusOK, out)
	return nil
}

// objectParts lists up to maxParts parts of the multipart object m after part number
// marker.
func objectParts(m *objectMeta, marker, maxParts int) *objectPartsAttrs {
	op := &objectPartsAttrs{PartsCount: len(m.Parts), PartNumberMarker: marker, MaxParts: maxParts}
	for i, p := range m.Parts {
		n := partNumberOf(p, i)
		if n <= marker {
			continue
		}
		if len(op.Parts) == maxParts {
			op.IsTruncated = true
			break
		}
		pa := objectPartAttr{PartNumber: n, Size: p.Size}
		pa.setChecksum(m.ChecksumAlgo, p.Checksum)
		op.Parts = append(op.Parts, pa)
		op.NextPartNumberMarker = n
	}
	return op
}

// partNumberOf is the number part p (at index i of its object) was uploaded as.
func partNumberOf(p partMeta, i int) int {
	if p.Number > 0 {
		return p.Number
	}
	return i + 1
}
