#!/usr/bin/env bash
# Fetches real speech recordings into data/audio/ (ignored by git) from
# Debian's archive (see ../shared/DATA.md). Packages are downloaded with
# `apt-get download` and unpacked with `dpkg -x` into a temporary folder;
# nothing is installed. Idempotent: what is already there is kept.
#
#   data/audio/asterisk/<voice>/<d>.wav           digits 0–9, 8 kHz 16-bit mono, one speaker each:
#       en = en_US_f_Allison, es = es_MX_f_Allison, fr = fr_CA_f_June,
#       it = it_IT_m_Carlo, ru = ru_RU_f_IvrvoiceRU (asterisk-core-sounds-*-wav 1.6.1),
#       it_IT_f_Menardi (asterisk-prompt-it-menardi-wav; optional, skipped with a warning on failure)
#   data/audio/asterisk-prompts/<voice>/...       every other prompt of the same voices (same
#       tree as usr/share/asterisk/sounds/<speaker>/) for pretraining, WITHOUT digits/0..9.wav,
#       so that pretraining on the prompts never sees the held-out digit recordings
#   data/audio/asterisk/SPEAKERS.txt              <voice> <speaker> <package>
#   data/audio/codec2/*.wav                       codec2-examples 1.0.5 usr/share/codec2/wav/
#
# Usage: scripts/fetch-audio.sh
set -euo pipefail
cd "$(dirname "$0")/.."
out=data/audio
mkdir -p "$out"
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
chmod 755 "$tmp" # apt-get download runs as _apt where it can: let it write here
updated=0

say() { echo "fetch-audio: $*"; }

# download PKG: apt-get download into $tmp/deb, unpacked into $tmp/root.
# apt-get update is run (once) only when a first download fails.
download() {
	local pkg=$1
	mkdir -p "$tmp/deb" "$tmp/root"
	chmod 755 "$tmp/deb"
	if ! (cd "$tmp/deb" && apt-get download -q "$pkg" >/dev/null 2>&1); then
		if [ "$updated" = 0 ]; then
			say "apt-get download $pkg failed; running apt-get update"
			apt-get update -q >/dev/null
			updated=1
		fi
		(cd "$tmp/deb" && apt-get download -q "$pkg" >/dev/null 2>"$tmp/err") || {
			cat "$tmp/err" >&2
			return 1
		}
	fi
	local deb
	deb=$(ls "$tmp/deb/${pkg}"_*.deb)
	say "  $pkg: $(du -h "$deb" | cut -f1) package"
	dpkg -x "$deb" "$tmp/root"
	rm -f "$deb"
}

# copy_voice SPEAKER VOICE: digits and prompts of one unpacked speaker.
copy_voice() {
	local src=$tmp/root/usr/share/asterisk/sounds/$1 voice=$2 d
	if [ ! -d "$src/digits" ]; then
		say "error: $src/digits missing from the package" >&2
		exit 1
	fi
	mkdir -p "$out/asterisk/$voice.tmp"
	for d in 0 1 2 3 4 5 6 7 8 9; do
		cp "$src/digits/$d.wav" "$out/asterisk/$voice.tmp/$d.wav"
	done
	rm -rf "$out/asterisk-prompts/$voice" "$out/asterisk-prompts/$voice.tmp"
	mkdir -p "$out/asterisk-prompts"
	cp -r "$src" "$out/asterisk-prompts/$voice.tmp"
	for d in 0 1 2 3 4 5 6 7 8 9; do
		rm "$out/asterisk-prompts/$voice.tmp/digits/$d.wav"
	done
	mv "$out/asterisk-prompts/$voice.tmp" "$out/asterisk-prompts/$voice"
	rm -rf "$out/asterisk/$voice"
	mv "$out/asterisk/$voice.tmp" "$out/asterisk/$voice" # last: its presence marks the voice done
	say "  $voice ($1): 10 digits, $(find "$out/asterisk-prompts/$voice" -name '*.wav' | wc -l) prompts, $(du -sh "$out/asterisk-prompts/$voice" | cut -f1)"
	grep -v "^$voice " "$out/asterisk/SPEAKERS.txt" 2>/dev/null >"$tmp/speakers" || true
	echo "$voice $1 $3" >>"$tmp/speakers"
	sort "$tmp/speakers" >"$out/asterisk/SPEAKERS.txt"
	rm -rf "$tmp/root"
}

voice_done() { [ -f "$out/asterisk/$1/9.wav" ] && [ -d "$out/asterisk-prompts/$1" ]; }

mkdir -p "$out/asterisk"
for spec in en:en_US_f_Allison es:es_MX_f_Allison fr:fr_CA_f_June it:it_IT_m_Carlo ru:ru_RU_f_IvrvoiceRU; do
	voice=${spec%%:*} speaker=${spec#*:}
	if voice_done "$voice"; then
		continue
	fi
	say "asterisk-core-sounds-$voice-wav 1.6.1 ($speaker)"
	download "asterisk-core-sounds-$voice-wav"
	copy_voice "$speaker" "$voice" "asterisk-core-sounds-$voice-wav"
done

# The sixth speaker. Bookworm has the package in main; DATA.md lists it in
# non-free, so when it cannot be downloaded we add contrib/non-free in a
# separate sources file of our own and try again. Optional: warn on failure.
menardi() {
	local pkg=asterisk-prompt-it-menardi-wav src=/etc/apt/sources.list.d/mambakit-nonfree.sources
	say "$pkg (it_IT_f_Menardi, optional)"
	if ! download "$pkg" 2>/dev/null; then
		if [ ! -f "$src" ]; then
			say "  adding contrib non-free components in $src"
			printf '%s\n' 'Types: deb' 'URIs: http://deb.debian.org/debian' 'Suites: bookworm' \
				'Components: main contrib non-free' \
				'Signed-By: /usr/share/keyrings/debian-archive-keyring.gpg' >"$src" || return 1
		fi
		apt-get update -q >/dev/null || return 1
		download "$pkg" || return 1
	fi
	copy_voice it_IT_f_Menardi it_IT_f_Menardi "$pkg"
}
if ! voice_done it_IT_f_Menardi; then
	menardi || say "warning: asterisk-prompt-it-menardi-wav not fetched; continuing without the sixth speaker" >&2
fi

if [ ! -f "$out/codec2/.done" ]; then
	say "codec2-examples 1.0.5"
	download codec2-examples
	rm -rf "$out/codec2"
	mkdir -p "$out/codec2"
	cp "$tmp/root/usr/share/codec2/wav/"*.wav "$out/codec2/"
	touch "$out/codec2/.done"
	rm -rf "$tmp/root"
	say "  codec2: $(ls "$out/codec2/"*.wav | wc -l) clips, $(du -sh "$out/codec2" | cut -f1)"
fi

say "done: asterisk $(find "$out/asterisk" -name '*.wav' | wc -l) digit files ($(du -sh "$out/asterisk" | cut -f1))," \
	"asterisk-prompts $(find "$out/asterisk-prompts" -name '*.wav' | wc -l) files ($(du -sh "$out/asterisk-prompts" | cut -f1))," \
	"codec2 $(ls "$out/codec2/"*.wav | wc -l) files ($(du -sh "$out/codec2" | cut -f1))"
