package datasets

import (
	"bytes"
	"encoding/binary"
	"fmt"
	"math"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"

	"github.com/mambakit/mambakit/modalities/audio"
)

// The signal of testdata/audio (see make.sh there): 101 frames, stereo.
func testSignal() (left, right []int) {
	for i := range 101 {
		left = append(left, 256*((37*i)%256-128))
		right = append(right, 256*((91*i+13)%256-128))
	}
	return left, right
}

func wantAudio(t *testing.T, path string, got []float32, rate int, want []float64, wantRate int) {
	t.Helper()
	if rate != wantRate {
		t.Errorf("%s: rate %d, want %d", path, rate, wantRate)
	}
	if len(got) != len(want) {
		t.Fatalf("%s: %d samples, want %d", path, len(got), len(want))
	}
	for i := range want {
		if float64(got[i]) != want[i] {
			t.Fatalf("%s: sample %d is %v, want %v", path, i, got[i], want[i])
		}
	}
}

func TestReadAudioSoxFiles(t *testing.T) {
	l, r := testSignal()
	mean, left, right := make([]float64, len(l)), make([]float64, len(l)), make([]float64, len(l))
	for i := range l {
		mean[i] = float64(l[i]+r[i]) / 2 / 32768
		left[i] = float64(l[i]) / 32768
		right[i] = float64(r[i]) / 32768
	}
	for _, c := range []struct {
		file string
		want []float64
	}{
		{"pcm16_stereo.wav", mean},   // format 1
		{"pcm8_left.wav", left},      // unsigned 8-bit, 101 bytes of data + a pad byte
		{"pcm24_right.wav", right},   // WAVE_FORMAT_EXTENSIBLE, 303 bytes + a pad byte, fact chunk
		{"pcm32_stereo.wav", mean},   // extensible
		{"float32_stereo.wav", mean}, // format 3
		{"pcm16_6ch.wav", mean},      // extensible, six channels L R L R L R
		{"flac16_stereo.flac", mean},
		{"flac24_right.flac", right},
	} {
		p := filepath.Join("testdata", "audio", c.file)
		got, rate, err := ReadAudio(p)
		if err != nil {
			t.Errorf("%v", err)
			continue
		}
		wantAudio(t, p, got, rate, c.want, 8000)
	}
}

func TestReadAudioUnsupported(t *testing.T) {
	for file, what := range map[string]string{
		"float64_stereo.wav": "64-bit IEEE float",
		"ima_adpcm.wav":      "IMA ADPCM",
		"ms_adpcm.wav":       "Microsoft ADPCM",
		"make.sh":            "not a WAV (RIFF/WAVE) or FLAC",
	} {
		p := filepath.Join("testdata", "audio", file)
		_, _, err := ReadAudio(p)
		if err == nil || !strings.Contains(err.Error(), p) || !strings.Contains(err.Error(), what) {
			t.Errorf("ReadAudio(%s): error %v, want one naming the file and %q", p, err, what)
		}
	}
}

// wavFile builds a WAV file: fmt is the fmt chunk body, chunks go between
// fmt and data, and data is the data chunk body (padded to even length).
type wavFile struct {
	fmt    []byte
	before [][]byte // whole chunks before fmt
	after  [][]byte // whole chunks between fmt and data
	data   []byte
	noPad  bool // leave out the pad byte of an odd data chunk
}

func chunk(id string, body []byte) []byte {
	b := append([]byte(id), 0, 0, 0, 0)
	binary.LittleEndian.PutUint32(b[4:], uint32(len(body)))
	b = append(b, body...)
	if len(body)%2 == 1 {
		b = append(b, 0)
	}
	return b
}

func fmtBody(format, channels, rate, bits int) []byte {
	b := make([]byte, 16)
	binary.LittleEndian.PutUint16(b[0:], uint16(format))
	binary.LittleEndian.PutUint16(b[2:], uint16(channels))
	binary.LittleEndian.PutUint32(b[4:], uint32(rate))
	binary.LittleEndian.PutUint32(b[8:], uint32(rate*channels*bits/8))
	binary.LittleEndian.PutUint16(b[12:], uint16(channels*bits/8))
	binary.LittleEndian.PutUint16(b[14:], uint16(bits))
	return b
}

// extensible turns a plain fmt body into WAVE_FORMAT_EXTENSIBLE with the
// given sub-format tag.
func extensible(plain []byte, sub uint16) []byte {
	b := append([]byte(nil), plain...)
	binary.LittleEndian.PutUint16(b[0:], 0xFFFE)
	ext := make([]byte, 24)
	binary.LittleEndian.PutUint16(ext[0:], 22)
	copy(ext[2:4], b[14:16]) // valid bits = container bits
	binary.LittleEndian.PutUint16(ext[8:], sub)
	copy(ext[10:], wavGUIDTail)
	return append(b, ext...)
}

func (w wavFile) bytes() []byte {
	var body []byte
	body = append(body, "WAVE"...)
	for _, c := range w.before {
		body = append(body, c...)
	}
	body = append(body, chunk("fmt ", w.fmt)...)
	for _, c := range w.after {
		body = append(body, c...)
	}
	d := chunk("data", w.data)
	if w.noPad && len(w.data)%2 == 1 {
		d = d[:len(d)-1]
	}
	body = append(body, d...)
	return append(chunk("RIFF", body)[:8], body...)
}

func writeTemp(t *testing.T, name string, b []byte) string {
	t.Helper()
	p := filepath.Join(t.TempDir(), name)
	if err := os.WriteFile(p, b, 0o644); err != nil {
		t.Fatal(err)
	}
	return p
}

func le16(v ...int) []byte {
	var b []byte
	for _, x := range v {
		b = binary.LittleEndian.AppendUint16(b, uint16(int16(x)))
	}
	return b
}

func f32(v ...float32) []byte {
	var b []byte
	for _, x := range v {
		b = binary.LittleEndian.AppendUint32(b, math.Float32bits(x))
	}
	return b
}

func TestReadAudioHandWritten(t *testing.T) {
	list := chunk("LIST", append([]byte("INFO"), chunk("INAM", []byte("odd"))...)) // odd-sized inner chunk
	cases := []struct {
		name string
		w    wavFile
		want []float64
		rate int
	}{
		{"16-bit mono", wavFile{fmt: fmtBody(1, 1, 16000, 16), data: le16(0, 1, -1, 32767, -32768, 16384)},
			[]float64{0, 1.0 / 32768, -1.0 / 32768, 32767.0 / 32768, -1, 0.5}, 16000},
		{"LIST and JUNK before fmt, odd chunk before data", wavFile{
			fmt: fmtBody(1, 2, 22050, 16), before: [][]byte{list, chunk("JUNK", make([]byte, 5))},
			after: [][]byte{chunk("junk", []byte{1, 2, 3})}, data: le16(1000, 3000, -32768, 32767)},
			[]float64{2000.0 / 32768, -0.5 / 32768}, 22050},
		{"8-bit unsigned, odd count", wavFile{fmt: fmtBody(1, 1, 8000, 8), data: []byte{0, 128, 255, 64, 192}},
			[]float64{-1, 0, 127.0 / 128, -0.5, 0.5}, 8000},
		{"8-bit odd count without the pad byte", wavFile{fmt: fmtBody(1, 1, 8000, 8), data: []byte{0, 128, 255}, noPad: true},
			[]float64{-1, 0, 127.0 / 128}, 8000},
		{"24-bit stereo", wavFile{fmt: fmtBody(1, 2, 48000, 24), data: []byte{0, 0, 0x80, 0xff, 0xff, 0x7f, 0x01, 0, 0, 0xff, 0xff, 0xff}},
			[]float64{-0.5 / 8388608, 0}, 48000},
		{"32-bit", wavFile{fmt: fmtBody(1, 1, 8000, 32), data: binary.LittleEndian.AppendUint32(binary.LittleEndian.AppendUint32(nil, 0x80000000), 0x40000000)},
			[]float64{-1, 0.5}, 8000},
		{"float, clipped beyond ±1", wavFile{fmt: fmtBody(3, 1, 8000, 32), data: f32(0.25, -0.75, 1.5, -2, 1)},
			[]float64{0.25, -0.75, 1, -1, 1}, 8000},
		{"extensible float stereo", wavFile{fmt: extensible(fmtBody(3, 2, 44100, 32), 3), data: f32(0.5, 0.25, -1, 0)},
			[]float64{0.375, -0.5}, 44100},
		{"extensible PCM 16-bit", wavFile{fmt: extensible(fmtBody(1, 1, 8000, 16), 1), data: le16(-16384, 8192)},
			[]float64{-0.5, 0.25}, 8000},
	}
	for _, c := range cases {
		p := writeTemp(t, "x.wav", c.w.bytes())
		got, rate, err := ReadAudio(p)
		if err != nil {
			t.Errorf("%s: %v", c.name, err)
			continue
		}
		wantAudio(t, c.name, got, rate, c.want, c.rate)
	}
}

func TestReadAudioErrors(t *testing.T) {
	good := wavFile{fmt: fmtBody(1, 1, 8000, 16), data: le16(1, 2, 3, 4)}.bytes()
	badGUID := extensible(fmtBody(1, 1, 8000, 16), 1)
	badGUID[len(badGUID)-1] ^= 0xff
	badAlign := fmtBody(1, 2, 8000, 16)
	binary.LittleEndian.PutUint16(badAlign[12:], 3)
	riffOnly := []byte("RIFF\x04\x00\x00\x00WAVE")
	flac, err := os.ReadFile(filepath.Join("testdata", "audio", "flac16_stereo.flac"))
	if err != nil {
		t.Fatal(err)
	}
	flacFlipped := append([]byte(nil), flac...)
	flacFlipped[len(flac)-40] ^= 0x10
	for _, c := range []struct {
		name, want string
		b          []byte
	}{
		{"empty", "empty file", nil},
		{"text", "not a WAV (RIFF/WAVE) or FLAC", []byte("hello, world\n")},
		{"RIFF AVI", `not WAVE`, []byte("RIFF\x04\x00\x00\x00AVI ")},
		{"RIFF header only", "no fmt chunk", riffOnly},
		{"data cut short", "truncated: the data chunk declares 8 bytes of samples but only 5 follow", good[:len(good)-3]},
		{"fmt cut short", `truncated: the "fmt " chunk`, good[:30]},
		{"stray bytes", "truncated: 3 stray bytes", append(append([]byte(nil), good...), 1, 2, 3)},
		{"partial frame", "not a whole number of 4-byte frames", wavFile{fmt: fmtBody(1, 2, 8000, 16), data: le16(1, 2, 3)}.bytes()},
		{"no data", "no data chunk", append(chunk("RIFF", append([]byte("WAVE"), chunk("fmt ", fmtBody(1, 1, 8000, 16))...))[:8], append([]byte("WAVE"), chunk("fmt ", fmtBody(1, 1, 8000, 16))...)...)},
		{"no samples", "holds no samples", wavFile{fmt: fmtBody(1, 1, 8000, 16)}.bytes()},
		{"16-bit µ-law", "µ-law (WAVE format 0x0007)", wavFile{fmt: fmtBody(7, 1, 8000, 16), data: []byte{1, 2}}.bytes()},
		{"extensible unknown GUID", "unknown sub-format GUID", wavFile{fmt: badGUID, data: le16(1)}.bytes()},
		{"64-bit float", "64-bit IEEE float", wavFile{fmt: fmtBody(3, 1, 8000, 64), data: make([]byte, 16)}.bytes()},
		{"12-bit", "12-bit integer PCM", wavFile{fmt: fmtBody(1, 1, 8000, 12), data: make([]byte, 4)}.bytes()},
		{"MP3", "MPEG layer 3", wavFile{fmt: fmtBody(0x55, 1, 8000, 16), data: make([]byte, 4)}.bytes()},
		{"0 channels", "0 channels", wavFile{fmt: fmtBody(1, 0, 8000, 16), data: make([]byte, 4)}.bytes()},
		{"0 Hz", "sample rate of 0 Hz", wavFile{fmt: fmtBody(1, 1, 0, 16), data: make([]byte, 4)}.bytes()},
		{"block align", "declares 3-byte frames, but 2 channels of 16 bits make 4", wavFile{fmt: badAlign, data: make([]byte, 12)}.bytes()},
		{"NaN", "frame 1 channel 0: non-finite float sample NaN", wavFile{fmt: fmtBody(3, 1, 8000, 32), data: f32(0, float32(math.NaN()))}.bytes()},
		{"infinity", "non-finite float sample +Inf", wavFile{fmt: fmtBody(3, 1, 8000, 32), data: f32(float32(math.Inf(1)))}.bytes()},
		{"short fmt", "fmt chunk of 14 bytes", wavFile{fmt: fmtBody(1, 1, 8000, 16)[:14], data: le16(1)}.bytes()},
		{"data before fmt", "data chunk comes before any fmt chunk", append(chunk("RIFF", nil)[:8], append([]byte("WAVE"), append(chunk("data", le16(1)), chunk("fmt ", fmtBody(1, 1, 8000, 16))...)...)...)},
		{"FLAC cut short", "truncated FLAC", flac[:len(flac)-60]},
		{"FLAC header only", "FLAC", flac[:20]},
		{"FLAC bit flipped", "FLAC frame after sample 0", flacFlipped},
	} {
		p := writeTemp(t, "bad-"+strings.ReplaceAll(c.name, " ", "_"), c.b)
		_, _, err := ReadAudio(p)
		if err == nil || !strings.Contains(err.Error(), p+": ") || !strings.Contains(err.Error(), c.want) {
			t.Errorf("%s: error %v, want one naming %s and saying %q", c.name, err, p, c.want)
		}
	}
	if _, _, err := ReadAudio(filepath.Join(t.TempDir(), "missing.wav")); err == nil || !strings.Contains(err.Error(), "missing.wav") {
		t.Errorf("missing file: %v", err)
	}
}

// Every prefix of a good file is an error, never a panic or a short read.
func TestReadAudioEveryTruncation(t *testing.T) {
	for _, file := range []string{"pcm24_right.wav", "pcm16_6ch.wav", "float32_stereo.wav", "flac16_stereo.flac", "flac24_right.flac"} {
		b, err := os.ReadFile(filepath.Join("testdata", "audio", file))
		if err != nil {
			t.Fatal(err)
		}
		p := filepath.Join(t.TempDir(), file)
		for n := 0; n < len(b); n++ {
			if err := os.WriteFile(p, b[:n], 0o644); err != nil {
				t.Fatal(err)
			}
			if x, _, err := ReadAudio(p); err == nil {
				// Only a cut in a WAV file's pad byte may still read fully.
				if strings.HasSuffix(file, ".wav") && n == len(b)-1 && len(x) == 101 {
					continue
				}
				t.Errorf("%s cut to %d of %d bytes read as %d samples without error", file, n, len(b), len(x))
			}
		}
	}
}

func TestWriteWAV16(t *testing.T) {
	dir := t.TempDir()
	p := filepath.Join(dir, "out.wav")
	in := []float32{0, 0.5, -0.5, 1, -1, 1.5, -1.5, 1.0 / 32768, 0.3}
	if err := WriteWAV16(p, in, 16000); err != nil {
		t.Fatal(err)
	}
	b, err := os.ReadFile(p)
	if err != nil {
		t.Fatal(err)
	}
	// The canonical 44-byte header, then the samples, by hand.
	want := []byte("RIFF")
	want = binary.LittleEndian.AppendUint32(want, uint32(36+2*len(in)))
	want = append(want, "WAVEfmt "...)
	want = append(want, 16, 0, 0, 0, 1, 0, 1, 0)
	want = binary.LittleEndian.AppendUint32(want, 16000)
	want = binary.LittleEndian.AppendUint32(want, 32000)
	want = append(want, 2, 0, 16, 0)
	want = append(want, "data"...)
	want = binary.LittleEndian.AppendUint32(want, uint32(2*len(in)))
	want = append(want, le16(0, 16384, -16384, 32767, -32768, 32767, -32768, 1, 9830)...) // 0.3·32768 = 9830.4
	if !bytes.Equal(b, want) {
		t.Fatalf("WriteWAV16 wrote\n% x\nwant\n% x", b, want)
	}
	got, rate, err := ReadAudio(p)
	if err != nil || rate != 16000 || len(got) != len(in) {
		t.Fatalf("read back: %d samples at %d Hz, %v", len(got), rate, err)
	}
	for i, x := range in {
		if d := math.Abs(float64(got[i]) - max(-1, min(1, float64(x)))); d > 1.0/32768 {
			t.Errorf("sample %d: wrote %v, read %v", i, x, got[i])
		}
	}
	// Overwrite in place, and leave nothing else behind.
	if err := WriteWAV16(p, []float32{0.25}, 8000); err != nil {
		t.Fatal(err)
	}
	if got, rate, err := ReadAudio(p); err != nil || rate != 8000 || len(got) != 1 || got[0] != 0.25 {
		t.Errorf("after overwriting: %v at %d Hz, %v", got, rate, err)
	}
	if ents, _ := os.ReadDir(dir); len(ents) != 1 {
		t.Errorf("the folder holds %d entries after two writes, want 1", len(ents))
	}
	for _, c := range []struct {
		path string
		x    []float32
		rate int
		want string
	}{
		{p, nil, 8000, "no samples"},
		{p, []float32{0, float32(math.NaN())}, 8000, "sample 1 is NaN"},
		{p, []float32{0}, 0, "sample rate 0"},
		{filepath.Join(dir, "no", "such", "dir.wav"), []float32{0}, 8000, "dir.wav"},
	} {
		if err := WriteWAV16(c.path, c.x, c.rate); err == nil || !strings.Contains(err.Error(), c.want) {
			t.Errorf("WriteWAV16(%s, %v, %d): %v, want an error saying %q", c.path, c.x, c.rate, err, c.want)
		}
	}
	if got, _, err := ReadAudio(p); err != nil || len(got) != 1 {
		t.Errorf("a failed write changed the file: %v %v", got, err)
	}
}

func mkfiles(t *testing.T, root string, files ...string) {
	t.Helper()
	for _, f := range files {
		p := filepath.Join(root, f)
		if strings.HasSuffix(f, "/") {
			if err := os.MkdirAll(p, 0o755); err != nil {
				t.Fatal(err)
			}
			continue
		}
		if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(p, nil, 0o644); err != nil {
			t.Fatal(err)
		}
	}
}

func TestReadAudioFolder(t *testing.T) {
	root := t.TempDir()
	mkfiles(t, root, "two/b.wav", "two/a.WAV", "one/z.flac", "one/y.wav", "one/.hidden", ".git/x", "voices.txt")
	items, classes, err := ReadAudioFolder(root)
	if err != nil {
		t.Fatal(err)
	}
	if fmt.Sprint(classes) != "[one two]" {
		t.Errorf("classes %v, want [one two]", classes)
	}
	var got []string
	for _, it := range items {
		rel, _ := filepath.Rel(root, it.Path)
		got = append(got, it.Label+":"+rel)
	}
	if want := "[one:one/y.wav one:one/z.flac two:two/a.WAV two:two/b.wav]"; fmt.Sprint(got) != want {
		t.Errorf("items %v, want %s", got, want)
	}
	for _, c := range []struct {
		files []string
		want  string
	}{
		{[]string{"readme.txt"}, "no class folders"},
		{[]string{"a/x.wav", "b/"}, "class folder without .wav or .flac files"},
		{[]string{"a/x.wav", "a/notes.txt"}, "notes.txt: not a .wav or .flac file"},
		{[]string{"a/x.wav", "a/sub/y.wav"}, "a folder inside class folder"},
	} {
		r := t.TempDir()
		mkfiles(t, r, c.files...)
		if _, _, err := ReadAudioFolder(r); err == nil || !strings.Contains(err.Error(), c.want) {
			t.Errorf("%v: error %v, want %q", c.files, err, c.want)
		}
	}
	if _, _, err := ReadAudioFolder(filepath.Join(root, "missing")); err == nil {
		t.Error("a missing root gave no error")
	}
}

// The real recordings of scripts/fetch-audio.sh. Lengths in samples are
// those soxi reports for the same files.
func TestAsteriskDigits(t *testing.T) {
	lengths := map[string][10]int{
		"en":              {6998, 7290, 5978, 6706, 6415, 6561, 7047, 6561, 5540, 6870},
		"es":              {7115, 5459, 5461, 5370, 6994, 7208, 6510, 6710, 5619, 7091},
		"fr":              {5031, 3743, 4740, 4536, 4723, 5588, 5758, 5538, 4490, 5025},
		"it":              {3680, 3040, 3517, 1760, 4285, 4244, 3337, 4072, 3883, 3839},
		"ru":              {3741, 4505, 3814, 2655, 4875, 3392, 4786, 3771, 5251, 4691},
		"it_IT_f_Menardi": {3964, 3106, 3977, 2684, 4017, 4891, 5787, 5829, 4181, 4740},
	}
	NeedFetched(t, "audio/asterisk/en/1.wav")
	for voice, ls := range lengths {
		if voice == "it_IT_f_Menardi" {
			// Optional in fetch-audio.sh: it warns and continues without it.
			if _, ok := Fetched("audio/asterisk/it_IT_f_Menardi/0.wav"); !ok {
				t.Logf("%s not fetched (optional)", voice)
				continue
			}
		}
		for d, n := range ls {
			p := NeedFetched(t, fmt.Sprintf("audio/asterisk/%s/%d.wav", voice, d))
			x, rate, err := ReadAudio(p)
			if err != nil {
				t.Fatal(err)
			}
			if rate != 8000 || len(x) != n {
				t.Errorf("%s: %d samples at %d Hz, want %d at 8000", p, len(x), rate, n)
			}
			if y := audio.Resample(x, rate, 16000); len(y) != 2*n {
				t.Errorf("%s: %d samples at 16 kHz, want %d", p, len(y), 2*n)
			}
			checkSpeech(t, p, x)
		}
	}
}

// checkSpeech asserts that x is a real recording, not silence or a clipped
// square: peak well above the noise floor and below full scale.
func checkSpeech(t *testing.T, p string, x []float32) {
	t.Helper()
	var peak, ss float64
	for _, v := range x {
		peak = max(peak, math.Abs(float64(v)))
		ss += float64(v) * float64(v)
	}
	rms := math.Sqrt(ss / float64(len(x)))
	if peak < 0.05 || peak >= 1 || rms < 0.005 {
		t.Errorf("%s: peak %.4f, RMS %.4f: not like speech", p, peak, rms)
	}
}

func TestCodec2Clips(t *testing.T) {
	NeedFetched(t, "audio/codec2/hts1a.wav")
	// Rate and length as soxi reports them; cross.wav is G.711 µ-law.
	clips := map[string][2]int{
		"all.wav": {8000, 456912}, "big_dog.wav": {8000, 20000}, "david4.wav": {8000, 240000},
		"f2400.wav": {8000, 13841}, "forig.wav": {8000, 12612}, "hts1a.wav": {8000, 24000},
		"hts2a.wav": {8000, 24000}, "m2400.wav": {8000, 16812}, "mmt1.wav": {8000, 32000},
		"morig.wav": {8000, 16028}, "ve9qrp.wav": {8000, 899584}, "vk2tpm_004.wav": {8000, 280000},
		"vk5qi.wav": {8000, 108358}, "wia_16kHz.wav": {16000, 16000}, "cross.wav": {8000, 24000},
	}
	files, err := filepath.Glob(filepath.Join(DataDir(), "audio", "codec2", "*.wav"))
	if err != nil {
		t.Fatal(err)
	}
	if len(files) != len(clips) {
		t.Errorf("%d codec2 clips, want %d", len(files), len(clips))
	}
	for _, p := range files {
		x, rate, err := ReadAudio(p)
		name := filepath.Base(p)
		want, ok := clips[name]
		if !ok {
			t.Errorf("%s: an unexpected clip", p)
			continue
		}
		if err != nil {
			t.Fatal(err)
		}
		if rate != want[0] || len(x) != want[1] {
			t.Errorf("%s: %d samples at %d Hz, want %d at %d", p, len(x), rate, want[1], want[0])
		}
		wantN := (len(x)*16000 + rate - 1) / rate
		if y := audio.Resample(x, rate, 16000); len(y) != wantN {
			t.Errorf("%s: %d samples at 16 kHz, want %d", p, len(y), wantN)
		}
	}
}

// The synthetic spoken digits of scripts/make-digits.sh.
func TestSyntheticDigits(t *testing.T) {
	NeedFetched(t, "audio/digits/voices.txt")
	root := filepath.Join(DataDir(), "audio", "digits")
	items, classes, err := ReadAudioFolder(root)
	if err != nil {
		t.Fatal(err)
	}
	words := "[eight five four nine one seven six three two zero]"
	if fmt.Sprint(classes) != words {
		t.Fatalf("classes %v, want %s", classes, words)
	}
	voices, err := os.ReadFile(filepath.Join(root, "voices.txt"))
	if err != nil {
		t.Fatal(err)
	}
	var configs []string
	for _, line := range strings.Split(strings.TrimSpace(string(voices)), "\n") {
		if !strings.HasPrefix(line, "#") {
			configs = append(configs, strings.Fields(line)[0])
		}
	}
	if len(items) != 10*len(configs) || len(configs) != 292 {
		t.Fatalf("%d clips for %d configurations, want 10 × 292", len(items), len(configs))
	}
	perVoice := map[string]int{}
	for _, it := range items {
		base := filepath.Base(it.Path)
		voice, _, _ := strings.Cut(base, "_")
		if !strings.HasPrefix(voice, "espeak.en-") && !strings.HasPrefix(voice, "flite.") {
			t.Errorf("%s: the voice %q names no engine", it.Path, voice)
		}
		perVoice[voice]++
		x, rate, err := ReadAudio(it.Path)
		if err != nil {
			t.Fatal(err)
		}
		if rate != 16000 || len(x) != 16000 {
			t.Fatalf("%s: %d samples at %d Hz, want 16000 at 16000 (1 s)", it.Path, len(x), rate)
		}
		checkSpeech(t, it.Path, x)
	}
	// 128 espeak voices (8 accents × 16 variants), each at two speed/pitch
	// settings, and 4 flite voices at 9; every word has all of them.
	if len(perVoice) != 132 {
		t.Errorf("%d distinct voices, want 132", len(perVoice))
	}
	for v, n := range perVoice {
		want := 20
		if strings.HasPrefix(v, "flite.") {
			want = 90
		}
		if n != want {
			t.Errorf("voice %s has %d clips, want %d", v, n, want)
		}
	}
}

// TestG711 checks the µ-law and A-law expansions against values of the
// reference tables (ITU-T G.711, as in Sun's g711.c), and against sox on a
// real µ-law file.
func TestG711(t *testing.T) {
	for b, want := range map[byte]int{0xff: 0, 0x7f: 0, 0x00: -32124, 0x80: 32124, 0xf0: 120, 0x70: -120} {
		if got := g711MuLaw(b); got != want {
			t.Errorf("µ-law %#02x → %d, want %d", b, got, want)
		}
	}
	for b, want := range map[byte]int{0xd5: 8, 0x55: -8, 0xaa: 32256, 0x2a: -32256} {
		if got := g711ALaw(b); got != want {
			t.Errorf("A-law %#02x → %d, want %d", b, got, want)
		}
	}
	if _, err := exec.LookPath("sox"); err != nil {
		t.Skip("sox is not installed (scripts/make-digits.sh installs it)")
	}
	files := []string{filepath.Join("testdata", "audio", "ulaw.wav"), filepath.Join("testdata", "audio", "alaw.wav")}
	if p, ok := Fetched("audio/codec2/cross.wav"); ok {
		files = append(files, p)
	}
	for _, p := range files {
		x, _, err := ReadAudio(p)
		if err != nil {
			t.Fatal(err)
		}
		// sox's own expansion, mixed to mono as ReadAudio does.
		out, err := exec.Command("sox", p, "-t", "f64", "-c", "1", "-").Output()
		if err != nil {
			t.Fatalf("sox %s: %v", p, err)
		}
		if len(out) != 8*len(x) {
			t.Fatalf("%s: sox gives %d samples, ReadAudio %d", p, len(out)/8, len(x))
		}
		for i := range x {
			want := math.Float64frombits(binary.LittleEndian.Uint64(out[8*i:]))
			if math.Abs(float64(x[i])-want) > 1e-6 {
				t.Fatalf("%s: sample %d: %g, sox %g", p, i, x[i], want)
			}
		}
	}
}
