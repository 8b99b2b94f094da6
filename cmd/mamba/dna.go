package main

import (
	"bytes"
	"fmt"
	"io"
	"math"
	"math/rand/v2"
	"os"
	"regexp"
	"sort"
	"strings"

	"github.com/mambakit/mambakit/datasets"
	"github.com/mambakit/mambakit/modalities/dna"
	"github.com/mambakit/mambakit/pipelines/classify"
	"github.com/mambakit/mambakit/pipelines/train"
)

// dnaChunk is the size of the pieces genomes are cut into before the
// train/validation split.
const dnaChunk = 100_000

// fastaFiles expands files and folders into FASTA files.
func fastaFiles(paths []string) ([]string, error) {
	return expandFiles(paths, ".fa", ".fasta", ".fna", ".fas")
}

// rcData wraps token-stream data so that each training window is replaced,
// with probability one half (decided by the step's seed), by its reverse
// complement: the model learns both strands.
type rcData struct {
	*datasets.StreamData
}

func (d rcData) Batch(step, micro, B, L int) ([]int32, []int32) {
	ids, targets := d.StreamData.Batch(step, micro, B, L)
	r := rand.New(rand.NewPCG(d.Seed^0x5c, uint64(step)<<16|uint64(micro)))
	win := make([]int32, L+1)
	for b := 0; b < B; b++ {
		if r.IntN(2) == 0 {
			continue
		}
		copy(win, ids[b*L:(b+1)*L])
		win[L] = targets[(b+1)*L-1]
		rc := dna.ReverseComplement(win)
		copy(ids[b*L:(b+1)*L], rc[:L])
		copy(targets[b*L:(b+1)*L], rc[1:])
	}
	return ids, targets
}

// speciesRoot is the folder of the species task's genomes: data when given,
// else the ragout genomes scripts/fetch-data.sh fetched.
func speciesRoot(cmd, data string) (string, error) {
	if data != "" {
		return data, nil
	}
	p, ok := datasets.Fetched("dna/ragout")
	if !ok {
		return "", usagef("%s: --task species needs --data (the ragout genomes' root; scripts/fetch-data.sh dna fetches them)", cmd)
	}
	return p, nil
}

// prepareDNA reads genomes (or BED intervals of them), holds out 5 % of
// 100-kb chunks, and tokenizes them for next-base (or masked-base)
// prediction.
func prepareDNA(o modalityOptions) (*prepared, error) {
	switch o.task {
	case "":
	case "species":
		if o.bed != "" {
			return nil, usagef("pretrain: --task species reads whole genomes; it takes no --bed")
		}
		if len(o.data) > 1 {
			return nil, usagef("pretrain: --task species takes one --data folder (the genomes' root), not %d paths", len(o.data))
		}
		root, err := speciesRoot("pretrain", strings.Join(o.data, ""))
		if err != nil {
			return nil, err
		}
		train, held, err := datasets.SpeciesTrainingGenomes(root)
		if err != nil {
			return nil, err
		}
		var hs []string
		for _, sp := range sortedKeys(held) {
			hs = append(hs, sp+": "+held[sp])
		}
		fmt.Fprintf(o.stderr, "species task: pretraining on the %d training genomes of %s; held out, never read: %s\n",
			len(train), root, strings.Join(hs, ", "))
		o.data = train
	default:
		return nil, usagef("pretrain: --task %q: dna has species", o.task)
	}
	if len(o.data) == 0 {
		return nil, usagef("pretrain: --modality dna needs --data (FASTA files or folders)")
	}
	files, err := fastaFiles(o.data)
	if err != nil {
		return nil, err
	}
	var docs []datasets.Document
	ambiguous := 0
	add := func(name string, seq []byte) error {
		if _, amb, err := dna.Encode(seq); err != nil {
			return fmt.Errorf("%s: %w", name, err)
		} else {
			ambiguous += amb
		}
		docs = append(docs, datasets.Document{Name: name, Text: bytes.ToUpper(seq)})
		return nil
	}
	if o.bed != "" {
		if len(files) != 1 {
			return nil, usagef("pretrain: --bed needs exactly one FASTA in --data")
		}
		ivs, err := datasets.ReadBED(o.bed)
		if err != nil {
			return nil, err
		}
		if err := datasets.ExtractIntervals(files[0], ivs, func(iv datasets.Interval, seq []byte) error {
			return add(fmt.Sprintf("%s:%d", iv.File, iv.Line), seq)
		}); err != nil {
			return nil, err
		}
	} else {
		for _, f := range files {
			if err := datasets.ReadFASTA(f, func(s datasets.SeqRecord) error {
				return add(fmt.Sprintf("%s:%d", s.File, s.Line), s.Seq)
			}); err != nil {
				return nil, err
			}
		}
	}
	enc := func(s string) []int32 { ids, _, _ := dna.Encode([]byte(s)); return ids }
	trainIDs, valIDs, heldPath, err := splitEncode(docs, dnaChunk, o, enc, dna.SEP, "heldout.seq", "base")
	if err != nil {
		return nil, err
	}
	sd := &datasets.StreamData{Train: trainIDs, Val: valIDs, Seed: o.seed}
	var data interface {
		Batch(step, micro, B, L int) ([]int32, []int32)
		Eval(L, max int) ([]int32, []int32, int)
	} = sd
	if o.rcAugment {
		data = rcData{sd}
	}
	return &prepared{
		data:    data,
		vocab:   dna.VocabSize,
		unit:    "base",
		units:   dna.Units,
		extra:   map[string][]byte{"mambakit.json": writeMeta(map[string]any{"modality": "dna", "tokenizer": "dna-char"})},
		masking: &train.Masking{Mask: dna.MASK, Fill: []int32{dna.A, dna.C, dna.G, dna.T}},
		summary: fmt.Sprintf("data: %d FASTA file(s), %d records/intervals, %d ambiguous IUPAC bases read as N; %d training and %d held-out bases (held-out bases in %s); reverse-complement augmentation %v",
			len(files), len(docs), ambiguous, len(trainIDs), len(valIDs), heldPath, o.rcAugment),
	}, nil
}

// dnaExamples tokenizes labelled sequences for a classifier.
func dnaExamples(seqs []datasets.LabelledSeq, classes []string) ([]classify.Example, error) {
	index := map[string]int32{}
	for i, c := range classes {
		index[c] = int32(i)
	}
	out := make([]classify.Example, 0, len(seqs))
	for _, s := range seqs {
		ids, _, err := dna.Encode(s.Seq)
		if err != nil {
			return nil, fmt.Errorf("%s: %w", s.Source, err)
		}
		y, ok := index[s.Label]
		if !ok {
			y = -1 // unknown class: only allowed for prediction
		}
		out = append(out, classify.Example{ID: s.ID, IDs: ids, Label: y})
	}
	return out, nil
}

// dnaClassData loads a DNA classification task: a built-in task over fetched
// genomes (species, phylum) or a dataset in one of the generic layouts.
func dnaClassData(o classOptions) (*classData, error) {
	if o.baselineK < 1 || o.baselineK > 8 {
		return nil, usagef("classify: --baseline-k %d: give 1 … 8 (the baselines' features are dense, 4^k/2 per example)", o.baselineK)
	}
	var train, test []datasets.LabelledSeq
	// reads turns training sequences into what the baselines train on:
	// themselves, or for a read-length task reads cut from them.
	reads := func(s []datasets.LabelledSeq) []datasets.LabelledSeq { return s }
	// holdOut splits the training set as the test set was split off, for the
	// baselines' validation.
	holdOut := func(s []datasets.LabelledSeq) ([]datasets.LabelledSeq, []datasets.LabelledSeq) {
		return datasets.HoldOutEvery(s, 5)
	}
	var classes []string
	var about string
	switch o.task {
	case "species":
		root, err := speciesRoot("classify", o.data)
		if err != nil {
			return nil, err
		}
		var held map[string]string
		if o.fragLen == 0 {
			o.fragLen = 1000
		}
		train, test, classes, held, err = datasets.SpeciesTask(root, o.fragLen, o.perClass, o.testPerClass, o.seed)
		if err != nil {
			return nil, err
		}
		// The baselines validate on one training strain per species (the
		// fragment IDs start with the strain's file name), as the test
		// set holds out a strain.
		holdOut = func(s []datasets.LabelledSeq) ([]datasets.LabelledSeq, []datasets.LabelledSeq) {
			return datasets.HoldOutGroups(s, func(e datasets.LabelledSeq) string {
				file, _, _ := strings.Cut(e.ID, ":")
				return file
			}, 3)
		}
		var hs []string
		for _, c := range classes {
			hs = append(hs, c+": "+held[c])
		}
		training := fmt.Sprintf("%d per species for training from the other strains, ", o.perClass)
		if o.scoreOnly { // eval: --per-class is not what the model was trained on
			training = ""
		}
		about = fmt.Sprintf("species task: %d-base fragments, %s%d per species for testing from held-out strains (%s), seed %d",
			o.fragLen, training, o.testPerClass, strings.Join(hs, "; "), o.seed)
	case "phylum":
		path := o.data
		if path == "" {
			p, ok := datasets.Fetched("dna/16s/ten_16s.100.fa.gz")
			if !ok {
				return nil, usagef("classify: --task phylum needs --data (dada2's ten_16s.100.fa.gz; scripts/fetch-data.sh dna fetches it)")
			}
			path = p
		}
		all, err := datasets.ReadLabelledFASTA(path, "re:p:([^,]+)")
		if err != nil {
			return nil, err
		}
		all, classes = datasets.TopClasses(all, 5)
		switch o.split {
		case "genus":
			train, test = datasets.HoldOutGroups(all, genusOf, 5)
			holdOut = func(s []datasets.LabelledSeq) ([]datasets.LabelledSeq, []datasets.LabelledSeq) {
				return datasets.HoldOutGroups(s, genusOf, 5)
			}
			about = "phylum task: 16S sequences of the 5 largest phyla, every 5th genus of each phylum held out whole"
		case "sequence":
			train, test = datasets.HoldOutEvery(all, 5)
			about = "phylum task: 16S sequences of the 5 largest phyla, every 5th sequence of each phylum held out"
		default:
			return nil, usagef("classify: --split %q: genus or sequence", o.split)
		}
		about += fmt.Sprintf(" (%d train, %d test sequences)", len(train), len(test))
		if o.fragLen > 0 {
			stride := o.fragLen/2 + 1
			test = datasets.Tiles(test, o.fragLen, o.fragLen)
			reads = func(s []datasets.LabelledSeq) []datasets.LabelledSeq { return datasets.Tiles(s, o.fragLen, stride) }
			about += fmt.Sprintf("; test: the held-out sequences cut into %d reads of %d bases (every base in one, the last read of each sequence ending at its end); baselines trained on %d reads of the training sequences (stride %d)",
				len(test), o.fragLen, len(reads(train)), stride)
		}
	case "":
		if o.data == "" {
			return nil, usagef("classify: give --task species|phylum or --data")
		}
		var err error
		info, err := os.Stat(o.data)
		if err != nil {
			return nil, err
		}
		switch {
		case info.IsDir():
			train, test, classes, err = datasets.ReadGenomicBenchmarks(o.data)
		case o.label != "":
			train, err = datasets.ReadLabelledFASTA(o.data, o.label)
		default:
			train, err = datasets.ReadSeqTable(o.data)
		}
		if err != nil {
			return nil, err
		}
		if o.test != "" {
			if o.label != "" {
				test, err = datasets.ReadLabelledFASTA(o.test, o.label)
			} else {
				test, err = datasets.ReadSeqTable(o.test)
			}
			if err != nil {
				return nil, err
			}
		}
		if classes == nil {
			seen := map[string]bool{}
			for _, s := range train {
				if !seen[s.Label] {
					seen[s.Label] = true
					classes = append(classes, s.Label)
				}
			}
			sort.Strings(classes)
		}
		if test == nil {
			train, test = datasets.HoldOutEvery(train, 5)
		}
		about = fmt.Sprintf("dataset %s: %d train, %d test", o.data, len(train), len(test))
	default:
		return nil, usagef("classify: --task %q: species or phylum", o.task)
	}
	tr, err := dnaExamples(train, classes)
	if err != nil {
		return nil, err
	}
	te, err := dnaExamples(test, classes)
	if err != nil {
		return nil, err
	}
	for _, e := range te {
		if e.Label < 0 {
			return nil, fmt.Errorf("test sequence %s has a class the training data lacks", e.ID)
		}
	}
	cd := &classData{train: tr, test: te, classes: classes, vocab: dna.VocabSize, pad: dna.PAD, about: about,
		conjoin: dna.ReverseComplement}
	if o.rcAugment {
		cd.augment = func(ids []int32, r *rand.Rand) []int32 {
			if r.IntN(2) == 0 {
				return ids
			}
			return dna.ReverseComplement(ids)
		}
	}
	cd.baseline = func(log io.Writer) (map[string]classify.Metrics, map[string]any, map[string]any) {
		return dnaBaselines(train, test, classes, o.baselineK, reads, holdOut, log)
	}
	cd.readPredict = dnaReadPredict
	return cd, nil
}

// genusRe finds the genus in a 16S header of dada2's training files
// ("…;tax=d:Bacteria,p:Firmicutes,…,g:Alicyclobacillus;").
var genusRe = regexp.MustCompile(`(?:^|[,;])g:([^,;]+)`)

// genusOf is the genus named in a sequence's ID, or "" when it names none.
func genusOf(s datasets.LabelledSeq) string {
	if m := genusRe.FindStringSubmatch(s.ID); m != nil {
		return m[1]
	}
	return ""
}

// logisticL2s are the penalties the logistic-regression baseline chooses from.
var logisticL2s = []float64{1e-3, 1e-2, 1e-1}

// dnaBaselines fits the k-mer naive Bayes and logistic-regression baselines
// (k-mers merged with their reverse complements; the are 6-mers)
// on reads(train) and scores them on test. The logistic regression's L2
// penalty is chosen among logisticL2s by the cross-entropy on a validation
// fifth of the training sequences, held out as the test set was (holdOut)
// and before reads are cut so that no sequence is on both sides; then the
// model is refitted on all of them.
func dnaBaselines(train, test []datasets.LabelledSeq, classes []string, k int, reads func([]datasets.LabelledSeq) []datasets.LabelledSeq,
	holdOut func([]datasets.LabelledSeq) (fit, val []datasets.LabelledSeq), stderr io.Writer) (scores map[string]classify.Metrics, misses, info map[string]any) {
	idx := map[string]int{}
	for i, c := range classes {
		idx[c] = i
	}
	// seqs returns the bases and the class indices of s.
	seqs := func(s []datasets.LabelledSeq) ([][]byte, []int) {
		var x [][]byte
		var y []int
		for _, e := range s {
			x = append(x, e.Seq)
			y = append(y, idx[e.Label])
		}
		return x, y
	}
	// predict returns a baseline's probabilities for x and the labels y as
	// int32.
	predict := func(pred func([]byte) []float64, x [][]byte, y []int) ([][]float64, []int32) {
		probs := make([][]float64, len(x))
		labels := make([]int32, len(x))
		for i, s := range x {
			probs[i], labels[i] = pred(s), int32(y[i])
		}
		return probs, labels
	}
	score := func(pred func([]byte) []float64, x [][]byte, y []int) classify.Metrics {
		probs, labels := predict(pred, x, y)
		return classify.Score(probs, labels, len(classes))
	}
	xtr, ytr := seqs(reads(train))
	xte, yte := seqs(test)

	fitTr, val := holdOut(train)
	xf, yf := seqs(reads(fitTr))
	xv, yv := seqs(reads(val))
	bestL2, bestLoss := 0.0, math.Inf(1)
	valLoss := map[string]float64{}
	for _, l2 := range logisticL2s {
		m := score(dna.FitLogistic(xf, yf, len(classes), k, l2, true).Predict, xv, yv)
		valLoss[fmt.Sprint(l2)] = m.Loss
		fmt.Fprintf(stderr, "%d-mer logistic regression, L2 %g: validation cross-entropy %.4f, accuracy %.4f\n", k, l2, m.Loss, m.Accuracy)
		if m.Loss < bestLoss {
			bestL2, bestLoss = l2, m.Loss
		}
	}
	fmt.Fprintf(stderr, "%d-mer logistic regression: L2 %g chosen; refitting on all %d training examples\n", k, bestL2, len(xtr))
	nb := dna.FitNaiveBayes(xtr, ytr, len(classes), k, 1, true)
	lr := dna.FitLogistic(xtr, ytr, len(classes), k, bestL2, true)
	ids := make([]string, len(test))
	for i, e := range test {
		ids[i] = e.ID
	}
	scores, misses = map[string]classify.Metrics{}, map[string]any{}
	for name, pred := range map[string]func([]byte) []float64{
		fmt.Sprintf("%d-mer naive Bayes", k):         nb.Predict,
		fmt.Sprintf("%d-mer logistic regression", k): lr.Predict,
	} {
		probs, lte := predict(pred, xte, yte)
		scores[name] = classify.Score(probs, lte, len(classes))
		misses[name] = missesReport(ids, probs, lte, classes)
	}
	return scores, misses, map[string]any{"k": k, "canonical": true, "naive_bayes_alpha": 1, "logistic_l2": bestL2,
		"logistic_l2_validation_loss": valLoss, "training_examples": len(xtr)}
}

// dnaReadPredict reads the sequences of a FASTA file for prediction.
func dnaReadPredict(path string) ([]classify.Example, error) {
	var ex []classify.Example
	err := datasets.ReadFASTA(path, func(s datasets.SeqRecord) error {
		ids, _, err := dna.Encode(s.Seq)
		if err != nil {
			return fmt.Errorf("%s:%d: %w", s.File, s.Line, err)
		}
		ex = append(ex, classify.Example{ID: s.ID, IDs: ids, Label: -1})
		return nil
	})
	return ex, err
}

// dnaEvalStream reads FASTA files, or files of bare bases (such as the
// heldout.seq that pretrain writes), into one token stream, records joined
// by [SEP].
func dnaEvalStream(paths []string) ([]int32, string, error) {
	var stream []int32
	records := 0
	for _, p := range paths {
		b, err := os.ReadFile(p)
		if err != nil {
			return nil, "", err
		}
		addSeq := func(seq []byte, where string) error {
			ids, _, err := dna.Encode(seq)
			if err != nil {
				return fmt.Errorf("%s: %w", where, err)
			}
			if records > 0 {
				stream = append(stream, dna.SEP)
			}
			stream = append(stream, ids...)
			records++
			return nil
		}
		if len(b) > 0 && b[0] != '>' && b[0] != 0x1f {
			if err := addSeq(bytes.Join(bytes.Fields(b), nil), p); err != nil {
				return nil, "", err
			}
			continue
		}
		if err := datasets.ReadFASTA(p, func(s datasets.SeqRecord) error {
			return addSeq(s.Seq, fmt.Sprintf("%s:%d", s.File, s.Line))
		}); err != nil {
			return nil, "", err
		}
	}
	return stream, fmt.Sprintf("%d sequences, %d tokens", records, len(stream)), nil
}
