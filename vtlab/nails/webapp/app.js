// vtlab nail AR client: camera → worker (two-pass pipeline) → overlay + stats; benchmark mode posts JSON.
// URL parameters: runtime=tfjs|ort, backend=auto|webgl|wasm (TF.js; auto = WebGL on a hardware GPU, else WASM), threads=N (wasm threads, default 1),
// bench=N (benchmark N frames, then POST the results), warmup=N (frames left out of the latency statistics),
// target_fps=N (adapt the pass-1 input size to hold N FPS), masks=N (include the patch masks of the first N benchmark frames), out=NAME (results name), skip=K,
// model=baseline (the single-pass RT-DETR-seg instead of the two passes, for the side-by-side benchmark).
import { drawNails, formatStats } from './overlay.js';

const q = new URLSearchParams(location.search);
const num = (k, d) => (q.has(k) && q.get(k) !== '' ? Number(q.get(k)) : d);
const opts = {
  runtime: q.get('runtime') === 'ort' ? 'ort' : 'tfjs', backend: q.get('backend') || 'auto', threads: num('threads', 1),
  bench: num('bench', 0), warmup: num('warmup', 5), masks: num('masks', 0), out: (q.get('out') || 'bench').replace(/[^A-Za-z0-9_.-]/g, '_'),
  skip: num('skip', 0), target_fps: num('target_fps', 0), model: q.get('model') === 'baseline' ? 'baseline' : 'two-pass',
};
const $ = (id) => document.getElementById(id);
const setStatus = (s) => { $('status').textContent = s; };
const median = (xs) => self.VtlabNails.median(xs), pct = (xs, p) => self.VtlabNails.percentile(xs, p);

function b64(u8) { let s = ''; for (let i = 0; i < u8.length; i += 0x8000) s += String.fromCharCode.apply(null, u8.subarray(i, i + 0x8000)); return btoa(s); }

async function postResults(body) {
  const r = await fetch(`api/results/${opts.out}`, { method: 'POST', headers: { 'Content-Type': 'application/json' }, body: JSON.stringify(body) });
  if (!r.ok) throw new Error(`POST api/results/${opts.out}: HTTP ${r.status}`);
}

function summarize(records, tensorsPerFrame, info, wallMs) {
  const stages = {};
  for (const r of records) for (const [k, v] of Object.entries(r.timings)) (stages[k] = stages[k] || []).push(v);
  const lat = {};
  for (const [k, v] of Object.entries(stages)) lat[k] = { p50_ms: median(v), p95_ms: pct(v, 95), samples: v.length };
  const e2e = records.map(r => r.e2e_ms), heaps = records.map(r => r.heap_main).filter(x => x != null);
  const wheaps = records.map(r => r.heap_worker).filter(x => x != null);
  const tens = tensorsPerFrame.filter(x => x != null);
  return {
    model: opts.model, runtime: info.runtime, backend: info.backend, threads: opts.threads, cross_origin_isolated: info.cross_origin_isolated,
    frames: records.length, warmup: opts.warmup, load_ms: info.load_ms, warm_ms: info.warm_ms, versions: info.versions,
    backend_errors: info.backend_errors, frame_wh: records.length ? records[0].frame_wh : null,
    latency_ms: lat, end_to_end_ms: { p50_ms: median(e2e), p95_ms: pct(e2e, 95), samples: e2e.length },
    fps: records.length / (wallMs / 1000), frames_with_nails: records.filter(r => r.nails.length).length,
    tensors: tens.length ? { first: tens[0], last: tens[tens.length - 1], min: Math.min(...tens), max: Math.max(...tens), after_warmup: tensorsPerFrame[Math.min(opts.warmup, tensorsPerFrame.length - 1)] } : null,
    peak_tensor_bytes: Math.max(0, ...records.map(r => r.tensor_bytes || 0)) || null,
    peak_js_heap_bytes: heaps.length ? Math.max(...heaps) : null, peak_worker_heap_bytes: wheaps.length ? Math.max(...wheaps) : null,
    user_agent: navigator.userAgent, hardware_concurrency: navigator.hardwareConcurrency,
  };
}

// Whole-page memory (main thread + worker) at the end of a benchmark: needs cross-origin isolation; Chromium may
// delay the measurement until a garbage collection, so give up after 10 s.
async function pageMemory() {
  if (!self.crossOriginIsolated || !performance.measureUserAgentSpecificMemory) return null;
  const timeout = new Promise(res => setTimeout(() => res(null), 10000));
  try {
    const m = await Promise.race([performance.measureUserAgentSpecificMemory(), timeout]);
    if (!m) return { error: 'timed out' };
    const by = {};
    for (const b of m.breakdown) for (const a of b.attribution) { const k = a.scope || 'other'; by[k] = (by[k] || 0) + b.bytes; }
    return { bytes: m.bytes, by_scope: by };
  } catch (e) { return { error: `${e.message || e}` }; }
}

async function main() {
  setStatus('loading models…');
  const manifest = await (await fetch('models/manifest.json')).json();
  const video = $('video'), view = $('view'), vctx = view.getContext('2d');
  const stream = await navigator.mediaDevices.getUserMedia({ video: { width: { ideal: 640 }, height: { ideal: 480 } }, audio: false });
  video.srcObject = stream; await video.play();
  view.width = video.videoWidth; view.height = video.videoHeight;

  const worker = new Worker('worker.js');
  let pending = null;
  worker.onmessage = (ev) => { if (pending) { const p = pending; pending = null; ev.data.type === 'error' ? p.reject(new Error(ev.data.message)) : p.resolve(ev.data); } };
  worker.onerror = (ev) => { if (pending) { const p = pending; pending = null; p.reject(new Error(ev.message || 'worker error')); } };
  const call = (msg, transfer) => new Promise((resolve, reject) => { pending = { resolve, reject }; worker.postMessage(msg, transfer || []); });

  const config = Object.assign(opts.skip > 0 ? { skip: opts.skip } : {}, opts.target_fps > 0 ? { target_fps: opts.target_fps } : {});
  const baseline = opts.model === 'baseline' ? await (await fetch('models/baseline/baseline.json')).json() : null;
  const info = await call({ type: 'init', runtime: opts.runtime, backend: opts.backend, threads: opts.threads, manifest, config, baseline });
  $('stat-backend').textContent = `${info.runtime} ${info.backend}${opts.model === 'baseline' ? ' (single-pass baseline)' : ''}`;
  setStatus(opts.bench ? `benchmark: ${opts.bench} frames` : 'running');

  let fresh = true;
  const onFrame = () => { fresh = true; video.requestVideoFrameCallback(onFrame); };
  const rvfc = 'requestVideoFrameCallback' in HTMLVideoElement.prototype;
  if (rvfc) video.requestVideoFrameCallback(onFrame);
  const waitFresh = () => new Promise(res => { const tick = () => (fresh || !rvfc) ? res() : setTimeout(tick, 2); tick(); });

  const doneTimes = [], records = [], tensorsPerFrame = [];
  const total = opts.bench > 0 ? opts.bench + opts.warmup : Infinity;
  let t0Bench = null;
  for (let i = 0; i < total; i++) {
    await waitFresh(); fresh = false;
    const tg = performance.now();
    vctx.drawImage(video, 0, 0, view.width, view.height);
    const bitmap = await createImageBitmap(video);
    const res = await call({ type: 'frame', bitmap, id: i }, [bitmap]);
    const e2e = performance.now() - tg;
    drawNails(vctx, res.nails, manifest.config.patch, manifest.config.mask_threshold);
    const now = performance.now(); doneTimes.push(now); while (doneTimes.length && now - doneTimes[0] > 1000) doneTimes.shift();
    const mem = performance.memory ? performance.memory.usedJSHeapSize : null;
    const fps = doneTimes.length > 1 ? (doneTimes.length - 1) / ((doneTimes[doneTimes.length - 1] - doneTimes[0]) / 1000) : 0;
    formatStats($('stats'), { fps, timings: res.timings, e2e, tensors: res.memory.tensors, tensor_bytes: res.memory.tensor_bytes,
                             heap: mem, nails: res.nails.length, frame: i, code: res.code, in_wh: res.in_wh });
    if (!opts.bench) continue;
    tensorsPerFrame.push(res.memory.tensors);
    if (i === opts.warmup) t0Bench = tg;
    if (i < opts.warmup) continue;
    const keepMasks = records.length < opts.masks;
    records.push({ index: i, code: res.code, with_masks: keepMasks, in_wh: res.in_wh, frame_wh: res.frame_wh, hand: res.hand, ran: res.ran, e2e_ms: e2e, timings: res.timings,
                   tensors: res.memory.tensors, tensor_bytes: res.memory.tensor_bytes, heap_main: mem, heap_worker: res.heap,
                   nails: res.nails.map(d => Object.assign({ finger: d.finger, score: d.score, center: d.center, side: d.side,
                                                             size_px: d.size_px, confidence: d.confidence, track_id: d.track_id },
                                                           keepMasks ? { mask_u8: b64(Uint8Array.from(d.mask, v => Math.round(v * 255))) } : {})) });
  }
  const wall = performance.now() - t0Bench;
  const summary = summarize(records, tensorsPerFrame, info, wall);
  summary.page_memory = await pageMemory();
  const body = { summary, tensors_per_frame: tensorsPerFrame, frames: records, config: info.config, manifest_key: manifest.key };
  window.vtlabBench = summary;
  await postResults(body);
  setStatus(`benchmark done: ${summary.end_to_end_ms.p50_ms.toFixed(1)} ms/frame p50, ${summary.fps.toFixed(1)} FPS`);
  document.body.dataset.bench = 'done';
}

main().catch(async (e) => {
  console.error(e); setStatus(`error: ${e.message || e}`); document.body.dataset.bench = 'error';
  if (opts.bench) { try { await postResults({ error: `${e.message || e}`, options: opts }); } catch (e2) { console.error(e2); } }
});
