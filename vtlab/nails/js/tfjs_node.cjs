// Run a converted TF.js graph model in Node with real TensorFlow.js (cpu and wasm backends), loading the
// sharded weights from memory through a custom IOHandler: no file:// fetch, no tfjs-node.
// usage: node tfjs_node.cjs job.json      (job format: vtlab.nails.convert.run_tfjs_node writes it)
'use strict';
const fs = require('fs');
const path = require('path');
const { readInputs, writeOutputs, median } = require('./io.cjs');

// Every shard listed in model.json, read into one ArrayBuffer; tf.loadGraphModel only sees this object.
function memoryIOHandler(modelDir) {
  const manifest = JSON.parse(fs.readFileSync(path.join(modelDir, 'model.json'), 'utf8'));
  const weightSpecs = [], shards = [];
  for (const group of manifest.weightsManifest) {
    weightSpecs.push(...group.weights);
    for (const p of group.paths) shards.push(fs.readFileSync(path.join(modelDir, p)));
  }
  const all = Buffer.concat(shards);
  const weightData = all.buffer.slice(all.byteOffset, all.byteOffset + all.byteLength);
  const handler = {
    shards: shards.length, bytes: all.byteLength,
    load: async () => ({
      modelTopology: manifest.modelTopology, format: manifest.format, generatedBy: manifest.generatedBy,
      convertedBy: manifest.convertedBy, signature: manifest.signature,
      userDefinedMetadata: manifest.userDefinedMetadata, modelInitializer: manifest.modelInitializer,
      weightSpecs, weightData,
    }),
  };
  return handler;
}

async function runModel(tf, job, model, inputs) {
  // Feed and fetch by the SavedModel signature's tensor names, in the order Python asked for.
  const sig = model.signature || {};
  const feeds = {};
  for (const inp of job.inputs) {
    const info = sig.inputs && sig.inputs[inp.name];
    feeds[info ? info.name.replace(/:0$/, '') : inp.name] = inputs[inp.name];
  }
  const fetches = job.outputs.map(k => (sig.outputs && sig.outputs[k]) ? sig.outputs[k].name : k);
  let outs = await model.executeAsync(feeds, fetches);
  return Array.isArray(outs) ? outs : [outs];
}

async function main() {
  const job = JSON.parse(fs.readFileSync(process.argv[2], 'utf8'));
  const tf = require('@tensorflow/tfjs');
  require('@tensorflow/tfjs-backend-wasm');
  // Prove the model comes from memory: any fetch during loading is an error.
  const realFetch = globalThis.fetch;
  let fetchCalls = 0;
  globalThis.fetch = async (url) => { fetchCalls++; throw new Error(`harness: unexpected fetch of ${url}`); };
  const result = { tfjs_version: tf.version.tfjs, runs: [] };
  for (const backend of job.backends) {
    if (!(await tf.setBackend(backend))) throw new Error(`tfjs backend ${backend} failed to initialise`);
    await tf.ready();
    for (const m of job.models) {
      const t0 = performance.now();
      const handler = memoryIOHandler(m.dir);
      const model = await tf.loadGraphModel(handler);
      const loadMs = performance.now() - t0;
      const inputs = readInputs(tf, job.inputs);
      const times = [];
      let outs;
      for (let i = 0; i < Math.max(1, job.repeats); i++) {
        if (outs) outs.forEach(t => t.dispose());
        const t1 = performance.now();
        outs = await runModel(tf, job, model, inputs);
        await Promise.all(outs.map(t => t.data()));  // include the download, as a page would
        times.push(performance.now() - t1);
      }
      const dir = path.join(job.out_dir, backend, m.key);
      const outputs = await writeOutputs(dir, job.outputs, outs);
      outs.forEach(t => t.dispose()); Object.values(inputs).forEach(t => t.dispose()); model.dispose();
      result.runs.push({ backend: tf.getBackend(), precision: m.key, load_ms: loadMs, shards: handler.shards,
                         weight_bytes: handler.bytes, latency_ms: times, median_ms: median(times.slice(1).length ? times.slice(1) : times),
                         outputs, dir });
    }
  }
  result.fetch_calls = fetchCalls;
  globalThis.fetch = realFetch;
  fs.writeFileSync(path.join(job.out_dir, 'result.json'), JSON.stringify(result, null, 1));
}

main().catch(e => { console.error(e && e.stack || String(e)); process.exit(1); });
