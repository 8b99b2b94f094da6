package datasets

import (
	"compress/gzip"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

func TestReadTextCorpus(t *testing.T) {
	dir := t.TempDir()
	os.MkdirAll(filepath.Join(dir, "sub"), 0o755)
	os.WriteFile(filepath.Join(dir, "a.txt"), []byte("alpha"), 0o644)
	os.WriteFile(filepath.Join(dir, "sub", "b.md"), []byte("beta"), 0o644)
	os.WriteFile(filepath.Join(dir, "skip.bin"), []byte("x"), 0o644)
	os.WriteFile(filepath.Join(dir, ".hidden.txt"), []byte("x"), 0o644)
	os.WriteFile(filepath.Join(dir, "c.jsonl"), []byte("{\"text\": \"gamma\"}\n\n{\"text\": \"delta\", \"n\": 1}\n"), 0o644)
	f, _ := os.Create(filepath.Join(dir, "d.txt.gz"))
	z := gzip.NewWriter(f)
	z.Write([]byte("epsilon"))
	z.Close()
	f.Close()
	docs, err := ReadTextCorpus([]string{dir}, "text")
	if err != nil {
		t.Fatal(err)
	}
	var got []string
	for _, d := range docs {
		got = append(got, string(d.Text))
	}
	if strings.Join(got, ",") != "alpha,gamma,delta,epsilon,beta" {
		t.Errorf("documents %v", got)
	}
	if docs[2].Name != filepath.Join(dir, "c.jsonl")+":3" {
		t.Errorf("JSONL document named %q, want file:line", docs[2].Name)
	}
	bad := filepath.Join(dir, "bad.jsonl")
	for content, want := range map[string]string{
		"{\"text\": \"ok\"}\n{\"body\": \"x\"}\n": "bad.jsonl:2: no \"text\" field",
		"{\"text\": 3}\n":                         "bad.jsonl:1: field \"text\" is not a string",
		"not json\n":                              "bad.jsonl:1: not a JSON object",
	} {
		os.WriteFile(bad, []byte(content), 0o644)
		if _, err := ReadTextCorpus([]string{bad}, "text"); err == nil || !strings.Contains(err.Error(), want) {
			t.Errorf("%q: error %v, want %q", content, err, want)
		}
	}
	if _, err := ReadTextCorpus([]string{filepath.Join(dir, "none")}, "text"); err == nil {
		t.Error("missing path: no error")
	}
	empty := filepath.Join(dir, "empty.txt")
	os.WriteFile(empty, nil, 0o644)
	if _, err := ReadTextCorpus([]string{empty}, "text"); err == nil || !strings.Contains(err.Error(), "empty") {
		t.Errorf("empty file: %v", err)
	}
}
