#!/usr/bin/env bash
# Makes the WAV and FLAC files of this folder with sox (apt-get install sox),
# from one known signal, for datasets/audio_test.go:
#   101 frames at 8000 Hz, stereo, 16-bit:
#   L[i] = 256·((37·i mod 256) − 128),  R[i] = 256·((91·i + 13 mod 256) − 128)
# Every value is a multiple of 256, so each conversion below is exact
# (8-bit = v/256 + 128, 24-bit = v·256, 32-bit = v·65536, float = v/32768).
# 101 frames make the mono 8- and 24-bit data chunks odd-sized (a pad byte).
set -euo pipefail
cd "$(dirname "$0")"
raw=$(mktemp)
trap 'rm -f "$raw"' EXIT
LC_ALL=C awk 'BEGIN { for (i = 0; i < 101; i++) {
	printf "%c%c%c%c", 0, ((37*i) % 256 + 128) % 256, 0, ((91*i + 13) % 256 + 128) % 256 } }' >"$raw"
in=(-t raw -r 8000 -e signed-integer -b 16 -c 2 "$raw")
s() { sox -D -R -V1 "$@"; }
s "${in[@]}" -e signed-integer -b 16 pcm16_stereo.wav
s "${in[@]}" -e unsigned-integer -b 8 pcm8_left.wav remix 1
s "${in[@]}" -e signed-integer -b 24 pcm24_right.wav remix 2
s "${in[@]}" -e signed-integer -b 32 pcm32_stereo.wav
s "${in[@]}" -e floating-point -b 32 float32_stereo.wav
s "${in[@]}" -e signed-integer -b 16 pcm16_6ch.wav remix 1 2 1 2 1 2
s "${in[@]}" -e floating-point -b 64 float64_stereo.wav
s "${in[@]}" -e u-law ulaw.wav
s "${in[@]}" -e a-law alaw.wav
s "${in[@]}" -e ima-adpcm ima_adpcm.wav
s "${in[@]}" -e ms-adpcm ms_adpcm.wav
s "${in[@]}" -b 16 flac16_stereo.flac
s "${in[@]}" -b 24 flac24_right.flac remix 2
