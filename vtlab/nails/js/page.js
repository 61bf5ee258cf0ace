// In-page half of browser.cjs: runs each TF.js model and the ONNX model, returns outputs as base64 bytes.
'use strict';
const ARRAYS = { float32: Float32Array, int32: Int32Array, int64: BigInt64Array, bool: Uint8Array };

async function fetchTensorData(spec) {
  const buf = await (await fetch(`/in/${spec.file}`)).arrayBuffer();
  return new ARRAYS[spec.dtype](buf);
}

function b64(typed) {
  const bytes = new Uint8Array(typed.buffer, typed.byteOffset, typed.byteLength);
  let s = '';
  for (let i = 0; i < bytes.length; i += 0x8000) s += String.fromCharCode.apply(null, bytes.subarray(i, i + 0x8000));
  return btoa(s);
}

function median(xs) { const s = [...xs].sort((a, b) => a - b); const n = s.length; return n % 2 ? s[(n - 1) / 2] : (s[n / 2 - 1] + s[n / 2]) / 2; }

async function pickBackend(wanted) {
  tf.wasm.setWasmPaths('/lib/@tensorflow/tfjs-backend-wasm/dist/');
  for (const b of wanted) {
    try { if (await tf.setBackend(b)) { await tf.ready(); return b; } } catch (e) { console.log(`backend ${b}: ${e}`); }
  }
  throw new Error(`none of the TF.js backends ${wanted} initialised`);
}

async function runTfjs(spec, runs) {
  const backend = await pickBackend(spec.tfjs_backends);
  const feedsData = await Promise.all(spec.inputs.map(fetchTensorData));
  for (const m of spec.models) {
    const t0 = performance.now();
    const model = await tf.loadGraphModel(m.url);
    const loadMs = performance.now() - t0;
    const sig = model.signature || {};
    const feeds = {};
    spec.inputs.forEach((inp, i) => {
      const info = sig.inputs && sig.inputs[inp.name];
      feeds[info ? info.name.replace(/:0$/, '') : inp.name] = tf.tensor(feedsData[i], inp.shape, inp.dtype);
    });
    const fetches = spec.outputs.map(k => (sig.outputs && sig.outputs[k]) ? sig.outputs[k].name : k);
    const times = []; let outs = null;
    for (let i = 0; i < Math.max(1, spec.repeats) + 1; i++) {   // the first call compiles shaders: not timed
      if (outs) outs.forEach(t => t.dispose());
      const t1 = performance.now();
      outs = await model.executeAsync(feeds, fetches); outs = Array.isArray(outs) ? outs : [outs];
      await Promise.all(outs.map(t => t.data()));
      if (i > 0) times.push(performance.now() - t1);
    }
    const outputs = [];
    for (let i = 0; i < outs.length; i++)
      outputs.push({ name: spec.outputs[i], dtype: outs[i].dtype, shape: outs[i].shape, b64: b64(await outs[i].data()) });
    outs.forEach(t => t.dispose()); Object.values(feeds).forEach(t => t.dispose()); model.dispose();
    runs.push({ stage: `chromium-${backend}`, precision: m.key, backend, load_ms: loadMs, latency_ms: times,
                median_ms: median(times), outputs });
  }
}

async function runOrt(spec, runs) {
  ort.env.wasm.wasmPaths = '/lib/onnxruntime-web/dist/';
  ort.env.wasm.numThreads = 1;   // threads need cross-origin isolation; keep it simple and comparable
  const t0 = performance.now();
  const session = await ort.InferenceSession.create(spec.onnx, { executionProviders: ['wasm'] });
  const loadMs = performance.now() - t0;
  const feeds = {};
  for (const inp of spec.onnx_inputs) feeds[inp.name] = new ort.Tensor(inp.dtype, await fetchTensorData(inp), inp.shape);
  const times = []; let res;
  for (let i = 0; i < Math.max(1, spec.repeats) + 1; i++) {
    const t1 = performance.now(); res = await session.run(feeds); if (i > 0) times.push(performance.now() - t1);
  }
  const outputs = spec.onnx_outputs.map(n => ({ name: n, dtype: res[n].type, shape: res[n].dims, b64: b64(res[n].data) }));
  runs.push({ stage: 'ort-web', precision: 'fp32', backend: 'wasm', load_ms: loadMs, latency_ms: times,
              median_ms: median(times), outputs });
}

window.runJob = async (spec) => {
  const runs = [];
  if (spec.models.length) await runTfjs(spec, runs);
  if (spec.onnx) await runOrt(spec, runs);
  return runs;
};
