// Times Hugging Face's Rust tokenizer (npm `tokenizers`, 0.23.x) on the corpus that
// bench_tokenizer.cpp builds. A WordPiece vocabulary (a folder with vocab.txt) is configured as
// tests/data/tokenizer-cases/README.md describes (BertNormalizer, BertPreTokenizer, WordPiece, the
// BERT template; special added tokens); roberta-base (byte-level BPE) and t5-small (SentencePiece
// Unigram) are loaded from their tokenizer.json as shipped, with its truncation and padding off.
//
//   mkdir -p /tmp/tokref && (cd /tmp/tokref && npm install tokenizers@0.23)
//   NODE_PATH=/tmp/tokref/node_modules TOKENIZERS_PARALLELISM=false RAYON_NUM_THREADS=1 \
//     node bench/tokenizer_reference.js [vocab-name] [runs]
//
// vocab-name: a folder of tests/data/vocab (default bert-base-multilingual-cased; WordPiece names
// containing "uncased" are lowercased; roberta-base and t5-small read tokenizer.json). Prints the
// medians of `runs` runs (default 7) in wall and CPU time for: the whole corpus as one text, and
// every line encoded on its own (awaited one by one, so that figure includes the binding's per-call
// cost). Before timing, checks the configuration against every conformance case of that
// vocabulary (for tokenizer.json ones also the truncated cases, with the case's truncation set).
'use strict';

const fs = require('fs');
const path = require('path');
const { Tokenizer } = require('tokenizers');

const dataDir = path.join(__dirname, '..', 'tests', 'data');
const vocabName = process.argv[2] || 'bert-base-multilingual-cased';
const runs = Number(process.argv[3] || 7);
const jsonFile = path.join(dataDir, 'vocab', vocabName, 'tokenizer.json');
// roberta-base and t5-small: the shipped tokenizer.json (their conformance cases are in bpe/ and
// unigram/); the WordPiece folders are configured from vocab.txt below.
const fromJson = !fs.existsSync(path.join(dataDir, 'vocab', vocabName, 'vocab.txt')) ||
    vocabName === 'roberta-base';
const lowercase = !fromJson && vocabName.includes('uncased');

function buildJsonTokenizer() {
  const json = JSON.parse(fs.readFileSync(jsonFile, 'utf8'));
  json.truncation = null;  // left by a fine-tune's saving; the cases are untruncated unless stated
  json.padding = null;
  return Tokenizer.fromString(JSON.stringify(json));
}

function buildWordPieceTokenizer() {
  const lines = fs.readFileSync(path.join(dataDir, 'vocab', vocabName, 'vocab.txt'), 'utf8').split('\n');
  if (lines[lines.length - 1] === '') lines.pop();
  const vocab = {};
  lines.forEach((tok, i) => { vocab[tok.endsWith('\r') ? tok.slice(0, -1) : tok] = i; });
  const specials = ['[PAD]', '[UNK]', '[CLS]', '[SEP]', '[MASK]'];
  const json = {
    version: '1.0',
    truncation: null,
    padding: null,
    added_tokens: specials.map((content) => ({
      id: vocab[content], content, single_word: false, lstrip: false, rstrip: false, normalized: false, special: true,
    })),
    normalizer: { type: 'BertNormalizer', clean_text: true, handle_chinese_chars: true, strip_accents: null, lowercase },
    pre_tokenizer: { type: 'BertPreTokenizer' },
    post_processor: {
      type: 'TemplateProcessing',
      single: [{ SpecialToken: { id: '[CLS]', type_id: 0 } }, { Sequence: { id: 'A', type_id: 0 } },
        { SpecialToken: { id: '[SEP]', type_id: 0 } }],
      pair: [{ SpecialToken: { id: '[CLS]', type_id: 0 } }, { Sequence: { id: 'A', type_id: 0 } },
        { SpecialToken: { id: '[SEP]', type_id: 0 } }, { Sequence: { id: 'B', type_id: 1 } },
        { SpecialToken: { id: '[SEP]', type_id: 1 } }],
      special_tokens: {
        '[CLS]': { id: '[CLS]', ids: [vocab['[CLS]']], tokens: ['[CLS]'] },
        '[SEP]': { id: '[SEP]', ids: [vocab['[SEP]']], tokens: ['[SEP]'] },
      },
    },
    decoder: { type: 'WordPiece', prefix: '##', cleanup: true },
    model: { type: 'WordPiece', unk_token: '[UNK]', continuing_subword_prefix: '##', max_input_chars_per_word: 100, vocab },
  };
  return Tokenizer.fromString(JSON.stringify(json));
}

// The conformance cases of the *.jsonl files of dir, files in name order.
function readCases(dir) {
  const out = [];
  for (const f of fs.readdirSync(dir).filter((x) => x.endsWith('.jsonl')).sort()) {
    for (const line of fs.readFileSync(path.join(dir, f), 'utf8').split('\n')) {
      if (line !== '') out.push(JSON.parse(line));
    }
  }
  return out;
}

// Same corpus as bench_tokenizer.cpp: the distinct texts (text, then text_pair) of the WordPiece
// cases (tokenizer-cases/*.jsonl, files in name order, not the subfolders), joined with '\n', whole
// copies until at least 1 MiB (UTF-8 bytes). The cases to check against are those of the
// vocabulary timed (bpe/ and unigram/ for a tokenizer.json).
function buildCorpus() {
  const dir = path.join(dataDir, 'tokenizer-cases');
  const wordpieceCases = readCases(dir);
  const seen = new Set();
  const texts = [];
  for (const c of wordpieceCases) {
    for (const key of ['text', 'text_pair']) {
      if (c[key] === undefined || seen.has(c[key])) continue;
      seen.add(c[key]);
      texts.push(c[key]);
    }
  }
  const unit = texts.map((t) => t + '\n').join('');
  let corpus = '';
  while (Buffer.byteLength(corpus, 'utf8') < (1 << 20)) corpus += unit;
  const cases = fromJson ? [...readCases(path.join(dir, 'bpe')), ...readCases(path.join(dir, 'unigram'))]
                         : wordpieceCases;
  return { corpus, cases };
}

const strategies = { longest_first: 'LongestFirst', only_first: 'OnlyFirst', only_second: 'OnlySecond' };

async function check(tokenizer, cases) {
  let n = 0;
  let ok = 0;
  for (const c of cases) {
    const base = c.vocab.split('@')[0];
    const cased = c.vocab.includes('@cased');
    if (base !== vocabName || (!fromJson && cased === lowercase)) continue;
    if (c.max_length !== undefined) {
      if (!fromJson) continue;  // the WordPiece truncation cases are checked by the C++ tests only
      tokenizer.setTruncation(c.max_length, { strategy: strategies[c.truncation || 'longest_first'] });
    }
    const e = c.text_pair === undefined ? await tokenizer.encode(c.text) : await tokenizer.encode(c.text, c.text_pair);
    if (c.max_length !== undefined) tokenizer.disableTruncation();
    n += 1;
    if (JSON.stringify(e.getIds()) === JSON.stringify(c.ids)) {
      ok += 1;
    } else {
      console.log(`mismatch: ${JSON.stringify(c.text).slice(0, 80)}`);
    }
  }
  return [ok, n];
}

function median(xs) {
  const s = [...xs].sort((a, b) => a - b);
  return s[Math.floor(s.length / 2)];
}

async function time(fn) {
  const c0 = process.cpuUsage();
  const t0 = process.hrtime.bigint();
  const tokens = await fn();
  const wall = Number(process.hrtime.bigint() - t0) / 1e9;
  const c = process.cpuUsage(c0);
  return { wall, cpu: (c.user + c.system) / 1e6, tokens };
}

async function main() {
  const tokenizer = fromJson ? buildJsonTokenizer() : buildWordPieceTokenizer();
  const { corpus, cases } = buildCorpus();
  const bytes = Buffer.byteLength(corpus, 'utf8');
  const lines = corpus.split('\n');
  if (lines[lines.length - 1] === '') lines.pop();
  const [ok, n] = await check(tokenizer, cases);
  const what = fromJson ? ' (tokenizer.json)' : (lowercase ? ' (lowercase)' : '');
  console.log(`tokenizers ${require('tokenizers/package.json').version}, vocab ${vocabName}${what}: ` +
              `${ok}/${n} ${fromJson ? '' : 'untruncated '}conformance cases match`);
  if (n === 0 || ok !== n) throw new Error('the configuration does not reproduce the conformance cases');
  console.log(`corpus: ${bytes} bytes, ${lines.length} lines`);

  const scenarios = {
    corpus: async () => (await tokenizer.encode(corpus)).getLength(),
    lines: async () => {
      let t = 0;
      for (const l of lines) t += (await tokenizer.encode(l)).getLength();
      return t;
    },
  };
  for (const [name, fn] of Object.entries(scenarios)) {
    await fn();  // warm-up
    const res = [];
    for (let r = 0; r < runs; r += 1) res.push(await time(fn));
    const tokens = res[0].tokens;
    const wall = median(res.map((x) => x.wall));
    const cpu = median(res.map((x) => x.cpu));
    console.log(`${name}: ${tokens} tokens; median of ${runs}: wall ${(wall * 1e3).toFixed(1)} ms ` +
                `(${(bytes / wall / 1e6).toFixed(2)} MB/s, ${(tokens / wall / 1e6).toFixed(3)} M tokens/s), ` +
                `cpu ${(cpu * 1e3).toFixed(1)} ms (${(bytes / cpu / 1e6).toFixed(2)} MB/s, ` +
                `${(tokens / cpu / 1e6).toFixed(3)} M tokens/s)`);
  }
}

main().catch((e) => { console.error(e); process.exit(1); });
