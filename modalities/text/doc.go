// Package text turns text into token ids and back, for the language models.
//
// Two tokenizers implement [Tokenizer]:
//
//   - [Byte] ([NewByte]): every byte of the UTF-8 text is its own token (ids
//     0-255), plus "<|endoftext|>" (256, the end of text) and "<|pad|>" (257).
//     It needs no files and round-trips any byte string.
//   - [BPE] ([LoadTokenizerJSON], [FromGPT2Files]): byte-level byte-pair
//     encoding as GPT-2, GPT-NeoX (the Mamba checkpoints' tokenizer) and many
//     others use it, read from a Hugging Face tokenizers "tokenizer.json" or
//     from GPT-2's encoder.json + vocab.bpe.
//
// # Byte-level BPE
//
// Encoding runs the same stages as Hugging Face tokenizers:
//
//  1. Added tokens (tokenizer.json's "added_tokens", e.g. "<|endoftext|>")
//     are cut out of the text first, leftmost match first and the longest
//     at that place, and become their ids directly. Tokens with
//     "normalized": false are matched in the raw text, the others in the
//     normalised text, as Hugging Face does; "single_word", "lstrip" and
//     "rstrip" are honoured.
//  2. The pieces in between are normalised (only NFC is supported).
//  3. The pre-tokenizer cuts them into words with GPT-2's pattern
//     's|'t|'re|'ve|'m|'ll|'d| ?\p{L}+| ?\p{N}+| ?[^\s\p{L}\p{N}]+|\s+(?!\S)|\s+
//     which is implemented by a hand-written scanner (Go's regexp has no
//     lookahead) that returns exactly the regex's matches; ByteLevel's
//     add_prefix_space puts a space before pieces that do not start with one.
//  4. Each word's UTF-8 bytes are mapped to GPT-2's printable stand-ins
//     (bytes_to_unicode: 'Ġ' for a space, 'Ċ' for a newline, ...) and merged
//     as GPT-2 does: the adjacent pair that comes first in the merge list is
//     merged everywhere, until no listed pair is left. Results are cached by
//     word.
//
// The post-processor of a tokenizer.json (which adds tokens such as BOS
// around a whole sequence) is not applied by Encode: callers add such ids
// themselves. Truncation and padding settings are ignored too.
//
// Decoding maps each token back to the bytes it stands for, so that
// Decode(Encode(s)) == s for every string s, valid UTF-8 or not (bytes that
// are not UTF-8 are tokenised as single "other" characters), when the
// tokenizer has no normaliser. Added tokens decode to their text.
package text
