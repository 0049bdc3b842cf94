// Times Hugging Face's Rust tokenizer (npm `tokenizers`, 0.23.x) on the corpus that
// bench_tokenizer.cpp builds, configured as tests/data/tokenizer-cases/README.md describes
// (BertNormalizer, BertPreTokenizer, WordPiece, the BERT template; special added tokens).
//
//   mkdir -p /tmp/tokref && (cd /tmp/tokref && npm install tokenizers@0.23)
//   NODE_PATH=/tmp/tokref/node_modules TOKENIZERS_PARALLELISM=false RAYON_NUM_THREADS=1 \
//     node bench/tokenizer_reference.js [vocab-name] [runs]
//
// vocab-name: a folder of tests/data/vocab (default bert-base-multilingual-cased; names
// containing "uncased" are lowercased). Prints the medians of `runs` runs (default 7) in wall and
// CPU time for: the whole corpus as one text, and every line encoded on its own (awaited one by
// one, so that figure includes the binding's per-call cost). Before timing, checks the
// configuration against every conformance case of that vocabulary.
'use strict';

const fs = require('fs');
const path = require('path');
const { Tokenizer } = require('tokenizers');

const dataDir = path.join(__dirname, '..', 'tests', 'data');
const vocabName = process.argv[2] || 'bert-base-multilingual-cased';
const runs = Number(process.argv[3] || 7);
const lowercase = vocabName.includes('uncased');

function buildTokenizer() {
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

// Same corpus as bench_tokenizer.cpp: distinct texts (text, then text_pair) of every case, files in
// name order, joined with '\n', whole copies until at least 1 MiB (UTF-8 bytes).
function buildCorpus() {
  const dir = path.join(dataDir, 'tokenizer-cases');
  const files = fs.readdirSync(dir).filter((f) => f.endsWith('.jsonl')).sort();
  const seen = new Set();
  const texts = [];
  const cases = [];
  for (const f of files) {
    for (const line of fs.readFileSync(path.join(dir, f), 'utf8').split('\n')) {
      if (line === '') continue;
      const c = JSON.parse(line);
      cases.push(c);
      for (const key of ['text', 'text_pair']) {
        if (c[key] === undefined || seen.has(c[key])) continue;
        seen.add(c[key]);
        texts.push(c[key]);
      }
    }
  }
  const unit = texts.map((t) => t + '\n').join('');
  let corpus = '';
  while (Buffer.byteLength(corpus, 'utf8') < (1 << 20)) corpus += unit;
  return { corpus, cases };
}

async function check(tokenizer, cases) {
  let n = 0;
  let ok = 0;
  for (const c of cases) {
    const base = c.vocab.split('@')[0];
    const cased = c.vocab.includes('@cased');
    if (base !== vocabName || cased === lowercase) continue;
    if (c.max_length !== undefined) continue;  // truncation is set per call elsewhere; skipped here
    const e = c.text_pair === undefined ? await tokenizer.encode(c.text) : await tokenizer.encode(c.text, c.text_pair);
    n += 1;
    if (JSON.stringify(e.getIds()) === JSON.stringify(c.ids)) ok += 1;
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
  const tokenizer = buildTokenizer();
  const { corpus, cases } = buildCorpus();
  const bytes = Buffer.byteLength(corpus, 'utf8');
  const lines = corpus.split('\n');
  if (lines[lines.length - 1] === '') lines.pop();
  const [ok, n] = await check(tokenizer, cases);
  console.log(`tokenizers ${require('tokenizers/package.json').version}, vocab ${vocabName}` +
              `${lowercase ? ' (lowercase)' : ''}: ${ok}/${n} untruncated conformance cases match`);
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
