// Writes regex_golden.json and nfc_golden.json from Hugging Face tokenizers
// 0.23.2 itself (the npm package `tokenizers`, Node bindings of the Rust
// core, which matches Split patterns with Oniguruma and normalizes with
// unicode-normalization-alignments 0.1.12):
//
//   mkdir /tmp/hf && (cd /tmp/hf && npm install tokenizers@0.23.2)
//   NODE_PATH=/tmp/hf/node_modules node tests/data/tokenizer/make_oracle_goldens.js
//
// regex_golden.json: {real, constructs}, each {patterns, texts, results[p] =
// {error} | {pieces[t]}}: the pieces of Split(pattern, Isolated) (what
// preTokenizeString returns). real: the Split patterns of real
// tokenizer.json files (Llama-3, Qwen2/3, o200k, GPT-2, DeepSeek), on the
// hand-made texts and every 29th text of tokenizer_golden.json. constructs:
// one construct at a time (some of which urm does not support; the test
// names those and their errors), on the hand-made texts (edge cases and
// random strings). Inputs: regex_golden_patterns.json.
//
// nfc_golden.json: {changed: [[code point, NFC]] for every scalar value whose
// NFC is not itself, sequences: [[text, NFC]]} (random sequences of letters,
// marks of several classes, Hangul jamo, and singletons).
const tk = require('tokenizers');
const fs = require('fs');
const path = require('path');
const here = __dirname;

const spec = JSON.parse(fs.readFileSync(path.join(here, 'regex_golden_patterns.json')));
const corpus = JSON.parse(fs.readFileSync(path.join(here, 'tokenizer_golden.json'))).cases.map(c => c.text);
const long_texts = spec.texts.concat(corpus.filter((_, i) => i % 29 === 0));
const split = (p, texts) => {
  const j = {version: '1.0', truncation: null, padding: null, added_tokens: [], normalizer: null,
    pre_tokenizer: {type: 'Split', pattern: {Regex: p}, behavior: 'Isolated', invert: false},
    post_processor: null, decoder: null,
    model: {type: 'BPE', dropout: null, unk_token: null, continuing_subword_prefix: null, end_of_word_suffix: null,
            fuse_unk: false, byte_fallback: false, ignore_merges: false, vocab: {}, merges: []}};
  let pre;
  try { pre = tk.Tokenizer.fromString(JSON.stringify(j)).getPreTokenizer(); } catch (e) { return {error: String(e.message)}; }
  return {pieces: texts.map(t => pre.preTokenizeString(t).map(x => x[0]))};
};
// Real patterns on all texts; constructs on the hand-made ones.
fs.writeFileSync(path.join(here, 'regex_golden.json'), JSON.stringify({
  real: {patterns: spec.real, texts: long_texts, results: spec.real.map(p => split(p, long_texts))},
  constructs: {patterns: spec.constructs, texts: spec.texts, results: spec.constructs.map(p => split(p, spec.texts))},
}));

const n = tk.nfcNormalizer();
const changed = [];
for (let c = 0; c < 0x110000; c++) {
  if (c >= 0xD800 && c <= 0xDFFF) continue;
  const s = String.fromCodePoint(c), r = n.normalizeString(s);
  if (r !== s) changed.push([c, r]);
}
let seed = 7;
const rnd = (k) => { seed = (seed * 1103515245 + 12345) & 0x7fffffff; return seed % k; };
const pool = [0x41, 0x61, 0x65, 0x6F, 0x55, 0x3B1, 0x3C9, 0x1100, 0x1161, 0x11A8, 0xAC00, 0xAC01, 0x0B47, 0x0B3E, 0x0B57,
  0x0CC6, 0x0CC2, 0x0CD5, 0x0300, 0x0301, 0x0308, 0x0323, 0x0328, 0x0345, 0x0313, 0x0314, 0x0342, 0x05B4, 0x05BC, 0x0F71,
  0x0F72, 0x0F80, 0x1E0B, 0x212B, 0x2126, 0x0344, 0x0F73, 0x1D15E, 0x1D165, 0x110A5, 0x110BA, 0x11131, 0x11127, 0x00C5,
  0x1E9B, 0x0958, 0x3099, 0x309A, 0x304B, 0x30AB, 0x20, 0x16D68, 0x1611E, 0x0306];
const sequences = [];
for (let k = 0; k < 4000; k++) {
  const len = 1 + rnd(8), a = [];
  for (let i = 0; i < len; i++) a.push(pool[rnd(pool.length)]);
  const s = String.fromCodePoint(...a);
  sequences.push([s, n.normalizeString(s)]);
}
fs.writeFileSync(path.join(here, 'nfc_golden.json'), JSON.stringify({changed, sequences}));
