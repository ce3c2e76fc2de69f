package appliance

import (
	"context"
	"encoding/base64"
	"encoding/hex"
	"errors"
	"fmt"

	"github.com/kmsbox/kmsbox/embeddedvault"
	"github.com/kmsbox/kmsbox/kescore"
	"github.com/kmsbox/kmsbox/s3lite"
	"github.com/kmsbox/kmsbox/web"
)

// console is the web console's view of the appliance ([web.Source]): it reads the three
// servers in process and turns their errors into sentences a workshop can act on.
type console struct {
	vault *embeddedvault.Server
	kes   *kescore.Server
	s3    *s3lite.Server

	urls        func(server string) string
	vaultFile   string
	keys        keyStoreInfo
	s3KMS       string // where the object store's keys come from, for people
	s3KMSIsOurs bool   // the object store uses the in-process key server
	defaultKey  string
	autoEncrypt bool
}

// keyStoreInfo says where the key server keeps its master keys.
type keyStoreInfo struct {
	external bool   // an external Vault, reached over HTTPS
	where    string // "embedded vault, KV v1 kes/" or "Vault at https://..., kv/minio/"
	mount    string // the KV mount, e.g. "kes/"
}

// newConsole builds the web console over the three servers; it logs in with the S3 root
// credentials.
func (a *Appliance) newConsole(g *generation, vault *embeddedvault.Server, kes *kescore.Server, s3 *s3lite.Server, scfg s3lite.Config, vaultFile string) (*web.Server, error) {
	c := &console{vault: vault, kes: kes, s3: s3, urls: a.URL, vaultFile: vaultFile, keys: a.keys,
		defaultKey: scfg.DefaultKeyID, autoEncrypt: scfg.AutoEncrypt}
	if k, ok := scfg.KMS.(*kmsAdapter); ok {
		c.s3KMS, c.s3KMSIsOurs = k.source, k.ours
	} else {
		c.s3KMS = "none: SSE-S3 and SSE-KMS are disabled"
	}
	access, secret := rootCredentials(scfg)
	srv, err := web.New(web.Config{Source: c, AccessKey: access, SecretKey: secret,
		Logger: a.cfg.Logger.With("server", "console")})
	if err != nil {
		return nil, fmt.Errorf("console: %w", err)
	}
	g.closers = append(g.closers, srv.Close)
	return srv, nil
}

func (c *console) Status(ctx context.Context) (web.Status, error) {
	var st web.Status
	st.S3 = web.S3Status{URL: c.urls("s3"), Ready: check(c.s3.Ready(ctx)), AutoEncrypt: c.autoEncrypt,
		KMS: c.s3KMS, DefaultKey: c.defaultKey}
	buckets, err := c.s3.Buckets(ctx)
	if err != nil {
		return web.Status{}, err
	}
	for _, b := range buckets {
		st.S3.Buckets = append(st.S3.Buckets, web.Bucket{Name: b.Name, Created: b.Created, Encryption: b.SSE, KeyID: b.KeyID})
	}

	st.KES = web.KESStatus{URL: c.urls("kes"), Ready: check(c.kes.Ready(ctx))}
	if st.KES.Ready.OK {
		names, err := c.kes.ListKeys(ctx, "")
		if err != nil {
			st.KES.Ready = check(err)
		}
		for _, n := range names {
			st.KES.Keys = append(st.KES.Keys, web.MasterKey{Name: n, Location: c.keys.where + n})
		}
	}
	if st.Vault, err = c.vaultStatus(ctx); err != nil {
		return web.Status{}, err
	}
	st.Vault.Transit, err = c.transit(ctx)
	return st, err
}

// transit lists the vault's Transit engines and their keys' metadata; none while it is
// sealed.
func (c *console) transit(ctx context.Context) ([]web.TransitMount, error) {
	mounts, err := c.vault.TransitKeys(ctx)
	if errors.Is(err, embeddedvault.ErrSealed) {
		return nil, nil
	}
	if err != nil {
		return nil, fmt.Errorf("transit keys: %w", err)
	}
	out := make([]web.TransitMount, 0, len(mounts))
	for _, m := range mounts {
		wm := web.TransitMount{Path: m.Path}
		for _, k := range m.Keys {
			wm.Keys = append(wm.Keys, web.TransitKey{Name: k.Name, Type: k.Type, LatestVersion: k.LatestVersion})
		}
		out = append(out, wm)
	}
	return out, nil
}

func (c *console) vaultStatus(ctx context.Context) (web.VaultStatus, error) {
	ss, err := c.vault.SealState(ctx)
	if err != nil {
		return web.VaultStatus{}, err
	}
	return web.VaultStatus{URL: c.urls("vault"), External: c.keys.external, Initialized: ss.Initialized,
		Sealed: ss.Sealed, Shares: ss.Shares, Threshold: ss.Threshold, StorageFile: c.vaultFile, Mount: c.keys.mount}, nil
}

func (c *console) Objects(ctx context.Context, bucket, prefix string, limit int) ([]web.Object, error) {
	objs, err := c.s3.Objects(ctx, bucket, prefix, limit)
	if err != nil {
		return nil, notFound(err)
	}
	out := make([]web.Object, 0, len(objs))
	for _, o := range objs {
		out = append(out, webObject(bucket, o))
	}
	return out, nil
}

func (c *console) Chain(ctx context.Context, bucket, key string) (web.Chain, error) {
	sk, err := c.s3.Sealed(ctx, bucket, key)
	if err != nil {
		return web.Chain{}, notFound(err)
	}
	ch := web.Chain{Object: webObject(bucket, sk.Object)}
	if sk.Object.SSE == "" {
		return ch, nil
	}
	ch.Format = "DARE 2.0 (minio/sio): AES-256-GCM, 64 KiB packages, each authenticated"
	if sk.Object.Parts > 0 {
		ch.Format += "; one key per part"
	}
	ch.SealedObjectKey, ch.SealAlgorithm = hex.EncodeToString(sk.Sealed), sk.SealAlgorithm
	if sk.Object.SSE == "SSE-C" {
		return ch, nil
	}
	ch.DataKeyCiphertext = base64.StdEncoding.EncodeToString(sk.DataKey)
	ch.DataKeyContext = string(sk.Context)
	ch.DataKey = check(sk.Check)

	name := sk.Object.KeyID
	ch.MasterKey = web.MasterKey{Name: name, Location: c.s3KMS}
	if !c.s3KMSIsOurs {
		// A remote KES or a static key: the key server and vault below it are not ours to show.
		ch.MasterKeyCheck = ch.DataKey
		return ch, nil
	}
	ch.MasterKey.Location = c.keys.where + name
	_, err = c.kes.DescribeKey(ctx, name)
	ch.MasterKeyCheck = check(err)
	ch.Vault, err = c.vaultStatus(ctx)
	return ch, err
}

func webObject(bucket string, o s3lite.ObjectInfo) web.Object {
	return web.Object{Bucket: bucket, Key: o.Key, Size: o.Size, ModTime: o.ModTime, ETag: o.ETag,
		Encryption: o.SSE, KeyID: o.KeyID, Parts: o.Parts}
}

func notFound(err error) error {
	if errors.Is(err, s3lite.ErrNotFound) {
		return fmt.Errorf("%w: %w", web.ErrNotFound, err)
	}
	return err
}

// check turns the error of a link into the sentence the console shows.
func check(err error) web.Check {
	if err == nil {
		return web.Check{OK: true}
	}
	var msg string
	switch {
	case errors.Is(err, s3lite.ErrKMSKeyNotFound), errors.Is(err, kescore.ErrKeyNotFound):
		msg = "the master key does not exist (deleted?): objects sealed with it cannot be decrypted"
	case errors.Is(err, s3lite.ErrKMSUnavailable), errors.Is(err, kescore.ErrStoreUnavailable):
		msg = "the key store is unavailable: is the vault sealed? Unseal it to use the key"
	case errors.Is(err, kescore.ErrStoreUnreachable):
		msg = "the key store is not reachable: is the vault sealed or down?"
	case errors.Is(err, s3lite.ErrKMSNotAuthorized):
		msg = "the KMS refused the request: the identity lacks a policy for this key"
	case errors.Is(err, s3lite.ErrKMSInvalidCiphertext), errors.Is(err, kescore.ErrDecrypt):
		msg = "the data key does not decrypt: its ciphertext or context was altered"
	case errors.Is(err, s3lite.ErrTampered):
		msg = "the sealed object key does not open with the data key: its metadata was altered"
	default:
		msg = err.Error()
	}
	return web.Check{Err: msg}
}
