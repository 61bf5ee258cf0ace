// The stats panel: one row per number, updated in place.
const fmt = (x, d = 1) => (x == null || Number.isNaN(x) ? '–' : x.toFixed(d));
const mb = (x) => (x == null ? '–' : (x / 1048576).toFixed(1) + ' MB');

export function formatStats(el, s) {
  const t = s.timings || {};
  const rows = [['fps', fmt(s.fps)], ['pass1', fmt(t.pass1) + ' ms'], ['pass2', fmt(t.pass2) + ' ms'],
                ['worker', fmt(t.total) + ' ms'], ['frame', fmt(s.e2e) + ' ms'], ['paint', fmt(s.paint) + ' ms'], ['nails', String(s.nails)],
                ['input', s.in_wh ? s.in_wh.join('×') : '–'], ['pass 1 by', s.pass1 || '–'], ['renderer', s.renderer || '–'],
                ['tensors', s.tensors == null ? 'n/a (ort)' : String(s.tensors)], ['tensor mem', mb(s.tensor_bytes)],
                ['js heap', mb(s.heap)], ['frame code', String(s.code)]];
  for (const [k, v] of rows) {
    const id = `stat-${k.replace(/ /g, '-')}`;
    let cell = el.querySelector(`#${id}`);
    if (!cell) {
      const row = document.createElement('div'); row.className = 'row';
      const key = document.createElement('span'); key.className = 'k'; key.textContent = k;
      cell = document.createElement('span'); cell.className = 'v'; cell.id = id;
      row.append(key, cell); el.appendChild(row);
    }
    cell.textContent = v;
  }
}
