// vtlab nail try-on: camera → worker (two-pass pipeline) → the frame and its polish drawn together → stats; benchmark
// mode posts JSON. URL parameters:
//   runtime=tfjs|ort, backend=auto|webgl|wasm (TF.js; auto = WebGL on a hardware GPU, else WASM), threads=N (WASM threads),
//   pass1=trained|mediapipe (MediaPipe's hand landmarker finds the nails), gate=mediapipe (MediaPipe confirms the trained pass 1's hands),
//   hand_min=X (MediaPipe's hand-detection confidence, default 0.5),
//   render=auto|webgl|2d, polish=RRGGBB, finish=cream|gloss|metallic, before=1 (start without polish), stats=1,
//   bench=N (benchmark N frames, then POST the results), warmup=N, masks=N (post the patch masks of the first N frames),
//   out=NAME (results name), skip=K, target_fps=N, model=baseline (the single-pass RT-DETR-seg, for the benchmark).
import { createRenderer, polishStyle } from './render.js';
import { formatStats } from './stats.js';

const N = self.VtlabNails;
const q = new URLSearchParams(location.search);
const num = (k, d) => (q.has(k) && q.get(k) !== '' ? Number(q.get(k)) : d);
const hexParam = (k, d) => { const v = (q.get(k) || '').replace(/^#/, ''); return /^[0-9a-fA-F]{6}$/.test(v) ? `#${v.toLowerCase()}` : d; };
const opts = {
  runtime: q.get('runtime') === 'ort' ? 'ort' : 'tfjs', backend: q.get('backend') || 'auto', threads: num('threads', 1),
  bench: num('bench', 0), warmup: num('warmup', 5), masks: num('masks', 0), out: (q.get('out') || 'bench').replace(/[^A-Za-z0-9_.-]/g, '_'),
  skip: num('skip', 0), target_fps: num('target_fps', 0), model: q.get('model') === 'baseline' ? 'baseline' : 'two-pass',
  pass1: q.get('pass1') === 'mediapipe' ? 'mediapipe' : 'trained', gate: q.get('gate') === 'mediapipe',
  render: ['webgl', '2d'].includes(q.get('render')) ? q.get('render') : 'auto',
  polish: hexParam('polish', N.POLISH_PRESETS[0][1]), finish: N.FINISHES[q.get('finish')] ? q.get('finish') : 'gloss',
  before: q.get('before') === '1', stats: q.get('stats') === '1', hand_min: num('hand_min', null),
};
const $ = (id) => document.getElementById(id);
const setStatus = (s) => { $('status').textContent = s; };
function showMessage(text, kind = 'error') { const m = $('message'); m.textContent = text; m.className = kind; m.hidden = !text; }
class UserError extends Error {}   // a problem the user can fix: shown as it is, without a stack

// ---- camera -------------------------------------------------------------------------------------------------
function cameraError(e) {
  const why = { NotAllowedError: 'Camera access was denied. Allow the camera for this page in the browser\'s site settings, then reload.',
                SecurityError: 'Camera access was denied. Allow the camera for this page in the browser\'s site settings, then reload.',
                NotFoundError: 'No camera was found. Connect one, then reload.', OverconstrainedError: 'The chosen camera cannot deliver video: pick another one.',
                NotReadableError: 'The camera is busy or failed to start (another application may be using it).' }[e && e.name];
  return new UserError(why || `The camera could not be opened: ${e && e.message || e}`);
}

async function openCamera(video, deviceId) {
  if (!navigator.mediaDevices || !navigator.mediaDevices.getUserMedia)
    throw new UserError('This page cannot use the camera here: open it as http://127.0.0.1 or http://localhost (browsers allow cameras only on secure pages).');
  let stream;
  try { stream = await navigator.mediaDevices.getUserMedia({ video: { width: { ideal: 640 }, height: { ideal: 480 }, ...(deviceId ? { deviceId: { exact: deviceId } } : {}) }, audio: false }); }
  catch (e) { throw cameraError(e); }
  if (video.srcObject) for (const t of video.srcObject.getTracks()) t.stop();
  video.srcObject = stream; await video.play();
  return stream;
}

async function listCameras(select, current) {
  const cams = (await navigator.mediaDevices.enumerateDevices()).filter(d => d.kind === 'videoinput');
  select.replaceChildren(...cams.map((c, i) => { const o = document.createElement('option'); o.value = c.deviceId; o.textContent = c.label || `camera ${i + 1}`; return o; }));
  if (current) select.value = current;
}

// ---- palette and controls ---------------------------------------------------------------------------------------
function setupControls(state) {
  const sw = $('swatches');
  const mark = () => { for (const b of sw.children) b.setAttribute('aria-pressed', String(b.dataset.hex === state.style.hex)); };
  const set = (hex, finish) => { state.style = polishStyle(hex, finish); $('colour').value = hex; $('finish').value = state.style.finishName; mark(); };
  for (const [name, hex] of N.POLISH_PRESETS) {
    const b = document.createElement('button'); b.title = name; b.style.background = hex; b.dataset.hex = hex;
    b.onclick = () => set(hex, state.style.finishName); sw.appendChild(b);
  }
  $('colour').oninput = (e) => set(e.target.value, state.style.finishName);
  $('finish').onchange = (e) => set(state.style.hex, e.target.value);
  const toggle = () => { state.before = !state.before; $('before').setAttribute('aria-pressed', String(state.before)); };
  $('before').onclick = toggle;
  document.addEventListener('keydown', (e) => { if (e.key === 'b' && !e.target.closest('input, select')) toggle(); });
  $('show-stats').checked = opts.stats; $('stats').hidden = !opts.stats;
  $('show-stats').onchange = (e) => { $('stats').hidden = !e.target.checked; };
  set(opts.polish, opts.finish);
  if (opts.before) toggle();
}

// ---- the worker -------------------------------------------------------------------------------------------------
function startWorker() {
  const worker = new Worker('worker.js');
  let pending = null;
  const settle = (fn, arg) => { if (pending) { const p = pending; pending = null; p[fn](arg); } };
  worker.onmessage = (ev) => (ev.data.type === 'error' ? settle('reject', new Error(ev.data.message)) : settle('resolve', ev.data));
  worker.onerror = (ev) => settle('reject', new Error(ev.message || 'worker error'));
  return (msg, transfer) => new Promise((resolve, reject) => { pending = { resolve, reject }; worker.postMessage(msg, transfer || []); });
}

async function fetchJson(url, what) {
  const r = await fetch(url);
  if (!r.ok) throw new UserError(`${what} is not available (${url}: HTTP ${r.status})${url.includes('mediapipe') ? ': run vtlab_fetch_models, then restart vtlab_serve_nails' : ''}.`);
  return r.json();
}

// ---- benchmark results --------------------------------------------------------------------------------------------
const stat = (xs) => ({ p50_ms: N.median(xs), p95_ms: N.percentile(xs, 95), samples: xs.length });
function b64(u8) { let s = ''; for (let i = 0; i < u8.length; i += 0x8000) s += String.fromCharCode.apply(null, u8.subarray(i, i + 0x8000)); return btoa(s); }

async function postResults(body) {
  const r = await fetch(`api/results/${opts.out}`, { method: 'POST', headers: { 'Content-Type': 'application/json' }, body: JSON.stringify(body) });
  if (!r.ok) throw new Error(`POST api/results/${opts.out}: HTTP ${r.status}`);
}

function summarize(records, tensorsPerFrame, info, wallMs, renderer) {
  const stages = {};
  for (const r of records) for (const [k, v] of Object.entries(r.timings)) (stages[k] = stages[k] || []).push(v);
  const lat = {};
  for (const [k, v] of Object.entries(stages)) lat[k] = stat(v);
  const heaps = records.map(r => r.heap_main).filter(x => x != null), wheaps = records.map(r => r.heap_worker).filter(x => x != null);
  const tens = tensorsPerFrame.filter(x => x != null);
  return {
    model: opts.model, runtime: info.runtime, backend: info.backend, threads: opts.threads, cross_origin_isolated: info.cross_origin_isolated,
    pass1: opts.pass1, gate: opts.gate, renderer, polish: { colour: opts.polish, finish: opts.finish },
    frames: records.length, warmup: opts.warmup, load_ms: info.load_ms, warm_ms: info.warm_ms, versions: info.versions,
    backend_errors: info.backend_errors, frame_wh: records.length ? records[0].frame_wh : null, latency_ms: lat,
    // camera frame (requestVideoFrameCallback) → its polish drawn; → the worker's result back; the drawing alone
    end_to_end_ms: stat(records.map(r => r.e2e_ms)), frame_to_result_ms: stat(records.map(r => r.frame_to_result_ms)),
    paint_ms: stat(records.map(r => r.paint_ms)),
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

// ---- the loop -----------------------------------------------------------------------------------------------------
// Each new camera frame (requestVideoFrameCallback) is handed to the worker when it is idle; the frame's bitmap is kept,
// and when its nails come back, the next animation frame draws that bitmap and its polish in one go. What is painted is
// therefore always a frame with its own overlay: the overlay can neither lag behind the picture nor be painted over.
async function main() {
  if (typeof WebAssembly !== 'object' || typeof WebAssembly.instantiate !== 'function')
    throw new UserError('This browser cannot run WebAssembly, which the nail models need: use a current Chrome, Edge, Firefox or Safari.');
  const made = createRenderer($('view'), opts.render);
  const renderer = made.renderer;
  if (made.note) showMessage(made.note, 'note');
  const state = { style: null, before: false };
  setupControls(state);
  setStatus('loading models…');
  const manifest = await fetchJson('models/manifest.json', 'The nail models');
  const mediapipe = opts.pass1 === 'mediapipe' || opts.gate ? await fetchJson('models/mediapipe/mediapipe.json', 'MediaPipe\'s hand model') : null;
  if (mediapipe && opts.hand_min != null) mediapipe.min_detection = opts.hand_min;
  const video = $('video');
  setStatus('opening the camera…');
  await openCamera(video);
  const track = video.srcObject.getVideoTracks()[0];
  await listCameras($('camera'), track.getSettings().deviceId);
  $('camera').onchange = async (e) => { try { await openCamera(video, e.target.value); showMessage(''); } catch (err) { showMessage(err.message); } };

  const call = startWorker();
  const config = Object.assign(opts.skip > 0 ? { skip: opts.skip } : {}, opts.target_fps > 0 ? { target_fps: opts.target_fps } : {});
  const baseline = opts.model === 'baseline' ? await fetchJson('models/baseline/baseline.json', 'The single-pass baseline') : null;
  setStatus('starting the models…');
  const info = await call({ type: 'init', runtime: opts.runtime, backend: opts.backend, threads: opts.threads, manifest, config, baseline,
                            pass1: opts.pass1, gate: opts.gate, mediapipe });
  const P = manifest.config.patch, thr = manifest.config.mask_threshold;
  $('stat-backend').textContent = `${info.runtime} ${info.backend}${opts.model === 'baseline' ? ' (single-pass baseline)' : ''}`;
  setStatus(opts.bench ? `benchmark: ${opts.bench} frames` : `running (${opts.pass1 === 'mediapipe' ? 'MediaPipe' : 'trained'} pass 1${opts.gate ? ', MediaPipe gate' : ''}, ${renderer.kind})`);

  const painted = window.vtlabPainted = [];   // what each paint showed: frame code, nails, polish on or off (read by tests)
  const doneTimes = [], records = [], tensorsPerFrame = [];
  let busy = false, frameNo = 0, toPaint = null, finished = false, t0Bench = null, failure = null;
  let finish;
  const allDone = new Promise((res, rej) => { finish = (e) => (e ? rej(e) : res()); });

  function paint() {
    const p = toPaint; toPaint = null;
    if (!p) return;
    const tp0 = performance.now();
    renderer.draw(p.bitmap, p.res.nails, state.style, !state.before, P, thr);
    p.bitmap.close();
    const tPaint = performance.now(), res = p.res;
    painted.push({ code: res.code, nails: res.nails.length, polish: !state.before, t: tPaint });
    if (painted.length > 5000) painted.splice(0, 1000);
    doneTimes.push(tPaint); while (doneTimes.length && tPaint - doneTimes[0] > 1000) doneTimes.shift();
    const rec = { e2e_ms: tPaint - p.tFrame, frame_to_result_ms: p.tResult - p.tFrame, paint_ms: tPaint - tp0 };
    const mem = performance.memory ? performance.memory.usedJSHeapSize : null;
    if (!$('stats').hidden) formatStats($('stats'), { fps: doneTimes.length > 1 ? (doneTimes.length - 1) / ((tPaint - doneTimes[0]) / 1000) : 0,
      timings: res.timings, e2e: rec.e2e_ms, paint: rec.paint_ms, tensors: res.memory.tensors, tensor_bytes: res.memory.tensor_bytes, heap: mem,
      nails: res.nails.length, frame: p.id, code: res.code, in_wh: res.in_wh, pass1: res.pass1, renderer: renderer.kind });
    if (!opts.bench || finished) return;
    tensorsPerFrame.push(res.memory.tensors);
    if (p.id < opts.warmup) return;
    if (t0Bench === null) t0Bench = p.tFrame;
    const keepMasks = records.length < opts.masks;
    records.push(Object.assign(rec, { index: p.id, code: res.code, with_masks: keepMasks, in_wh: res.in_wh, frame_wh: res.frame_wh, hand: res.hand,
      ran: res.ran, timings: res.timings, tensors: res.memory.tensors, tensor_bytes: res.memory.tensor_bytes, heap_main: mem, heap_worker: res.heap,
      nails: res.nails.map(d => Object.assign({ finger: d.finger, score: d.score, center: d.center, side: d.side, size_px: d.size_px,
                                                confidence: d.confidence, track_id: d.track_id, lightness: d.lightness },
                                              keepMasks ? { mask_u8: b64(Uint8Array.from(d.mask, v => Math.round(v * 255))) } : {})) }));
    if (records.length >= opts.bench) { finished = true; finish(); }
  }

  let lastPresented = null;   // camera frames presented so far (requestVideoFrameCallback metadata), at the last frame processed
  async function process(tFrame, presented) {
    const id = frameNo++;
    const step = presented != null && lastPresented != null ? Math.max(1, presented - lastPresented) : 1;
    lastPresented = presented;
    const bitmap = await createImageBitmap(video);
    const res = await call({ type: 'frame', bitmap, id, step }, [bitmap]);   // the worker sends the bitmap back with the frame's nails
    if (toPaint) toPaint.bitmap.close();              // not painted yet and already superseded
    toPaint = { bitmap: res.bitmap, res, id, tFrame, tResult: performance.now() };
    requestAnimationFrame(paint);
  }

  const onFrame = (now, meta) => {
    if (finished || failure) return;
    if (!busy) {
      busy = true;
      process(now, meta && meta.presentedFrames).catch(e => { failure = e; finish(e); console.error(e); showMessage(`Something went wrong: ${e.message || e}`); setStatus('stopped'); })
        .finally(() => { busy = false; });
    }
    schedule();
  };
  let lastTime = -1;
  const poll = (now) => { if (video.currentTime !== lastTime) { lastTime = video.currentTime; onFrame(now); } else schedule(); };
  const schedule = 'requestVideoFrameCallback' in HTMLVideoElement.prototype ? () => video.requestVideoFrameCallback(onFrame) : () => requestAnimationFrame(poll);
  schedule();
  if (!opts.bench) { allDone.catch(() => {}); return; }   // without a benchmark, a failure is shown where it happens
  await allDone;
  const summary = summarize(records, tensorsPerFrame, info, performance.now() - t0Bench, renderer.kind);
  summary.page_memory = await pageMemory();
  window.vtlabBench = summary;
  await postResults({ summary, tensors_per_frame: tensorsPerFrame, frames: records, config: info.config, manifest_key: manifest.key });
  setStatus(`benchmark done: ${summary.end_to_end_ms.p50_ms.toFixed(1)} ms/frame p50 camera → screen, ${summary.fps.toFixed(1)} FPS`);
  document.body.dataset.bench = 'done';
}

main().catch(async (e) => {
  console.error(e);
  showMessage(e instanceof UserError ? e.message : `Something went wrong: ${e.message || e}`);
  setStatus('stopped'); document.body.dataset.bench = 'error';
  if (opts.bench) { try { await postResults({ error: `${e.message || e}`, options: opts }); } catch (e2) { console.error(e2); } }
});
