package embeddedvault

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"sort"
	"strings"
	"time"

	"github.com/hashicorp/vault/shamir"
	bolt "go.etcd.io/bbolt"
	bolterrors "go.etcd.io/bbolt/errors"
)

// ErrInUse is what [Check] returns when another process (a running server) holds the
// store file: bbolt's file lock did not come free within a second.
var ErrInUse = errors.New("embeddedvault: the store file is in use by another process")

// damagedBucket is where [Check] with repair moves entries that do not read back, under
// their own keys: out of the store's way, but kept for whoever wants to look at them.
var damagedBucket = []byte("vault-damaged")

// CheckReport is what [Check] found in a store file and what it repaired.
type CheckReport struct {
	// Problems lists, one sentence each, what is wrong and was not repaired.
	Problems []string
	// Repaired lists what repair did: entries moved aside, orphans removed.
	Repaired []string
	// Notes are facts that limit the check, e.g. that without an unseal key only the
	// structure was checked.
	Notes []string
	// Entries is the number of stored entries looked at.
	Entries int
}

// OK reports whether nothing is wrong (any more).
func (r *CheckReport) OK() bool { return len(r.Problems) == 0 }

// Check verifies the store file at path offline: bbolt's own consistency check, the seal
// configuration and the keyring, and every entry. With shares (the unseal key shares, or
// the one key of a single-share store) every entry is decrypted and the server's own
// records are decoded; entries of mounts that no longer exist and token accessors without
// their token are orphans. Without shares only the shape of each entry is checked, and a
// note says so. With repair, damaged entries move to the "vault-damaged" bucket and orphans
// are deleted; without it the file is opened read-only. A store held by a running server
// gives [ErrInUse]; shares that do not open the keyring give [ErrInvalidKey].
func Check(ctx context.Context, path string, shares [][]byte, repair bool) (*CheckReport, error) {
	if _, err := os.Stat(path); err != nil {
		return nil, fmt.Errorf("embeddedvault: check: %w", err)
	}
	db, err := bolt.Open(path, 0o600, &bolt.Options{Timeout: time.Second, ReadOnly: !repair})
	if errors.Is(err, bolterrors.ErrTimeout) {
		return nil, ErrInUse
	}
	if err != nil {
		return nil, fmt.Errorf("embeddedvault: check: open %s: %w", path, err)
	}
	defer db.Close()
	rep := &CheckReport{}
	entries := map[string][]byte{}
	if err := db.View(func(tx *bolt.Tx) error {
		for err := range tx.Check() {
			rep.Problems = append(rep.Problems, fmt.Sprintf("bbolt: %v", err))
		}
		bk := tx.Bucket(boltBucket)
		if bk == nil {
			return nil
		}
		return bk.ForEach(func(k, v []byte) error {
			entries[string(k)] = bytes.Clone(v)
			return nil
		})
	}); err != nil {
		return nil, fmt.Errorf("embeddedvault: check: %w", err)
	}
	rep.Entries = len(entries)
	b := newBarrier(&boltBackend{db: db})
	c, err := b.sealConfig(ctx)
	switch {
	case err != nil:
		rep.Problems = append(rep.Problems, err.Error())
		return rep, nil
	case c == nil:
		rep.Notes = append(rep.Notes, "the store is not initialized: nothing behind the barrier to check")
		return rep, nil
	}
	if err := checkSealedShape(entries[keyringKey]); err != nil {
		rep.Problems = append(rep.Problems, fmt.Sprintf("the keyring (%s) is damaged: the store cannot be unsealed until it is restored from a backup", keyringKey))
		return rep, nil
	}
	var bad, orphans []string
	if len(shares) == 0 {
		rep.Notes = append(rep.Notes, "no unseal key given: checked the file and the shape of each entry, not that it decrypts")
		for k, v := range entries {
			if k != sealConfigKey && k != keyringKey && checkSealedShape(v) != nil {
				bad = append(bad, k)
			}
		}
	} else {
		if err := unsealForCheck(ctx, b, c, shares); err != nil {
			return nil, err
		}
		defer b.seal()
		bad, orphans = checkEntries(b, entries, rep)
	}
	sort.Strings(bad)
	sort.Strings(orphans)
	if !repair {
		for _, k := range bad {
			rep.Problems = append(rep.Problems, fmt.Sprintf("entry %s is damaged", k))
		}
		for _, k := range orphans {
			rep.Problems = append(rep.Problems, fmt.Sprintf("entry %s is an orphan", k))
		}
		return rep, nil
	}
	if err := db.Update(func(tx *bolt.Tx) error {
		bk := tx.Bucket(boltBucket)
		aside, err := tx.CreateBucketIfNotExists(damagedBucket)
		if err != nil {
			return err
		}
		for _, k := range bad {
			if err := aside.Put([]byte(k), entries[k]); err != nil {
				return err
			}
			if err := bk.Delete([]byte(k)); err != nil {
				return err
			}
		}
		for _, k := range orphans {
			if err := bk.Delete([]byte(k)); err != nil {
				return err
			}
		}
		return nil
	}); err != nil {
		return nil, fmt.Errorf("embeddedvault: check: repair: %w", err)
	}
	for _, k := range bad {
		rep.Repaired = append(rep.Repaired, fmt.Sprintf("entry %s was damaged: moved to the %s bucket", k, damagedBucket))
	}
	for _, k := range orphans {
		rep.Repaired = append(rep.Repaired, fmt.Sprintf("orphan entry %s removed", k))
	}
	return rep, nil
}

// unsealForCheck opens b's keyring with shares, combined as the seal configuration says.
func unsealForCheck(ctx context.Context, b *barrier, c *sealConfig, shares [][]byte) error {
	if len(shares) < c.SecretThreshold {
		return fmt.Errorf("embeddedvault: check: %d unseal key shares given, the store needs %d", len(shares), c.SecretThreshold)
	}
	root := bytes.Clone(shares[0])
	if c.SecretThreshold > 1 {
		var err error
		if root, err = shamir.Combine(shares); err != nil {
			return ErrInvalidKey
		}
	}
	defer clear(root)
	return b.unseal(ctx, root)
}

// checkEntries decrypts every entry of an unsealed barrier, decodes the server's own
// records, and returns the damaged entries and the orphans.
func checkEntries(b *barrier, entries map[string][]byte, rep *CheckReport) (bad, orphans []string) {
	plain := map[string][]byte{}
	for k, v := range entries {
		if k == sealConfigKey || k == keyringKey {
			continue
		}
		p, err := b.decrypt(k, v)
		if err != nil || decodeRecord(k, p) != nil {
			bad = append(bad, k)
			continue
		}
		plain[k] = p
	}
	// Orphans need a whole mount table: an entry that did not decode could own any uuid.
	var table []json.RawMessage
	raw, ok := plain[mountTableKey]
	if !ok || json.Unmarshal(raw, &table) != nil {
		rep.Notes = append(rep.Notes, "no readable mount table: orphaned mount data not looked for")
		return bad, nil
	}
	owned := map[string]bool{}
	for _, r := range table {
		var me mountEntry
		if json.Unmarshal(r, &me) != nil || me.UUID == "" {
			rep.Notes = append(rep.Notes, "a mount table entry does not decode: orphaned mount data not looked for")
			return bad, nil
		}
		owned[me.storagePrefix()] = true
	}
	for k, p := range plain {
		for _, top := range []string{"logical/", "auth/"} {
			if rest, ok := strings.CutPrefix(k, top); ok {
				id, _, _ := strings.Cut(rest, "/")
				if !owned[top+id+"/"] {
					orphans = append(orphans, k)
				}
			}
		}
		if strings.HasPrefix(k, tokenAccessorPfx) { // its token is missing or damaged
			var hash string
			if json.Unmarshal(p, &hash) == nil {
				if _, ok := plain[tokenIDPrefix+hash]; !ok {
					orphans = append(orphans, k)
				}
			}
		}
	}
	return bad, orphans
}

// decodeRecord checks that a decrypted record of the server's own decodes as it must.
func decodeRecord(key string, plain []byte) error {
	switch {
	case key == mountTableKey:
		var table []mountEntry
		return json.Unmarshal(plain, &table)
	case strings.HasPrefix(key, policyPrefix):
		var sp storedPolicy
		if err := json.Unmarshal(plain, &sp); err != nil {
			return err
		}
		_, err := parsePolicy(sp.Name, sp.Raw)
		return err
	case strings.HasPrefix(key, tokenIDPrefix):
		var te tokenEntry
		return json.Unmarshal(plain, &te)
	case strings.HasPrefix(key, tokenAccessorPfx):
		var hash string
		return json.Unmarshal(plain, &hash)
	}
	return nil
}

// DevUnsealKey reads the unseal key from a dev-mode key file (Config.DevKeyFile), for an
// offline [Check] of a dev store.
func DevUnsealKey(path string) ([]byte, error) {
	raw, err := os.ReadFile(path)
	if err != nil {
		return nil, err
	}
	_, key, err := parseDevKeyFile(path, raw)
	return key, err
}
