#!/usr/bin/env python3
"""species-miss-kmers.py RESULTS.json MODEL [ROOT]

For each test fragment MODEL misclassified in a species-task results.json
(its "misses"; MODEL is a key there, e.g. "6-mer logistic regression"),
prints the fraction of the fragment's 31-mers found in each species'
training genomes (ROOT/<species>/*.fa*, every strain but the last by name,
which the species task holds out; default ROOT data/dna/ragout).

A 31-mer counts when the genome's forward strand holds it or its reverse
complement, so a fragment wholly present in a genome gives 1.00.
"""
import gzip, json, os, re, sys

K = 31
COMP = str.maketrans("ACGT", "TGCA")


def rc(s):
    return s.translate(COMP)[::-1]


def read_fasta(path):
    recs, name, buf = {}, None, []
    with (gzip.open(path, "rt") if path.endswith(".gz") else open(path)) as f:
        for line in f:
            line = line.strip()
            if line.startswith(">"):
                if name is not None:
                    recs[name] = "".join(buf).upper()
                name, buf = line[1:].split()[0], []
            else:
                buf.append(line)
    if name is not None:
        recs[name] = "".join(buf).upper()
    return recs


def main():
    results, model = sys.argv[1], sys.argv[2]
    root = sys.argv[3] if len(sys.argv) > 3 else "data/dna/ragout"
    res = json.load(open(results))
    m = re.match(r"species task: (\d+)-base fragments", res["about"])
    if not m:
        sys.exit(f"{results}: not a species-task results.json (about: {res['about']!r})")
    frag = int(m.group(1))
    misses = res["test"]["misses"][model]["examples"]
    species = sorted(d for d in os.listdir(root) if os.path.isdir(os.path.join(root, d)) and not d.startswith("."))
    strains = {sp: sorted(f for f in os.listdir(os.path.join(root, sp)) if ".fa" in f) for sp in species}
    fastas = {}  # path: records, each file read once

    def records(path):
        if path not in fastas:
            fastas[path] = read_fasta(path)
        return fastas[path]

    # Each miss's 31-mers, then one pass over each species' training genomes
    # for all misses: found[i][sp] are miss i's 31-mers present there.
    kmers = []
    for miss in misses:
        file, rec, pos = miss["id"].rsplit(":", 2)
        seq = records(os.path.join(root, miss["class"], file))[rec][int(pos):int(pos) + frag]
        kmers.append({seq[i:i + K] for i in range(len(seq) - K + 1)})
    wanted = set().union(*kmers) if kmers else set()
    found = [{sp: set() for sp in species} for _ in misses]
    for sp in species:
        present = set()
        for f in strains[sp][:-1]:
            for s in records(os.path.join(root, sp, f)).values():
                for i in range(len(s) - K + 1):
                    w = s[i:i + K]
                    if w in wanted:
                        present.add(w)
                    elif rc(w) in wanted:
                        present.add(rc(w))
        for i, ks in enumerate(kmers):
            found[i][sp] = ks & present
    for miss, ks, fd in zip(misses, kmers, found):
        fracs = ", ".join(f"{sp} {len(fd[sp]) / len(ks):.2f}" for sp in species)
        print(f"{miss['id']} ({miss['class']}, read as {miss['predicted']}): 31-mers in training genomes: {fracs}")


if __name__ == "__main__":
    main()
