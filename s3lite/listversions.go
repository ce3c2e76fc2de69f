package s3lite

import (
	"encoding/xml"
	"net/http"
	"strings"
)

// listVersionsResult is S3's ListVersionsResult. Entries holds Version and DeleteMarker
// elements in listing order (each names itself by XMLName).
type listVersionsResult struct {
	XMLName             xml.Name       `xml:"ListVersionsResult"`
	Xmlns               string         `xml:"xmlns,attr"`
	Name                string         `xml:"Name"`
	Prefix              string         `xml:"Prefix"`
	KeyMarker           string         `xml:"KeyMarker"`
	VersionIDMarker     string         `xml:"VersionIdMarker"`
	NextKeyMarker       string         `xml:"NextKeyMarker,omitempty"`
	NextVersionIDMarker string         `xml:"NextVersionIdMarker,omitempty"`
	MaxKeys             int            `xml:"MaxKeys"`
	Delimiter           string         `xml:"Delimiter,omitempty"`
	EncodingType        string         `xml:"EncodingType,omitempty"`
	IsTruncated         bool           `xml:"IsTruncated"`
	Entries             []versionEntry `xml:""`
	CommonPrefixes      []commonPrefix `xml:"CommonPrefixes"`
}

// versionEntry is one <Version> or <DeleteMarker> (XMLName says which).
type versionEntry struct {
	XMLName           xml.Name
	Key               string `xml:"Key"`
	VersionID         string `xml:"VersionId"`
	IsLatest          bool   `xml:"IsLatest"`
	LastModified      string `xml:"LastModified"`
	ETag              string `xml:"ETag,omitempty"`
	Size              *int64 `xml:"Size,omitempty"`
	ChecksumAlgorithm string `xml:"ChecksumAlgorithm,omitempty"`
	ChecksumType      string `xml:"ChecksumType,omitempty"`
	StorageClass      string `xml:"StorageClass,omitempty"`
	Owner             owner  `xml:"Owner"`
}

// listObjectVersions answers ListObjectVersions (GET /bucket?versions): every version and
// delete marker, keys ascending and newest first within a key; a never-versioned bucket's
// objects are listed with VersionId "null".
func (s *Server) listObjectVersions(w http.ResponseWriter, q *request) error {
	v := q.r.URL.Query()
	p := listParams{prefix: v.Get("prefix"), delimiter: v.Get("delimiter"), after: v.Get("key-marker")}
	vidMarker := v.Get("version-id-marker")
	enc, encodingType, err := listEncoding(v)
	if err != nil {
		return err
	}
	if p.maxKeys, err = parseMaxKeys(v.Get("max-keys"), 1000); err != nil {
		return err
	}
	if vidMarker != "" {
		if p.after == "" {
			return withMsg(errInvalidArgument, "A version-id marker cannot be specified without a key marker.")
		}
		if _, err := checkVersionID(vidMarker); err != nil {
			return err
		}
	}
	if err := s.st.bucketExists(q.r.Context(), q.bucket); err != nil {
		return err
	}
	res := listVersionsResult{Xmlns: s3NS, Name: q.bucket, Prefix: enc(p.prefix), KeyMarker: enc(p.after),
		VersionIDMarker: vidMarker, MaxKeys: p.maxKeys, Delimiter: enc(p.delimiter), EncodingType: encodingType}
	own := s.owner(q)
	n := 0
	lastCP, lastKey, lastVID := "", "", ""
	skipCP := markerPrefix(p)
	err = s.st.scanVersions(q.r.Context(), q.bucket, p.prefix, p.after, vidMarker, func(m *objectMeta, latest bool) bool {
		if skipCP != "" && strings.HasPrefix(m.Key, skipCP) {
			return true
		}
		cp := p.commonPrefix(m.Key)
		if cp != "" && cp == lastCP {
			return true
		}
		if n == p.maxKeys {
			res.IsTruncated = true
			return false
		}
		n++
		if cp != "" {
			lastCP, lastKey, lastVID = cp, cp, ""
			res.CommonPrefixes = append(res.CommonPrefixes, commonPrefix{Prefix: enc(cp)})
			return true
		}
		lastKey, lastVID = m.Key, m.versionID()
		res.Entries = append(res.Entries, versionItem(m, latest, enc, own))
		return true
	})
	if err != nil {
		return err
	}
	if res.IsTruncated {
		res.NextKeyMarker, res.NextVersionIDMarker = enc(lastKey), lastVID
	}
	writeXML(w, http.StatusOK, res)
	return nil
}

// versionItem is the listing entry of version m.
func versionItem(m *objectMeta, latest bool, enc func(string) string, own owner) versionEntry {
	e := versionEntry{Key: enc(m.Key), VersionID: m.versionID(), IsLatest: latest,
		LastModified: s3Time(m.ModTime), Owner: own}
	if m.DeleteMarker {
		e.XMLName.Local = "DeleteMarker"
		return e
	}
	e.XMLName.Local = "Version"
	size := m.Size
	e.ETag, e.Size, e.StorageClass = `"`+m.ETag+`"`, &size, "STANDARD"
	if m.ChecksumAlgo != "" {
		e.ChecksumAlgorithm, e.ChecksumType = m.ChecksumAlgo, m.ChecksumType
	}
	return e
}
