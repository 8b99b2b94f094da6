package datasets

import (
	"bytes"
	"fmt"
	"math/rand/v2"
	"os"
	"path/filepath"
	"sort"
	"strings"
)

// speciesStrains lists the genomes of root/<species>/<strain>.fa* (the
// ragout-examples layout): the species (sorted), and for each its strain
// files sorted by name, the last of which the species task holds out.
func speciesStrains(root string) (classes []string, files map[string][]string, err error) {
	entries, err := os.ReadDir(root)
	if err != nil {
		return nil, nil, err
	}
	files = map[string][]string{}
	for _, e := range entries {
		if !e.IsDir() || strings.HasPrefix(e.Name(), ".") {
			continue
		}
		species := e.Name()
		fs, _ := filepath.Glob(filepath.Join(root, species, "*.fa*"))
		sort.Strings(fs)
		if len(fs) < 2 {
			return nil, nil, fmt.Errorf("%s: species %s has %d genome files; holding one strain out needs at least 2",
				root, species, len(fs))
		}
		classes = append(classes, species)
		files[species] = fs
	}
	if len(classes) < 2 {
		return nil, nil, fmt.Errorf("%s: need at least 2 species folders, found %d", root, len(classes))
	}
	return classes, files, nil
}

// SpeciesTrainingGenomes returns the genome files that SpeciesTask draws
// its training fragments from (every strain but the held-out one of each
// species), for pretraining on them without seeing a test strain, and the
// held-out strain file of each species.
func SpeciesTrainingGenomes(root string) (train []string, heldOut map[string]string, err error) {
	classes, files, err := speciesStrains(root)
	if err != nil {
		return nil, nil, err
	}
	heldOut = map[string]string{}
	for _, species := range classes {
		fs := files[species]
		train = append(train, fs[:len(fs)-1]...)
		heldOut[species] = filepath.Base(fs[len(fs)-1])
	}
	return train, heldOut, nil
}

// SpeciesTask builds a species-classification task from genomes laid out as
// root/<species>/<strain>.fasta[.gz] (the ragout-examples layout): for each
// species, the last strain file by name is held out, and fragments of
// fragLen bases free of ambiguous bases are drawn at random positions
// (seeded) — nTrain per species spread evenly over the other strains, nTest
// per species from the held-out strain. A fragment never spans two records.
// The test set depends on seed, fragLen and nTest only, not on nTrain. It
// returns the fragments, the species (sorted) and the held-out strain of
// each species.
func SpeciesTask(root string, fragLen, nTrain, nTest int, seed uint64) (train, test []LabelledSeq, classes []string, heldOut map[string]string, err error) {
	classes, files, err := speciesStrains(root)
	if err != nil {
		return nil, nil, nil, nil, err
	}
	heldOut = map[string]string{}
	r := rand.New(rand.NewPCG(seed, 0xd4a))
	// The test fragments have their own generator, so that the test set
	// depends on the seed, fragLen and nTest only, not on nTrain.
	rt := rand.New(rand.NewPCG(seed, 0x7e57))
	for _, species := range classes {
		fs := files[species]
		last := fs[len(fs)-1]
		heldOut[species] = filepath.Base(last)
		others := fs[:len(fs)-1]
		for i, f := range others {
			n := nTrain / len(others)
			if i < nTrain%len(others) {
				n++
			}
			frags, err := fragments(f, species, fragLen, n, r)
			if err != nil {
				return nil, nil, nil, nil, err
			}
			train = append(train, frags...)
		}
		frags, err := fragments(last, species, fragLen, nTest, rt)
		if err != nil {
			return nil, nil, nil, nil, err
		}
		test = append(test, frags...)
	}
	return train, test, classes, heldOut, nil
}

// fragments draws n fragments of length L without ambiguous bases from the
// records of a FASTA file, choosing records in proportion to their length.
func fragments(path, label string, L, n int, r *rand.Rand) ([]LabelledSeq, error) {
	var recs []SeqRecord
	total := 0
	if err := ReadFASTA(path, func(s SeqRecord) error {
		if len(s.Seq) >= L {
			s.Seq = bytes.ToUpper(s.Seq)
			recs = append(recs, s)
			total += len(s.Seq) - L + 1
		}
		return nil
	}); err != nil {
		return nil, err
	}
	if total == 0 {
		return nil, fmt.Errorf("%s: no record is %d bases long", path, L)
	}
	var out []LabelledSeq
	for tries := 0; len(out) < n; tries++ {
		if tries > 100*n+1000 {
			return nil, fmt.Errorf("%s: could not find %d fragments of %d bases free of ambiguous bases", path, n, L)
		}
		pos := r.IntN(total)
		for _, s := range recs {
			span := len(s.Seq) - L + 1
			if pos >= span {
				pos -= span
				continue
			}
			frag := s.Seq[pos : pos+L]
			if bytes.IndexFunc(frag, func(c rune) bool { return c != 'A' && c != 'C' && c != 'G' && c != 'T' }) < 0 {
				out = append(out, LabelledSeq{ID: fmt.Sprintf("%s:%s:%d", filepath.Base(path), s.ID, pos),
					Seq: frag, Label: label, Source: fmt.Sprintf("%s:%d", s.File, s.Line)})
			}
			break
		}
	}
	return out, nil
}

// TopClasses keeps the examples whose label is one of the k most frequent
// (ties broken by name) and returns them with those classes, sorted.
func TopClasses(ex []LabelledSeq, k int) ([]LabelledSeq, []string) {
	count := map[string]int{}
	for _, e := range ex {
		count[e.Label]++
	}
	names := make([]string, 0, len(count))
	for n := range count {
		names = append(names, n)
	}
	sort.Slice(names, func(i, j int) bool {
		if count[names[i]] != count[names[j]] {
			return count[names[i]] > count[names[j]]
		}
		return names[i] < names[j]
	})
	if len(names) > k {
		names = names[:k]
	}
	keep := map[string]bool{}
	for _, n := range names {
		keep[n] = true
	}
	var out []LabelledSeq
	for _, e := range ex {
		if keep[e.Label] {
			out = append(out, e)
		}
	}
	sort.Strings(names)
	return out, names
}

// HoldOutEvery splits examples deterministically and per class: of each
// class's examples, in order, every n-th (the n-th, 2n-th, …) goes to test.
func HoldOutEvery(ex []LabelledSeq, n int) (train, test []LabelledSeq) {
	seen := map[string]int{}
	for _, e := range ex {
		seen[e.Label]++
		if seen[e.Label]%n == 0 {
			test = append(test, e)
		} else {
			train = append(train, e)
		}
	}
	return train, test
}

// HoldOutGroups splits examples deterministically by group, per class: each
// class's groups are numbered in order of first appearance and every n-th
// group (the n-th, 2n-th, …) goes to test with all its examples, so that no
// group has examples on both sides. group gives an example's group; an empty
// group puts the example in a group of its own.
func HoldOutGroups(ex []LabelledSeq, group func(LabelledSeq) string, n int) (train, test []LabelledSeq) {
	if n < 1 {
		panic(fmt.Sprintf("datasets.HoldOutGroups: n = %d, want ≥ 1", n))
	}
	type key struct{ class, group string }
	number := map[key]int{}
	seen := map[string]int{}
	for i, e := range ex {
		g := group(e)
		if g == "" {
			g = fmt.Sprintf("\x00%d", i)
		}
		k := key{e.Label, g}
		if _, ok := number[k]; !ok {
			seen[e.Label]++
			number[k] = seen[e.Label]
		}
		if number[k]%n == 0 {
			test = append(test, e)
		} else {
			train = append(train, e)
		}
	}
	return train, test
}

// Tiles cuts each sequence into fragments of L bases starting every stride
// bases (0, stride, 2·stride, … while the fragment fits) plus, when those
// miss the sequence's end, one fragment ending at it, so that every base is
// in some fragment. Fragments keep their sequence's label and are named
// id:start-end (1-based, inclusive, as samtools regions). A sequence of at
// most L bases is kept whole.
func Tiles(ex []LabelledSeq, L, stride int) []LabelledSeq {
	if L < 1 || stride < 1 {
		panic(fmt.Sprintf("datasets.Tiles: L = %d, stride = %d, want ≥ 1", L, stride))
	}
	var out []LabelledSeq
	for _, e := range ex {
		if len(e.Seq) <= L {
			out = append(out, e)
			continue
		}
		tile := func(s int) {
			out = append(out, LabelledSeq{ID: fmt.Sprintf("%s:%d-%d", e.ID, s+1, s+L), Seq: e.Seq[s : s+L],
				Label: e.Label, Source: e.Source})
		}
		s := 0
		for ; s+L <= len(e.Seq); s += stride {
			tile(s)
		}
		if last := s - stride; last+L < len(e.Seq) {
			tile(len(e.Seq) - L)
		}
	}
	return out
}
