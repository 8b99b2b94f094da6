package datasets

import (
	"bufio"
	"bytes"
	"compress/gzip"
	"encoding/json"
	"fmt"
	"io"
	"io/fs"
	"math/rand/v2"
	"os"
	"path/filepath"
	"runtime"
	"sort"
	"strings"
	"sync"
)

// Document is a named run of text: a file, a JSONL record or a chunk of one.
type Document struct {
	Name string // file, file:line for JSONL, with #chunk after splitting
	Text []byte
}

// textExts are the file kinds a folder contributes to a text corpus.
var textExts = map[string]bool{".txt": true, ".text": true, ".md": true, ".jsonl": true}

// ReadTextCorpus reads documents from files and folders. A folder
// contributes its .txt, .text, .md and .jsonl files (recursively, in name
// order, hidden ones excluded); a .jsonl file one document per line from the
// string field `field`; any other file is one document. Files may be
// gzip-compressed (.gz after the kind). Errors name the file and line.
func ReadTextCorpus(paths []string, field string) ([]Document, error) {
	var docs []Document
	for _, p := range paths {
		info, err := os.Stat(p)
		if err != nil {
			return nil, err
		}
		if !info.IsDir() {
			d, err := readTextFile(p, field)
			if err != nil {
				return nil, err
			}
			docs = append(docs, d...)
			continue
		}
		var files []string
		err = filepath.WalkDir(p, func(path string, e fs.DirEntry, err error) error {
			if err != nil {
				return err
			}
			if strings.HasPrefix(e.Name(), ".") && path != p {
				if e.IsDir() {
					return filepath.SkipDir
				}
				return nil
			}
			if !e.IsDir() && textExts[strings.ToLower(filepath.Ext(strings.TrimSuffix(e.Name(), ".gz")))] {
				files = append(files, path)
			}
			return nil
		})
		if err != nil {
			return nil, err
		}
		if len(files) == 0 {
			return nil, fmt.Errorf("%s: no .txt, .text, .md or .jsonl files in this folder", p)
		}
		sort.Strings(files)
		for _, f := range files {
			d, err := readTextFile(f, field)
			if err != nil {
				return nil, err
			}
			docs = append(docs, d...)
		}
	}
	if len(docs) == 0 {
		return nil, fmt.Errorf("the text corpus is empty")
	}
	return docs, nil
}

func openMaybeGzip(path string) (io.ReadCloser, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, err
	}
	if !strings.HasSuffix(path, ".gz") {
		return f, nil
	}
	z, err := gzip.NewReader(f)
	if err != nil {
		f.Close()
		return nil, fmt.Errorf("%s: %w", path, err)
	}
	return struct {
		io.Reader
		io.Closer
	}{z, f}, nil
}

func readTextFile(path, field string) ([]Document, error) {
	r, err := openMaybeGzip(path)
	if err != nil {
		return nil, err
	}
	defer r.Close()
	if strings.ToLower(filepath.Ext(strings.TrimSuffix(path, ".gz"))) != ".jsonl" {
		b, err := io.ReadAll(r)
		if err != nil {
			return nil, fmt.Errorf("%s: %w", path, err)
		}
		if len(b) == 0 {
			return nil, fmt.Errorf("%s: empty file", path)
		}
		return []Document{{Name: path, Text: b}}, nil
	}
	var docs []Document
	sc := bufio.NewScanner(r)
	sc.Buffer(make([]byte, 1<<20), 1<<30)
	line := 0
	for sc.Scan() {
		line++
		raw := bytes.TrimSpace(sc.Bytes())
		if len(raw) == 0 {
			continue // blank lines separate nothing in JSONL
		}
		var rec map[string]json.RawMessage
		if err := json.Unmarshal(raw, &rec); err != nil {
			return nil, fmt.Errorf("%s:%d: not a JSON object: %v", path, line, err)
		}
		v, ok := rec[field]
		if !ok {
			return nil, fmt.Errorf("%s:%d: no %q field", path, line, field)
		}
		var s string
		if err := json.Unmarshal(v, &s); err != nil {
			return nil, fmt.Errorf("%s:%d: field %q is not a string", path, line, field)
		}
		docs = append(docs, Document{Name: fmt.Sprintf("%s:%d", path, line), Text: []byte(s)})
	}
	if err := sc.Err(); err != nil {
		return nil, fmt.Errorf("%s:%d: %w", path, line+1, err)
	}
	if len(docs) == 0 {
		return nil, fmt.Errorf("%s: no records", path)
	}
	return docs, nil
}

// SplitText cuts documents into chunks of at most chunkBytes (at line ends
// where possible), shuffles the chunks with seed and holds out the first of
// them, at least valFrac of all bytes, as validation. Every byte lands in
// exactly one of train and val.
func SplitText(docs []Document, chunkBytes int, valFrac float64, seed uint64) (train, val []Document) {
	var chunks []Document
	total := 0
	for _, d := range docs {
		t := d.Text
		for i := 0; len(t) > 0; i++ {
			n := min(len(t), chunkBytes)
			if n < len(t) {
				if nl := bytes.LastIndexByte(t[:n], '\n'); nl > 0 {
					n = nl + 1
				}
			}
			chunks = append(chunks, Document{Name: fmt.Sprintf("%s#%d", d.Name, i), Text: t[:n]})
			total += n
			t = t[n:]
		}
	}
	r := rand.New(rand.NewPCG(seed, 0x5eed))
	r.Shuffle(len(chunks), func(i, j int) { chunks[i], chunks[j] = chunks[j], chunks[i] })
	held := 0
	k := 0
	for k < len(chunks) && float64(held) < valFrac*float64(total) {
		held += len(chunks[k].Text)
		k++
	}
	return chunks[k:], chunks[:k]
}

// EncodeStream encodes documents (in parallel) and joins them into one token
// stream, with sep between documents when sep ≥ 0.
func EncodeStream(docs []Document, encode func(string) []int32, sep int32) []int32 {
	parts := make([][]int32, len(docs))
	var wg sync.WaitGroup
	next := make(chan int)
	for w := 0; w < runtime.GOMAXPROCS(0); w++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := range next {
				parts[i] = encode(string(docs[i].Text))
			}
		}()
	}
	for i := range docs {
		next <- i
	}
	close(next)
	wg.Wait()
	var out []int32
	for i, p := range parts {
		if i > 0 && sep >= 0 {
			out = append(out, sep)
		}
		out = append(out, p...)
	}
	return out
}
