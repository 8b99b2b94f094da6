package datasets

import (
	"bytes"
	"compress/gzip"
	"crypto/md5"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/biogo/biogo/alphabet"
	"github.com/biogo/biogo/io/seqio/fasta"
	"github.com/biogo/biogo/seq/linear"

	"github.com/mambakit/mambakit/modalities/dna"
)

const dnaTD = "testdata/dna/"

func readAllFASTA(t *testing.T, path string) []SeqRecord {
	t.Helper()
	var recs []SeqRecord
	if err := ReadFASTA(path, func(r SeqRecord) error { recs = append(recs, r); return nil }); err != nil {
		t.Fatal(err)
	}
	return recs
}

func readAllFASTQ(t *testing.T, path string) []SeqRecord {
	t.Helper()
	var recs []SeqRecord
	if err := ReadFASTQ(path, func(r SeqRecord) error { recs = append(recs, r); return nil }); err != nil {
		t.Fatal(err)
	}
	return recs
}

func TestReadFASTA(t *testing.T) {
	recs := readAllFASTA(t, dnaTD+"ok.fa")
	want := []SeqRecord{
		{ID: "seq1", Desc: "first record, two lines", Seq: []byte("ACGTacgtNNRY"), File: dnaTD + "ok.fa", Line: 2},
		{ID: "seq2", Desc: "tab-separated description", Seq: []byte("GATTACA"), File: dnaTD + "ok.fa", Line: 6},
		{ID: "seq3", Seq: []byte("A"), File: dnaTD + "ok.fa", Line: 8},
	}
	if len(recs) != len(want) {
		t.Fatalf("%d records, want %d", len(recs), len(want))
	}
	for i := range want {
		g, w := recs[i], want[i]
		if g.ID != w.ID || g.Desc != w.Desc || !bytes.Equal(g.Seq, w.Seq) || g.File != w.File || g.Line != w.Line || g.Qual != nil {
			t.Errorf("record %d = %+v (seq %s), want %+v (seq %s)", i, g, g.Seq, w, w.Seq)
		}
	}
	// Windows line ends and a missing final newline.
	recs = readAllFASTA(t, dnaTD+"crlf.fa")
	if len(recs) != 2 || string(recs[0].Seq) != "ACGTAC" || recs[0].Desc != "windows line ends" || string(recs[1].Seq) != "GG" || recs[1].Line != 4 {
		t.Errorf("crlf.fa: %+v", recs)
	}
	recs = readAllFASTA(t, dnaTD+"noeol.fa")
	if len(recs) != 2 || string(recs[1].Seq) != "TTAA" {
		t.Errorf("noeol.fa: %+v", recs)
	}
	// An error from fn stops the reading and comes back as is.
	stop := errors.New("stop")
	n := 0
	err := ReadFASTA(dnaTD+"ok.fa", func(SeqRecord) error { n++; return stop })
	if err != stop || n != 1 {
		t.Errorf("fn error: %v after %d calls", err, n)
	}
}

// dnaGzipCopy writes a gzip-compressed copy of src to dir/name.
func dnaGzipCopy(t *testing.T, src, dir, name string) string {
	t.Helper()
	data, err := os.ReadFile(src)
	if err != nil {
		t.Fatal(err)
	}
	var buf bytes.Buffer
	z := gzip.NewWriter(&buf)
	z.Write(data)
	z.Close()
	p := filepath.Join(dir, name)
	if err := os.WriteFile(p, buf.Bytes(), 0o644); err != nil {
		t.Fatal(err)
	}
	return p
}

func TestGzipDetectedByContent(t *testing.T) {
	dir := t.TempDir()
	plain := readAllFASTA(t, dnaTD+"ok.fa")
	for _, name := range []string{"ok.fa.gz", "ok.fa"} { // with and without the suffix
		p := dnaGzipCopy(t, dnaTD+"ok.fa", dir, name)
		got := readAllFASTA(t, p)
		if len(got) != len(plain) {
			t.Fatalf("%s: %d records", name, len(got))
		}
		for i := range got {
			if got[i].ID != plain[i].ID || !bytes.Equal(got[i].Seq, plain[i].Seq) || got[i].Line != plain[i].Line {
				t.Errorf("%s record %d differs", name, i)
			}
		}
	}
	fq := readAllFASTQ(t, dnaGzipCopy(t, dnaTD+"ok.fq", dir, "reads"))
	if len(fq) != 2 {
		t.Errorf("gzipped FASTQ: %d records", len(fq))
	}
	ivs, err := ReadBED(dnaGzipCopy(t, dnaTD+"ok.bed", dir, "ok.bed.gz"))
	if err != nil || len(ivs) != 5 {
		t.Errorf("gzipped BED: %d intervals, %v", len(ivs), err)
	}
	tab, err := ReadSeqTable(dnaGzipCopy(t, dnaTD+"seqs.tsv", dir, "seqs.tsv.gz"))
	if err != nil || len(tab) != 2 {
		t.Errorf("gzipped TSV: %d rows, %v", len(tab), err)
	}
	// A gzip stream cut short is an error, not a short file.
	data, _ := os.ReadFile(filepath.Join(dir, "ok.fa.gz"))
	cut := filepath.Join(dir, "cut.fa.gz")
	os.WriteFile(cut, data[:len(data)-12], 0o644)
	err = ReadFASTA(cut, func(SeqRecord) error { return nil })
	if err == nil || !strings.HasPrefix(err.Error(), cut+":") || !errors.Is(err, io.ErrUnexpectedEOF) {
		t.Errorf("truncated gzip: %v", err)
	}
}

// dnaWantErr checks that err is an error at path:line whose message contains
// each of parts.
func dnaWantErr(t *testing.T, err error, path string, line int, parts ...string) {
	t.Helper()
	if err == nil {
		t.Errorf("%s: no error, want one at line %d", path, line)
		return
	}
	prefix := path + ":"
	if line > 0 {
		prefix = fmt.Sprintf("%s:%d: ", path, line)
	}
	if !strings.HasPrefix(err.Error(), prefix) {
		t.Errorf("%s: error %q does not start with %q", path, err, prefix)
	}
	for _, p := range parts {
		if !strings.Contains(err.Error(), p) {
			t.Errorf("%s: error %q does not contain %q", path, err, p)
		}
	}
}

func TestReadFASTAErrors(t *testing.T) {
	for _, c := range []struct {
		file  string
		line  int
		parts []string
	}{
		{"seq_before_header.fa", 1, []string{"before the first '>' header"}},
		{"empty_record.fa", 3, []string{`record "r2" has no sequence`}},
		{"empty_last.fa", 3, []string{`record "r2" has no sequence`}},
		{"bad_char.fa", 4, []string{`invalid character '1' at column 3`, `"r1"`}},
		{"gap.fa", 4, []string{`invalid character '-' at column 3`}},
		{"stop.fa", 2, []string{`invalid character '*' at column 4`}},
		{"inner_space.fa", 2, []string{`invalid character ' ' at column 5`}},
		{"empty_id.fa", 3, []string{"has no ID"}},
		{"no_records.fa", 0, []string{"no FASTA records"}},
	} {
		calls := 0
		err := ReadFASTA(dnaTD+c.file, func(SeqRecord) error { calls++; return nil })
		dnaWantErr(t, err, dnaTD+c.file, c.line, c.parts...)
		t.Logf("%s: %v (after %d records)", c.file, err, calls)
	}
	if err := ReadFASTA(dnaTD+"missing.fa", func(SeqRecord) error { return nil }); !errors.Is(err, os.ErrNotExist) {
		t.Errorf("missing file: %v", err)
	}
}

func TestReadFASTQ(t *testing.T) {
	recs := readAllFASTQ(t, dnaTD+"ok.fq")
	if len(recs) != 2 {
		t.Fatalf("%d records", len(recs))
	}
	r0, r1 := recs[0], recs[1]
	if r0.ID != "read1" || r0.Desc != "lane 1" || string(r0.Seq) != "ACGTN" || string(r0.Qual) != "IIII#" || r0.Line != 1 {
		t.Errorf("record 0: %+v", r0)
	}
	if r1.ID != "read2" || string(r1.Seq) != "acgt" || string(r1.Qual) != "!!~~" || r1.Line != 6 || r1.File != dnaTD+"ok.fq" {
		t.Errorf("record 1: %+v", r1)
	}
	for _, c := range []struct {
		file  string
		line  int
		parts []string
	}{
		{"fq_len_mismatch.fq", 8, []string{`"r2"`, "quality line has 3 characters, sequence 4"}},
		{"fq_missing_plus.fq", 3, []string{"expected the '+' line", `"IIII"`}},
		{"fq_truncated.fq", 8, []string{`"r2" (header at line 5) is truncated`, "quality line"}},
		{"fq_truncated_seq.fq", 6, []string{"truncated", "sequence line"}},
		{"fq_bad_header.fq", 5, []string{"starting with '@'", `"junk"`}},
		{"fq_plus_mismatch.fq", 7, []string{`'+' line names "r1"`}},
		{"fq_bad_seq.fq", 2, []string{`invalid character '.' at column 3`}},
		{"fq_bad_qual.fq", 4, []string{`invalid quality character '\x7f' at column 3`}},
		{"fq_empty_seq.fq", 2, []string{"empty sequence line"}},
		{"fq_empty.fq", 0, []string{"no FASTQ records"}},
	} {
		err := ReadFASTQ(dnaTD+c.file, func(SeqRecord) error { return nil })
		dnaWantErr(t, err, dnaTD+c.file, c.line, c.parts...)
		t.Logf("%s: %v", c.file, err)
	}
}

func TestReadBED(t *testing.T) {
	ivs, err := ReadBED(dnaTD + "ok.bed")
	if err != nil {
		t.Fatal(err)
	}
	f := dnaTD + "ok.bed"
	want := []Interval{
		{Chrom: "chr1", Start: 0, End: 4, Name: "first", File: f, Line: 4},
		{Chrom: "chr2", Start: 2, End: 6, File: f, Line: 5},
		{Chrom: "chr1", Start: 4, End: 10, Name: "third", File: f, Line: 6},
		{Chrom: "chr1", Start: 10, End: 12, Name: "spaced", File: f, Line: 8},
		{Chrom: "chr2", Start: 0, End: 0, Name: "empty", File: f, Line: 9},
	}
	if !slices.Equal(ivs, want) {
		t.Errorf("ok.bed:\n got %+v\nwant %+v", ivs, want)
	}
	ivs, err = ReadBED(dnaTD + "header.bed")
	if err != nil {
		t.Fatal(err)
	}
	f = dnaTD + "header.bed"
	want = []Interval{
		{Chrom: "chr1", Start: 0, End: 4, Name: "a", Split: "train", Label: "pos", File: f, Line: 2},
		{Chrom: "chr1", Start: 4, End: 8, Name: "b", Split: "valid", Label: "neg", File: f, Line: 3},
		{Chrom: "chr2", Start: 0, End: 3, Name: "c", Split: "test", Label: "pos", File: f, Line: 4},
	}
	if !slices.Equal(ivs, want) {
		t.Errorf("header.bed:\n got %+v\nwant %+v", ivs, want)
	}
	ivs, err = ReadBED(dnaTD + "header_nohash.bed")
	if err != nil || len(ivs) != 1 || ivs[0].Label != "pos" || ivs[0].Split != "train" || ivs[0].Name != "" || ivs[0].Line != 2 {
		t.Errorf("header_nohash.bed: %+v %v", ivs, err)
	}
	for _, c := range []struct {
		file  string
		line  int
		parts []string
	}{
		{"bed_start_gt_end.bed", 2, []string{"start 20 > end 10"}},
		{"bed_negative.bed", 2, []string{"negative start -5"}},
		{"bed_nonint.bed", 2, []string{`start "1.5" is not an integer`}},
		{"bed_hex.bed", 1, []string{`start "0x10" is not an integer`}},
		{"bed_few_cols.bed", 3, []string{"at least 3 columns", "has 2"}},
		{"bed_bad_split.bed", 3, []string{`split "holdout"`}},
		{"bed_missing_col.bed", 3, []string{"column 5 label", "4 columns"}},
		{"bed_empty_label.bed", 2, []string{"empty label"}},
		{"bed_empty_chrom.bed", 1, []string{"empty chrom"}},
		{"bed_dup_header.bed", 1, []string{"columns 4 and 5 both label"}},
		{"bed_empty.bed", 0, []string{"no intervals"}},
	} {
		_, err := ReadBED(dnaTD + c.file)
		dnaWantErr(t, err, dnaTD+c.file, c.line, c.parts...)
		t.Logf("%s: %v", c.file, err)
	}
}

func TestExtractIntervals(t *testing.T) {
	ivs, err := ReadBED(dnaTD + "ok.bed")
	if err != nil {
		t.Fatal(err)
	}
	// genome.fa: chr1 = ACGTACGTACGGGGCC, chr2 = ttaaccgg.
	var got []string
	err = ExtractIntervals(dnaTD+"genome.fa", ivs, func(iv Interval, seq []byte) error {
		got = append(got, fmt.Sprintf("%s:%d-%d=%s", iv.Chrom, iv.Start, iv.End, seq))
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	want := []string{"chr1:0-4=ACGT", "chr1:4-10=ACGTAC", "chr1:10-12=GG", "chr2:2-6=aacc", "chr2:0-0="}
	if !slices.Equal(got, want) {
		t.Errorf("got %v, want %v", got, want)
	}

	ivs, _ = ReadBED(dnaTD + "iv_past_end.bed")
	err = ExtractIntervals(dnaTD+"genome.fa", ivs, func(Interval, []byte) error { return nil })
	dnaWantErr(t, err, dnaTD+"iv_past_end.bed", 2, "chr2:4-9 ends past the end of chr2, which has 8 bases")

	ivs, _ = ReadBED(dnaTD + "iv_absent.bed")
	calls := 0
	err = ExtractIntervals(dnaTD+"genome.fa", ivs, func(Interval, []byte) error { calls++; return nil })
	dnaWantErr(t, err, dnaTD+"iv_absent.bed", 2, `chromosome "chrUn" is not in `+dnaTD+"genome.fa")
	if calls != 1 {
		t.Errorf("%d calls before the error, want 1 (chr1:0-4)", calls)
	}

	ivs, _ = ReadBED(dnaTD + "iv_past_end.bed")
	err = ExtractIntervals(dnaTD+"genome_dup.fa", ivs[:1], func(Interval, []byte) error { return nil })
	dnaWantErr(t, err, dnaTD+"genome_dup.fa", 3, `"chr1" occurs twice`)

	err = ExtractIntervals(dnaTD+"genome.fa", []Interval{{Chrom: "chr1", Start: 5, End: 2}}, func(Interval, []byte) error { return nil })
	if err == nil || !strings.Contains(err.Error(), "bad interval chr1:5-2") {
		t.Errorf("hand-made bad interval: %v", err)
	}
}

func TestReadGenomicBenchmarks(t *testing.T) {
	root := dnaTD + "gb/ok"
	train, test, classes, err := ReadGenomicBenchmarks(root)
	if err != nil {
		t.Fatal(err)
	}
	if !slices.Equal(classes, []string{"negative", "positive"}) {
		t.Errorf("classes %v", classes)
	}
	str := func(s []LabelledSeq) []string {
		var out []string
		for _, x := range s {
			out = append(out, x.ID+"="+string(x.Seq)+"/"+x.Label)
		}
		return out
	}
	wantTrain := []string{"train/negative/0=TTTT/negative", "train/positive/0=ACGTACGT/positive", "train/positive/1=ggccNN/positive"}
	wantTest := []string{"test/negative/3=CCCC/negative", "test/positive/7=ACGA/positive"}
	if !slices.Equal(str(train), wantTrain) || !slices.Equal(str(test), wantTest) {
		t.Errorf("train %v\ntest %v", str(train), str(test))
	}
	if train[1].Source != filepath.Join(root, "train/positive/0.txt") {
		t.Errorf("source %q", train[1].Source)
	}
	for _, c := range []struct {
		dir, path string
		line      int
		parts     []string
	}{
		{"testonly", "test/b", 0, []string{`class "b" is in test but not in train`}},
		{"badchar", "train/a/1.txt", 2, []string{"a second line of sequence"}},
		{"badcol", "train/a/0.txt", 1, []string{`invalid character '-' at column 7`}},
		{"empty", "train/a/0.txt", 0, []string{"empty sequence"}},
		{"stray", "train/a/notes.md", 0, []string{"unexpected entry"}},
	} {
		_, _, _, err := ReadGenomicBenchmarks(dnaTD + "gb/" + c.dir)
		dnaWantErr(t, err, filepath.Join(dnaTD+"gb/"+c.dir, c.path), c.line, c.parts...)
		t.Logf("%s: %v", c.dir, err)
	}
	if _, _, _, err := ReadGenomicBenchmarks(dnaTD + "gb/notest"); !errors.Is(err, os.ErrNotExist) {
		t.Errorf("no test folder: %v", err)
	}
}

func TestReadLabelledFASTA(t *testing.T) {
	got, err := ReadLabelledFASTA(dnaTD+"labelled.fa", "re:p:([^,]+)")
	if err == nil {
		t.Fatalf("x3 has no phylum, want an error; got %v", got)
	}
	dnaWantErr(t, err, dnaTD+"labelled.fa", 5, "does not match")

	got, err = ReadLabelledFASTA(dnaTD+"labelled_fields.fa", "field:2")
	if err == nil {
		t.Fatal("s3 has one field, want an error")
	}
	dnaWantErr(t, err, dnaTD+"labelled_fields.fa", 5, "1 fields, no field 2")

	got, err = ReadLabelledFASTA(dnaTD+"labelled.fa", `re:(?:p:|cls=)([^,; ]+)`)
	if err != nil {
		t.Fatal(err)
	}
	var labels []string
	for _, s := range got {
		labels = append(labels, s.Label)
	}
	if !slices.Equal(labels, []string{"Proteobacteria", "Euryarchaeota", "promoter"}) {
		t.Errorf("labels %v", labels)
	}
	if got[2].ID != "x3" || string(got[2].Seq) != "TTTT" || got[2].Source != dnaTD+"labelled.fa:5" {
		t.Errorf("record 3: %+v", got[2])
	}
	got, err = ReadLabelledFASTA(dnaTD+"labelled_fields.fa", "field:1")
	if err != nil || len(got) != 3 || got[1].Label != "s2" {
		t.Errorf("field:1: %+v %v", got, err)
	}
	got, err = ReadLabelledFASTA(dnaTD+"labelled_nomatch.fa", "re:p:([^,;]+)")
	dnaWantErr(t, err, dnaTD+"labelled_nomatch.fa", 3, "does not match")
	for _, spec := range []string{"field:0", "field:x", "re:(", "re:p:[^,]+", "phylum"} {
		if _, err := ReadLabelledFASTA(dnaTD+"labelled.fa", spec); err == nil || !strings.Contains(err.Error(), "label spec") {
			t.Errorf("spec %q: %v", spec, err)
		}
	}
}

func TestReadSeqTable(t *testing.T) {
	got, err := ReadSeqTable(dnaTD + "seqs.csv")
	if err != nil {
		t.Fatal(err)
	}
	var rows []string
	for _, r := range got {
		rows = append(rows, fmt.Sprintf("%s=%s/%s@%s", r.ID, r.Seq, r.Label, r.Source))
	}
	// The quoted "a,b\nc" of row x2 spans lines 3-4, so x3 is on line 5.
	want := []string{
		"x1=ACGT/pos@" + dnaTD + "seqs.csv:2",
		"x2=ggcc/neg@" + dnaTD + "seqs.csv:3",
		"x3=TTAA/pos@" + dnaTD + "seqs.csv:5",
	}
	if !slices.Equal(rows, want) {
		t.Errorf("seqs.csv:\n got %v\nwant %v", rows, want)
	}
	got, err = ReadSeqTable(dnaTD + "seqs.tsv")
	if err != nil {
		t.Fatal(err)
	}
	rows = rows[:0]
	for _, r := range got {
		rows = append(rows, fmt.Sprintf("%s=%s/%s", r.ID, r.Seq, r.Label))
	}
	if want := []string{"r1=ACGT/pos", "r2=gg/neg"}; !slices.Equal(rows, want) || got[1].Source != dnaTD+"seqs.tsv:4" {
		t.Errorf("seqs.tsv: got %v (%s), want %v", rows, got[1].Source, want)
	}
	for _, c := range []struct {
		file  string
		line  int
		parts []string
	}{
		{"table_bad_char.csv", 3, []string{`invalid character ' ' at position 3`}},
		{"table_no_label.tsv", 1, []string{`"sequence" (or "seq") and a "label" column`}},
		{"table_fields.csv", 3, []string{"wrong number of fields"}},
		{"table_fields.tsv", 3, []string{"3 fields, the header has 2"}},
		{"table_empty_label.tsv", 3, []string{"empty label"}},
		{"table_quote.csv", 3, []string{`extraneous or missing " in quoted-field`}},
		{"table.txt", 0, []string{"not a .csv or .tsv file"}},
		{"table_quote.tsv", 3, []string{`invalid character '"' at position 1`}}, // quotes are literal in TSV
	} {
		_, err := ReadSeqTable(dnaTD + c.file)
		dnaWantErr(t, err, dnaTD+c.file, c.line, c.parts...)
		t.Logf("%s: %v", c.file, err)
	}
}

// biogoFASTA reads a FASTA file with biogo's reader, as an independent
// check of ReadFASTA on well-formed real files.
func biogoFASTA(t *testing.T, path string) (ids, descs []string, seqs [][]byte) {
	t.Helper()
	f, err := os.Open(path)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	var r io.Reader = f
	if strings.HasSuffix(path, ".gz") {
		z, err := gzip.NewReader(f)
		if err != nil {
			t.Fatal(err)
		}
		r = z
	}
	fr := fasta.NewReader(r, linear.NewSeq("", nil, alphabet.DNAredundant))
	for {
		s, err := fr.Read()
		if err == io.EOF {
			return
		}
		if err != nil {
			t.Fatalf("biogo %s: %v", path, err)
		}
		ls := s.(*linear.Seq)
		ids = append(ids, ls.Name())
		descs = append(descs, ls.Description())
		seqs = append(seqs, bytes.Clone(alphabet.LettersToBytes(ls.Seq)))
	}
}

// fastaStats reads a file with ReadFASTA, checks it against biogo's reader
// record by record, encodes every record and returns the totals.
type fastaStats struct {
	records, bases, ambiguous, nIDs int
	minLen, maxLen                  int
	ids                             []string
	md5                             string // of the concatenated sequences
}

func fastaStatsOf(t *testing.T, path string, crossCheck bool) fastaStats {
	t.Helper()
	st := fastaStats{minLen: -1}
	h := md5.New()
	var recs []SeqRecord
	err := ReadFASTA(path, func(r SeqRecord) error {
		st.records++
		st.bases += len(r.Seq)
		if st.minLen < 0 || len(r.Seq) < st.minLen {
			st.minLen = len(r.Seq)
		}
		st.maxLen = max(st.maxLen, len(r.Seq))
		st.ids = append(st.ids, r.ID)
		h.Write(r.Seq)
		ids, amb, err := dna.Encode(r.Seq)
		if err != nil {
			return fmt.Errorf("%s:%d: %v", r.File, r.Line, err)
		}
		st.ambiguous += amb
		for _, id := range ids {
			if id == dna.N {
				st.nIDs++
			}
		}
		if crossCheck {
			recs = append(recs, r)
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	st.md5 = hex.EncodeToString(h.Sum(nil))
	if crossCheck {
		ids, descs, seqs := biogoFASTA(t, path)
		if len(ids) != len(recs) {
			t.Fatalf("%s: %d records, biogo reads %d", path, len(recs), len(ids))
		}
		for i, r := range recs {
			if r.ID != ids[i] || r.Desc != descs[i] || !bytes.Equal(r.Seq, seqs[i]) {
				t.Fatalf("%s record %d (%s) differs from biogo's (%s)", path, i, r.ID, ids[i])
			}
		}
	}
	return st
}

func TestRealRagoutGenomes(t *testing.T) {
	dir := NeedFetched(t, "dna/ragout")
	// Records and bases of each genome, counted independently with
	// zcat F | grep -c '>' and zcat F | grep -v '>' | tr -d '\n' | wc -c;
	// N and ambiguity codes with tr -cd.
	want := map[string]struct{ records, bases, ambiguous, ns int }{
		"E.Coli/DH1.fasta.gz":              {1, 4630707, 0, 0},
		"E.Coli/MG1655-K12.fasta.gz":       {1, 4639675, 0, 0},
		"H.Pylori/ELS37.fasta.gz":          {1, 1664587, 0, 0},
		"H.Pylori/G27.fasta.gz":            {1, 1652982, 0, 0},
		"H.Pylori/Gambia94_24.fasta.gz":    {1, 1709911, 0, 0},
		"H.Pylori/Puno120.fasta.gz":        {1, 1624979, 0, 0},
		"H.Pylori/SJM180.fasta.gz":         {1, 1658051, 0, 1},
		"S.Aureus/COL.fasta.gz":            {1, 2809422, 0, 0},
		"S.Aureus/JKD6008.fasta.gz":        {1, 2924344, 0, 0},
		"S.Aureus/N315.fasta.gz":           {1, 2814816, 0, 0},
		"S.Aureus/RF122.fasta.gz":          {1, 2742531, 0, 0},
		"S.Aureus/USA300_FPR3757.fasta.gz": {1, 2872769, 0, 0},
		"V.Cholerae/H1.fasta.gz":           {2, 4089020, 0, 0},
		"V.Cholerae/O1_Inaba.fasta.gz":     {2, 4202811, 0, 2102},
		"V.Cholerae/O1_biovar.fasta.gz":    {2, 4033464, 35, 2},
		"V.Cholerae/O395.fasta.gz":         {2, 4135300, 0, 0},
	}
	files, err := filepath.Glob(filepath.Join(dir, "*", "*.fasta.gz"))
	if err != nil {
		t.Fatal(err)
	}
	if len(files) != len(want) {
		t.Fatalf("%d genome files, want %d", len(files), len(want))
	}
	var records, bases int
	for _, f := range files {
		rel, _ := filepath.Rel(dir, f)
		w, ok := want[filepath.ToSlash(rel)]
		if !ok {
			t.Fatalf("unexpected genome %s", rel)
		}
		st := fastaStatsOf(t, f, true)
		if st.records != w.records || st.bases != w.bases || st.ambiguous != w.ambiguous || st.nIDs != w.ns+w.ambiguous {
			t.Errorf("%s: %d records, %d bases, %d ambiguous, %d N ids; want %d, %d, %d, %d",
				rel, st.records, st.bases, st.ambiguous, st.nIDs, w.records, w.bases, w.ambiguous, w.ns+w.ambiguous)
		}
		records += st.records
		bases += st.bases
	}
	t.Logf("ragout: %d genomes, %d records, %d bases", len(files), records, bases)
	if records != 20 || bases != 48205369 {
		t.Errorf("ragout totals: %d records, %d bases; want 20, 48205369", records, bases)
	}
	// One chromosome length, from awk over the file.
	st := fastaStatsOf(t, filepath.Join(dir, "V.Cholerae/O395.fasta.gz"), false)
	var lens []int
	ReadFASTA(filepath.Join(dir, "V.Cholerae/O395.fasta.gz"), func(r SeqRecord) error { lens = append(lens, len(r.Seq)); return nil })
	if !slices.Equal(lens, []int{3024078, 1111222}) || st.ids[1] != "gi|227014638|gb|CP001236.1|" {
		t.Errorf("V. cholerae O395 chromosomes %v %v", lens, st.ids)
	}
}

func TestReal16S(t *testing.T) {
	path := NeedFetched(t, "dna/16s/ten_16s.100.fa.gz")
	st := fastaStatsOf(t, path, true)
	// Independently: grep -c '>' → 3,994; bases 5,870,306; lengths 980..1,592
	// (awk); 915 IUPAC codes and 3,942 N (tr -cd).
	if st.records != 3994 || st.bases != 5870306 || st.minLen != 980 || st.maxLen != 1592 || st.ambiguous != 915 || st.nIDs != 3942+915 {
		t.Errorf("16S: %+v", st)
	}
	seqs, err := ReadLabelledFASTA(path, "re:p:([^,]+)")
	if err != nil {
		t.Fatal(err)
	}
	counts := map[string]int{}
	for _, s := range seqs {
		counts[s.Label]++
	}
	t.Logf("16S: %d records, %d bases, %d phyla", st.records, st.bases, len(counts))
	// From grep -o 'p:[^,]*' | sort | uniq -c.
	for phylum, n := range map[string]int{"Proteobacteria": 1593, "Actinobacteria": 685, "Firmicutes": 674,
		"Bacteroidetes": 462, "Euryarchaeota": 256, "Crenarchaeota": 47, "Elusimicrobia": 1} {
		if counts[phylum] != n {
			t.Errorf("%s: %d sequences, want %d", phylum, counts[phylum], n)
		}
	}
	if len(seqs) != 3994 || len(counts) != 34 {
		t.Errorf("%d labelled sequences in %d phyla, want 3994 in 34", len(seqs), len(counts))
	}
	if seqs[0].ID != "gi_961555154;tax=d:Bacteria,p:Bacteroidetes,c:Chitinophagia,o:Chitinophagales,f:Chitinophagaceae,g:Parafilimonas;" ||
		seqs[0].Label != "Bacteroidetes" || seqs[0].Source != path+":1" {
		t.Errorf("first: %s %s %s", seqs[0].ID, seqs[0].Label, seqs[0].Source)
	}
}

func TestRealLambda(t *testing.T) {
	path := NeedFetched(t, "dna/lambda_virus.fa.gz")
	st := fastaStatsOf(t, path, true)
	// md5 of zcat | grep -v '>' | tr -d '\n'.
	if st.records != 1 || st.bases != 48502 || st.md5 != "509bdb356475a21077713babc47a4a35" || st.ids[0] != "gi|9626243|ref|NC_001416.1|" {
		t.Errorf("lambda: %+v", st)
	}
	// Intervals from a BED against cut -c of the sequence.
	bed := filepath.Join(t.TempDir(), "lambda.bed")
	os.WriteFile(bed, []byte("#chrom\tstart\tend\tlabel\n"+
		"gi|9626243|ref|NC_001416.1|\t0\t30\tstart\n"+
		"gi|9626243|ref|NC_001416.1|\t1000\t1020\tmiddle\n"+
		"gi|9626243|ref|NC_001416.1|\t48472\t48502\tend\n"+
		"gi|9626243|ref|NC_001416.1|\t48472\t48503\tpast\n"), 0o644)
	ivs, err := ReadBED(bed)
	if err != nil {
		t.Fatal(err)
	}
	got := map[string]string{}
	err = ExtractIntervals(path, ivs, func(iv Interval, s []byte) error {
		got[iv.Label] = string(s)
		return nil
	})
	dnaWantErr(t, err, bed, 5, "ends past the end", "48502 bases")
	want := map[string]string{"start": "GGGCGGCGACCTCGCGGGTTTTCGCTATTT", "middle": "GCAGCGCAACACCCTTATCT", "end": "GGGTCCTTTCCGGTGATCCGACAGGTTACG"}
	for k, v := range want {
		if got[k] != v {
			t.Errorf("%s: %q, want %q", k, got[k], v)
		}
	}
}

func TestRealCelegansChrX(t *testing.T) {
	path := NeedFetched(t, "dna/ce2chrX.fa.gz")
	st := fastaStatsOf(t, path, true)
	if st.records != 1 || st.ids[0] != "chrX" || st.bases != 17718849 || st.ambiguous != 0 || st.nIDs != 0 ||
		st.md5 != "3bd51e28e14ea4e7e892d8c011a04004" {
		t.Errorf("chrX: %+v", st)
	}
	t.Logf("chrX: %d bases", st.bases)
}

func TestSpeciesTaskRealGenomes(t *testing.T) {
	root := NeedFetched(t, "dna/ragout")
	train, test, classes, held, err := SpeciesTask(root, 1000, 40, 20, 7)
	if err != nil {
		t.Fatal(err)
	}
	if strings.Join(classes, ",") != "E.Coli,H.Pylori,S.Aureus,V.Cholerae" || len(train) != 160 || len(test) != 80 {
		t.Fatalf("classes %v, %d train, %d test", classes, len(train), len(test))
	}
	for _, e := range append(append([]LabelledSeq(nil), train...), test...) {
		if len(e.Seq) != 1000 || strings.Trim(string(e.Seq), "ACGT") != "" {
			t.Fatalf("fragment %s: %d bases, %q…", e.ID, len(e.Seq), e.Seq[:20])
		}
	}
	for _, e := range test {
		if !strings.HasPrefix(e.ID, held[e.Label]+":") {
			t.Fatalf("test fragment %s is not from the held-out strain %s", e.ID, held[e.Label])
		}
	}
	for _, e := range train {
		if strings.HasPrefix(e.ID, held[e.Label]+":") {
			t.Fatalf("training fragment %s comes from the held-out strain", e.ID)
		}
	}
	again, _, _, _, _ := SpeciesTask(root, 1000, 40, 20, 7)
	if again[17].ID != train[17].ID {
		t.Error("the task is not deterministic")
	}
	// More training fragments leave the test set as it was.
	_, test2, _, _, _ := SpeciesTask(root, 1000, 100, 20, 7)
	for i := range test {
		if test2[i].ID != test[i].ID {
			t.Fatalf("test fragment %d is %s with 100 training fragments, %s with 40", i, test2[i].ID, test[i].ID)
		}
	}
}

func TestTopClassesAndHoldOut(t *testing.T) {
	var ex []LabelledSeq
	for i, l := range strings.Split("a b a c a b d a b c", " ") {
		ex = append(ex, LabelledSeq{ID: fmt.Sprint(i), Label: l})
	}
	kept, classes := TopClasses(ex, 2)
	if strings.Join(classes, ",") != "a,b" || len(kept) != 7 {
		t.Fatalf("classes %v, %d kept", classes, len(kept))
	}
	tr, te := HoldOutEvery(kept, 2)
	if len(te) != 3 || te[0].ID != "2" || len(tr) != 4 {
		t.Fatalf("held out %v", te)
	}
}

func TestHoldOutGroups(t *testing.T) {
	// class a has groups g1 g2 g1 g3 g2 (g2 is its 2nd group); class b has
	// g1 "" g1 (the ungrouped example is b's 2nd group).
	var ex []LabelledSeq
	for i, lg := range strings.Split("a:g1 a:g2 b:g1 a:g1 b: a:g3 a:g2 b:g1", " ") {
		l, g, _ := strings.Cut(lg, ":")
		ex = append(ex, LabelledSeq{ID: fmt.Sprint(i), Label: l, Source: g})
	}
	tr, te := HoldOutGroups(ex, func(e LabelledSeq) string { return e.Source }, 2)
	var ids []string
	for _, e := range te {
		ids = append(ids, e.ID)
	}
	if strings.Join(ids, ",") != "1,4,6" || len(tr) != 5 {
		t.Fatalf("held out %v, %d train", ids, len(tr))
	}
}

func TestTiles(t *testing.T) {
	ex := []LabelledSeq{{ID: "s", Seq: []byte("ACGTACGTAC"), Label: "x"}, {ID: "short", Seq: []byte("ACG"), Label: "y"}}
	got := Tiles(ex, 4, 3)
	var names []string
	for _, e := range got {
		names = append(names, e.ID+"="+string(e.Seq)+"/"+e.Label)
	}
	// starts 0, 3 (6 would end at 10 = len, so 6 is a regular tile) and the short sequence whole.
	want := "s:1-4=ACGT/x s:4-7=TACG/x s:7-10=GTAC/x short=ACG/y"
	if strings.Join(names, " ") != want {
		t.Fatalf("tiles %q, want %q", strings.Join(names, " "), want)
	}
	got = Tiles(ex[:1], 4, 4) // starts 0, 4; 8 does not fit, so one tile ends at the end
	names = names[:0]
	for _, e := range got {
		names = append(names, e.ID)
	}
	if strings.Join(names, " ") != "s:1-4 s:5-8 s:7-10" {
		t.Fatalf("tiles %v", names)
	}
}

// TestSpeciesTrainingGenomes checks the pretraining split of the species
// layout: every strain but the last by name of each species, and an error
// naming a species with a single strain.
func TestSpeciesTrainingGenomes(t *testing.T) {
	root := t.TempDir()
	write := func(rel string) {
		p := filepath.Join(root, rel)
		if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(p, []byte(">x\nACGT\n"), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	for _, f := range []string{"B/t2.fasta", "A/s2.fa", "B/t1.fa.gz", "A/s1.fa", "B/t3.fa", "B/notes.txt", ".hidden/h.fa"} {
		write(f)
	}
	train, held, err := SpeciesTrainingGenomes(root)
	if err != nil {
		t.Fatal(err)
	}
	var rel []string
	for _, f := range train {
		r, _ := filepath.Rel(root, f)
		rel = append(rel, r)
	}
	if got := strings.Join(rel, ","); got != "A/s1.fa,B/t1.fa.gz,B/t2.fasta" {
		t.Errorf("training genomes %s", got)
	}
	if len(held) != 2 || held["A"] != "s2.fa" || held["B"] != "t3.fa" {
		t.Errorf("held out %v", held)
	}
	write("C/only.fa")
	if _, _, err := SpeciesTrainingGenomes(root); err == nil || !strings.Contains(err.Error(), "species C has 1 genome files") {
		t.Errorf("one strain: %v", err)
	}
}
