"""Checks gpt2_golden.json against OpenAI's GPT-2 encoder.py algorithm.

gen_golden.js makes the golden file with the JavaScript port (npm
gpt-3-encoder); this recomputes every case and every file digest with the
original Python algorithm (the regex module's \\p{L}, \\p{N}, \\s; bpe() as in
openai/gpt-2 src/encoder.py) from the same encoder.json and vocab.bpe, so that
a quirk of the port cannot slip into the reference. From the module root:

    python3 modalities/text/testdata/check_golden.py data modalities/text/testdata/gpt2_golden.json

It prints the number of cases and tokens checked and exits non-zero on the
first difference.
"""
import hashlib
import json
import os
import sys

import regex as re


def bytes_to_unicode():
    bs = list(range(ord("!"), ord("~") + 1)) + list(range(ord("¡"), ord("¬") + 1)) + list(range(ord("®"), ord("ÿ") + 1))
    cs = bs[:]
    n = 0
    for b in range(2**8):
        if b not in bs:
            bs.append(b)
            cs.append(2**8 + n)
            n += 1
    return dict(zip(bs, [chr(c) for c in cs]))


def get_pairs(word):
    return set(zip(word, word[1:]))


class Encoder:
    def __init__(self, encoder, bpe_merges):
        self.encoder = encoder
        self.byte_encoder = bytes_to_unicode()
        self.bpe_ranks = dict(zip(bpe_merges, range(len(bpe_merges))))
        self.cache = {}
        self.pat = re.compile(r"""'s|'t|'re|'ve|'m|'ll|'d| ?\p{L}+| ?\p{N}+| ?[^\s\p{L}\p{N}]+|\s+(?!\S)|\s+""")

    def bpe(self, token):
        if token in self.cache:
            return self.cache[token]
        word = tuple(token)
        pairs = get_pairs(word)
        if not pairs:
            return token
        while True:
            bigram = min(pairs, key=lambda pair: self.bpe_ranks.get(pair, float("inf")))
            if bigram not in self.bpe_ranks:
                break
            first, second = bigram
            new_word = []
            i = 0
            while i < len(word):
                try:
                    j = word.index(first, i)
                    new_word.extend(word[i:j])
                    i = j
                except ValueError:
                    new_word.extend(word[i:])
                    break
                if word[i] == first and i < len(word) - 1 and word[i + 1] == second:
                    new_word.append(first + second)
                    i += 2
                else:
                    new_word.append(word[i])
                    i += 1
            word = tuple(new_word)
            if len(word) == 1:
                break
            pairs = get_pairs(word)
        word = " ".join(word)
        self.cache[token] = word
        return word

    def encode(self, text):
        out = []
        for token in re.findall(self.pat, text):
            token = "".join(self.byte_encoder[b] for b in token.encode("utf-8"))
            out.extend(self.encoder[t] for t in self.bpe(token).split(" "))
        return out


def main():
    data, golden = sys.argv[1], sys.argv[2]
    with open(os.path.join(data, "gpt2", "encoder.json"), encoding="utf-8") as f:
        encoder = json.load(f)
    with open(os.path.join(data, "gpt2", "vocab.bpe"), encoding="utf-8") as f:
        merges = [tuple(l.split()) for l in f.read().split("\n")[1:-1]]
    enc = Encoder(encoder, merges)
    with open(golden, encoding="utf-8") as f:
        g = json.load(f)
    tokens = 0
    for c in g["cases"]:
        if "text" in c:
            text = c["text"]
        else:
            with open(os.path.join(data, "text", c["file"]), "rb") as f:
                text = f.read()[c["offset"] : c["offset"] + c["length"]].decode("utf-8")
        ids = enc.encode(text)
        if ids != c["ids"]:
            sys.exit("case %r: encoder.py gives %s, golden %s" % (text[:60], ids[:20], c["ids"][:20]))
        tokens += len(ids)
    for fi in g["files"]:
        with open(os.path.join(data, "text", fi["file"]), encoding="utf-8") as f:
            ids = enc.encode(f.read())
        digest = hashlib.sha256(",".join(map(str, ids)).encode()).hexdigest()
        if len(ids) != fi["tokens"] or digest != fi["sha256"]:
            sys.exit("file %s: encoder.py gives %d tokens (%s), golden %d (%s)" % (fi["file"], len(ids), digest, fi["tokens"], fi["sha256"]))
        tokens += len(ids)
    print("encoder.py agrees: %d cases, %d files, %d tokens" % (len(g["cases"]), len(g["files"]), tokens))


if __name__ == "__main__":
    main()
