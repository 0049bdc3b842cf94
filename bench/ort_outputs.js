// Run one model of the peer kit's cache with ONNX Runtime (the kit's session options, 1 thread) on
// input_ids.npy, attention_mask.npy and token_type_ids.npy (int64 [B, T]) from a folder and write
// last_hidden_state.npy and pooler_output.npy (float32) into another, for bench/int8_accuracy.py.
// usage: node bench/ort_outputs.js --model NAME --inputs DIR --out DIR [--kit ../shared/peer]
'use strict';
const fs = require('fs');
const path = require('path');

function args() {
  const a = { kit: path.join(__dirname, '..', '..', 'shared', 'peer') };
  for (let i = 2; i < process.argv.length; i += 2) {
    const k = process.argv[i], v = process.argv[i + 1];
    if (v === undefined || !['--model', '--inputs', '--out', '--kit'].includes(k)) {
      process.stderr.write('usage: node ort_outputs.js --model NAME --inputs DIR --out DIR [--kit DIR]\n');
      process.exit(2);
    }
    a[k.slice(2)] = v;
  }
  if (!a.model || !a.inputs || !a.out) {
    process.stderr.write('ort_outputs: --model, --inputs and --out are required\n');
    process.exit(2);
  }
  return a;
}

// .npy version 1.0, little-endian float32, C order.
function writeNpyF32(file, dims, data) {
  let h = `{'descr': '<f4', 'fortran_order': False, 'shape': (${dims.join(', ')}${dims.length === 1 ? ',' : ''}), }`;
  const pad = 64 - ((10 + h.length + 1) % 64);
  h += ' '.repeat(pad % 64) + '\n';
  const head = Buffer.alloc(10);
  head.write('\x93NUMPY', 0, 'latin1');
  head[6] = 1; head[7] = 0;
  head.writeUInt16LE(h.length, 8);
  const body = Buffer.from(data.buffer, data.byteOffset, data.byteLength);
  fs.writeFileSync(file, Buffer.concat([head, Buffer.from(h, 'latin1'), body]));
}

(async () => {
  const a = args();
  const lib = require(path.join(path.resolve(a.kit), 'peer_lib'));
  const { ort } = lib.loadOrt();
  const session = await ort.InferenceSession.create(path.join(lib.modelDir(a.model), 'model.onnx'),
    lib.sessionOptions(1));
  const feeds = {};
  for (const n of ['input_ids', 'attention_mask', 'token_type_ids']) {
    const x = lib.readNpy(path.join(a.inputs, n + '.npy'));
    if (!(x.data instanceof BigInt64Array)) throw new Error(`${n}.npy: want int64`);
    feeds[n] = new ort.Tensor('int64', x.data, x.dims);
  }
  const r = await session.run(feeds);
  fs.mkdirSync(a.out, { recursive: true });
  for (const n of ['last_hidden_state', 'pooler_output']) {
    writeNpyF32(path.join(a.out, n + '.npy'), r[n].dims, r[n].data);
  }
})().catch((e) => { console.error('ort_outputs: ' + (e && e.message ? e.message : e)); process.exit(1); });
