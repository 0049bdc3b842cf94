#!/usr/bin/env python3
"""Writes the seed corpora of fuzz_tokenizer_json and fuzz_sentencepiece from the test data:
small real tokenizer.json documents (t5-small's and roberta-base's cut down to a few hundred
entries, a WordPiece one) and small SentencePiece models (t5-small's first pieces), each with a
tiny Precompiled charsmap built here, so that the fuzzers mutate small inputs that still reach the
normalizer. Run from the source root:  python3 fuzz/make_tokenizer_seeds.py"""
import base64
import json
import os
import struct

DATA = 'tests/data/vocab'
OUT = 'fuzz/corpus'

# Replacements of the tiny charsmap: full-width letters, a ligature, an ellipsis, a no-break space,
# and a character removed (empty replacement).
CHARSMAP_RULES = {'\uff21': 'A', '\uff22': 'B', '\uff41': 'a', '\ufb01': 'fi', '\u2026': '...', '\u00a0': ' ',
                  '\u200b': ''}


def darts_units(keys):
    """A darts-clone double array for {bytes key: value}: each node's children sit at
    base ^ byte with base a free multiple of 256, and its value (when a key ends there) at base."""
    trie = {}
    for key, value in keys.items():
        node = trie
        for b in key:
            node = node.setdefault(b, {})
        node[None] = value
    units, used = {}, set()

    def place(node, pos):
        labels = [b for b in node if b is not None]
        slots = [0] * (None in node) + labels
        base = 256
        while any((base ^ s) in used for s in slots) or base == pos:
            base += 256
        for s in slots:
            used.add(base ^ s)
        offset = pos ^ base
        assert offset < (1 << 21)
        units[pos] = units.get(pos, 0) | (offset << 10) | ((None in node) << 8)
        if None in node:
            units[base] = (1 << 31) | node[None]
        for b in labels:
            units[base ^ b] = b
            place(node[b], base ^ b)

    used.add(0)
    place(trie, 0)
    return [units.get(i, 0) for i in range(max(units) + 1)]


def tiny_charsmap():
    strings, keys = b'', {}
    for src, dst in CHARSMAP_RULES.items():
        keys[src.encode()] = len(strings)
        strings += dst.encode() + b'\0'
    units = darts_units(keys)
    trie = struct.pack('<%dI' % len(units), *units)
    return struct.pack('<I', len(trie)) + trie + strings


def write(path, data):
    os.makedirs(os.path.dirname(path), exist_ok=True)
    with open(path, 'wb') as f:
        f.write(data if isinstance(data, bytes) else data.encode())


def unigram_docs(charsmap):
    doc = json.load(open(os.path.join(DATA, 't5-small', 'tokenizer.json')))
    doc['truncation'] = doc['padding'] = None
    doc['model']['vocab'] = doc['model']['vocab'][:300]
    doc['added_tokens'] = [t for t in doc['added_tokens'] if t['id'] < 300]
    doc['normalizer'] = {'type': 'Precompiled', 'precompiled_charsmap': base64.b64encode(charsmap).decode()}
    plain = dict(doc, normalizer=None, pre_tokenizer={'type': 'Metaspace', 'replacement': '\u2581',
                                                      'prepend_scheme': 'first', 'split': False})
    return json.dumps(doc, ensure_ascii=False), json.dumps(plain, ensure_ascii=False)


def bpe_doc():
    doc = json.load(open(os.path.join(DATA, 'roberta-base', 'tokenizer.json')))
    vocab = {t: i for t, i in doc['model']['vocab'].items() if i < 400}
    vocab['<mask>'] = 400
    merges = []
    for m in doc['model']['merges']:
        a, b = m if isinstance(m, list) else m.split(' ')
        if a in vocab and b in vocab and a + b in vocab:
            merges.append([a, b])
    doc['model'].update(vocab=vocab, merges=merges)
    doc['added_tokens'] = [dict(t, id=400) if t['content'] == '<mask>' else t for t in doc['added_tokens']]
    doc['truncation'] = doc['padding'] = None
    return json.dumps(doc, ensure_ascii=False)


def wordpiece_doc():
    tokens = ['[PAD]', '[UNK]', '[CLS]', '[SEP]', '[MASK]', 'hello', 'world', '##s', 'the', 'qu', '##ick', ',', '.',
              '!', 'cafe', '中', 'a', '##a']
    return json.dumps({
        'version': '1.0', 'truncation': None, 'padding': None,
        'added_tokens': [{'id': i, 'content': t, 'single_word': False, 'lstrip': False, 'rstrip': False,
                          'normalized': False, 'special': True} for i, t in enumerate(tokens[:5])],
        'normalizer': {'type': 'BertNormalizer', 'clean_text': True, 'handle_chinese_chars': True,
                       'strip_accents': None, 'lowercase': True},
        'pre_tokenizer': {'type': 'BertPreTokenizer'},
        'post_processor': {'type': 'TemplateProcessing',
                           'single': [{'SpecialToken': {'id': '[CLS]', 'type_id': 0}},
                                      {'Sequence': {'id': 'A', 'type_id': 0}},
                                      {'SpecialToken': {'id': '[SEP]', 'type_id': 0}}],
                           'pair': [{'SpecialToken': {'id': '[CLS]', 'type_id': 0}},
                                    {'Sequence': {'id': 'A', 'type_id': 0}},
                                    {'SpecialToken': {'id': '[SEP]', 'type_id': 0}},
                                    {'Sequence': {'id': 'B', 'type_id': 1}},
                                    {'SpecialToken': {'id': '[SEP]', 'type_id': 1}}],
                           'special_tokens': {'[CLS]': {'id': '[CLS]', 'ids': [2], 'tokens': ['[CLS]']},
                                              '[SEP]': {'id': '[SEP]', 'ids': [3], 'tokens': ['[SEP]']}}},
        'decoder': None,
        'model': {'type': 'WordPiece', 'unk_token': '[UNK]', 'continuing_subword_prefix': '##',
                  'max_input_chars_per_word': 100, 'vocab': {t: i for i, t in enumerate(tokens)}},
    }, ensure_ascii=False)


# Protocol-buffer wire format (enough for ModelProto).
def varint(v):
    out = b''
    while v >= 0x80:
        out += bytes([(v & 0x7F) | 0x80])
        v >>= 7
    return out + bytes([v])


def field(number, wire, payload):
    if wire == 2:
        return varint(number << 3 | 2) + varint(len(payload)) + payload
    return varint(number << 3 | wire) + payload


def top_level_fields(data):
    i = 0
    while i < len(data):
        key, i = read_varint(data, i)
        number, wire = key >> 3, key & 7
        assert wire == 2, 'ModelProto has only messages at the top level'
        size, i = read_varint(data, i)
        yield number, data[i:i + size]
        i += size


def read_varint(data, i):
    v = shift = 0
    while True:
        b = data[i]
        i += 1
        v |= (b & 0x7F) << shift
        shift += 7
        if b < 0x80:
            return v, i


def piece(text, score, kind=1):
    p = field(1, 2, text.encode()) + field(2, 5, struct.pack('<f', score))
    return p + (field(3, 0, varint(kind)) if kind != 1 else b'')


def normalizer_spec(charsmap, dummy_prefix=1, remove_spaces=1):
    spec = field(1, 2, b'nmt_nfkc' if charsmap else b'identity')
    if charsmap:
        spec += field(2, 2, charsmap)
    return spec + field(3, 0, varint(dummy_prefix)) + field(4, 0, varint(remove_spaces))


def t5_head_model(charsmap, count):
    pieces, trainer = [], b''
    with open(os.path.join(DATA, 't5-small', 'spiece.model'), 'rb') as f:
        for number, payload in top_level_fields(f.read()):
            if number == 1 and len(pieces) < count:
                pieces.append(payload)
            elif number == 2:
                trainer = payload
    return b''.join(field(1, 2, p) for p in pieces) + field(2, 2, trainer) + field(3, 2, normalizer_spec(charsmap))


def xlmr_like_model():
    pieces = [piece('<unk>', 0, 2), piece('<s>', 0, 3), piece('</s>', 0, 3), piece('\u2581', -2.0),
              piece('<sep>', 0, 4)]
    pieces += [piece(c, -3.0 - i / 10) for i, c in enumerate('abcdefghijklmnopqrstuvwxyz')]
    pieces += [piece('\u2581' + w, -5.0 - i) for i, w in enumerate(['the', 'hello', 'world', 'quick'])]
    trainer = field(3, 0, varint(1)) + field(40, 0, varint(0))
    return (b''.join(field(1, 2, p) for p in pieces) + field(2, 2, trainer) +
            field(3, 2, normalizer_spec(b'', dummy_prefix=0, remove_spaces=0)))


def main():
    charsmap = tiny_charsmap()
    unigram, unigram_plain = unigram_docs(charsmap)
    j = os.path.join(OUT, 'fuzz_tokenizer_json')
    write(os.path.join(j, 'unigram.json'), unigram)
    write(os.path.join(j, 'unigram_plain.json'), unigram_plain)
    write(os.path.join(j, 'unigram_cut.json'), unigram[:len(unigram) // 2])
    write(os.path.join(j, 'bpe.json'), bpe_doc())
    write(os.path.join(j, 'wordpiece.json'), wordpiece_doc())
    s = os.path.join(OUT, 'fuzz_sentencepiece')
    write(os.path.join(s, 't5_head.model'), t5_head_model(charsmap, 200))
    write(os.path.join(s, 't5_head_cut.model'), t5_head_model(charsmap, 60)[:-40])
    write(os.path.join(s, 'xlmr_like.model'), xlmr_like_model())


if __name__ == '__main__':
    main()
