// Package dna is the DNA modality: a character tokenizer with the ids that
// HyenaDNA and Caduceus use, reverse complements of ids and of letters, and
// the k-mer baselines (k-mer frequencies, multinomial naive Bayes and
// L2-regularised logistic regression) that a Mamba sequence classifier has
// to beat to be worth its cost.
//
// # Vocabulary
//
// Twelve ids: the seven specials [CLS]=0 [SEP]=1 [BOS]=2 [MASK]=3 [PAD]=4
// [RESERVED]=5 [UNK]=6, then the bases A=7 C=8 G=9 T=10 N=11, as in
// HyenaDNA's CharacterTokenizer with characters "ACGTN". [Encode] is strict:
// it accepts the four bases and N in either case, turns the IUPAC ambiguity
// codes into N (and counts them), reads RNA's U as T, and rejects anything
// else with the position of the offending byte. Reading files (and
// stripping their newlines) is the job of package datasets.
package dna
