package config

import (
	_ "embed"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
)

// Template is the commented configuration that "edgeagent init" writes.
//
//go:embed edgeagent.example.yaml
var Template []byte

// WriteTemplate writes Template to path with mode 0600, creating its
// directory (0700). It refuses to overwrite an existing file.
func WriteTemplate(path string) error {
	if err := os.MkdirAll(filepath.Dir(path), 0o700); err != nil {
		return err
	}
	f, err := os.OpenFile(path, os.O_WRONLY|os.O_CREATE|os.O_EXCL, 0o600)
	if errors.Is(err, fs.ErrExist) {
		return fmt.Errorf("%s already exists; remove it or choose another file", path)
	}
	if err != nil {
		return err
	}
	// 0600 exactly, whatever the umask: the operator may write a secret in.
	if err := f.Chmod(0o600); err != nil {
		f.Close()
		os.Remove(path)
		return err
	}
	if _, err := f.Write(Template); err != nil {
		f.Close()
		return err
	}
	return f.Close()
}
