// The pure half of vtlab's two-pass nail pipeline in JavaScript: preprocessing, peak finding, detections,
// smoothing. It mirrors vtlab.nails.pipeline (Python) step for step, with the same PipelineConfig numbers, so
// that a frame gives the same detections in both (checked in nbs/37a_nails.webapp.ipynb).
// A classic script: the Web Worker loads it with importScripts (next to the UMD builds of TF.js and
// onnxruntime-web), Node loads it with require() for the parity tests.
(function (root) {
  'use strict';

  // vtlab.nails.pipeline.PipelineConfig defaults (the server also sends the Python values in manifest.json, with `patch`,
  // the side the pass-2 model was trained at: it travels with the model, so it has no default here)
  const DEFAULT_CONFIG = {
    pass1_side: 256, hand_threshold: 0.9, peak_threshold: 0.3, nms_radius: 1, max_nails: 10, merge_frac: 0.5,
    side_factor: 2.2, side_min: 16.0, side_max: 200.0, conf_threshold: 0.5, track_conf_threshold: 0.3,
    mask_threshold: 0.5, refine_center: true, ema_alpha: 0.6, mask_alpha: 0.7, max_missed: 2, skip: 1, target_fps: 0.0, threads: 1,
  };

  // vtlab.nails.models.pass1_input_size: same area as target², sides rounded down to multiples of 64
  function pass1InputSize(width, height, target) {
    const r = Math.sqrt(target * target / (width * height));
    return [Math.max(roundHalfEven(width * r) & ~63, 64), Math.max(roundHalfEven(height * r) & ~63, 64)];
  }

  // numpy/Python round(): halves go to the even neighbour (Math.round sends them up)
  function roundHalfEven(x) {
    const f = Math.floor(x), d = x - f;
    if (d > 0.5) return f + 1;
    if (d < 0.5) return f;
    return f % 2 === 0 ? f : f + 1;
  }

  // Bilinear taps along one axis, OpenCV's rule: sample position (i + 0.5) * scale - 0.5 (or an affine map), clamped at
  // the border. Returns the lower index, the upper index and the weight of the upper one, per output position.
  function taps(n, size, pos) {
    const i0 = new Int32Array(n), i1 = new Int32Array(n), f = new Float32Array(n);
    for (let i = 0; i < n; i++) {
      let x = pos(i), ix = Math.floor(x); x -= ix;
      if (ix < 0) { ix = 0; x = 0; }
      if (ix >= size - 1) { ix = size - 1; x = 0; }
      i0[i] = ix; i1[i] = Math.min(ix + 1, size - 1); f[i] = x;
    }
    return [i0, i1, f];
  }

  // Interpolate the RGBA frame at separable taps (rows ys, columns xs) into `out` from `base`, as float RGB in [0, 1],
  // planar ('nchw') or interleaved ('nhwc'). The layout branch and the row offsets are hoisted out of the pixel loop.
  function sampleInto(out, base, rgba, W, ys, xs, layout) {
    const [y0s, y1s, fys] = ys, [x0s, x1s, fxs] = xs, outW = x0s.length, outH = y0s.length, plane = outW * outH, k = 1 / 255;
    const nchw = layout === 'nchw';
    for (let y = 0; y < outH; y++) {
      const r0 = y0s[y] * W, r1 = y1s[y] * W, fy = fys[y], gy = 1 - fy;
      for (let x = 0; x < outW; x++) {
        const fx = fxs[x], gx = 1 - fx, a = (r0 + x0s[x]) * 4, c = (r0 + x1s[x]) * 4, d = (r1 + x0s[x]) * 4, e = (r1 + x1s[x]) * 4;
        const w00 = gx * gy * k, w01 = fx * gy * k, w10 = gx * fy * k, w11 = fx * fy * k;
        const R = rgba[a] * w00 + rgba[c] * w01 + rgba[d] * w10 + rgba[e] * w11;
        const G = rgba[a + 1] * w00 + rgba[c + 1] * w01 + rgba[d + 1] * w10 + rgba[e + 1] * w11;
        const B = rgba[a + 2] * w00 + rgba[c + 2] * w01 + rgba[d + 2] * w10 + rgba[e + 2] * w11;
        if (nchw) { const o = base + y * outW + x; out[o] = R; out[o + plane] = G; out[o + 2 * plane] = B; }
        else { const o = base + (y * outW + x) * 3; out[o] = R; out[o + 1] = G; out[o + 2] = B; }
      }
    }
    return out;
  }

  // cv2.resize(INTER_LINEAR) of an RGBA frame to (outW, outH), as float32 RGB in [0, 1].
  // layout 'nhwc' (TF.js) or 'nchw' (ONNX). Half-pixel centres, clamped at the border, no antialiasing: OpenCV's rule.
  function resizeBilinear(rgba, W, H, outW, outH, layout) {
    const sx = W / outW, sy = H / outH;
    return sampleInto(new Float32Array(outW * outH * 3), 0, rgba, W, taps(outH, H, y => (y + 0.5) * sy - 0.5),
                      taps(outW, W, x => (x + 0.5) * sx - 0.5), layout);
  }

  // vtlab.nails.base.crop_patch for many nails: cv2.warpAffine(INTER_LINEAR, BORDER_REPLICATE) of the square
  // of side `side` around `center` to P×P, as float32 RGB in [0, 1]; `batch` slots (unused ones stay 0).
  // The map is axis-aligned, so rows and columns have their own taps (border replication = clamping the taps).
  function cropPatches(rgba, W, H, dets, P, batch, layout) {
    const n = Math.max(batch || dets.length, dets.length), out = new Float32Array(n * P * P * 3), c = (P - 1) / 2;
    dets.forEach((d, i) => {
      const s = P / d.side;
      sampleInto(out, i * P * P * 3, rgba, W, taps(P, H, v => (v - c) / s + d.center[1]), taps(P, W, u => (u - c) / s + d.center[0]), layout);
    });
    return out;
  }

  // Read heatmap value of finger f at (x, y) from a flat array in either layout; shape [F, h, w]
  function heatAccessor(data, F, h, w, layout) {
    return layout === 'nhwc' ? (f, y, x) => data[(y * w + x) * F + f] : (f, y, x) => data[(f * h + y) * w + x];
  }

  function parabolaOffset(l, c, r) {
    const den = l - 2 * c + r;
    const d = den < 0 ? 0.5 * (l - r) / den : 0;
    return Math.min(Math.max(d, -0.5), 0.5);
  }

  // vtlab.nails.pipeline.find_peaks: local maxima of each finger's heatmap ((2r+1)² neighbourhood, in-bounds
  // cells only, like cv2.dilate), at least `threshold`, parabolic sub-cell refinement; strongest first.
  // Returns [{finger, x, y, score}] in heatmap cells.
  function findPeaks(data, F, h, w, layout, threshold, nmsRadius, maxPeaks) {
    const at = heatAccessor(data, F, h, w, layout), r = nmsRadius, out = [];
    const clampAt = (f, y, x) => at(f, Math.min(Math.max(y, 0), h - 1), Math.min(Math.max(x, 0), w - 1));
    for (let f = 0; f < F; f++) {
      for (let y = 0; y < h; y++) {
        for (let x = 0; x < w; x++) {
          const v = at(f, y, x);
          if (!(v >= threshold)) continue;
          let isMax = true;
          for (let dy = -r; dy <= r && isMax; dy++) {
            const yy = y + dy; if (yy < 0 || yy >= h) continue;
            for (let dx = -r; dx <= r; dx++) {
              const xx = x + dx; if (xx < 0 || xx >= w) continue;
              if (at(f, yy, xx) > v) { isMax = false; break; }
            }
          }
          if (!isMax) continue;
          const ox = parabolaOffset(clampAt(f, y, x - 1), v, clampAt(f, y, x + 1));
          const oy = parabolaOffset(clampAt(f, y - 1, x), v, clampAt(f, y + 1, x));
          out.push({ finger: f, x: x + ox, y: y + oy, score: v });
        }
      }
    }
    out.sort((a, b) => b.score - a.score);   // stable, like numpy's argsort(kind='stable')
    return out.slice(0, maxPeaks);
  }

  // vtlab.nails.pipeline.peaks_to_detections: heatmap cells → frame pixels; size read at the peak's cell
  function peaksToDetections(peaks, sizes, F, h, w, layout, frameWH, inWH, stride) {
    stride = stride || 8;
    const at = heatAccessor(sizes, F, h, w, layout), sx = frameWH[0] / inWH[0], sy = frameWH[1] / inWH[1];
    return peaks.map(p => {
      const ix = Math.min(Math.max(roundHalfEven(p.x), 0), w - 1), iy = Math.min(Math.max(roundHalfEven(p.y), 0), h - 1);
      const cx = (p.x + 0.5) * stride - 0.5, cy = (p.y + 0.5) * stride - 0.5;
      return { finger: p.finger, score: p.score, center: [(cx + 0.5) * sx - 0.5, (cy + 0.5) * sy - 0.5],
               size_px: at(p.finger, iy, ix) * Math.sqrt(sx * sy), side: 0, confidence: 0, angle: 0,
               patch_mask: null, track_id: -1, nail_center: null };
    });
  }

  const dist = (a, b) => Math.hypot(a[0] - b[0], a[1] - b[1]);

  // vtlab.nails.pipeline.merge_fingers: drop weaker detections sitting on a stronger one (any finger)
  function mergeFingers(dets, mergeFrac) {
    const kept = [];
    for (const d of [...dets].sort((a, b) => b.score - a.score))
      if (kept.every(k => dist(d.center, k.center) > mergeFrac * Math.max(k.size_px, d.size_px))) kept.push(d);
    return kept;
  }

  // vtlab.nails.pipeline.Smoother: per-nail tracks — EMA on positions and sizes, mask blending, and coasting through
  // short misses. A detection continues the nearest track within one nail size (position decides, not the finger
  // label, which pass 1 may swap between neighbours); a track the detector missed is still drawn for `maxMissed` frames
  // unless a new detection took its place.
  class Smoother {
    constructor(emaAlpha, maskAlpha, maxMissed) { this.emaAlpha = emaAlpha; this.maskAlpha = maskAlpha; this.maxMissed = maxMissed == null ? 2 : maxMissed; this.reset(); }
    reset() { this.tracks = []; this.missed = new Map(); this.nextId = 0; }
    updateTracks(dets) {
      const free = [...this.tracks];
      for (const d of [...dets].sort((a, b) => b.score - a.score)) {
        let best = -1, bestDist = Infinity;
        free.forEach((t, i) => { const e = dist(t.center, d.center); if (e < bestDist) { bestDist = e; best = i; } });
        if (best >= 0 && bestDist < Math.max(d.size_px, free[best].size_px)) {
          const t = free[best], a = this.emaAlpha;
          free.splice(best, 1);
          d.track_id = t.track_id;
          d.center = [a * d.center[0] + (1 - a) * t.center[0], a * d.center[1] + (1 - a) * t.center[1]];
          d.size_px = a * d.size_px + (1 - a) * t.size_px;
          d.patch_mask = t.patch_mask;   // the previous mask, blended after pass 2
        } else { d.track_id = this.nextId++; d.patch_mask = null; }
      }
      return dets;
    }
    // Blend each detection's new mask with its track's; returns the nails to draw: these and the coasting tracks.
    // `step`: camera frames since the last processed one. Python processes every frame (step 1); a page that skips
    // camera frames counts the skipped ones as missed too, so a track coasts for `maxMissed` camera frames, not longer.
    blendMasks(dets, newMasks, step = 1) {
      const a = this.maskAlpha;
      dets.forEach((d, i) => {
        const m = newMasks[i];
        if (!d.patch_mask || d.patch_mask.length !== m.length) d.patch_mask = m;
        else { const b = new Float32Array(m.length); for (let j = 0; j < m.length; j++) b[j] = a * m[j] + (1 - a) * d.patch_mask[j]; d.patch_mask = b; }
        this.missed.set(d.track_id, 0);
      });
      const seen = new Set(dets.map(d => d.track_id));
      const near = (t) => dets.some(d => dist(t.center, d.center) < Math.max(t.size_px, d.size_px));   // a new track took its place
      const coast = this.tracks.filter(t => !seen.has(t.track_id) && (this.missed.get(t.track_id) || 0) + step <= this.maxMissed && !near(t));
      for (const t of coast) this.missed.set(t.track_id, this.missed.get(t.track_id) + step);
      this.tracks = dets.map(d => Object.assign({}, d)).concat(coast);
      this.missed = new Map(this.tracks.map(t => [t.track_id, this.missed.get(t.track_id)]));
      return dets.concat(coast.map(t => Object.assign({}, t)));
    }
  }

  // vtlab.nails.pipeline.AdaptiveResolution: move the pass-1 side between lo and hi to hold a target frame rate
  class AdaptiveResolution {
    constructor(targetFps, side, lo, hi, step, window) {
      Object.assign(this, { targetFps, side, lo: lo || 192, hi: hi || 512, step: step || 64, window: window || 10 });
      this.times = [];
    }
    update(frameSeconds) {
      this.times.push(frameSeconds);
      if (this.times.length < this.window) return this.side;
      const fps = this.times.length / Math.max(this.times.reduce((a, b) => a + b, 0), 1e-9);
      if (fps < this.targetFps - 5) this.side = Math.max(this.lo, this.side - this.step);
      else if (fps > this.targetFps + 10) this.side = Math.min(this.hi, this.side + this.step);
      this.times = [];
      return this.side;
    }
  }

  // Pass-1 post-processing: outputs → detections (vtlab.nails.pipeline.NailPipeline.run_pass1 after the model)
  function pass1Detections(out, cfg, frameWH, inWH) {
    if (out.hand < cfg.hand_threshold) return [];
    const pk = findPeaks(out.heatmaps, out.F, out.h, out.w, out.layout, cfg.peak_threshold, cfg.nms_radius, cfg.max_nails * 2);
    return mergeFingers(peaksToDetections(pk, out.sizes, out.F, out.h, out.w, out.layout, frameWH, inWH), cfg.merge_frac)
      .slice(0, cfg.max_nails);
  }

  // The pass-2 calls for n nails with fixed batch sizes (largest first): the fewest calls that leave no slot empty,
  // when the sizes allow it (a batch of 1 makes every n exact). [5, 2, 1]: 6 -> [5, 1], 7 -> [5, 2], 3 -> [2, 1].
  function batchPlan(n, sizes) {
    const plan = [];
    while (n > 0) {
      const b = sizes.find(s => s <= n) || sizes[sizes.length - 1];
      plan.push(b); n -= b;
    }
    return plan;
  }

  function patchSides(dets, cfg) {
    for (const d of dets) d.side = Math.min(Math.max(d.size_px * cfg.side_factor, cfg.side_min), cfg.side_max);
  }

  // Pass-2 post-processing: keep confident nails (a tracked nail needs less), refined centre and orientation (NailPipeline.run_pass2)
  function pass2Keep(dets, out, cfg) {
    const P2 = cfg.patch * cfg.patch, keep = [];
    dets.forEach((d, i) => {
      const cf = out.confidence[i];
      if (cf < (d.patch_mask ? cfg.track_conf_threshold : cfg.conf_threshold)) return;   // hysteresis for tracked nails
      d.confidence = cf; d.angle = Math.atan2(out.orientation[2 * i + 1], out.orientation[2 * i]);
      d.nail_center = cfg.refine_center ? [d.center[0] + out.offset[2 * i] * d.side, d.center[1] + out.offset[2 * i + 1] * d.side]
                                        : [d.center[0], d.center[1]];
      d.new_mask = out.mask.slice(i * P2, (i + 1) * P2);
      keep.push(d);
    });
    return keep;
  }

  // Frame-index code of vtlab.vision.framecode (drawn by vtlab.nails.webbench.write_coded_video into each test frame):
  // CODE_BITS + 2 square cells along the top-left edge, max(8, W / 80) px each: a white start cell, the index MSB
  // first, a black stop cell. Each cell is read over its middle half, with the Python reader's thresholds.
  const CODE_BITS = 12;
  const codeCell = (W) => Math.max(8, Math.floor(W / 80));
  function decodeFrameCode(rgba, W) {
    const c = codeCell(W), q = Math.floor(c / 4);
    const lum = (bx) => {
      let s = 0;
      for (let y = q; y < c - q; y++) for (let x = q; x < c - q; x++) {
        const i = (y * W + bx * c + x) * 4; s += (rgba[i] + rgba[i + 1] + rgba[i + 2]) / 3;
      }
      return s / ((c - 2 * q) * (c - 2 * q));
    };
    if (lum(0) < 160 || lum(CODE_BITS + 1) > 96) return -1;
    let v = 0;
    for (let b = 1; b <= CODE_BITS; b++) { const l = lum(b); if (l > 96 && l < 160) return -1; v = (v << 1) | (l >= 128 ? 1 : 0); }
    return v;
  }

  // ---- Virtual polish: recolour a nail pixel, keeping its shading -------------------------------------------------
  // Colours are mixed in Oklab (Ottosson 2020): L is perceived lightness, (a, b) the hue and chroma. A nail pixel's
  // shading is its L minus the nail's mean L; the polish takes the chosen colour's (a, b) and its L plus that shading,
  // so folds, the curve of the nail and the light across it show through the new colour. The WebGL shader in
  // render.js computes the same formulas per pixel; the 2D fallback calls these functions.
  const srgbToLinear = (c) => (c <= 0.04045 ? c / 12.92 : Math.pow((c + 0.055) / 1.055, 2.4));
  const linearToSrgb = (c) => (c <= 0.0031308 ? 12.92 * c : 1.055 * Math.pow(c, 1 / 2.4) - 0.055);
  function linearToOklab(r, g, b) {
    const l = Math.cbrt(0.4122214708 * r + 0.5363325363 * g + 0.0514459929 * b);
    const m = Math.cbrt(0.2119034982 * r + 0.6806995451 * g + 0.1073969566 * b);
    const s = Math.cbrt(0.0883024619 * r + 0.2817188376 * g + 0.6299787005 * b);
    return [0.2104542553 * l + 0.7936177850 * m - 0.0040720468 * s, 1.9779984951 * l - 2.4285922050 * m + 0.4505937099 * s,
            0.0259040371 * l + 0.7827717662 * m - 0.8086757660 * s];
  }
  const srgbToOklab = (rgb) => linearToOklab(srgbToLinear(rgb[0]), srgbToLinear(rgb[1]), srgbToLinear(rgb[2]));   // rgb in [0, 1]
  function oklabToSrgb(lab) {   // -> rgb in [0, 1], clipped to the gamut
    const l = (lab[0] + 0.3963377774 * lab[1] + 0.2158037573 * lab[2]) ** 3;
    const m = (lab[0] - 0.1055613458 * lab[1] - 0.0638541728 * lab[2]) ** 3;
    const s = (lab[0] - 0.0894841775 * lab[1] - 1.2914855480 * lab[2]) ** 3;
    const lin = [4.0767416621 * l - 3.3077115913 * m + 0.2309699292 * s, -1.2684380046 * l + 2.6097574011 * m - 0.3413193965 * s,
                 -0.0041960863 * l - 0.7034186147 * m + 1.7076147010 * s];
    return lin.map(c => Math.min(Math.max(linearToSrgb(Math.min(Math.max(c, 0), 1)), 0), 1));
  }
  const smoothstep = (a, b, x) => { const t = Math.min(Math.max((x - a) / (b - a), 0), 1); return t * t * (3 - 2 * t); };
  const mix = (a, b, t) => a + (b - a) * t;

  // Finishes: how strongly shading and highlights show, and whether highlights take the polish's colour (metal).
  // gain: L shading multiplier; chroma: how much the chroma follows the light; highlight: weight of the specular
  // term (the nail's own bright spots plus a soft streak along the nail); tint: highlight colour = polish (1) or white (0).
  const FINISHES = {
    cream: { gain: 1.0, chroma: 0.0, highlight: 0.15, tint: 0.0 },
    gloss: { gain: 1.0, chroma: 0.0, highlight: 0.75, tint: 0.0 },
    metallic: { gain: 1.7, chroma: 2.0, highlight: 0.65, tint: 0.6 },
  };
  const POLISH_PRESETS = [   // name, sRGB hex
    ['classic red', '#c0102e'], ['nude', '#d9a38f'], ['ballet pink', '#f2b8c6'], ['berry', '#7a1f4d'],
    ['coral', '#ff6f59'], ['navy', '#1d2a5c'], ['sky', '#1e78ff'], ['black', '#141414'],
  ];
  function hexToRgb(hex) {
    const m = /^#?([0-9a-f]{6})$/i.exec(String(hex).trim());
    if (!m) throw new Error(`polish colour ${JSON.stringify(hex)}: expected #rrggbb`);
    const v = parseInt(m[1], 16);
    return [(v >> 16) / 255, ((v >> 8) & 255) / 255, (v & 255) / 255];
  }

  // One polished pixel. rgb: the camera pixel in [0, 1]; nailL: the nail's mean Oklab L; polishLab: srgbToOklab(polish
  // colour); spec: the synthetic highlight at this pixel (0..1, nailHighlight). Returns rgb in [0, 1].
  function polishPixel(rgb, nailL, polishLab, finish, spec) {
    const f = FINISHES[finish] || FINISHES.gloss;
    const shade = srgbToOklab(rgb)[0] - nailL;
    const k = Math.max(0, 1 + f.chroma * shade);
    const base = oklabToSrgb([polishLab[0] + f.gain * shade, polishLab[1] * k, polishLab[2] * k]);
    const h = Math.min(1, f.highlight * (smoothstep(0.05, 0.18, shade) + (spec || 0)));
    const hiCol = oklabToSrgb([Math.min(1, polishLab[0] + 0.45), polishLab[1] * f.tint, polishLab[2] * f.tint]);
    return base.map((c, i) => mix(c, Math.max(c, hiCol[i]), h));
  }

  // polishPixel for many pixels: the polished colour depends on a pixel only through its shading (and the highlight
  // streak), so the base colour and the shading's highlight weight are tabulated once per polish and finish, over
  // shade -0.5..0.5 in `bins` steps. The 2D renderer uses this; polishPixel stays the reference it is checked against.
  function polishTable(polishLab, finish, bins) {
    const f = FINISHES[finish] || FINISHES.gloss, n = bins || 512, base = new Float32Array(3 * n), hw = new Float32Array(n);
    for (let j = 0; j < n; j++) {
      const shade = -0.5 + j / (n - 1), k = Math.max(0, 1 + f.chroma * shade);
      base.set(oklabToSrgb([polishLab[0] + f.gain * shade, polishLab[1] * k, polishLab[2] * k]), 3 * j);
      hw[j] = f.highlight * smoothstep(0.05, 0.18, shade);
    }
    return { n, base, hw, highlight: f.highlight, hi: oklabToSrgb([Math.min(1, polishLab[0] + 0.45), polishLab[1] * f.tint, polishLab[2] * f.tint]) };
  }
  // One pixel through the table: r, g, b in 0..255 (the canvas' bytes); returns the polished colour in `out` (0..1).
  function polishFast(r, g, b, nailL, t, spec, out) {
    const L = linearToOklab(LINEAR[r], LINEAR[g], LINEAR[b])[0], j = Math.min(t.n - 1, Math.max(0, Math.round((L - nailL + 0.5) * (t.n - 1))));
    const h = Math.min(1, t.hw[j] + t.highlight * spec);
    for (let c = 0; c < 3; c++) { const v = t.base[3 * j + c]; out[c] = v + (Math.max(v, t.hi[c]) - v) * h; }
    return out;
  }

  // The soft highlight streak of a glossy nail: an elongated Gaussian along the nail's axis, set off to one side of its
  // centre line (light from above-left). (x, y): frame px; centre, angle (rad, the nail's direction), size_px: the nail.
  function nailHighlight(x, y, centre, angle, size) {
    const dx = x - centre[0], dy = y - centre[1], c = Math.cos(angle), s = Math.sin(angle);
    const u = (dx * c + dy * s) / size, v = (-dx * s + dy * c) / size;
    return Math.exp(-0.5 * ((u / 0.22) ** 2 + ((v + 0.16) / 0.06) ** 2));
  }

  // The Oklab L of the mean colour (in linear light) of one patch's pixels where its mask is above `thr`: the nail's own
  // lightness, the reference its polish shading is measured from. x: patches as float RGB in [0, 1] ('nchw' or 'nhwc'),
  // k: which patch, mask: its P×P probabilities. A 256-entry table makes it cheap enough for every nail of every frame.
  const LINEAR = Float32Array.from({ length: 256 }, (_, i) => srgbToLinear(i / 255));
  function nailLightness(x, k, P, layout, mask, thr) {
    const plane = P * P, base = k * plane * 3, cs = layout === 'nchw' ? plane : 1, ps = layout === 'nchw' ? 1 : 3;
    let r = 0, g = 0, b = 0, n = 0;
    for (let i = 0; i < plane; i++) {
      if (!(mask[i] > thr)) continue;
      const j = base + i * ps;   // inputs are in [0, 1]: (v * 255 + 0.5) | 0 rounds to the table index
      r += LINEAR[(x[j] * 255 + 0.5) | 0]; g += LINEAR[(x[j + cs] * 255 + 0.5) | 0]; b += LINEAR[(x[j + 2 * cs] * 255 + 0.5) | 0];
      n++;
    }
    return n ? linearToOklab(r / n, g / n, b / n)[0] : 0.6;
  }

  // ---- MediaPipe hand landmarks as pass 1 (vtlab.nails.hands.nail_detections) -------------------------------------
  const FINGERTIPS = [4, 8, 12, 16, 20], DISTAL_JOINTS = [3, 7, 11, 15, 19];
  // lm: 21 [x, y] in frame px. One nail region per finger from the tip and the joint below it.
  function nailDetectionsFromLandmarks(lm, score, hand, centreFrac, lengthFrac) {
    return FINGERTIPS.map((t, f) => {
      const tip = lm[t], joint = lm[DISTAL_JOINTS[f]], d = [joint[0] - tip[0], joint[1] - tip[1]], seg = Math.hypot(d[0], d[1]);
      return { finger: f, score, center: [tip[0] + centreFrac * d[0], tip[1] + centreFrac * d[1]], size_px: Math.max(lengthFrac * seg, 1),
               side: 0, confidence: 0, angle: Math.atan2(-d[1], -d[0]), patch_mask: null, track_id: hand, nail_center: null };
    });
  }
  // MediaPipe as a hand-presence gate for the trained pass 1: keep the detections that lie inside a found hand's
  // landmark box, grown by `margin` of its size on each side.
  function gateDetections(dets, hands, margin) {
    const boxes = hands.map(lm => {
      const xs = lm.map(p => p[0]), ys = lm.map(p => p[1]);
      const x0 = Math.min(...xs), x1 = Math.max(...xs), y0 = Math.min(...ys), y1 = Math.max(...ys), m = margin * Math.max(x1 - x0, y1 - y0);
      return [x0 - m, y0 - m, x1 + m, y1 + m];
    });
    return dets.filter(d => boxes.some(b => d.center[0] >= b[0] && d.center[0] <= b[2] && d.center[1] >= b[1] && d.center[1] <= b[3]));
  }

  function median(xs) { if (!xs.length) return null; const s = [...xs].sort((a, b) => a - b), n = s.length; return n % 2 ? s[(n - 1) / 2] : (s[n / 2 - 1] + s[n / 2]) / 2; }
  function percentile(xs, q) {   // numpy's default (linear) percentile
    if (!xs.length) return null;
    const s = [...xs].sort((a, b) => a - b), p = (s.length - 1) * q / 100, i = Math.floor(p), f = p - i;
    return i + 1 < s.length ? s[i] * (1 - f) + s[i + 1] * f : s[i];
  }

  const api = { DEFAULT_CONFIG, pass1InputSize, roundHalfEven, resizeBilinear, cropPatches, findPeaks, peaksToDetections,
                mergeFingers, Smoother, AdaptiveResolution, pass1Detections, patchSides, batchPlan, pass2Keep, decodeFrameCode, codeCell, CODE_BITS,
                median, percentile, srgbToOklab, oklabToSrgb, smoothstep, FINISHES, POLISH_PRESETS, hexToRgb, polishPixel,
                nailHighlight, nailLightness, polishTable, polishFast, FINGERTIPS, DISTAL_JOINTS, nailDetectionsFromLandmarks, gateDetections };
  if (typeof module !== 'undefined' && module.exports) module.exports = api;
  root.VtlabNails = api;
})(typeof self !== 'undefined' ? self : globalThis);
