// Regenerates gpt2_golden.json, the reference GPT-2 encodings that
// gpt2_test.go checks the Go BPE against. From the module root, after
// scripts/fetch-data.sh:
//
//	node modalities/text/testdata/gen_golden.js data > modalities/text/testdata/gpt2_golden.json
//
// The encoder is Encoder.js of npm gpt-3-encoder 1.1.4 (data/gpt2/Encoder.js),
// a JavaScript port of OpenAI's GPT-2 encoder.py. check_golden.py recomputes
// every case and every file digest with encoder.py's algorithm in Python
// (python3 modalities/text/testdata/check_golden.py data
// modalities/text/testdata/gpt2_golden.json) and agrees on all 2,420,738
// tokens.
//
// The file holds:
//   - cases: texts with their full id lists: tricky strings (inline), every
//     14th paragraph of Moby-Dick and three whole State of the Union
//     addresses plus the start of a fourth (as byte ranges of the data files);
//   - files: for the whole of Moby-Dick and of every SOTU address, the number
//     of tokens and the SHA-256 of the ids joined by ",".
//
// Encoder.js concatenates arrays once per word (quadratic in the text), so a
// whole file is encoded in chunks of about 256 words, cut where its own
// pattern ends a match and only after a character that is not whitespace.
// The pattern looks only ahead, and only a whitespace run looks further than
// its own match (\s+(?!\S) gives back its last character when a non-space
// follows), so such cuts leave every match, and so the ids, as they are in
// the whole text. (Cutting after whitespace would not: "\n\n" followed by a
// letter is "\n", "\n", but at the end of a chunk it is one "\n\n".)
'use strict';
const fs = require('fs');
const path = require('path');
const crypto = require('crypto');

const data = process.argv[2] || 'data';
const encoderPath = path.resolve(data, 'gpt2', 'Encoder.js');
const { encode } = require(encoderPath);

// The pattern of Encoder.js, checked against its source so they cannot drift.
const pat = /'s|'t|'re|'ve|'m|'ll|'d| ?\p{L}+| ?\p{N}+| ?[^\s\p{L}\p{N}]+|\s+(?!\S)|\s+/gu;
if (!fs.readFileSync(encoderPath, 'utf8').includes('const pat = ' + pat.toString())) {
  throw new Error('Encoder.js has a different pattern');
}

function encodeLong(text) {
  const words = Array.from(text.matchAll(pat), (m) => m[0]);
  if (words.join('') !== text) throw new Error('the pattern does not tile the text');
  const ids = [];
  let start = 0;
  for (let i = 1; i <= words.length; i++) {
    if (i === words.length || (i - start >= 256 && !/\s$/u.test(words[i - 1]))) {
      for (const id of encode(words.slice(start, i).join(''))) ids.push(id);
      start = i;
    }
  }
  return ids;
}

function check(ids, what) {
  for (const id of ids) {
    if (!Number.isInteger(id)) throw new Error(what + ': encoder gave ' + id);
  }
  return ids;
}

const inline = [
  'Hello world', 'Hello  world', 'Hello   world', '  leading', 'trailing  ', 'trailing ', ' ', '  ', '   ',
  '\t', '\ttab\tseparated\t', 'a\tb', 'a \tb', 'line1\nline2', '\n', '\n\n', '\n\n\n', 'para\n\npara',
  'x \n y', ' \n ', 'end\n', 'end \n\n', '\r\n windows\r\n', 'a  \n\n  b', 'spaces    then\n\n\n    indent',
  "don't", "I'LL", "we've", "they're", "she'd", "it's", "'s", "I'm", "can't won't shouldn't've",
  "'''s", "'re'll", "O'Neil's", "rock'n'roll", "''", "'", "DON'T", "We'Ve", "I'd've", " 's", "x's's",
  '12345 3.14', '1,000,000', '2024-01-01', 'v1.2.3', 'x² ½ ⅓', '٣٤٥ Ⅻ', '0xDEADBEEF', '  42  ',
  'naïve café 日本語 🙂', 'Ünïcödé', 'emoji 👍🏽 family 👨‍👩‍👧', 'Привет мир', 'مرحبا بالعالم',
  'नमस्ते दुनिया', 'e\u0301te\u0301', 'ﬁ ligature', '\u00a0nbsp\u00a0', 'ideographic\u3000space',
  'zero\u200bwidth', 'line\u2028separator', 'en\u2002space', 'control\u0002char',
  '!!!', '?!?!', '...', '—', '--', '-- hello --', '((a))', '[Laughter]', '<html><body>', ' <|', '|>',
  'func main() {\n\tfmt.Println("hi")\n}\n', 'x = y + 1  # comment', '    indented code',
  'https://example.com/path?query=1&b=2#frag', 'someone@example.org', '$100.00 (50%)',
  'a'.repeat(300), '='.repeat(200), ' '.repeat(50) + 'x', 'ab'.repeat(100), '0123456789'.repeat(20),
  'supercalifragilisticexpialidocious'.repeat(5), 'Pneumonoultramicroscopicsilicovolcanoconiosis',
  '\n'.repeat(30) + 'x' + ' '.repeat(30), '',
];

const cases = [];
for (const text of inline) {
  cases.push({ text, ids: check(encode(text), JSON.stringify(text)) });
}

function addRange(file, buf, offset, length) {
  const text = buf.subarray(offset, offset + length).toString('utf8');
  cases.push({ file, offset, length, ids: check(encodeLong(text), file + '@' + offset) });
}

const moby = fs.readFileSync(path.join(data, 'text', 'moby-dick.txt'));
{
  // Paragraphs: the text between "\n\n" separators.
  let start = 0, n = 0;
  while (start < moby.length) {
    let end = moby.indexOf('\n\n', start);
    if (end < 0) end = moby.length;
    if (end > start && n++ % 14 === 0) addRange('moby-dick.txt', moby, start, end - start);
    start = end + 2;
  }
}
for (const f of ['1790_george_washington_n.txt', '1800_john_adams_f.txt', '1932_herbert_hoover_r.txt']) {
  const buf = fs.readFileSync(path.join(data, 'text', 'sotu', f));
  addRange('sotu/' + f, buf, 0, buf.length);
}
{
  const f = '2016_barack_obama_d.txt';
  const buf = fs.readFileSync(path.join(data, 'text', 'sotu', f));
  addRange('sotu/' + f, buf, 0, buf.indexOf(' ', 4000));
}

const files = [];
const sotu = fs.readdirSync(path.join(data, 'text', 'sotu')).filter((f) => f.endsWith('.txt')).sort();
for (const f of ['moby-dick.txt', ...sotu.map((f) => 'sotu/' + f)]) {
  const buf = fs.readFileSync(path.join(data, 'text', f));
  const ids = check(encodeLong(buf.toString('utf8')), f);
  const sha256 = crypto.createHash('sha256').update(ids.join(',')).digest('hex');
  files.push({ file: f, bytes: buf.length, tokens: ids.length, sha256 });
}

const lines = ['{', '"generator": "node modalities/text/testdata/gen_golden.js data (gpt-3-encoder 1.1.4 Encoder.js)",', '"cases": ['];
cases.forEach((c, i) => lines.push(JSON.stringify(c) + (i < cases.length - 1 ? ',' : '')));
lines.push('],', '"files": [');
files.forEach((f, i) => lines.push(JSON.stringify(f) + (i < files.length - 1 ? ',' : '')));
lines.push(']', '}');
process.stdout.write(lines.join('\n') + '\n');
