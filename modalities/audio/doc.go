// Package audio turns raw waveforms into token ids and back, for
// autoregressive waveform models in the manner of SaShiMi (Goel et al.,
// "It's Raw! Audio Generation with State-Space Models", 2022) and the audio
// experiments of Mamba (Gu & Dao, 2023, §4.4): one token per sample, 256
// classes, a categorical next-sample distribution. Reading and writing
// files is datasets.ReadAudio / datasets.WriteWAV16.
//
// Names and the papers' terms:
//
//   - [MuLawEncode] / [MuLawDecode]: "8-bit μ-law quantization" (WaveNet §2.2,
//     SaShiMi's mu_law_encode / mu_law_decode): companding with μ = 255,
//     then 256 uniform bins of the companded value. The class ids are those
//     of SaShiMi's data loader for the same waveform (it also min-max
//     scales each clip to [-1, 1] first, which is the caller's choice here).
//   - [LinearEncode] / [LinearDecode]: "8-bit linear quantization"
//     (SaShiMi's linear_encode), 256 uniform bins of the waveform itself.
//   - [MuLawClasses]: the vocabulary, 256 = 2^8 ("8-bit").
//   - [Units]: samples per token, 1; a loss in bits summed over tokens and
//     divided by the summed Units is "NLL in bits" per sample as SaShiMi
//     reports it, and equals Mamba's "bits per byte" on YouTubeMix since each
//     8-bit sample is one byte.
//   - [Resample]: bringing recordings to the models' 16 kHz (SC09,
//     YouTubeMix and Beethoven are all 16 kHz; SC09's clips are 1 s = 16000
//     samples of the words "zero" … "nine"). A Kaiser-windowed sinc with its
//     design in [PassbandEdge] and [StopbandDB].
//
// Token ids are int32, the type the model's token streams use.
package audio
