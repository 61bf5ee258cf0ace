// Drawing: each nail's patch mask mapped back onto the frame, and the stats panel.
const scratch = typeof OffscreenCanvas !== 'undefined' ? new OffscreenCanvas(64, 64) : document.createElement('canvas');

function colour(k) {   // a distinct, saturated RGB per track
  const h = ((k * 74) % 360) / 60, x = 1 - Math.abs((h % 2) - 1);
  const [r, g, b] = h < 1 ? [1, x, 0] : h < 2 ? [x, 1, 0] : h < 3 ? [0, 1, x] : h < 4 ? [0, x, 1] : h < 5 ? [x, 0, 1] : [1, 0, x];
  return [r * 255, g * 255, b * 255];
}

// Patch pixel (u, v) sits at frame px x = (u - (P-1)/2)/s + cx with s = P/side (vtlab.nails.models.patch_affine);
// in canvas (pixel-corner) coordinates that is the map X = U/s + cx + 0.5 - side/2.
export function drawNails(ctx, nails, P, threshold) {
  if (scratch.width !== P) { scratch.width = P; scratch.height = P; }
  const sctx = scratch.getContext('2d');
  nails.forEach((d, k) => {
    const img = sctx.createImageData(P, P);
    const [r, g, b] = colour(d.track_id >= 0 ? d.track_id : k);
    for (let i = 0; i < P * P; i++) {
      const on = d.mask[i] > threshold;
      img.data[4 * i] = r; img.data[4 * i + 1] = g; img.data[4 * i + 2] = b; img.data[4 * i + 3] = on ? 150 : 0;
    }
    sctx.putImageData(img, 0, 0);
    const s = P / d.side;
    ctx.save();
    ctx.imageSmoothingEnabled = true;
    ctx.setTransform(1 / s, 0, 0, 1 / s, d.center[0] + 0.5 - d.side / 2, d.center[1] + 0.5 - d.side / 2);
    ctx.drawImage(scratch, 0, 0);
    ctx.restore();
  });
}

const fmt = (x, d = 1) => (x == null || Number.isNaN(x) ? '–' : x.toFixed(d));
const mb = (x) => (x == null ? '–' : (x / 1048576).toFixed(1) + ' MB');

export function formatStats(el, s) {
  const t = s.timings || {};
  const rows = [['fps', fmt(s.fps)], ['pass1', fmt(t.pass1) + ' ms'], ['pass2', fmt(t.pass2) + ' ms'],
                ['worker', fmt(t.total) + ' ms'], ['frame', fmt(s.e2e) + ' ms'], ['nails', String(s.nails)], ['input', s.in_wh ? s.in_wh.join('×') : '–'],
                ['tensors', s.tensors == null ? 'n/a (ort)' : String(s.tensors)], ['tensor mem', mb(s.tensor_bytes)],
                ['js heap', mb(s.heap)], ['frame code', String(s.code)]];
  for (const [k, v] of rows) {
    let cell = el.querySelector(`#stat-${k.replace(/ /g, '-')}`);
    if (!cell) {
      const row = document.createElement('div'); row.className = 'row';
      row.innerHTML = `<span class="k">${k}</span><span class="v" id="stat-${k.replace(/ /g, '-')}"></span>`;
      el.appendChild(row); cell = row.querySelector('.v');
    }
    cell.textContent = v;
  }
}
