package embeddedvault

import (
	"context"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"io/fs"
	"os"
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
	var kf devKeyFile
	if err := json.Unmarshal(raw, &kf); err != nil {
		return fmt.Errorf("embeddedvault: dev key file %s: %w", s.cfg.DevKeyFile, err)
	}
	key, err := base64.StdEncoding.DecodeString(kf.UnsealKey)
	if err != nil {
		return fmt.Errorf("embeddedvault: dev key file %s: bad unseal_key", s.cfg.DevKeyFile)
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

// writeDevKeyFile writes kf with mode 0600 via a temporary file. A stale
// temporary file is removed first: os.WriteFile keeps an existing file's
// mode, and the key must never sit in a file others can read.
func writeDevKeyFile(path string, kf devKeyFile) error {
	raw, err := json.MarshalIndent(kf, "", "  ")
	if err != nil {
		return err
	}
	tmp := path + ".tmp"
	if err := os.Remove(tmp); err != nil && !errors.Is(err, fs.ErrNotExist) {
		return err
	}
	f, err := os.OpenFile(tmp, os.O_WRONLY|os.O_CREATE|os.O_EXCL, 0o600)
	if err != nil {
		return err
	}
	_, err = f.Write(append(raw, '\n'))
	if cerr := f.Close(); err == nil {
		err = cerr
	}
	if err != nil {
		os.Remove(tmp)
		return err
	}
	return os.Rename(tmp, path)
}
