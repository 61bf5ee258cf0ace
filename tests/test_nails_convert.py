"""End-to-end tests of vtlab.nails.convert: real onnx2tf, tensorflowjs, TF.js in Node (cpu, wasm), headless Chromium
and onnxruntime-web. They need `make convert-venv`, Node.js and Chromium; without them they are skipped with the
command that enables them (and fail in CI, where $VTLAB_REQUIRE_TOOLS is set: see tests/conftest.py)."""
import json
from pathlib import Path

import numpy as np
import pytest

from conftest import ROOT, BIN
from vtlab.nails.convert import ConvertConfig, build_model, convert_and_validate

pytestmark = [pytest.mark.filterwarnings('ignore::torch.jit.TracerWarning'), pytest.mark.needs('convert-venv', 'node', 'chromium')]


def rows_by(report):
    return {(r['stage'], r['precision']): r for r in report['rows']}


def test_cnn_whole_chain(tmp_path):
    "Small CNN through every stage and precision; 2 KB shards so the Node harness assembles several from memory."
    model, inputs, names, det = build_model('cnn')
    cfg = ConvertConfig(repeats=2, shard_bytes=2048)
    report = convert_and_validate(model, inputs, names, tmp_path, cfg, det, name='cnn', log=lambda s: None)
    rows = rows_by(report)
    assert report['ok'], report['failures']
    browser_stage = next(s for s, _ in rows if s.startswith('chromium-'))
    for stage in ('tfjs-cpu', 'tfjs-wasm', browser_stage):
        for p in ('fp32', 'fp16', 'uint8'): assert (stage, p) in rows, (stage, p, sorted(rows))
    for stage in ('ort', 'tf', 'ort-web'): assert rows[(stage, 'fp32')]['err'] < 1e-5
    for stage in ('tfjs-cpu', 'tfjs-wasm', browser_stage):
        assert rows[(stage, 'fp32')]['err'] < 1e-5 and rows[(stage, 'fp16')]['err'] < 1e-2
    # ~8 KB of fp32 weights in 2 KB shards: several, and the harness read them all without fetch
    shards = sorted((tmp_path/'tf'/'tfjs_fp32').glob('group*-shard*'))
    assert len(shards) >= 2 and rows[('tfjs-cpu', 'fp32')]['shards'] == len(shards)
    node = json.loads((tmp_path/'stages'/'node'/'result.json').read_text())
    assert node['fetch_calls'] == 0
    # fp16 and uint8 weights really are smaller
    assert report['sizes_bytes']['tfjs_uint8'] < report['sizes_bytes']['tfjs_fp16'] < report['sizes_bytes']['tfjs_fp32']
    md = (tmp_path/'report.md').read_text()
    assert '| tfjs-wasm | fp16 |' in md and 'All stages within tolerance.' in md


def test_block_chain_node(tmp_path):
    "The deformable-attention block (gather sampler + TopK) through ONNX, TF and TF.js cpu/wasm, fp32 and fp16."
    model, inputs, names, det = build_model('block')
    cfg = ConvertConfig(stages=['torch', 'ort', 'tf', 'tfjs-cpu', 'tfjs-wasm'], precisions=['fp32', 'fp16'], repeats=2)
    report = convert_and_validate(model, inputs, names, tmp_path, cfg, det, name='block', log=lambda s: None)
    assert report['ok'], report['failures']
    assert 'TopK' in report['onnx_ops'] and 'GridSample' not in report['onnx_ops']
    rows = rows_by(report)
    for key in [('ort', 'fp32'), ('tf', 'fp32'), ('tfjs-cpu', 'fp32'), ('tfjs-wasm', 'fp32'), ('tfjs-wasm', 'fp16')]:
        assert rows[key]['topk_agreement'] == 1.0, key          # same queries picked, int64 -> int32 included
        assert rows[key]['outputs']['scores']['kind'] == 'float'
    assert rows[('tfjs-wasm', 'fp32')]['err'] < 1e-4


def test_tolerance_miss_fails_loudly(tmp_path):
    "An unreachable fp32 tolerance makes vtlab_convert exit 1 and name the stage and output."
    out = tmp_path/'run'
    p = _run_raw(['vtlab_convert', '--model', 'cnn', '--stages', 'torch,ort', '--precisions', 'fp32',
                  '--tol', 'fp32=1e-12', '--repeats', '1', '--out', str(out)])
    assert p.returncode == 1, p.stderr[-2000:]
    assert "ort fp32 output 'features': error" in p.stderr and 'tolerance 1e-12' in p.stderr
    report = json.loads((out/'report.json').read_text())
    assert not report['ok'] and report['failures']
    # a tolerance that cannot be parsed is a usage error, not a silent default
    p = _run_raw(['vtlab_convert', '--model', 'cnn', '--stages', 'torch,ort', '--tol', 'fp32=tight', '--out', str(out)])
    assert p.returncode == 2 and "fp32='tight' is not a number" in p.stderr
    # a config without a tolerance for a requested precision is refused up front
    (tmp_path/'cfg.json').write_text(json.dumps({'tolerances': {'fp32': 1e-4}}))
    p = _run_raw(['vtlab_convert', '--model', 'cnn', '--config', str(tmp_path/'cfg.json'), '--out', str(out)])
    assert p.returncode == 2 and "no entry for precision(s) ['fp16', 'uint8']" in p.stderr, p.stderr[-2000:]


def _run_raw(cmd, env=None):
    "Run a console script of this venv and return the process (the exit status is what is tested)."
    import os, shutil, subprocess
    exe = shutil.which(cmd[0], path=str(BIN)) or cmd[0]
    return subprocess.run([exe, *cmd[1:]], capture_output=True, text=True, timeout=600, cwd=ROOT,
                          env={**os.environ, **(env or {})})


def test_papermill_run_notebook(tmp_path):
    "nbs/runs/convert_nails.ipynb runs under papermill (fast stages only here) and writes its report under outputs/."
    p = _run_raw(['papermill', '-k', 'python3', 'nbs/runs/convert_nails.ipynb', str(tmp_path/'out.ipynb'), '-p', 'stages', 'torch,ort',
                  '-p', 'precisions', 'fp32', '-p', 'tolerances', 'fp32=1e-4', '-p', 'run', 'papermill_smoke',
                  '-p', 'repeats', '1', '--cwd', str(ROOT)], env={'VTLAB_OUTPUTS': str(tmp_path/'outputs')})
    assert p.returncode == 0, p.stderr[-3000:]
    report = json.loads((tmp_path/'outputs'/'convert'/'papermill_smoke'/'report.json').read_text())
    assert report['ok'] and [r['stage'] for r in report['rows']] == ['torch', 'ort']
