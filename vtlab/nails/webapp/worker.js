// Inference worker: the two passes of vtlab's nail pipeline on TF.js (webgl, wasm fallback) or onnxruntime-web
// (wasm), with MediaPipe's hand landmarker (tasks-vision) as an alternative pass 1 or as a hand-presence gate. A
// classic worker: the libraries' UMD builds load with importScripts (tfjs-backend-wasm's ES build imports bare module
// names, and import maps do not reach workers). Every file comes from the serving 127.0.0.1 origin.
'use strict';
importScripts('nails.js');
const N = self.VtlabNails;

let rt = null;            // {kind, backend, pass1(x) -> outputs, pass2(x, n) -> outputs}
let cfg = null, manifest = null, smoother = null, frameIndex = 0, last = null;
let canvas = null, ctx = null, baseline = null, side = 256, adaptive = null;
let pass1Kind = 'trained', gate = false, hands = null, mp = null;   // MediaPipe: the landmarker and its settings

// The single-pass baseline on one frame: full frame resized to the model's input, one model call
async function processBaseline(rgba, W, H) {
  const t = {}, t0 = performance.now();
  const [, , h, w] = baseline.input.onnx_shape;
  const x = N.resizeBilinear(rgba, W, H, w, h, rt.layout); t.baseline_pre = performance.now() - t0;
  const s = performance.now(); await rt.run(x); t.baseline = performance.now() - s;
  t.total = performance.now() - t0;
  return { nails: [], hand: 0, ran: true, timings: t };
}

function webglRenderer() {
  try {
    const gl = new OffscreenCanvas(1, 1).getContext('webgl2') || new OffscreenCanvas(1, 1).getContext('webgl');
    if (!gl) return null;
    const ext = gl.getExtension('WEBGL_debug_renderer_info');
    return String(gl.getParameter(ext ? ext.UNMASKED_RENDERER_WEBGL : gl.RENDERER));
  } catch (e) { return null; }
}

function layoutOf(spec) { return spec.nhwc ? 'nhwc' : 'nchw'; }

async function initTfjs(backend, threads, baseline) {
  importScripts('lib/tf.min.js', 'lib/tf-backend-wasm.min.js');
  tf.wasm.setWasmPaths(new URL('lib/', self.location.href).href);
  if (threads > 0 && tf.wasm.setThreadsCount) tf.wasm.setThreadsCount(threads);
  let used = null; const errors = [];
  let wanted = backend === 'auto' ? ['webgl', 'wasm'] : [backend];
  if (backend === 'auto') {   // a software WebGL (SwiftShader, llvmpipe: no GPU) is 20-40x slower than WASM here
    const r = webglRenderer();
    if (!r || /swiftshader|llvmpipe|software/i.test(r)) { wanted = ['wasm']; errors.push(`webgl: skipped (renderer ${r || 'none'})`); }
  }
  for (const b of wanted) {
    try {
      if (await tf.setBackend(b)) { await tf.ready(); used = b; break; }
      errors.push(`${b}: not available`);
    } catch (e) { errors.push(`${b}: ${e.message || e}`); }
  }
  if (!used) throw new Error(`no TF.js backend among ${wanted.join(', ')} initialised (${errors.join('; ')})`);
  const load = async (m) => {
    const model = await tf.loadGraphModel(m.tfjs);
    const sig = model.signature || {};
    const inName = sig.inputs && sig.inputs[m.tf_input] ? sig.inputs[m.tf_input].name.replace(/:0$/, '') : m.tf_input;
    const fetches = m.outputs.map(o => (sig.outputs && sig.outputs[o.tf]) ? sig.outputs[o.tf].name : o.tf);
    return { model, inName, fetches };
  };
  if (baseline) {   // the single-pass full-frame model, for the side-by-side benchmark
    const model = await tf.loadGraphModel(baseline.tfjs), sig = model.signature || {};
    const inName = sig.inputs && sig.inputs[baseline.input.tf] ? sig.inputs[baseline.input.tf].name.replace(/:0$/, '') : baseline.input.tf;
    return { kind: 'tfjs', backend: used, fallback: errors, versions: { tfjs: tf.version.tfjs }, layout: baseline.input.nhwc ? 'nhwc' : 'nchw',
      memory: () => { const m = tf.memory(); return { tensors: m.numTensors, tensor_bytes: m.numBytes }; },
      run: async (x) => {
        const outs = tf.tidy(() => { const y = model.execute({ [inName]: tf.tensor(x, baseline.input.tf_shape, 'float32') }); return Array.isArray(y) ? y : [y]; });
        try { await Promise.all(outs.map(t => t.data())); } finally { tf.dispose(outs); }
      } };
  }
  const p1s = {};   // one graph model per converted pass-1 input size (all of them only when adapting)
  for (const v of manifest.pass1.variants)
    if (cfg.target_fps > 0 || v.side === cfg.pass1_side) p1s[v.side] = { g: await load(v), m: v };
  if (!p1s[cfg.pass1_side]) throw new Error(`no TF.js pass-1 model for side ${cfg.pass1_side} (converted: ${manifest.pass1.variants.map(v => v.side)})`);
  const p2s = {};   // pass 2 at each converted batch size
  for (const v of manifest.pass2.variants || [manifest.pass2]) p2s[v.input.tf_shape[0]] = { g: await load(v), m: v };
  const batches = Object.keys(p2s).map(Number).sort((a, b) => b - a);
  // Run a graph model; every intermediate tensor is freed by tf.tidy, the outputs right after download.
  const run = async (g, m, data, shape) => {
    const outs = tf.tidy(() => {
      const y = g.model.execute({ [g.inName]: tf.tensor(data, shape, 'float32') }, g.fetches);
      return Array.isArray(y) ? y : [y];
    });
    try {
      const vals = await Promise.all(outs.map(t => t.data()));
      const res = {}; m.outputs.forEach((o, i) => { res[o.onnx] = vals[i]; });
      return res;
    } finally { tf.dispose(outs); }
  };
  return {
    kind: 'tfjs', backend: used, layout1: layoutOf(manifest.pass1.input), layout2: layoutOf(manifest.pass2.input),
    heatLayout: manifest.pass1.outputs[0].nhwc ? 'nhwc' : 'nchw', plan2: (n) => N.batchPlan(n, batches),
    sides: Object.keys(p1s).map(Number).sort((a, b) => a - b),
    inputWH: (side) => { const sh = p1s[side].m.input.onnx_shape; return [sh[3], sh[2]]; },
    warm: async () => {
      for (const { g, m } of Object.values(p1s)) await run(g, m, new Float32Array(m.input.tf_shape.reduce((a, b) => a * b)), m.input.tf_shape);
      for (const { g, m } of Object.values(p2s)) await run(g, m, new Float32Array(m.input.tf_shape.reduce((a, b) => a * b)), m.input.tf_shape);
    },
    pass1: (x, inWH, side) => run(p1s[side].g, p1s[side].m, x, [1, inWH[1], inWH[0], 3]),
    pass2: (x, n, b) => run(p2s[b].g, p2s[b].m, x, p2s[b].m.input.tf_shape),
    memory: () => { const m = tf.memory(); return { tensors: m.numTensors, tensor_bytes: m.numBytes }; },
    versions: { tfjs: tf.version.tfjs }, fallback: errors,
  };
}

async function initOrt(threads, baseline) {
  importScripts('lib/ort.wasm.min.js');
  ort.env.wasm.wasmPaths = new URL('lib/', self.location.href).href;
  ort.env.wasm.numThreads = threads > 0 ? threads : 1;
  const opts = { executionProviders: ['wasm'], graphOptimizationLevel: 'all' };
  if (baseline) {
    const s0 = await ort.InferenceSession.create(baseline.onnx, opts);
    return { kind: 'ort', backend: 'wasm', layout: 'nchw', versions: {}, memory: () => ({ tensors: null, tensor_bytes: null }),
      run: async (x) => {
        const out = await s0.run({ [baseline.input.onnx]: new ort.Tensor('float32', x, baseline.input.onnx_shape) });
        for (const v of Object.values(out)) v.dispose && v.dispose();
      } };
  }
  const s1 = await ort.InferenceSession.create(manifest.pass1.onnx, opts);
  const s2 = await ort.InferenceSession.create(manifest.pass2.onnx, opts);
  const run = async (s, m, data, shape) => {
    const feeds = { [m.onnx_input]: new ort.Tensor('float32', data, shape) };
    const out = await s.run(feeds);
    const res = {};
    for (const o of m.outputs) { res[o.onnx] = out[o.onnx].data; out[o.onnx].dispose && out[o.onnx].dispose(); }
    return res;
  };
  return {
    kind: 'ort', backend: 'wasm', layout1: 'nchw', layout2: 'nchw', heatLayout: 'nchw', plan2: (n) => [n],   // any batch size
    sides: null, inputWH: (side, W, H) => N.pass1InputSize(W, H, side),   // the ONNX takes any multiple of 64
    warm: async () => {
      const [h, w] = manifest.pass1.input.onnx_shape.slice(2);
      await run(s1, manifest.pass1, new Float32Array(3 * h * w), [1, 3, h, w]);
      await run(s2, manifest.pass2, new Float32Array(3 * cfg.patch * cfg.patch), [1, 3, cfg.patch, cfg.patch]);
    },
    pass1: (x, inWH, side) => run(s1, manifest.pass1, x, [1, 3, inWH[1], inWH[0]]),
    pass2: (x, n, b) => run(s2, manifest.pass2, x, [n, 3, cfg.patch, cfg.patch]),
    memory: () => ({ tensors: null, tensor_bytes: null }),
    versions: { 'onnxruntime-web': ort.env.versions ? ort.env.versions.web : null },
  };
}

// MediaPipe's hand landmarker (tasks-vision's WASM build, CPU) on the .task bundle vtlab_serve_nails makes from the
// palm-detection and hand-landmark .tflite files of data/models. VIDEO mode tracks a found hand from frame to frame.
async function initHands(settings) {
  try { importScripts('lib/vision_bundle.js'); }
  catch (e) { throw new Error('MediaPipe\'s web runtime is not on this server (npm @mediapipe/tasks-vision): rebuild .venv-convert with tools/make-convert-venv'); }
  const fileset = await Vision.FilesetResolver.forVisionTasks(new URL('lib', self.location.href).href);
  return Vision.HandLandmarker.createFromOptions(fileset, {
    baseOptions: { modelAssetPath: settings.task, delegate: 'CPU' }, runningMode: 'VIDEO', numHands: 2,
    minHandDetectionConfidence: settings.min_detection, minHandPresenceConfidence: 0.5, minTrackingConfidence: 0.5 });
}

// The hands in one frame: 21 landmarks each, in frame px.
let lastTs = 0;
function findHands(image, W, H) {
  const ts = lastTs = Math.max(performance.now(), lastTs + 1);   // VIDEO mode needs increasing timestamps
  return hands.detectForVideo(image, ts).landmarks.map(lm => lm.map(p => [p.x * W, p.y * H]));
}

function heap() {
  const m = self.performance && self.performance.memory;
  return m ? m.usedJSHeapSize : null;
}

// One frame: the same stages and order as vtlab.nails.pipeline.NailPipeline.process
async function processFrame(rgba, image, W, H, step) {
  const t = {}, now = () => performance.now(), t0 = now();
  const i = frameIndex++;
  if (last && cfg.skip > 1 && i % cfg.skip) return Object.assign({}, last, { ran: false, timings: { total: now() - t0 } });
  let s = now(), inWH, hand, dets;
  if (pass1Kind === 'mediapipe') {   // NailPipeline.run_pass1 with a detector (vtlab.nails.hands.MediaPipePass1)
    const found = findHands(image, W, H); t.pass1 = now() - s; s = now();
    inWH = [W, H]; hand = found.length ? 1 : 0;
    dets = N.mergeFingers(found.flatMap((lm, k) => N.nailDetectionsFromLandmarks(lm, 1, k, mp.centre_frac, mp.length_frac)), cfg.merge_frac)
      .slice(0, cfg.max_nails);
  } else {
    inWH = rt.inputWH(side, W, H);
    const x1 = N.resizeBilinear(rgba, W, H, inWH[0], inWH[1], rt.layout1); t.pass1_pre = now() - s; s = now();
    const o1 = await rt.pass1(x1, inWH, side); t.pass1 = now() - s; s = now();
    const F = 5, hh = inWH[1] / 8, ww = inWH[0] / 8;   // heatmaps at stride 8
    hand = o1.hand[0];
    dets = N.pass1Detections({ heatmaps: o1.heatmaps, sizes: o1.sizes, hand, F, h: hh, w: ww, layout: rt.heatLayout }, cfg, [W, H], inWH);
    if (gate) {   // MediaPipe confirms the hands: detections outside every found hand are dropped
      s = now(); const found = findHands(image, W, H); t.gate = now() - s;
      dets = N.gateDetections(dets, found, 0.25); if (!found.length) hand = 0;
    }
  }
  t.peaks = now() - s; s = now();
  smoother.updateTracks(dets); t.smooth = now() - s;
  let kept = [];
  if (dets.length) {
    s = now();
    N.patchSides(dets, cfg);
    const P = cfg.patch, P2 = P * P, plan = rt.plan2(dets.length);   // batch sizes: TF.js has fixed ones, ONNX takes n
    const outs = { mask: new Float32Array(dets.length * P2), confidence: new Float32Array(dets.length),
                   offset: new Float32Array(dets.length * 2), orientation: new Float32Array(dets.length * 2) };
    const chunks = [], starts = [];
    for (let k = 0, i = 0; k < plan.length; i += plan[k], k++) { starts.push(i); chunks.push(dets.slice(i, i + plan[k])); }
    const xs = chunks.map((c, k) => N.cropPatches(rgba, W, H, c, P, plan[k], rt.layout2));
    t.patches = now() - s; s = now();
    for (let k = 0; k < chunks.length; k++) {
      const o2 = await rt.pass2(xs[k], chunks[k].length, plan[k]), n = chunks[k].length, k0 = starts[k];
      outs.mask.set(o2.mask.subarray(0, n * P2), k0 * P2); outs.confidence.set(o2.confidence.subarray(0, n), k0);
      outs.offset.set(o2.offset.subarray(0, 2 * n), 2 * k0); outs.orientation.set(o2.orientation.subarray(0, 2 * n), 2 * k0);
    }
    t.pass2 = now() - s; s = now();
    chunks.forEach((c, k) => c.forEach((d, j) => {   // the nail's own mean lightness: the reference its polish shading is measured from
      const i = starts[k] + j;
      d.lightness = N.nailLightness(xs[k], j, P, rt.layout2, outs.mask.subarray(i * P2, (i + 1) * P2), cfg.mask_threshold);
    }));
    kept = N.pass2Keep(dets, outs, cfg); t.post = now() - s;
  }
  s = now();
  const shown = smoother.blendMasks(kept, kept.map(d => d.new_mask), step);   // with the tracks coasting through a miss
  kept.forEach(d => { delete d.new_mask; });
  t.smooth += now() - s;
  t.total = now() - t0;
  last = { nails: shown, hand, ran: true, in_wh: inWH, pass1: pass1Kind + (gate ? '+gate' : '') };
  if (adaptive) side = adaptive.update(t.total / 1000);
  return Object.assign({}, last, { timings: t });
}

self.onmessage = async (ev) => {
  const msg = ev.data;
  try {
    if (msg.type === 'init') {
      manifest = msg.manifest; cfg = Object.assign({}, N.DEFAULT_CONFIG, manifest.config || {}, msg.config || {});
      smoother = new N.Smoother(cfg.ema_alpha, cfg.mask_alpha, cfg.max_missed);
      const t0 = performance.now();
      baseline = msg.baseline || null;
      rt = msg.runtime === 'ort' ? await initOrt(msg.threads, baseline) : await initTfjs(msg.backend || 'auto', msg.threads, baseline);
      pass1Kind = msg.pass1 === 'mediapipe' ? 'mediapipe' : 'trained'; gate = !!msg.gate && pass1Kind === 'trained';
      if ((pass1Kind === 'mediapipe' || gate) && !baseline) { mp = msg.mediapipe; hands = await initHands(mp); }
      const loadMs = performance.now() - t0;
      side = cfg.pass1_side;
      if (!baseline && cfg.target_fps > 0) {   // TF.js: only the converted sizes; ONNX: any side, Python's 192..512
        const lo = rt.sides ? rt.sides[0] : 192, hi = rt.sides ? rt.sides[rt.sides.length - 1] : 512;
        adaptive = new N.AdaptiveResolution(cfg.target_fps, side, lo, hi, 64);
      }
      if (baseline) { const [, , h, w] = baseline.input.onnx_shape; await rt.run(new Float32Array(3 * h * w)); }
      else await rt.warm();   // first runs compile shaders / allocate: not part of any frame's time
      self.postMessage({ type: 'ready', runtime: rt.kind, backend: rt.backend, load_ms: loadMs,
                         warm_ms: performance.now() - t0 - loadMs, versions: rt.versions, config: cfg,
                         cross_origin_isolated: self.crossOriginIsolated === true, memory: rt.memory(),
                         backend_errors: rt.fallback || [], pass1_sides: rt.sides || 'any' });
    } else if (msg.type === 'frame') {
      const bm = msg.bitmap, W = bm.width, H = bm.height;
      const tg = performance.now();
      if (!canvas || canvas.width !== W || canvas.height !== H) { canvas = new OffscreenCanvas(W, H); ctx = canvas.getContext('2d', { willReadFrequently: true }); }
      ctx.drawImage(bm, 0, 0);   // the bitmap goes back with the result: the page paints this very frame
      const image = ctx.getImageData(0, 0, W, H), rgba = image.data;
      const grab = performance.now() - tg;
      const code = N.decodeFrameCode(rgba, W);
      const res = baseline ? await processBaseline(rgba, W, H) : await processFrame(rgba, image, W, H, msg.step || 1);
      res.timings.grab = grab;
      const nails = res.nails.map(d => ({ finger: d.finger, score: d.score, center: d.center, size_px: d.size_px, side: d.side,
                                          confidence: d.confidence, angle: d.angle, track_id: d.track_id, nail_center: d.nail_center,
                                          lightness: d.lightness, mask: d.patch_mask.slice() }));
      self.postMessage({ type: 'result', id: msg.id, code, frame_wh: [W, H], nails, hand: res.hand, ran: res.ran, in_wh: res.in_wh, pass1: res.pass1,
                         timings: res.timings, memory: rt.memory(), heap: heap(), bitmap: bm }, [bm, ...nails.map(n => n.mask.buffer)]);
    } else if (msg.type === 'reset') { smoother.reset(); frameIndex = 0; last = null; }
  } catch (e) {
    self.postMessage({ type: 'error', message: `${e && e.message || e}`, stack: e && e.stack });
  }
};
