// Tensor files shared by the Node and browser harnesses: raw little-endian data + {name, dtype, shape} in JSON.
'use strict';
const fs = require('fs');
const path = require('path');

const ARRAYS = { float32: Float32Array, int32: Int32Array, bool: Uint8Array };

function readInputs(tf, specs) {
  const out = {};
  for (const s of specs) {
    const buf = fs.readFileSync(s.file);
    const data = new ARRAYS[s.dtype](buf.buffer.slice(buf.byteOffset, buf.byteOffset + buf.byteLength));
    out[s.name] = tf.tensor(data, s.shape, s.dtype);
  }
  return out;
}

async function writeOutputs(dir, names, tensors) {
  fs.mkdirSync(dir, { recursive: true });
  const meta = [];
  for (let i = 0; i < tensors.length; i++) {
    const t = tensors[i], data = await t.data(), file = path.join(dir, `${names[i]}.bin`);
    fs.writeFileSync(file, Buffer.from(data.buffer, data.byteOffset, data.byteLength));
    meta.push({ name: names[i], dtype: t.dtype, shape: t.shape, file });
  }
  return meta;
}

function median(xs) { const s = [...xs].sort((a, b) => a - b); const n = s.length; return n ? (n % 2 ? s[(n - 1) / 2] : (s[n / 2 - 1] + s[n / 2]) / 2) : null; }

module.exports = { readInputs, writeOutputs, median };
