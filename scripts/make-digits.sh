#!/usr/bin/env bash
# Synthesises a spoken-digit training set in the manner of SC09 (Speech
# Commands "zero" … "nine": 1 s clips, 16 kHz) with espeak-ng and flite, into
# data/audio/digits/ (ignored by git). The real Asterisk recordings that
# scripts/fetch-audio.sh fetches are the natural held-out test of
# generalisation to real speech.
#
# Layout (the SC09 layout, read by datasets.ReadAudioFolder):
#   data/audio/digits/<word>/<voice>_<speed>_<pitch>.wav   16 kHz mono 16-bit, exactly 16000 samples
#   data/audio/digits/voices.txt                            the configurations, one a line
# <word> is zero one two three four five six seven eight nine.
# <voice> names the synthetic speaker and never contains "_":
#   espeak.<accent>+<variant>   espeak-ng voice <accent> (en-gb, en-us, en-gb-scotland,
#                               en-gb-x-gbclan, en-gb-x-rp, en-gb-x-gbcwmd, en-029, en-us-nyc)
#                               with voice variant <variant> (m1…m7, f1…f5, croak, whisper,
#                               whisperf, klatt2); <speed> words per minute, <pitch> 0–99
#   flite.<name>                flite voice awb, kal16, rms or slt; <speed> is
#                               duration_stretch × 100 (115 = 15 % slower), <pitch> is
#                               int_f0_target_mean in Hz
# So the text before the first "_" of a file name is the voice, and before the
# "+" (espeak) the accent: a caller holds out speakers by splitting on either,
# e.g. every file whose name starts with "espeak.en-029+" or "flite.rms_".
# Every word has the same list of configurations (voices.txt), so a split by
# voice is balanced across the ten classes.
#
# Each clip: synthesise (espeak-ng at amplitude -a 60: its default 100 clips
# some whisperf and m3 clips at full scale), resample to 16 kHz (sox, no
# dither), trim leading and
# trailing silence (below 0.3 % of full scale), then pad with zeros on both
# sides equally (odd sample to the right) to 16000 samples, or, if longer than
# 1 s, keep the centred 16000 samples. Deterministic: the same configuration
# list and the same bytes every run. Idempotent: when every word folder holds
# the expected number of clips and voices.txt is what this version of the
# script writes (it names the recipe), it does nothing; otherwise it makes them all
# again in data/audio/digits.tmp, checks every clip is 16000 samples, and
# swaps the folder in. Installs espeak-ng, flite and sox with apt-get (quietly)
# when they are missing. Runs the configurations in parallel (xargs -P nproc).
#
# Usage: scripts/make-digits.sh
set -euo pipefail
cd "$(dirname "$0")/.."

# one CONFIG: make the clips of one configuration, one per word, in $dst/<word>/
# (called by xargs). CONFIG = engine voice variant speed pitch; $dst and
# $scratch come from the environment.
one() {
	local engine=$1 voice=$2 variant=$3 speed=$4 pitch=$5 file word n left right raw trim
	file=$(name "$@")
	for word in "${words[@]}"; do
		raw=$scratch/$word.$file trim=$scratch/$word.trim.$file
		case "$engine" in
		espeak) espeak-ng -v "$voice+$variant" -a 60 -s "$speed" -p "$pitch" -w "$raw" "$word" ;;
		flite)
			flite -voice "$voice" -t "$word" -o "$raw" \
				--setf duration_stretch="$((speed / 100)).$(printf %02d $((speed % 100)))" \
				--setf int_f0_target_mean="$pitch"
			;;
		*) echo "make-digits: unknown engine $engine" >&2; return 1 ;;
		esac
		sox -D -R -V1 "$raw" -r 16000 -c 1 -b 16 -e signed-integer "$trim" \
			silence 1 0.005 0.3% reverse silence 1 0.005 0.3% reverse
		n=$(soxi -s "$trim")
		if [ "$n" -eq 0 ]; then
			echo "make-digits: $word $file: nothing above the silence threshold" >&2
			return 1
		elif [ "$n" -le 16000 ]; then
			left=$(((16000 - n) / 2))
			right=$((16000 - n - left))
			sox -D -R -V1 "$trim" "$dst/$word/$file" pad "${left}s" "${right}s"
		else
			echo "make-digits: $word $file: $n samples after trimming silence, keeping the centred 16000" >&2
			sox -D -R -V1 "$trim" "$dst/$word/$file" trim "$(((n - 16000) / 2))s" 16000s
		fi
	done
}

out=data/audio/digits
words=(zero one two three four five six seven eight nine)
accents=(en-gb en-us en-gb-scotland en-gb-x-gbclan en-gb-x-rp en-gb-x-gbcwmd en-029 en-us-nyc)
variants=(m1 m2 m3 m4 m5 m6 m7 f1 f2 f3 f4 f5 croak whisper whisperf klatt2)
speeds=(120 140 160 180 200 220)
pitches=(20 30 40 50 60 70 80)

# The configurations: every accent × variant, twice, with (speed, pitch)
# stepping through speeds × pitches (6 and 7 are coprime, so 42 successive
# clips take all 42 pairs); flite: 4 voices × 3 stretches × 3 mean pitches.
configs() {
	local j=0 a v k voice stretch f0
	for a in "${accents[@]}"; do
		for v in "${variants[@]}"; do
			for k in 0 1; do
				echo "espeak $a $v ${speeds[j % 6]} ${pitches[j % 7]}"
				j=$((j + 1))
			done
		done
	done
	for voice in awb kal16 rms slt; do
		for stretch in 90 100 115; do
			if [ "$voice" = slt ]; then f0s="150 175 200"; else f0s="90 110 130"; fi
			for f0 in $f0s; do
				echo "flite $voice - $stretch $f0"
			done
		done
	done
}
name() { # engine voice variant speed pitch → file name
	if [ "$1" = espeak ]; then echo "espeak.$2+$3_$4_$5.wav"; else echo "flite.$2_$4_$5.wav"; fi
}

if [ "${1:-}" = --one ]; then
	shift
	one "$@"
	exit
fi

want=$(configs | wc -l)
voices() {
	echo "# scripts/make-digits.sh: one line per synthetic voice configuration; every word has one clip of each."
	echo "# recipe 2: espeak-ng -a 60; sox -D to 16 kHz 16-bit, silence trimmed at 0.3 %, centred in 16000 samples"
	echo "# file engine voice variant speed pitch (espeak: wpm, 0-99; flite: duration_stretch*100, int_f0_target_mean Hz)"
	configs | while read -r e v var s p; do echo "$(name "$e" "$v" "$var" "$s" "$p") $e $v $var $s $p"; done
}
done_=1
for w in "${words[@]}"; do
	if [ ! -d "$out/$w" ] || [ "$(find "$out/$w" -maxdepth 1 -name '*.wav' | wc -l)" -ne "$want" ]; then
		done_=0
	fi
done
if [ "$done_" = 1 ] && [ "$(cat "$out/voices.txt" 2>/dev/null)" = "$(voices)" ]; then
	echo "make-digits: $out already holds $want clips for each of the 10 words ($(du -sh "$out" | cut -f1))"
	exit 0
fi

need=()
command -v espeak-ng >/dev/null || need+=(espeak-ng)
command -v flite >/dev/null || need+=(flite)
command -v sox >/dev/null || need+=(sox)
if [ ${#need[@]} -gt 0 ]; then
	echo "make-digits: installing ${need[*]}"
	export DEBIAN_FRONTEND=noninteractive
	if ! apt-get install -y -qq --no-install-recommends "${need[@]}" >/dev/null 2>&1; then
		apt-get update -qq >/dev/null
		apt-get install -y -qq --no-install-recommends "${need[@]}" >/dev/null
	fi
fi

start=$(date +%s)
export dst=$out.tmp scratch
scratch=$(mktemp -d)
trap 'rm -rf "$scratch"' EXIT
rm -rf "$dst"
mkdir -p "$dst"
for w in "${words[@]}"; do mkdir -p "$dst/$w"; done
voices >"$dst/voices.txt"
echo "make-digits: synthesising $want configurations × ${#words[@]} words on $(nproc) cores"
configs | xargs -P "$(nproc)" -L 1 "$0" --one
bad=$(find "$dst" -name '*.wav' -print0 | xargs -0 soxi -s | grep -cvx 16000 || true)
got=$(find "$dst" -name '*.wav' | wc -l)
if [ "$got" -ne $((want * ${#words[@]})) ] || [ "$bad" -ne 0 ]; then
	echo "make-digits: made $got clips ($bad not 16000 samples long), want $((want * ${#words[@]}))" >&2
	exit 1
fi
rm -rf "$out"
mv "$dst" "$out"
echo "make-digits: done in $(($(date +%s) - start)) s: $want configurations × ${#words[@]} words = $got clips, $(du -sh "$out" | cut -f1) in $out"
