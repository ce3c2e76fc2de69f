package kv

import (
	"context"
	"encoding/json"
	"net/http"
	"strconv"
	"sync"
	"time"

	"github.com/hashicorp/vault/sdk/framework"
	"github.com/hashicorp/vault/sdk/logical"
	"github.com/kmsbox/kmsbox/embeddedvault/internal/coerce"
)

// v2Backend is the versioned KV secrets engine: data/, metadata/, delete/,
// undelete/, destroy/ and config, with check-and-set.
type v2Backend struct {
	*framework.Backend

	mu sync.Mutex // serializes version bookkeeping
}

// Storage layout inside the mount's view.
const (
	kv2ConfigKey      = "config"
	kv2MetaPrefix     = "metadata/"
	kv2VersionsPrefix = "versions/"
	kv2DefaultMax     = 10
)

const kv2InvalidPath = "Invalid path for a versioned K/V secrets engine. See the API docs for the appropriate API endpoints to use. If using the Vault CLI, use 'vault kv get' for this operation."

// kv2Config is the engine-wide configuration.
type kv2Config struct {
	MaxVersions        int           `json:"max_versions"`
	CasRequired        bool          `json:"cas_required"`
	DeleteVersionAfter time.Duration `json:"delete_version_after"`
}

// kv2Version is the bookkeeping of one version.
type kv2Version struct {
	CreatedTime  time.Time `json:"created_time"`
	DeletionTime time.Time `json:"deletion_time"`
	Destroyed    bool      `json:"destroyed"`
}

// kv2Meta is the metadata of one key.
type kv2Meta struct {
	Versions           map[uint64]*kv2Version `json:"versions"`
	CurrentVersion     uint64                 `json:"current_version"`
	OldestVersion      uint64                 `json:"oldest_version"`
	MaxVersions        int                    `json:"max_versions"`
	CasRequired        bool                   `json:"cas_required"`
	DeleteVersionAfter time.Duration          `json:"delete_version_after"`
	CreatedTime        time.Time              `json:"created_time"`
	UpdatedTime        time.Time              `json:"updated_time"`
	CustomMetadata     map[string]string      `json:"custom_metadata"`
}

// NewV2 builds a versioned KV backend over conf.StorageView: data/,
// metadata/, delete/, undelete/, destroy/ and config, with
// check-and-set. Paths without one of those prefixes answer 404 with
// Vault's warning about versioned mounts.
func NewV2(ctx context.Context, conf *logical.BackendConfig) (logical.Backend, error) {
	b := &v2Backend{}
	b.Backend = &framework.Backend{
		Help:        "Versioned key/value store.",
		BackendType: logical.TypeLogical,
		Paths: framework.PathAppend(
			[]*framework.Path{b.dataPath()},
			b.metadataPaths(),
			[]*framework.Path{b.invalidPath()},
		),
	}
	if err := b.Setup(ctx, conf); err != nil {
		return nil, err
	}
	return b, nil
}

func (b *v2Backend) dataPath() *framework.Path {
	return &framework.Path{
		Pattern: "data/" + framework.MatchAllRegex("path"),
		Fields: map[string]*framework.FieldSchema{
			"path":    {Type: framework.TypeString, Description: "Location of the secret."},
			"version": {Type: framework.TypeInt, Description: "Version to read; 0 is the latest."},
			"data":    {Type: framework.TypeMap, Description: "The secret's data."},
			"options": {Type: framework.TypeMap, Description: "Write options (cas)."},
		},
		ExistenceCheck: b.exists,
		Operations: map[logical.Operation]framework.OperationHandler{
			logical.ReadOperation:   &framework.PathOperation{Callback: b.readData},
			logical.CreateOperation: &framework.PathOperation{Callback: b.writeData},
			logical.UpdateOperation: &framework.PathOperation{Callback: b.writeData},
			logical.DeleteOperation: &framework.PathOperation{Callback: b.deleteLatest},
		},
		HelpSynopsis: "Write, read and soft-delete versions of a secret.",
	}
}

// invalidPath answers v1-style paths on a v2 mount with 404 and a warning.
func (b *v2Backend) invalidPath() *framework.Path {
	h := &framework.PathOperation{Callback: func(_ context.Context, req *logical.Request, _ *framework.FieldData) (*logical.Response, error) {
		resp := &logical.Response{}
		resp.AddWarning(kv2InvalidPath)
		return logical.RespondWithStatusCode(resp, req, http.StatusNotFound)
	}}
	return &framework.Path{
		Pattern:             ".*",
		TakesArbitraryInput: true,
		Operations: map[logical.Operation]framework.OperationHandler{
			logical.ReadOperation: h, logical.UpdateOperation: h, logical.DeleteOperation: h, logical.ListOperation: h,
		},
	}
}

func (b *v2Backend) exists(ctx context.Context, req *logical.Request, d *framework.FieldData) (bool, error) {
	m, err := b.meta(ctx, req.Storage, d.Get("path").(string))
	return m != nil, err
}

func (b *v2Backend) config(ctx context.Context, s logical.Storage) (*kv2Config, error) {
	var c kv2Config
	e, err := s.Get(ctx, kv2ConfigKey)
	if err != nil || e == nil {
		return &c, err
	}
	return &c, e.DecodeJSON(&c)
}

func (b *v2Backend) meta(ctx context.Context, s logical.Storage, path string) (*kv2Meta, error) {
	e, err := s.Get(ctx, kv2MetaPrefix+path)
	if err != nil || e == nil {
		return nil, err
	}
	var m kv2Meta
	return &m, e.DecodeJSON(&m)
}

func (b *v2Backend) putMeta(ctx context.Context, s logical.Storage, path string, m *kv2Meta) error {
	e, err := logical.StorageEntryJSON(kv2MetaPrefix+path, m)
	if err != nil {
		return err
	}
	return s.Put(ctx, e)
}

func versionKey(path string, v uint64) string {
	return kv2VersionsPrefix + path + "/" + strconv.FormatUint(v, 10)
}

func kv2Time(t time.Time) string {
	if t.IsZero() {
		return ""
	}
	return t.UTC().Format(time.RFC3339Nano)
}

func (v *kv2Version) data(version uint64, custom map[string]string) map[string]any {
	var cm any
	if custom != nil {
		cm = custom
	}
	return map[string]any{
		"version": version, "created_time": kv2Time(v.CreatedTime),
		"deletion_time": kv2Time(v.DeletionTime), "destroyed": v.Destroyed, "custom_metadata": cm,
	}
}

func (b *v2Backend) readData(ctx context.Context, req *logical.Request, d *framework.FieldData) (*logical.Response, error) {
	path := d.Get("path").(string)
	m, err := b.meta(ctx, req.Storage, path)
	if err != nil || m == nil {
		return nil, err
	}
	v := uint64(d.Get("version").(int))
	if v == 0 {
		v = m.CurrentVersion
	}
	vm := m.Versions[v]
	if vm == nil {
		return nil, nil
	}
	resp := &logical.Response{Data: map[string]any{"data": nil, "metadata": vm.data(v, m.CustomMetadata)}}
	if vm.Destroyed || (!vm.DeletionTime.IsZero() && !vm.DeletionTime.After(time.Now())) {
		return logical.RespondWithStatusCode(resp, req, http.StatusNotFound)
	}
	e, err := req.Storage.Get(ctx, versionKey(path, v))
	if err != nil || e == nil {
		return nil, err
	}
	data, err := Decode(e.Value)
	if err != nil {
		return nil, err
	}
	resp.Data["data"] = data
	return resp, nil
}

func (b *v2Backend) writeData(ctx context.Context, req *logical.Request, d *framework.FieldData) (*logical.Response, error) {
	path := d.Get("path").(string)
	if path == "" {
		return logical.ErrorResponse("missing path"), nil
	}
	data, ok := d.GetOk("data")
	if !ok || data == nil {
		return logical.ErrorResponse("no data provided"), nil
	}
	b.mu.Lock()
	defer b.mu.Unlock()
	cfg, err := b.config(ctx, req.Storage)
	if err != nil {
		return nil, err
	}
	m, err := b.meta(ctx, req.Storage, path)
	if err != nil {
		return nil, err
	}
	now := time.Now().UTC()
	if m == nil {
		m = &kv2Meta{Versions: map[uint64]*kv2Version{}, CreatedTime: now}
	}
	opts, _ := d.Get("options").(map[string]any)
	casRaw, hasCAS := opts["cas"]
	if !hasCAS && (cfg.CasRequired || m.CasRequired) {
		return logical.ErrorResponse("check-and-set parameter required for this call"), nil
	}
	if hasCAS {
		cas, err := coerce.Int(casRaw)
		if err != nil || cas < 0 || uint64(cas) != m.CurrentVersion {
			return logical.ErrorResponse("check-and-set parameter did not match the current version"), nil
		}
	}
	raw, err := json.Marshal(data)
	if err != nil {
		return nil, err
	}
	v := m.CurrentVersion + 1
	if err := req.Storage.Put(ctx, &logical.StorageEntry{Key: versionKey(path, v), Value: raw}); err != nil {
		return nil, err
	}
	vm := &kv2Version{CreatedTime: now}
	m.Versions[v], m.CurrentVersion, m.UpdatedTime = vm, v, now
	if m.OldestVersion == 0 {
		m.OldestVersion = v
	}
	if err := b.trim(ctx, req.Storage, path, m, cfg); err != nil {
		return nil, err
	}
	if err := b.putMeta(ctx, req.Storage, path, m); err != nil {
		return nil, err
	}
	return &logical.Response{Data: vm.data(v, m.CustomMetadata)}, nil
}

// trim drops the oldest versions beyond max_versions.
func (b *v2Backend) trim(ctx context.Context, s logical.Storage, path string, m *kv2Meta, cfg *kv2Config) error {
	max := m.MaxVersions
	if max == 0 {
		max = cfg.MaxVersions
	}
	if max == 0 {
		max = kv2DefaultMax
	}
	for len(m.Versions) > max {
		if _, ok := m.Versions[m.OldestVersion]; ok {
			if err := s.Delete(ctx, versionKey(path, m.OldestVersion)); err != nil {
				return err
			}
			delete(m.Versions, m.OldestVersion)
		}
		m.OldestVersion++
	}
	return nil
}

func (b *v2Backend) deleteLatest(ctx context.Context, req *logical.Request, d *framework.FieldData) (*logical.Response, error) {
	path := d.Get("path").(string)
	b.mu.Lock()
	defer b.mu.Unlock()
	m, err := b.meta(ctx, req.Storage, path)
	if err != nil || m == nil {
		return nil, err
	}
	if vm := m.Versions[m.CurrentVersion]; vm != nil && vm.DeletionTime.IsZero() && !vm.Destroyed {
		vm.DeletionTime = time.Now().UTC()
		return nil, b.putMeta(ctx, req.Storage, path, m)
	}
	return nil, nil
}
