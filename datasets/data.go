// Package datasets reads the data that models train and are tested on:
// text corpora, sequence files, audio and labelled folders, and finds the
// real data that scripts/fetch-data.sh downloads.
package datasets

import (
	"os"
	"path/filepath"
	"testing"
)

// DataDir returns the folder that scripts/fetch-data.sh fills: $MAMBAKIT_DATA
// if set, else data/ in the module's root (found by walking up from the
// working directory to go.mod). It returns "" when there is none.
func DataDir() string {
	if d := os.Getenv("MAMBAKIT_DATA"); d != "" {
		return d
	}
	dir, err := os.Getwd()
	if err != nil {
		return ""
	}
	for {
		if _, err := os.Stat(filepath.Join(dir, "go.mod")); err == nil {
			return filepath.Join(dir, "data")
		}
		parent := filepath.Dir(dir)
		if parent == dir {
			return ""
		}
		dir = parent
	}
}

// Fetched returns the path of rel inside DataDir and whether it exists.
func Fetched(rel string) (string, bool) {
	d := DataDir()
	if d == "" {
		return "", false
	}
	p := filepath.Join(d, rel)
	_, err := os.Stat(p)
	return p, err == nil
}

// NeedFetched returns the path of rel inside DataDir for a test. When it is
// missing the test is skipped, or fails if MAMBAKIT_REQUIRE_DATA is set (as
// CI sets it after running scripts/fetch-data.sh), so that a missing
// download can never pass silently there.
func NeedFetched(t testing.TB, rel string) string {
	t.Helper()
	p, ok := Fetched(rel)
	if !ok {
		msg := "real data " + rel + " not fetched: run scripts/fetch-data.sh"
		if os.Getenv("MAMBAKIT_REQUIRE_DATA") != "" {
			t.Fatal(msg)
		}
		t.Skip(msg)
	}
	return p
}
