package web

import (
	"fmt"
	"reflect"
)

// chainPage is the chain of one object as the page draws it: one box per link, top to
// bottom, nil for the links an object's encryption does not have.
type chainPage struct {
	page
	Chain                                        Chain
	Object, ObjectKey, DataKey, MasterKey, Vault *linkState
	// End explains why the chain stops early (SSE-C, not encrypted); "" for a full chain.
	End string
}

// linkState is the state of one box: green, or red with the reason.
type linkState struct {
	OK  bool
	Err string
}

// Encryption values of [Object.Encryption] the page treats specially.
const (
	encNone = ""
	encSSEC = "SSE-C"
)

// Where the chain ends early, in a sentence for a workshop.
const (
	endPlaintext = "This object is not encrypted: its body is stored as it was sent, so there is no key to follow. " +
		"Uploads are encrypted when auto-encryption is on, the bucket has default encryption, or the client asks for SSE."
	endSSEC = "SSE-C: the object key is sealed with a key the client sent with the upload, which kmsbox never stores. " +
		"The chain ends here; without that customer key nobody, not even the KMS, can read the object."
	endOutside = "The master key is kept outside this kmsbox (%s): the rest of the chain is there, out of the console's sight."
)

// newChainPage decides which boxes c has and whether each link holds now.
func newChainPage(c Chain) chainPage {
	p := chainPage{
		page:   page{Title: c.Object.Bucket + "/" + c.Object.Key, LoggedIn: true},
		Chain:  c,
		Object: &linkState{OK: true}, // the Source found it, so it is there
	}
	if c.Object.Encryption == encNone {
		p.End = endPlaintext
		return p
	}
	p.ObjectKey = &linkState{OK: true}
	if c.SealedObjectKey == "" {
		p.ObjectKey = &linkState{Err: "The object's metadata holds no sealed object key: the body cannot be decrypted."}
	}
	if c.Object.Encryption == encSSEC {
		p.End = endSSEC
		return p
	}
	p.DataKey = checkState(c.DataKey)
	p.MasterKey = checkState(c.MasterKeyCheck)
	if reflect.ValueOf(c.Vault).IsZero() { // no vault of ours below the key server
		p.End = fmt.Sprintf(endOutside, c.MasterKey.Location)
		return p
	}
	p.Vault = vaultState(c.Vault, c.MasterKeyCheck)
	return p
}

// checkState is a Source's check as a box state; a broken check always has a reason.
func checkState(c Check) *linkState {
	if c.OK {
		return &linkState{OK: true}
	}
	if c.Err == "" {
		return &linkState{Err: "Broken (the source gave no reason)."}
	}
	return &linkState{Err: c.Err}
}

// vaultState is the bottom box. The embedded vault holds when it is initialized and
// unsealed. An external Vault is seen only through the key server, so its box follows
// the master key's check.
func vaultState(v VaultStatus, masterKey Check) *linkState {
	switch {
	case v.External:
		return checkState(masterKey)
	case !v.Initialized:
		return &linkState{Err: "The vault is not initialized: run vault operator init."}
	case v.Sealed && v.Threshold > 0:
		return &linkState{Err: fmt.Sprintf("The vault is sealed: its barrier stays closed until %d of its %d unseal key shares are entered (vault operator unseal).", v.Threshold, v.Shares)}
	case v.Sealed:
		return &linkState{Err: "The vault is sealed: its barrier stays closed until it is unsealed (vault operator unseal)."}
	}
	return &linkState{OK: true}
}
