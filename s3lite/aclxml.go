package s3lite

import "encoding/xml"

// accessControlPolicy is S3's ACL document, as sent and as answered.
type accessControlPolicy struct {
	XMLName xml.Name   `xml:"AccessControlPolicy"`
	Xmlns   string     `xml:"xmlns,attr,omitempty"`
	Owner   *owner     `xml:"Owner"`
	Grants  []aclEntry `xml:"AccessControlList>Grant"`
}

// aclEntry is one <Grant>.
type aclEntry struct {
	Grantee    aclGrantee `xml:"Grantee"`
	Permission string     `xml:"Permission"`
}

// aclGrantee is a <Grantee>; XSINS and Type are written as xmlns:xsi and xsi:type. Decoding
// matches the type attribute in any namespace.
type aclGrantee struct {
	XSINS       string `xml:"xmlns:xsi,attr,omitempty"`
	Type        string `xml:"xsi:type,attr"`
	ID          string `xml:"ID,omitempty"`
	DisplayName string `xml:"DisplayName,omitempty"`
	URI         string `xml:"URI,omitempty"`
	Email       string `xml:"EmailAddress,omitempty"`
}

// aclGranteeIn decodes a <Grantee> whatever prefix its xsi:type attribute has.
type aclGranteeIn struct {
	Type  string `xml:"type,attr"`
	ID    string `xml:"ID"`
	URI   string `xml:"URI"`
	Email string `xml:"EmailAddress"`
}

type accessControlPolicyIn struct {
	XMLName xml.Name `xml:"AccessControlPolicy"`
	Grants  []struct {
		Grantee    aclGranteeIn `xml:"Grantee"`
		Permission string       `xml:"Permission"`
	} `xml:"AccessControlList>Grant"`
}

// renderACL is the AccessControlPolicy of grants (nil: the default, owner FULL_CONTROL).
func renderACL(o owner, grants []aclGrant) accessControlPolicy {
	if grants == nil {
		grants, _ = cannedACL("private", o.ID)
	}
	out := accessControlPolicy{Xmlns: s3NS, Owner: &o, Grants: []aclEntry{}}
	// Group grants first, then canonical users, each in the order given (as RGW renders
	// them; the s3-tests compare by position).
	ordered := make([]aclGrant, 0, len(grants))
	for _, g := range grants {
		if g.URI != "" {
			ordered = append(ordered, g)
		}
	}
	for _, g := range grants {
		if g.URI == "" {
			ordered = append(ordered, g)
		}
	}
	for _, g := range ordered {
		e := aclEntry{Permission: g.Perm, Grantee: aclGrantee{XSINS: xsiNS, ID: g.ID, URI: g.URI}}
		if g.URI != "" {
			e.Grantee.Type = "Group"
		} else {
			e.Grantee.Type = "CanonicalUser"
			if g.ID == o.ID {
				e.Grantee.DisplayName = o.DisplayName
			}
		}
		out.Grants = append(out.Grants, e)
	}
	return out
}

// bodyACL reads an AccessControlPolicy request body.
func (s *Server) bodyACL(data []byte, o string) ([]aclGrant, error) {
	var in accessControlPolicyIn
	if err := xml.Unmarshal(data, &in); err != nil {
		return nil, errMalformedACL
	}
	grants := []aclGrant{}
	for _, e := range in.Grants {
		g := aclGrant{Perm: e.Permission}
		switch e.Grantee.Type {
		case "CanonicalUser":
			g.ID = e.Grantee.ID
		case "Group":
			g.URI = e.Grantee.URI
			if g.URI == "" {
				return nil, errMalformedACL
			}
		case "AmazonCustomerByEmail":
			return nil, errUnresolvableEmail
		default:
			return nil, errMalformedACL
		}
		if err := s.checkGrant(g, o); err != nil {
			return nil, err
		}
		grants = append(grants, g)
	}
	return grants, nil
}
