package embeddedvault

import (
	"context"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"io/fs"
	"os"

	"github.com/kmsbox/kmsbox/internal/atomicfile"
)

// devKeyFile is the dev-mode key file. It holds what unseals the store and
// is therefore only ever written with Config.Dev.
type devKeyFile struct {
	Warning   string `json:"warning"`
	UnsealKey string `json:"unseal_key"`
	RootToken string `json:"root_token"`
}

const devWarning = "INSECURE development mode: this file unseals the store; never use it in production"

// devStart initializes (1 share) or unseals a dev-mode store.
func (s *Server) devStart(ctx context.Context) error {
	ok, _, err := s.initialized(ctx)
	if err != nil {
		return err
	}
	if !ok {
		res, root, err := s.initialize(ctx, 1, 1, s.cfg.DevRootToken)
		if err != nil {
			return err
		}
		defer clear(root)
		kf := devKeyFile{Warning: devWarning, UnsealKey: res.KeysB64[0], RootToken: res.RootToken}
		if err := writeDevKeyFile(s.cfg.DevKeyFile, kf); err != nil {
			return err
		}
		if err := s.unsealWithKey(ctx, root); err != nil {
			return err
		}
		s.devRoot, s.devUnseal = kf.RootToken, kf.UnsealKey
		s.log.Warn("embeddedvault: dev mode initialized; unseal key and root token written", "file", s.cfg.DevKeyFile)
		return nil
	}
	raw, err := os.ReadFile(s.cfg.DevKeyFile)
	if errors.Is(err, fs.ErrNotExist) {
		return fmt.Errorf("embeddedvault: dev mode: store %s is initialized but %s is missing; cannot unseal", s.cfg.Path, s.cfg.DevKeyFile)
	}
	if err != nil {
		return err
	}
	kf, key, err := parseDevKeyFile(s.cfg.DevKeyFile, raw)
	if err != nil {
		return err
	}
	defer clear(key)
	if err := s.unsealWithKey(ctx, key); err != nil {
		return fmt.Errorf("embeddedvault: dev mode unseal: %w", err)
	}
	if id := s.cfg.DevRootToken; id != "" && id != kf.RootToken {
		st, _ := s.active()
		if _, err := st.tokens.lookup(ctx, id); err != nil {
			if _, err := st.tokens.createRoot(ctx, id); err != nil {
				return err
			}
		}
		kf.RootToken = id
		if err := writeDevKeyFile(s.cfg.DevKeyFile, kf); err != nil {
			return err
		}
	}
	s.devRoot, s.devUnseal = kf.RootToken, kf.UnsealKey
	return nil
}

// parseDevKeyFile decodes the dev key file read from path and its unseal key.
func parseDevKeyFile(path string, raw []byte) (devKeyFile, []byte, error) {
	var kf devKeyFile
	if err := json.Unmarshal(raw, &kf); err != nil {
		return kf, nil, fmt.Errorf("embeddedvault: dev key file %s: %w", path, err)
	}
	key, err := base64.StdEncoding.DecodeString(kf.UnsealKey)
	if err != nil {
		return kf, nil, fmt.Errorf("embeddedvault: dev key file %s: bad unseal_key", path)
	}
	return kf, key, nil
}

// writeDevKeyFile writes kf with mode 0600, atomically and fsynced (file and directory), so
// the key is on disk before the store is unsealed with it and written to. A temporary file
// an older kmsbox left (path+".tmp", maybe with a wider mode) is removed first.
func writeDevKeyFile(path string, kf devKeyFile) error {
	raw, err := json.MarshalIndent(kf, "", "  ")
	if err != nil {
		return err
	}
	if err := os.Remove(path + ".tmp"); err != nil && !errors.Is(err, fs.ErrNotExist) {
		return err
	}
	return atomicfile.WriteFile(path, append(raw, '\n'), 0o600)
}
