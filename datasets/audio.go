package datasets

import (
	"bytes"
	"crypto/md5"
	"encoding/binary"
	"errors"
	"fmt"
	"io"
	"math"
	"os"
	"path/filepath"
	"sort"
	"strings"

	"github.com/go-audio/wav"
	"github.com/mewkiz/flac"
)

// ErrNoSamples is wrapped by ReadAudio's error for a well-formed file
// that holds no samples (a header and an empty data chunk), so that callers
// may report and pass over such files rather than stop.
var ErrNoSamples = errors.New("holds no samples")

// ReadAudio reads a WAV or FLAC file, told apart by content (RIFF/WAVE or
// fLaC magic, not the file name), as mono float32 samples in [-1, 1] — the
// mean of the channels of each frame — with its sample rate in Hz.
//
// WAV: integer PCM of 8 (unsigned), 16, 24 or 32 bits and 32-bit IEEE float,
// any number of channels, in the plain (format 1 or 3) or
// WAVE_FORMAT_EXTENSIBLE (format 0xFFFE, PCM or float sub-format) layouts.
// Integers of b bits are scaled by 2^(b-1) (16-bit: v/32768), 8-bit as
// (v-128)/128; float samples beyond ±1 are clipped to ±1 and a NaN or
// infinite one is an error. The sample values are decoded by
// github.com/go-audio/wav; ReadAudio itself walks the RIFF chunks first,
// because that decoder (v1.1.0) silently returns fewer samples from a
// truncated file, reads the pad byte of an odd-sized data chunk as one more
// sample (a partial one, of stale bytes, for 24-bit), hands float samples
// over as their bit patterns, decodes µ-law and A-law bytes as if they were
// 8-bit PCM (ReadAudio expands them itself), and drops the sub-format of WAVE_FORMAT_EXTENSIBLE: all of
// which ReadAudio checks or corrects.
//
// FLAC (github.com/mewkiz/flac): any bit depth and channel count; every
// frame's CRC is checked by the decoder, and the MD5 of the decoded samples
// and the sample count against the STREAMINFO block when it records them.
//
// Errors name the file and what is wrong: empty, truncated (with the byte
// counts), not WAV or FLAC, an unsupported encoding (ADPCM, GSM, 64-bit
// float, … named), inconsistent headers, no samples. G.711 µ-law and A-law
// WAVs (8-bit, formats 7 and 6) are expanded to linear samples. Both decoders run
// under recover, so that a library panic on corrupt data comes back as an
// error too.
func ReadAudio(path string) (samples []float32, rate int, err error) {
	b, err := os.ReadFile(path)
	if err != nil {
		return nil, 0, err
	}
	switch {
	case len(b) == 0:
		return nil, 0, fmt.Errorf("%s: empty file", path)
	case len(b) >= 12 && string(b[:4]) == "RIFF" && string(b[8:12]) == "WAVE":
		samples, rate, err = readWAV(b)
	case len(b) >= 4 && string(b[:4]) == "fLaC":
		samples, rate, err = readFLAC(b)
	case len(b) >= 4 && (string(b[:4]) == "RIFX" || string(b[:4]) == "RF64"):
		err = fmt.Errorf("unsupported %q WAV variant (only little-endian RIFF WAVE is read)", b[:4])
	case len(b) < 12 && string(b[:min(4, len(b))]) == "RIFF"[:min(4, len(b))]:
		err = fmt.Errorf("truncated: %d bytes, shorter than a RIFF header", len(b))
	case len(b) >= 4 && string(b[:4]) == "RIFF":
		err = fmt.Errorf("RIFF file of type %q, not WAVE", b[8:12])
	default:
		err = fmt.Errorf("not a WAV (RIFF/WAVE) or FLAC (fLaC) file: it starts with %q", b[:min(8, len(b))])
	}
	if err != nil {
		return nil, 0, fmt.Errorf("%s: %w", path, err)
	}
	if len(samples) == 0 {
		return nil, 0, fmt.Errorf("%s: %w", path, ErrNoSamples)
	}
	return samples, rate, nil
}

// WAVE format tags (the fmt chunk's first field, or the first two bytes of
// an extensible file's sub-format GUID).
const (
	wavPCM        = 1
	wavFloat      = 3
	wavALaw       = 6
	wavMuLaw      = 7
	wavExtensible = 0xFFFE
)

// wavFormatNames names the encodings a WAV file may hold that ReadAudio
// refuses, for the error.
var wavFormatNames = map[uint16]string{
	2: "Microsoft ADPCM", 6: "A-law", 7: "µ-law", 0x11: "IMA ADPCM", 0x31: "GSM 6.10",
	0x40: "G.721 ADPCM", 0x50: "MPEG", 0x55: "MPEG layer 3", 0x92: "Dolby AC3",
}

// wavGUIDTail is the tail shared by the KSDATAFORMAT_SUBTYPE GUIDs of the
// WAVE formats: {xxxx0000-0000-0010-8000-00aa00389b71}.
var wavGUIDTail = []byte{0x00, 0x00, 0x00, 0x00, 0x10, 0x00, 0x80, 0x00, 0x00, 0xaa, 0x00, 0x38, 0x9b, 0x71}

// wavInfo is what readWAV's own walk of the RIFF chunks finds.
type wavInfo struct {
	format     uint16 // effective format tag (the sub-format for extensible files)
	channels   int
	rate       uint32
	blockAlign int
	bits       int // container bits per sample
	dataOff    int // offset of the sample bytes
	dataLen    int // declared length of the sample bytes, without the pad byte
}

// parseWAV walks the RIFF chunks of b, checking every size against the
// bytes there are, and reads the fmt chunk.
func parseWAV(b []byte) (wavInfo, error) {
	// The RIFF size (b[4:8]) is not checked: writers streaming to a pipe
	// leave a placeholder there. Every chunk's own size is.
	var w wavInfo
	var fmtChunk []byte
	for off := 12; ; {
		if off >= len(b) {
			break
		}
		if len(b)-off < 8 {
			return w, fmt.Errorf("truncated: %d stray bytes after the last chunk at byte %d", len(b)-off, off)
		}
		id := string(b[off : off+4])
		size := int64(binary.LittleEndian.Uint32(b[off+4 : off+8]))
		body := off + 8
		if size > int64(len(b)-body) {
			if id == "data" {
				return w, fmt.Errorf("truncated: the data chunk declares %d bytes of samples but only %d follow", size, len(b)-body)
			}
			return w, fmt.Errorf("truncated: the %q chunk at byte %d declares %d bytes but only %d follow", id, off, size, len(b)-body)
		}
		switch id {
		case "fmt ":
			if fmtChunk != nil {
				return w, errors.New("two fmt chunks")
			}
			fmtChunk = b[body : body+int(size)]
		case "data":
			if fmtChunk == nil {
				return w, errors.New("the data chunk comes before any fmt chunk")
			}
			if w.dataLen != 0 || w.dataOff != 0 {
				return w, errors.New("two data chunks")
			}
			w.dataOff, w.dataLen = body, int(size)
		}
		off = body + int(size) + int(size&1) // chunks are padded to even sizes
	}
	if fmtChunk == nil {
		return w, errors.New("no fmt chunk")
	}
	if w.dataOff == 0 {
		return w, errors.New("no data chunk")
	}
	if len(fmtChunk) < 16 {
		return w, fmt.Errorf("fmt chunk of %d bytes, want at least 16", len(fmtChunk))
	}
	w.format = binary.LittleEndian.Uint16(fmtChunk[0:2])
	w.channels = int(binary.LittleEndian.Uint16(fmtChunk[2:4]))
	w.rate = binary.LittleEndian.Uint32(fmtChunk[4:8])
	w.blockAlign = int(binary.LittleEndian.Uint16(fmtChunk[12:14]))
	w.bits = int(binary.LittleEndian.Uint16(fmtChunk[14:16]))
	if w.format == wavExtensible {
		if len(fmtChunk) < 40 {
			return w, fmt.Errorf("WAVE_FORMAT_EXTENSIBLE fmt chunk of %d bytes, want 40", len(fmtChunk))
		}
		valid := int(binary.LittleEndian.Uint16(fmtChunk[18:20]))
		guid := fmtChunk[24:40]
		if !bytes.Equal(guid[2:], wavGUIDTail) {
			return w, fmt.Errorf("WAVE_FORMAT_EXTENSIBLE with unknown sub-format GUID % x", guid)
		}
		if valid > w.bits {
			return w, fmt.Errorf("WAVE_FORMAT_EXTENSIBLE declares %d valid bits in a %d-bit container", valid, w.bits)
		}
		w.format = binary.LittleEndian.Uint16(guid[0:2])
	}
	switch {
	case w.format == wavPCM && (w.bits == 8 || w.bits == 16 || w.bits == 24 || w.bits == 32):
	case w.format == wavFloat && w.bits == 32:
	case (w.format == wavMuLaw || w.format == wavALaw) && w.bits == 8:
	case w.format == wavFloat:
		return w, fmt.Errorf("unsupported encoding: %d-bit IEEE float (only 32-bit float is read)", w.bits)
	case w.format == wavPCM:
		return w, fmt.Errorf("unsupported encoding: %d-bit integer PCM (8, 16, 24 or 32 bits are read)", w.bits)
	default:
		name := wavFormatNames[w.format]
		if name == "" {
			name = "compressed or unknown"
		}
		return w, fmt.Errorf("unsupported encoding: %s (WAVE format 0x%04x); only integer PCM of 8/16/24/32 bits and 32-bit IEEE float are read", name, w.format)
	}
	if w.channels == 0 {
		return w, errors.New("the fmt chunk declares 0 channels")
	}
	if w.rate == 0 || w.rate > math.MaxInt32 {
		return w, fmt.Errorf("the fmt chunk declares a sample rate of %d Hz", w.rate)
	}
	if w.blockAlign != w.channels*w.bits/8 {
		return w, fmt.Errorf("the fmt chunk declares %d-byte frames, but %d channels of %d bits make %d", w.blockAlign, w.channels, w.bits, w.channels*w.bits/8)
	}
	if w.dataLen%w.blockAlign != 0 {
		return w, fmt.Errorf("truncated: the data chunk holds %d bytes, not a whole number of %d-byte frames", w.dataLen, w.blockAlign)
	}
	return w, nil
}

// readWAV reads WAV bytes: parseWAV checks the structure, go-audio/wav
// decodes the PCM and float samples, and G.711 µ-law and A-law bytes are
// expanded here (go-audio/wav would read them as 8-bit PCM).
func readWAV(b []byte) (samples []float32, rate int, err error) {
	w, err := parseWAV(b)
	if err != nil {
		return nil, 0, err
	}
	frames := w.dataLen / w.blockAlign
	want := frames * w.channels
	if w.format == wavMuLaw || w.format == wavALaw {
		expand := g711MuLaw
		if w.format == wavALaw {
			expand = g711ALaw
		}
		data := b[w.dataOff : w.dataOff+want]
		samples = make([]float32, frames)
		for i := range frames {
			var s float64
			for c := range w.channels {
				s += float64(expand(data[i*w.channels+c])) / 32768
			}
			samples[i] = float32(s / float64(w.channels))
		}
		return samples, int(w.rate), nil
	}
	defer func() {
		if r := recover(); r != nil {
			samples, rate, err = nil, 0, fmt.Errorf("corrupt WAV: the go-audio/wav decoder panicked: %v", r)
		}
	}()
	d := wav.NewDecoder(bytes.NewReader(b))
	buf, err := d.FullPCMBuffer()
	if err != nil {
		return nil, 0, fmt.Errorf("go-audio/wav: %w", err)
	}
	if int(d.NumChans) != w.channels || d.SampleRate != w.rate || int(d.BitDepth) != w.bits {
		return nil, 0, fmt.Errorf("go-audio/wav read %d channels, %d Hz, %d bits; the fmt chunk says %d, %d, %d",
			d.NumChans, d.SampleRate, d.BitDepth, w.channels, w.rate, w.bits)
	}
	// The decoder reads an odd-sized chunk's pad byte as one more sample.
	if len(buf.Data) < want {
		return nil, 0, fmt.Errorf("go-audio/wav decoded %d samples, the data chunk holds %d", len(buf.Data), want)
	}
	data := buf.Data[:want]
	var conv func(v int) (float64, error)
	switch {
	case w.format == wavFloat:
		conv = func(v int) (float64, error) {
			// go-audio/wav hands 32-bit samples over as int32: here the bits of a float32.
			f := float64(math.Float32frombits(uint32(int32(v))))
			if math.IsNaN(f) || math.IsInf(f, 0) {
				return 0, fmt.Errorf("non-finite float sample %v", f)
			}
			return max(-1, min(1, f)), nil
		}
	case w.bits == 8:
		conv = func(v int) (float64, error) { return float64(v-128) / 128, nil }
	default:
		scale := 1 / float64(int64(1)<<(w.bits-1))
		conv = func(v int) (float64, error) { return float64(v) * scale, nil }
	}
	samples = make([]float32, frames)
	for i := range frames {
		var s float64
		for c := range w.channels {
			f, err := conv(data[i*w.channels+c])
			if err != nil {
				return nil, 0, fmt.Errorf("frame %d channel %d: %w", i, c, err)
			}
			s += f
		}
		samples[i] = float32(s / float64(w.channels))
	}
	return samples, int(w.rate), nil
}

// g711MuLaw expands a G.711 µ-law byte to a 16-bit linear sample (as the
// reference g711.c does).
func g711MuLaw(u byte) int {
	u = ^u
	t := (int(u&0x0f)<<3 + 0x84) << ((u & 0x70) >> 4)
	if u&0x80 != 0 {
		return 0x84 - t
	}
	return t - 0x84
}

// g711ALaw expands a G.711 A-law byte to a 16-bit linear sample.
func g711ALaw(a byte) int {
	a ^= 0x55
	t := int(a&0x0f) << 4
	switch seg := (a & 0x70) >> 4; seg {
	case 0:
		t += 8
	case 1:
		t += 0x108
	default:
		t += 0x108
		t <<= seg - 1
	}
	if a&0x80 != 0 {
		return t
	}
	return -t
}

// readFLAC decodes FLAC bytes with mewkiz/flac.
func readFLAC(b []byte) (samples []float32, rate int, err error) {
	defer func() {
		if r := recover(); r != nil {
			samples, rate, err = nil, 0, fmt.Errorf("corrupt FLAC: the mewkiz/flac decoder panicked: %v", r)
		}
	}()
	stream, err := flac.New(bytes.NewReader(b))
	if err != nil {
		return nil, 0, fmt.Errorf("FLAC header: %w", err)
	}
	info := stream.Info
	if info.SampleRate == 0 {
		return nil, 0, errors.New("FLAC STREAMINFO declares a sample rate of 0 Hz")
	}
	if info.NChannels == 0 || info.BitsPerSample < 4 || info.BitsPerSample > 32 {
		return nil, 0, fmt.Errorf("FLAC STREAMINFO declares %d channels of %d bits", info.NChannels, info.BitsPerSample)
	}
	hash := md5.New()
	if info.NSamples > 0 {
		samples = make([]float32, 0, int(min(info.NSamples, 1<<28)))
	}
	for {
		fr, err := stream.ParseNext()
		if err == io.EOF {
			break
		}
		if err != nil {
			if errors.Is(err, io.ErrUnexpectedEOF) {
				return nil, 0, fmt.Errorf("truncated FLAC: frame after sample %d: %w", len(samples), err)
			}
			return nil, 0, fmt.Errorf("FLAC frame after sample %d: %w", len(samples), err)
		}
		if int(fr.BitsPerSample) != int(info.BitsPerSample) || len(fr.Subframes) != int(info.NChannels) || int(fr.SampleRate) != int(info.SampleRate) && fr.SampleRate != 0 {
			return nil, 0, fmt.Errorf("FLAC frame after sample %d has %d channels of %d bits at %d Hz; STREAMINFO says %d, %d, %d",
				len(samples), len(fr.Subframes), fr.BitsPerSample, fr.SampleRate, info.NChannels, info.BitsPerSample, info.SampleRate)
		}
		fr.Hash(hash)
		scale := 1 / float64(int64(1)<<(info.BitsPerSample-1)) / float64(len(fr.Subframes))
		n := len(fr.Subframes[0].Samples)
		for i := range n {
			var s int64
			for _, sf := range fr.Subframes {
				s += int64(sf.Samples[i])
			}
			samples = append(samples, float32(float64(s)*scale))
		}
	}
	if info.NSamples > 0 && uint64(len(samples)) != info.NSamples {
		return nil, 0, fmt.Errorf("truncated FLAC: decoded %d samples, STREAMINFO declares %d", len(samples), info.NSamples)
	}
	var zero [16]byte
	if info.MD5sum != zero {
		if got := hash.Sum(nil); !bytes.Equal(got, info.MD5sum[:]) {
			return nil, 0, fmt.Errorf("corrupt FLAC: MD5 of the decoded samples %x, STREAMINFO records %x", got, info.MD5sum)
		}
	}
	return samples, int(info.SampleRate), nil
}

// WriteWAV16 writes samples as a mono 16-bit PCM WAV file at rate Hz. Each
// sample is clipped to [-1, 1], scaled by 32768, rounded to the nearest
// integer and clamped to [-32768, 32767] (so ReadAudio gives back every
// sample within 1/65536, and +1 as 32767/32768). The file appears
// atomically: it is written to a temporary file in the same folder, synced
// and renamed. An empty or NaN-holding input, a rate outside 1..2^31-1, or
// more samples than a WAV file can hold is an error.
func WriteWAV16(path string, samples []float32, rate int) error {
	if len(samples) == 0 {
		return fmt.Errorf("%s: no samples to write", path)
	}
	if rate <= 0 || rate > math.MaxInt32 {
		return fmt.Errorf("%s: sample rate %d Hz", path, rate)
	}
	if int64(len(samples))*2 > math.MaxUint32-36 {
		return fmt.Errorf("%s: %d samples are more than a WAV file can hold", path, len(samples))
	}
	b := make([]byte, 44+2*len(samples))
	copy(b[0:], "RIFF")
	binary.LittleEndian.PutUint32(b[4:], uint32(36+2*len(samples)))
	copy(b[8:], "WAVEfmt ")
	binary.LittleEndian.PutUint32(b[16:], 16)
	binary.LittleEndian.PutUint16(b[20:], wavPCM)
	binary.LittleEndian.PutUint16(b[22:], 1)
	binary.LittleEndian.PutUint32(b[24:], uint32(rate))
	binary.LittleEndian.PutUint32(b[28:], uint32(rate)*2)
	binary.LittleEndian.PutUint16(b[32:], 2)
	binary.LittleEndian.PutUint16(b[34:], 16)
	copy(b[36:], "data")
	binary.LittleEndian.PutUint32(b[40:], uint32(2*len(samples)))
	for i, s := range samples {
		if s != s {
			return fmt.Errorf("%s: sample %d is NaN", path, i)
		}
		v := math.Round(float64(max(-1, min(1, s))) * 32768)
		binary.LittleEndian.PutUint16(b[44+2*i:], uint16(int16(max(-32768, min(32767, v)))))
	}
	return writeAtomic(path, b)
}

// writeAtomic writes b to a temporary file next to path, syncs it and
// renames it over path.
func writeAtomic(path string, b []byte) error {
	f, err := os.CreateTemp(filepath.Dir(path), "."+filepath.Base(path)+".tmp*")
	if err != nil {
		return err
	}
	tmp := f.Name()
	_, err = f.Write(b)
	if err == nil {
		err = f.Chmod(0o644)
	}
	if err == nil {
		err = f.Sync()
	}
	if cerr := f.Close(); err == nil {
		err = cerr
	}
	if err == nil {
		err = os.Rename(tmp, path)
	}
	if err != nil {
		os.Remove(tmp)
		return fmt.Errorf("%s: %w", path, err)
	}
	return nil
}

// LabelledAudio is one audio file of a labelled folder: its path and its
// class, the name of the folder it is in.
type LabelledAudio struct {
	Path  string
	Label string
}

// audioExts are the file kinds ReadAudioFolder lists (case-insensitive).
var audioExts = map[string]bool{".wav": true, ".flac": true}

// ReadAudioFolder lists a labelled audio folder in the SC09 / Speech
// Commands layout, <root>/<class>/*.wav (or .flac): every subfolder of root
// is a class, named by the folder. Items come sorted by class then path, and
// classes sorted. Hidden entries (names starting with ".") are skipped;
// files directly under root (a README, voices.txt) are not items. It reads
// no audio (ReadAudio does); a root without class folders, a class folder
// without audio files, and anything else inside a class folder (another
// file kind, a subfolder) are errors naming the path.
func ReadAudioFolder(root string) (items []LabelledAudio, classes []string, err error) {
	entries, err := os.ReadDir(root)
	if err != nil {
		return nil, nil, err
	}
	for _, e := range entries {
		if strings.HasPrefix(e.Name(), ".") {
			continue
		}
		dir := filepath.Join(root, e.Name())
		if !isDir(dir, e) {
			continue
		}
		files, err := os.ReadDir(dir)
		if err != nil {
			return nil, nil, err
		}
		n := 0
		for _, f := range files {
			if strings.HasPrefix(f.Name(), ".") {
				continue
			}
			p := filepath.Join(dir, f.Name())
			if isDir(p, f) {
				return nil, nil, fmt.Errorf("%s: a folder inside class folder %s (the layout is <root>/<class>/*.wav)", p, dir)
			}
			if !audioExts[strings.ToLower(filepath.Ext(f.Name()))] {
				return nil, nil, fmt.Errorf("%s: not a .wav or .flac file, in class folder %s", p, dir)
			}
			items = append(items, LabelledAudio{Path: p, Label: e.Name()})
			n++
		}
		if n == 0 {
			return nil, nil, fmt.Errorf("%s: class folder without .wav or .flac files", dir)
		}
		classes = append(classes, e.Name())
	}
	if len(classes) == 0 {
		return nil, nil, fmt.Errorf("%s: no class folders (the layout is <root>/<class>/*.wav)", root)
	}
	sort.Strings(classes)
	sort.Slice(items, func(i, j int) bool {
		if items[i].Label != items[j].Label {
			return items[i].Label < items[j].Label
		}
		return items[i].Path < items[j].Path
	})
	return items, classes, nil
}

// isDir reports whether the entry at p is a folder, following a symbolic link.
func isDir(p string, e os.DirEntry) bool {
	if e.Type()&os.ModeSymlink != 0 {
		info, err := os.Stat(p)
		return err == nil && info.IsDir()
	}
	return e.IsDir()
}
