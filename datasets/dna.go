package datasets

// Readers of DNA: FASTA, FASTQ and BED files, intervals cut out of a
// genome, Genomic Benchmarks folders, labelled FASTA and sequence tables.
//
// The FASTA, FASTQ and BED parsers are small line scanners of our own rather
// than biogo's (github.com/biogo/biogo/io/seqio/{fasta,fastq},
// io/featio/bed), which the tests use as an independent reader of the real
// genomes instead. biogo v1.0.4 reports no line numbers for FASTA or FASTQ,
// and it accepts what these readers must reject: a FASTA record without
// sequence, digits or '*' in a sequence line; FASTQ lines that are neither
// header nor sequence (skipped silently), a missing '+' line (reported as a
// length mismatch); in BED, hexadecimal and octal coordinates ("0x10",
// "010"), start > end, and a last line without a newline is dropped. Every
// error here names the file and the line ("path:line: message").

import (
	"bufio"
	"bytes"
	"compress/gzip"
	"encoding/csv"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"sort"
	"strconv"
	"strings"

	"github.com/mambakit/mambakit/modalities/dna"
)

// SeqRecord is one record of a FASTA or FASTQ file.
type SeqRecord struct {
	ID   string // the header up to the first space or tab, without '>' or '@'
	Desc string // the rest of the header, trimmed; "" if none
	Seq  []byte // the sequence lines joined, letters as in the file (case kept)
	Qual []byte // FASTQ: the quality line as in the file (Phred+33 characters, not decoded); nil for FASTA
	File string // the file it was read from
	Line int    // the 1-based line of its header
}

// dnaOpen opens path for reading, decompressing it when it starts with the
// gzip magic bytes (whatever its name; multi-member files such as bgzip's
// are read whole).
func dnaOpen(path string) (*bufio.Reader, io.Closer, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, nil, err
	}
	br := bufio.NewReaderSize(f, 1<<16)
	magic, _ := br.Peek(2)
	if len(magic) == 2 && magic[0] == 0x1f && magic[1] == 0x8b {
		z, err := gzip.NewReader(br)
		if err != nil {
			f.Close()
			return nil, nil, fmt.Errorf("%s: %w", path, err)
		}
		return bufio.NewReaderSize(z, 1<<16), f, nil
	}
	return br, f, nil
}

// dnaLines reads a file line by line, counting lines, for lines of any
// length.
type dnaLines struct {
	r    *bufio.Reader
	file string
	line int // the number of the line last returned
	buf  []byte
}

// next returns the next line without its "\n" or "\r\n" (valid until the
// next call) and true, or false at the end of the file. A read error (a
// corrupt or truncated gzip stream) names the file and the line it was in.
func (s *dnaLines) next() ([]byte, bool, error) {
	s.buf = s.buf[:0]
	for {
		part, err := s.r.ReadSlice('\n')
		s.buf = append(s.buf, part...)
		if err == bufio.ErrBufferFull {
			continue
		}
		if err == io.EOF {
			if len(s.buf) == 0 {
				return nil, false, nil
			}
		} else if err != nil {
			return nil, false, fmt.Errorf("%s:%d: %w", s.file, s.line+1, err)
		}
		s.line++
		b := bytes.TrimSuffix(s.buf, []byte{'\n'})
		return bytes.TrimSuffix(b, []byte{'\r'}), true, nil
	}
}

// errorf formats an error at the current line.
func (s *dnaLines) errorf(format string, args ...any) error {
	return fmt.Errorf("%s:%d: %s", s.file, s.line, fmt.Sprintf(format, args...))
}

// dnaSpace are the bytes trimmed around header and sequence lines.
const dnaSpace = " \t\r\v\f"

// dnaIsLetter reports whether c is an ASCII letter.
func dnaIsLetter(c byte) bool { return c|0x20 >= 'a' && c|0x20 <= 'z' }

// dnaCheckLetters returns the 0-based index of the first byte of b that is not
// an ASCII letter, or -1.
func dnaCheckLetters(b []byte) int {
	for i, c := range b {
		if !dnaIsLetter(c) {
			return i
		}
	}
	return -1
}

// dnaSplitHeader splits a header (without its '>' or '@') into ID and
// description at the first space or tab.
func dnaSplitHeader(h string) (id, desc string) {
	i := strings.IndexAny(h, " \t")
	if i < 0 {
		return h, ""
	}
	return h[:i], strings.Trim(h[i+1:], dnaSpace)
}

// dnaShorten quotes a line for an error message, cut to 40 bytes.
func dnaShorten(b []byte) string {
	if len(b) > 40 {
		return strconv.Quote(string(b[:40])) + "…"
	}
	return strconv.Quote(string(b))
}

// ReadFASTA reads the FASTA file at path (plain or gzip-compressed, detected
// by its magic bytes) and calls fn for each record in file order, holding
// one record in memory at a time; an error from fn stops the reading and is
// returned as is. Each record's Seq is a new slice that fn may keep.
//
// A header is a line starting with '>'; after the '>', trimmed of spaces,
// the ID runs to the first space or tab and must not be empty; the rest,
// trimmed, is Desc. Sequence lines are
// trimmed of surrounding spaces, tabs and '\r' and joined; they may hold
// ASCII letters only (any letter, so that proteins read too: package dna's
// Encode judges the DNA alphabet), so digits, spaces inside the line, '-'
// (gaps) and '*' (stop) are errors. Blank lines are allowed anywhere, and
// lines starting with ';' are comments (as in the original FASTA format).
// Errors, all naming path and line: sequence before the first header, a
// header without an ID, a record without sequence, a bad character (with its
// column), a file without records, unreadable or corrupt compressed data.
func ReadFASTA(path string, fn func(SeqRecord) error) error {
	return scanFASTA(path, func(rec SeqRecord, _ string) error { return fn(rec) })
}

// scanFASTA is ReadFASTA, also passing each record's whole header (after
// '>', trimmed).
func scanFASTA(path string, fn func(rec SeqRecord, header string) error) error {
	br, c, err := dnaOpen(path)
	if err != nil {
		return err
	}
	defer c.Close()
	s := &dnaLines{r: br, file: path}
	var (
		cur     *SeqRecord
		header  string
		records int
	)
	flush := func() error {
		if cur == nil {
			return nil
		}
		rec := *cur
		cur = nil
		if len(rec.Seq) == 0 {
			return fmt.Errorf("%s:%d: record %q has no sequence", path, rec.Line, rec.ID)
		}
		records++
		return fn(rec, header)
	}
	for {
		line, ok, err := s.next()
		if err != nil {
			return err
		}
		if !ok {
			break
		}
		if len(line) > 0 && line[0] == '>' {
			if err := flush(); err != nil {
				return err
			}
			header = string(bytes.Trim(line[1:], dnaSpace))
			id, desc := dnaSplitHeader(header)
			if id == "" {
				return s.errorf("header %s has no ID", dnaShorten(line))
			}
			cur = &SeqRecord{ID: id, Desc: desc, File: path, Line: s.line}
			continue
		}
		if len(line) > 0 && line[0] == ';' {
			continue // a comment line
		}
		lead := len(line) - len(bytes.TrimLeft(line, dnaSpace))
		seq := bytes.Trim(line, dnaSpace)
		if len(seq) == 0 {
			continue // a blank line
		}
		if cur == nil {
			return s.errorf("sequence line %s before the first '>' header", dnaShorten(line))
		}
		if i := dnaCheckLetters(seq); i >= 0 {
			return s.errorf("invalid character %s at column %d in the sequence of %q (only letters are allowed)",
				dna.QuoteByte(seq[i]), lead+i+1, cur.ID)
		}
		cur.Seq = append(cur.Seq, seq...)
	}
	if err := flush(); err != nil {
		return err
	}
	if records == 0 {
		return fmt.Errorf("%s: no FASTA records", path)
	}
	return nil
}

// ReadFASTQ reads the FASTQ file at path (plain or gzip-compressed, detected
// by its magic bytes) and calls fn for each record in file order, one
// record in memory at a time; an error from fn stops the reading and is
// returned as is.
//
// A record is exactly four lines: '@' header (ID to the first space or tab,
// not empty; the rest is Desc), the sequence (ASCII letters only, not
// empty), a '+' line (bare, or repeating the header's ID or whole text),
// and the quality line, as long as the sequence, of characters '!'..'~'
// (kept undecoded in Qual). Multi-line FASTQ is not accepted. Blank lines
// may separate records. Errors, naming path and line: a line where a header
// was due that does not start with '@', a bad sequence or quality
// character, a missing or mismatched '+' line, sequence and quality of
// different lengths, a record cut short by the end of the file, a file
// without records.
func ReadFASTQ(path string, fn func(SeqRecord) error) error {
	br, c, err := dnaOpen(path)
	if err != nil {
		return err
	}
	defer c.Close()
	s := &dnaLines{r: br, file: path}
	records := 0
	for {
		line, ok, err := s.next()
		if err != nil {
			return err
		}
		if !ok {
			break
		}
		if len(bytes.Trim(line, dnaSpace)) == 0 {
			continue // blank line between records
		}
		if line[0] != '@' {
			return s.errorf("expected a FASTQ header line starting with '@', got %s", dnaShorten(line))
		}
		header := string(bytes.Trim(line[1:], dnaSpace))
		id, desc := dnaSplitHeader(header)
		if id == "" {
			return s.errorf("header %s has no ID", dnaShorten(line))
		}
		rec := SeqRecord{ID: id, Desc: desc, File: path, Line: s.line}
		// want reads the next line of the record, which must be there.
		want := func(what string) ([]byte, error) {
			l, ok, err := s.next()
			if err != nil {
				return nil, err
			}
			if !ok {
				return nil, fmt.Errorf("%s:%d: record %q (header at line %d) is truncated: the file ends where its %s was due",
					path, s.line+1, id, rec.Line, what)
			}
			return l, nil
		}
		seq, err := want("sequence line")
		if err != nil {
			return err
		}
		seq = bytes.Trim(seq, dnaSpace)
		if len(seq) == 0 {
			return s.errorf("record %q has an empty sequence line", id)
		}
		if i := dnaCheckLetters(seq); i >= 0 {
			return s.errorf("invalid character %s at column %d in the sequence of %q (only letters are allowed)",
				dna.QuoteByte(seq[i]), i+1, id)
		}
		rec.Seq = append([]byte(nil), seq...)
		plus, err := want("'+' line")
		if err != nil {
			return err
		}
		plus = bytes.Trim(plus, dnaSpace)
		if len(plus) == 0 || plus[0] != '+' {
			return s.errorf("record %q: expected the '+' line after the sequence, got %s", id, dnaShorten(plus))
		}
		if rest := string(plus[1:]); rest != "" && rest != header && rest != id {
			return s.errorf("record %q: the '+' line names %q, not the record's header", id, rest)
		}
		qual, err := want("quality line")
		if err != nil {
			return err
		}
		qual = bytes.Trim(qual, dnaSpace)
		if len(qual) != len(rec.Seq) {
			return s.errorf("record %q: quality line has %d characters, sequence %d", id, len(qual), len(rec.Seq))
		}
		for i, q := range qual {
			if q < '!' || q > '~' {
				return s.errorf("record %q: invalid quality character %s at column %d", id, dna.QuoteByte(q), i+1)
			}
		}
		rec.Qual = append([]byte(nil), qual...)
		records++
		if err := fn(rec); err != nil {
			return err
		}
	}
	if records == 0 {
		return fmt.Errorf("%s: no FASTQ records", path)
	}
	return nil
}

// Interval is a region of a chromosome read from a BED file.
type Interval struct {
	Chrom      string // chromosome (FASTA record ID)
	Start, End int    // 0-based, half-open [Start, End), as in BED
	Name       string // the name column if there is one, else ""
	Split      string // "train", "valid" or "test" when a header names a split column, else ""
	Label      string // the label column when a header names one, else ""
	File       string // the BED file
	Line       int    // its 1-based line there
}

// pos is the interval's position for error messages.
func (iv Interval) pos() string {
	if iv.File == "" {
		return fmt.Sprintf("interval %s:%d-%d", iv.Chrom, iv.Start, iv.End)
	}
	return fmt.Sprintf("%s:%d", iv.File, iv.Line)
}

// BED header column names, lower case, by role.
var (
	bedChromNames = []string{"chrom", "chr", "chromosome", "seqname", "seqid", "contig"}
	bedStartNames = []string{"start", "chromstart", "begin"}
	bedEndNames   = []string{"end", "chromend", "stop"}
	bedNameNames  = []string{"name"}
	bedSplitNames = []string{"split", "fold", "set", "subset"}
	bedLabelNames = []string{"label", "class", "target"}
)

// bedSplits normalises the values of a split column.
var bedSplits = map[string]string{
	"train": "train", "training": "train",
	"valid": "valid", "validation": "valid", "val": "valid", "dev": "valid",
	"test": "test", "testing": "test",
}

// bedFields splits a BED line at tabs (each field trimmed of spaces), or,
// for a line without tabs, at runs of spaces.
func bedFields(line string) []string {
	if !strings.Contains(line, "\t") {
		return strings.Fields(line)
	}
	f := strings.Split(line, "\t")
	for i := range f {
		f[i] = strings.Trim(f[i], " ")
	}
	return f
}

// bedHeader returns the 0-based columns of name, split and label (-1 when
// absent) if fields name the columns of a BED file: their first three are
// chrom, start and end under one of their usual names (case ignored).
func bedHeader(fields []string) (cols [3]int, ok bool, err error) {
	if len(fields) < 3 {
		return cols, false, nil
	}
	lower := make([]string, len(fields))
	for i, f := range fields {
		lower[i] = strings.ToLower(f)
	}
	if !slices.Contains(bedChromNames, lower[0]) || !slices.Contains(bedStartNames, lower[1]) || !slices.Contains(bedEndNames, lower[2]) {
		return cols, false, nil
	}
	cols = [3]int{-1, -1, -1}
	roles := [3][]string{bedNameNames, bedSplitNames, bedLabelNames}
	for i := 3; i < len(lower); i++ {
		for r, names := range roles {
			if slices.Contains(names, lower[i]) {
				if cols[r] >= 0 {
					return cols, true, fmt.Errorf("header names columns %d and %d both %s", cols[r]+1, i+1, names[0])
				}
				cols[r] = i
			}
		}
	}
	return cols, true, nil
}

// bedCoord reads a BED coordinate: decimal digits only.
func bedCoord(f, what string) (int, error) {
	if f == "" {
		return 0, fmt.Errorf("empty %s", what)
	}
	digits := strings.TrimPrefix(f, "-")
	for _, c := range []byte(digits) {
		if c < '0' || c > '9' {
			return 0, fmt.Errorf("%s %q is not an integer", what, f)
		}
	}
	v, err := strconv.Atoi(f)
	if err != nil {
		return 0, fmt.Errorf("%s %q: %w", what, f, errors.Unwrap(err))
	}
	if v < 0 {
		return 0, fmt.Errorf("negative %s %d", what, v)
	}
	return v, nil
}

// ReadBED reads the intervals of a BED file (plain or gzip-compressed,
// detected by its magic bytes) in file order.
//
// Each data line has at least three columns, chrom, start and end (0-based,
// half-open; decimal integers with 0 ≤ start ≤ end), separated by tabs (a
// line without tabs is split at runs of spaces). Without a header, column 4,
// if present, is Name and further columns (score, strand, …) are not read.
// Blank lines, lines starting with "track" or "browser" (UCSC) and lines
// starting with '#' are not data. A header is a line before the first data
// line, with or without a leading '#', whose first three columns are chrom
// (or chr, chromosome, seqname, seqid, contig), start (chromStart, begin)
// and end (chromEnd, stop), case ignored, such as "#chrom start end split
// label". Its later columns named name, split (fold, set, subset) and label
// (class, target) fill Name, Split and Label, wherever they are; other
// columns are not read. A split value must be train (training), valid
// (validation, val, dev) or test (testing), any case, and is stored as
// train, valid or test; a label must not be empty. Errors name the file and
// line: fewer than three columns, an empty chrom, a coordinate that is
// negative or not an integer, start > end, a line lacking a column the header
// names, a bad split value, an empty label, no intervals at all.
func ReadBED(path string) ([]Interval, error) {
	br, c, err := dnaOpen(path)
	if err != nil {
		return nil, err
	}
	defer c.Close()
	s := &dnaLines{r: br, file: path}
	cols := [3]int{3, -1, -1} // name, split, label
	hasHeader := false
	var out []Interval
	for {
		b, ok, err := s.next()
		if err != nil {
			return nil, err
		}
		if !ok {
			break
		}
		// Only spaces are trimmed: a tab at either end delimits an empty
		// field.
		line := strings.Trim(string(b), " ")
		if strings.Trim(line, dnaSpace) == "" {
			continue
		}
		if w := strings.Fields(line)[0]; w == "track" || w == "browser" {
			continue
		}
		if len(out) == 0 {
			h, isHeader, err := bedHeader(bedFields(strings.TrimLeft(line, "#")))
			if err != nil {
				return nil, s.errorf("%v", err)
			}
			if isHeader {
				cols, hasHeader = h, true
				continue
			}
		}
		if strings.HasPrefix(line, "#") {
			continue // a comment
		}
		f := bedFields(line)
		if len(f) < 3 {
			return nil, s.errorf("a BED line needs at least 3 columns (chrom, start, end), this has %d", len(f))
		}
		iv := Interval{Chrom: f[0], File: path, Line: s.line}
		if iv.Chrom == "" {
			return nil, s.errorf("empty chrom")
		}
		if iv.Start, err = bedCoord(f[1], "start"); err != nil {
			return nil, s.errorf("%v", err)
		}
		if iv.End, err = bedCoord(f[2], "end"); err != nil {
			return nil, s.errorf("%v", err)
		}
		if iv.Start > iv.End {
			return nil, s.errorf("start %d > end %d", iv.Start, iv.End)
		}
		get := func(col int, what string, required bool) (string, error) {
			if col < 0 {
				return "", nil
			}
			if col >= len(f) {
				if !required {
					return "", nil
				}
				return "", s.errorf("the header names column %d %s, but this line has %d columns", col+1, what, len(f))
			}
			return f[col], nil
		}
		// Without a header the name column is optional; a header makes
		// every column it names required.
		if iv.Name, err = get(cols[0], "name", hasHeader); err != nil {
			return nil, err
		}
		split, err := get(cols[1], "split", true)
		if err != nil {
			return nil, err
		}
		if cols[1] >= 0 {
			norm, ok := bedSplits[strings.ToLower(split)]
			if !ok {
				return nil, s.errorf("split %q is not train, valid or test", split)
			}
			iv.Split = norm
		}
		if iv.Label, err = get(cols[2], "label", true); err != nil {
			return nil, err
		}
		if cols[2] >= 0 && iv.Label == "" {
			return nil, s.errorf("empty label")
		}
		out = append(out, iv)
	}
	if len(out) == 0 {
		return nil, fmt.Errorf("%s: no intervals", path)
	}
	return out, nil
}

// ExtractIntervals reads the FASTA file at fastaPath once and, for each of
// its records that intervals lie on, calls fn with each such interval (in
// the order of ivs) and its bases, seq[Start:End] with case kept: records in
// FASTA order, intervals on one record in their own order. The bases are a
// slice of the record's sequence (not reused by the reader; copy them to let
// the chromosome go). An error from fn stops the reading and is returned as
// is. Errors naming the interval's BED file and line: an interval ending past
// the end of its chromosome, one with start < 0 or start > end, and, after
// the whole FASTA has been read (so fn has been called for the others), one
// on a chromosome that is not in the FASTA (the first in ivs). A record ID
// that occurs twice in the FASTA with intervals on it is an error naming the
// FASTA line.
func ExtractIntervals(fastaPath string, ivs []Interval, fn func(Interval, []byte) error) error {
	byChrom := map[string][]int{}
	for i, iv := range ivs {
		if iv.Start < 0 || iv.Start > iv.End {
			return fmt.Errorf("%s: bad interval %s:%d-%d", iv.pos(), iv.Chrom, iv.Start, iv.End)
		}
		byChrom[iv.Chrom] = append(byChrom[iv.Chrom], i)
	}
	seen := map[string]int{}
	err := ReadFASTA(fastaPath, func(rec SeqRecord) error {
		idx, ok := byChrom[rec.ID]
		if !ok {
			return nil
		}
		if first, dup := seen[rec.ID]; dup {
			return fmt.Errorf("%s:%d: record %q occurs twice (first at line %d), so intervals on it are ambiguous",
				rec.File, rec.Line, rec.ID, first)
		}
		seen[rec.ID] = rec.Line
		for _, i := range idx {
			iv := ivs[i]
			if iv.End > len(rec.Seq) {
				return fmt.Errorf("%s: interval %s:%d-%d ends past the end of %s, which has %d bases in %s",
					iv.pos(), iv.Chrom, iv.Start, iv.End, iv.Chrom, len(rec.Seq), fastaPath)
			}
			if err := fn(iv, rec.Seq[iv.Start:iv.End:iv.End]); err != nil {
				return err
			}
		}
		return nil
	})
	if err != nil {
		return err
	}
	for _, iv := range ivs {
		if _, ok := seen[iv.Chrom]; !ok {
			return fmt.Errorf("%s: chromosome %q is not in %s", iv.pos(), iv.Chrom, fastaPath)
		}
	}
	return nil
}

// LabelledSeq is a sequence with its class, for classification.
type LabelledSeq struct {
	ID     string // the record ID, table id, or file name
	Seq    []byte // the bases, case kept
	Label  string // the class name
	Source string // where it was read: "file:line", or the file for one-sequence files
}

// ReadGenomicBenchmarks reads a dataset in the layout of the Genomic
// Benchmarks: root/train/<class>/*.txt and root/test/<class>/*.txt, each
// file holding one sequence (plain or gzip-compressed by content), read
// with surrounding whitespace trimmed. Sequences come in class order, then
// file-name order; their ID is "<split>/<class>/<file name without .txt>",
// Source the file. classes are the class folders of train, sorted; a class
// of train may be absent from test, but a class in test that train lacks is
// an error. Hidden entries (".*") are ignored. Errors, naming the file (and
// line and column for a bad character): a missing train or test folder,
// anything in a split folder but class folders, anything in a class folder
// but .txt files, a class folder without files, an empty file, and any
// character in a sequence but ASCII letters (so a file of two lines is an
// error at line 2).
func ReadGenomicBenchmarks(root string) (train, test []LabelledSeq, classes []string, err error) {
	read := func(split string) ([]LabelledSeq, []string, error) {
		dir := filepath.Join(root, split)
		entries, err := os.ReadDir(dir)
		if err != nil {
			return nil, nil, err
		}
		var out []LabelledSeq
		var names []string
		for _, e := range entries {
			if strings.HasPrefix(e.Name(), ".") {
				continue
			}
			cdir := filepath.Join(dir, e.Name())
			if !e.IsDir() {
				return nil, nil, fmt.Errorf("%s: unexpected file (want %s/<class>/*.txt)", cdir, split)
			}
			files, err := os.ReadDir(cdir)
			if err != nil {
				return nil, nil, err
			}
			n := 0
			for _, fe := range files {
				if strings.HasPrefix(fe.Name(), ".") {
					continue
				}
				p := filepath.Join(cdir, fe.Name())
				if fe.IsDir() || !strings.HasSuffix(fe.Name(), ".txt") {
					return nil, nil, fmt.Errorf("%s: unexpected entry (want %s/%s/*.txt)", p, split, e.Name())
				}
				seq, err := dnaReadOne(p)
				if err != nil {
					return nil, nil, err
				}
				out = append(out, LabelledSeq{
					ID:     split + "/" + e.Name() + "/" + strings.TrimSuffix(fe.Name(), ".txt"),
					Seq:    seq,
					Label:  e.Name(),
					Source: p,
				})
				n++
			}
			if n == 0 {
				return nil, nil, fmt.Errorf("%s: class folder without .txt files", cdir)
			}
			names = append(names, e.Name())
		}
		if len(names) == 0 {
			return nil, nil, fmt.Errorf("%s: no class folders", dir)
		}
		return out, names, nil
	}
	train, classes, err = read("train")
	if err != nil {
		return nil, nil, nil, err
	}
	test, testClasses, err := read("test")
	if err != nil {
		return nil, nil, nil, err
	}
	sort.Strings(classes) // os.ReadDir sorts already; kept explicit
	for _, c := range testClasses {
		if !slices.Contains(classes, c) {
			return nil, nil, nil, fmt.Errorf("%s: class %q is in test but not in train", filepath.Join(root, "test", c), c)
		}
	}
	return train, test, classes, nil
}

// dnaReadOne reads a file that holds one sequence, trimmed of
// surrounding whitespace.
func dnaReadOne(path string) ([]byte, error) {
	br, c, err := dnaOpen(path)
	if err != nil {
		return nil, err
	}
	defer c.Close()
	data, err := io.ReadAll(br)
	if err != nil {
		return nil, fmt.Errorf("%s: %w", path, err)
	}
	lead := len(data) - len(bytes.TrimLeft(data, " \t\r\n\v\f"))
	seq := bytes.TrimSpace(data)
	if len(seq) == 0 {
		return nil, fmt.Errorf("%s: empty sequence", path)
	}
	if i := dnaCheckLetters(seq); i >= 0 {
		off := lead + i
		line := 1 + bytes.Count(data[:off], []byte{'\n'})
		if c := seq[i]; c == '\n' || c == '\r' {
			return nil, fmt.Errorf("%s:%d: a second line of sequence (a file holds one sequence on one line)", path, line+1)
		}
		col := off - (bytes.LastIndexByte(data[:off], '\n') + 1) + 1
		return nil, fmt.Errorf("%s:%d: invalid character %s at column %d (a file holds one sequence of letters)",
			path, line, dna.QuoteByte(seq[i]), col)
	}
	return seq, nil
}

// ReadLabelledFASTA reads a FASTA file (as ReadFASTA) whose headers carry
// each sequence's class, found by labelSpec:
//
//   - "field:K": the K-th (1-based) field of the header after '>', fields
//     separated by spaces or tabs, so field 1 is the ID;
//   - "re:<regexp>": the first capture group of the regular expression (Go
//     syntax) at its first match in the whole header after '>' (ID and
//     description). For headers such as
//     ">gi_961555154;tax=d:Bacteria,p:Proteobacteria,c:…", "re:p:([^,;]+)"
//     gives the phylum.
//
// A header where the label is not found (too few fields, no match, or an
// empty capture) is an error naming the file and line; a malformed spec
// is an error before reading. Source is "file:line" of the header.
func ReadLabelledFASTA(path, labelSpec string) ([]LabelledSeq, error) {
	var label func(header string) (string, error)
	switch {
	case strings.HasPrefix(labelSpec, "field:"):
		k, err := strconv.Atoi(strings.TrimPrefix(labelSpec, "field:"))
		if err != nil || k < 1 {
			return nil, fmt.Errorf("label spec %q: field: wants a field number ≥ 1", labelSpec)
		}
		label = func(h string) (string, error) {
			f := strings.Fields(h)
			if len(f) < k {
				return "", fmt.Errorf("the header has %d fields, no field %d for the label", len(f), k)
			}
			return f[k-1], nil
		}
	case strings.HasPrefix(labelSpec, "re:"):
		re, err := regexp.Compile(strings.TrimPrefix(labelSpec, "re:"))
		if err != nil {
			return nil, fmt.Errorf("label spec %q: %w", labelSpec, err)
		}
		if re.NumSubexp() < 1 {
			return nil, fmt.Errorf("label spec %q: the regular expression has no capture group", labelSpec)
		}
		label = func(h string) (string, error) {
			m := re.FindStringSubmatch(h)
			if m == nil {
				return "", fmt.Errorf("the header does not match %s", re)
			}
			if m[1] == "" {
				return "", fmt.Errorf("the first group of %s captures nothing in the header", re)
			}
			return m[1], nil
		}
	default:
		return nil, fmt.Errorf("label spec %q: want field:K or re:<regexp>", labelSpec)
	}
	var out []LabelledSeq
	err := scanFASTA(path, func(rec SeqRecord, header string) error {
		l, err := label(header)
		if err != nil {
			return fmt.Errorf("%s:%d: %v", rec.File, rec.Line, err)
		}
		out = append(out, LabelledSeq{ID: rec.ID, Seq: rec.Seq, Label: l, Source: fmt.Sprintf("%s:%d", rec.File, rec.Line)})
		return nil
	})
	if err != nil {
		return nil, err
	}
	return out, nil
}

// ReadSeqTable reads labelled sequences from a CSV (.csv) or TSV (.tsv)
// file, optionally gzip-compressed (.csv.gz, .tsv.gz; compression is
// detected by content). The first row is a header naming, case-insensitively
// and trimmed, a "sequence" or "seq" column and a "label" column, and
// optionally an "id" column; other columns are not read. CSV follows RFC
// 4180 quoting (encoding/csv); TSV is split at tabs, one row a line, quotes
// being ordinary characters. Every row must have as many fields as the
// header; blank lines are skipped. Sequences and labels are trimmed; a
// sequence must be non-empty ASCII letters and a label non-empty. ID is the
// id column, or "<file name>:<line>" without one; Source is "file:line".
// Errors name the file and line.
func ReadSeqTable(path string) ([]LabelledSeq, error) {
	kind := strings.ToLower(strings.TrimSuffix(path, ".gz"))
	var comma byte
	switch {
	case strings.HasSuffix(kind, ".csv"):
		comma = ','
	case strings.HasSuffix(kind, ".tsv"):
		comma = '\t'
	default:
		return nil, fmt.Errorf("%s: not a .csv or .tsv file (optionally .gz)", path)
	}
	seqCol, labelCol, idCol := -1, -1, -1
	base := filepath.Base(path)
	var out []LabelledSeq
	header := true
	err := seqTableRows(path, comma, func(line int, rec []string) error {
		if header {
			header = false
			for i, h := range rec {
				h = strings.ToLower(strings.TrimSpace(strings.TrimPrefix(h, "\uFEFF")))
				var col *int
				switch h {
				case "sequence", "seq":
					col = &seqCol
				case "label":
					col = &labelCol
				case "id":
					col = &idCol
				default:
					continue
				}
				if *col >= 0 {
					return fmt.Errorf("%s:%d: columns %d and %d both name the %s", path, line, *col+1, i+1, h)
				}
				*col = i
			}
			if seqCol < 0 || labelCol < 0 {
				return fmt.Errorf("%s:%d: the header needs a \"sequence\" (or \"seq\") and a \"label\" column, has %q", path, line, rec)
			}
			return nil
		}
		seq := []byte(strings.TrimSpace(rec[seqCol]))
		if len(seq) == 0 {
			return fmt.Errorf("%s:%d: empty sequence", path, line)
		}
		if i := dnaCheckLetters(seq); i >= 0 {
			return fmt.Errorf("%s:%d: invalid character %s at position %d of the sequence (only letters are allowed)",
				path, line, dna.QuoteByte(seq[i]), i+1)
		}
		lab := strings.TrimSpace(rec[labelCol])
		if lab == "" {
			return fmt.Errorf("%s:%d: empty label", path, line)
		}
		id := fmt.Sprintf("%s:%d", base, line)
		if idCol >= 0 {
			id = strings.TrimSpace(rec[idCol])
		}
		out = append(out, LabelledSeq{ID: id, Seq: seq, Label: lab, Source: fmt.Sprintf("%s:%d", path, line)})
		return nil
	})
	if err != nil {
		return nil, err
	}
	if header {
		return nil, fmt.Errorf("%s: empty table", path)
	}
	if len(out) == 0 {
		return nil, fmt.Errorf("%s: no rows after the header", path)
	}
	return out, nil
}

// seqTableRows calls fn with each row of a CSV (comma ',') or TSV (comma
// '\t') file and the line it starts on. Every row must have as many fields
// as the first.
func seqTableRows(path string, comma byte, fn func(line int, fields []string) error) error {
	br, c, err := dnaOpen(path)
	if err != nil {
		return err
	}
	defer c.Close()
	if comma == ',' {
		r := csv.NewReader(br)
		for {
			rec, err := r.Read()
			if err == io.EOF {
				return nil
			}
			if err != nil {
				var pe *csv.ParseError
				if errors.As(err, &pe) {
					return fmt.Errorf("%s:%d: %v", path, pe.Line, pe.Err)
				}
				return fmt.Errorf("%s: %w", path, err)
			}
			line, _ := r.FieldPos(0)
			if err := fn(line, rec); err != nil {
				return err
			}
		}
	}
	s := &dnaLines{r: br, file: path}
	width := -1
	for {
		b, ok, err := s.next()
		if err != nil {
			return err
		}
		if !ok {
			return nil
		}
		if len(bytes.TrimSpace(b)) == 0 {
			continue
		}
		rec := strings.Split(string(b), "\t")
		if width < 0 {
			width = len(rec)
		} else if len(rec) != width {
			return s.errorf("%d fields, the header has %d", len(rec), width)
		}
		if err := fn(s.line, rec); err != nil {
			return err
		}
	}
}
