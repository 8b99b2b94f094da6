#!/usr/bin/env bash
# Fetches the real DNA that the dna tests and experiments use into data/dna/
# (ignored by git), from Debian's package archive (see ../shared/DATA.md).
# Each .deb is downloaded alone (`apt-get download`, no dependencies) and
# unpacked with `dpkg -x` into a temporary folder: nothing is installed.
# `apt-get update` runs only when a download fails (stale package lists).
# Idempotent: what is already there is kept; each target is moved into place
# only once it is complete and its gzip stream has been checked.
#
#   data/dna/ragout/<Species>/*.fasta.gz   ragout-examples: 16 complete genomes,
#                                          E.Coli V.Cholerae S.Aureus H.Pylori
#   data/dna/16s/ten_16s.100.fa.gz         r-bioc-dada2: 3,994 16S rRNA genes
#   data/dna/lambda_virus.fa.gz            bowtie2-examples: phage lambda
#   data/dna/ce2chrX.fa.gz                 r-bioc-bsgenome: C. elegans chrX
#
# Usage: scripts/fetch-dna.sh
set -euo pipefail
shopt -s inherit_errexit
cd "$(dirname "$0")/.."
dest=data/dna
mkdir -p "$dest"
tmp=$(mktemp -d)
trap 'rm -rf "$tmp" "$dest"/.stage.*' EXIT
updated=no

say() { echo "fetch-dna: $*"; }

# deb PKG: downloads PKG's .deb alone and unpacks it; prints the folder.
deb() {
	local pkg=$1 dir=$tmp/$1
	if [ ! -d "$dir" ]; then
		mkdir -p "$dir/deb" "$dir/root"
		say "apt-get download $pkg" >&2
		if ! (cd "$dir/deb" && apt-get download -qq "$pkg" >/dev/null 2>&1); then
			if [ "$updated" = no ]; then
				say "download failed; apt-get update (quietly) and retry" >&2
				apt-get update -qq >/dev/null
				updated=yes
			fi
			(cd "$dir/deb" && apt-get download -qq "$pkg" >/dev/null)
		fi
		local f
		f=$(ls "$dir/deb"/*.deb)
		say "dpkg -x $(basename "$f")" >&2
		dpkg -x "$f" "$dir/root"
	fi
	echo "$dir/root"
}

# place SRC... DEST_DIR: checks each gzip file and copies them into a fresh
# folder that is then renamed to DEST_DIR, so an interrupted run leaves no
# half-filled target behind.
place() {
	local target=${!#} stage n=$(($# - 1))
	stage=$(mktemp -d "$dest/.stage.XXXXXX")
	for f in "${@:1:$n}"; do
		gzip -t "$f"
		cp "$f" "$stage/"
	done
	mkdir -p "$(dirname "$target")"
	mv "$stage" "$target"
}

# place_file SRC DEST: the same for a single file.
place_file() {
	local src=$1 target=$2
	gzip -t "$src"
	mkdir -p "$(dirname "$target")"
	cp "$src" "$target.part"
	mv "$target.part" "$target"
}

for sp in E.Coli V.Cholerae S.Aureus H.Pylori; do
	if [ -d "$dest/ragout/$sp" ]; then
		say "have $dest/ragout/$sp"
		continue
	fi
	root=$(deb ragout-examples)
	src=$root/usr/share/doc/ragout/examples/$sp/references
	say "ragout-examples: $sp reference genomes -> $dest/ragout/$sp"
	place "$src"/*.fasta.gz "$dest/ragout/$sp"
done

get_one() { # PKG PATH-IN-PKG DEST
	local pkg=$1 path=$2 target=$3
	if [ -f "$target" ]; then
		say "have $target"
		return
	fi
	local root
	root=$(deb "$pkg")
	say "$pkg: $path -> $target"
	place_file "$root/$path" "$target"
}

get_one r-bioc-dada2 usr/lib/R/site-library/dada2/extdata/ten_16s.100.fa.gz "$dest/16s/ten_16s.100.fa.gz"
get_one bowtie2-examples usr/share/doc/bowtie2/examples/reference/lambda_virus.fa.gz "$dest/lambda_virus.fa.gz"
get_one r-bioc-bsgenome usr/lib/R/site-library/BSgenome/extdata/ce2chrX.fa.gz "$dest/ce2chrX.fa.gz"

say "done:"
(cd "$dest" && find . -name '*.gz' -type f -printf '%10s  %P\n' | sort -k2)
say "$(du -sh "$dest" | cut -f1) in $dest"
