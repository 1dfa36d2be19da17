package main

import (
	"bytes"
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"slices"
)

// writeSums writes out with one line per file, "<sha256 hex>  <base name>",
// sorted by base name. Two files with the same base name are refused: the
// lines could not tell them apart.
func writeSums(out string, files []string) error {
	if len(files) == 0 {
		return fmt.Errorf("pack: sums: no files to sum")
	}
	files = slices.Clone(files)
	slices.SortFunc(files, func(a, b string) int {
		return bytes.Compare([]byte(filepath.Base(a)), []byte(filepath.Base(b)))
	})
	var buf bytes.Buffer
	for i, name := range files {
		base := filepath.Base(name)
		if i > 0 && filepath.Base(files[i-1]) == base {
			return fmt.Errorf("pack: sums: two files are named %s (%s and %s)", base, files[i-1], name)
		}
		sum, err := sha256File(name)
		if err != nil {
			return err
		}
		fmt.Fprintf(&buf, "%s  %s\n", sum, base)
	}
	return writeFileAtomic(out, func(w io.Writer) error {
		_, err := w.Write(buf.Bytes())
		if err != nil {
			return fmt.Errorf("pack: %w", err)
		}
		return nil
	})
}

// sha256File returns the SHA-256 of a file's contents in hex.
func sha256File(name string) (string, error) {
	f, err := os.Open(name)
	if err != nil {
		return "", fmt.Errorf("pack: %w", err)
	}
	defer f.Close()
	h := sha256.New()
	if _, err := io.Copy(h, f); err != nil {
		return "", fmt.Errorf("pack: %s: %w", name, err)
	}
	return hex.EncodeToString(h.Sum(nil)), nil
}
