// Run converted models in headless Chromium: the TF.js graph models (webgl when the browser offers it, wasm
// otherwise) and the ONNX model in onnxruntime-web (wasm). Everything is served from 127.0.0.1 by this script;
// requests to any other host are aborted, so no CDN and no network.
// usage: node browser.cjs job.json      (job format: vtlab.nails.convert.run_browser writes it)
'use strict';
const fs = require('fs');
const http = require('http');
const path = require('path');

const TYPES = { '.js': 'text/javascript', '.mjs': 'text/javascript', '.html': 'text/html', '.json': 'application/json',
                '.wasm': 'application/wasm', '.onnx': 'application/octet-stream', '.bin': 'application/octet-stream' };

// URL prefix -> folder. Only files under these folders can be read.
function serve(roots) {
  const server = http.createServer((req, res) => {
    const url = decodeURIComponent(req.url.split('?')[0]);
    const prefix = Object.keys(roots).find(p => url.startsWith(p));
    const file = prefix && path.resolve(roots[prefix], '.' + url.slice(prefix.length - 1));
    if (!file || !file.startsWith(path.resolve(roots[prefix])) || !fs.existsSync(file) || !fs.statSync(file).isFile()) {
      res.writeHead(404); res.end(); return;
    }
    res.writeHead(200, { 'Content-Type': TYPES[path.extname(file)] || 'application/octet-stream' });
    fs.createReadStream(file).pipe(res);
  });
  return new Promise(ok => server.listen(0, '127.0.0.1', () => ok(server)));
}

function writeOutputs(dir, outs) {
  fs.mkdirSync(dir, { recursive: true });
  return outs.map(o => {
    const file = path.join(dir, `${o.name}.bin`);
    fs.writeFileSync(file, Buffer.from(o.b64, 'base64'));
    return { name: o.name, dtype: o.dtype, shape: o.shape, file };
  });
}

async function main() {
  const job = JSON.parse(fs.readFileSync(process.argv[2], 'utf8'));
  const { chromium } = require('playwright-core');
  const roots = { '/lib/': job.node_modules, '/harness/': __dirname, '/in/': job.inputs_dir };
  job.models.forEach((m, i) => { roots[`/m${i}/`] = m.dir; });
  if (job.onnx) roots['/onnx/'] = path.dirname(job.onnx);
  const server = await serve(roots);
  const base = `http://127.0.0.1:${server.address().port}`;
  const browser = await chromium.launch({ executablePath: job.chromium, headless: true,
    args: ['--headless', '--no-sandbox', '--disable-background-networking', '--disable-component-update',
           '--no-first-run', '--use-angle=swiftshader', '--enable-unsafe-swiftshader'] });
  const result = { runs: [], console: [] };
  try {
    const page = await browser.newPage();
    page.on('console', m => result.console.push(m.text()));
    await page.route('**/*', r => new URL(r.request().url()).hostname === '127.0.0.1' ? r.continue() : r.abort());
    await page.goto(`${base}/harness/page.html`);
    const spec = { models: job.models.map((m, i) => ({ key: m.key, url: `/m${i}/model.json` })),
                   onnx: job.onnx ? `/onnx/${path.basename(job.onnx)}` : null, tfjs_backends: job.tfjs_backends,
                   inputs: job.inputs, onnx_inputs: job.onnx_inputs, outputs: job.outputs,
                   onnx_outputs: job.onnx_outputs, repeats: job.repeats };
    const runs = await page.evaluate(s => window.runJob(s), spec);
    for (const r of runs) {
      const dir = path.join(job.out_dir, r.stage, r.precision);
      result.runs.push({ ...r, outputs: writeOutputs(dir, r.outputs), dir });
    }
    result.user_agent = await page.evaluate(() => navigator.userAgent);
  } finally {
    await browser.close();
    server.close();
  }
  fs.writeFileSync(path.join(job.out_dir, 'result.json'), JSON.stringify(result, null, 1));
}

main().catch(e => { console.error(e && e.stack || String(e)); process.exit(1); });
