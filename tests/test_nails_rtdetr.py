"vtlab_bench_rtdetr end to end: builds the tiny tie-free model, exports it, checks ONNX Runtime parity, writes JSON."
import json
from conftest import run_cmd

def test_bench_rtdetr_writes_parity_and_latency(outputs):
    p = run_cmd(['vtlab_bench_rtdetr', '--preset', 'tiny', '--repeats', '1'], env={'VTLAB_OUTPUTS': str(outputs)})
    res = json.loads((outputs/'bench'/'rtdetr_tiny.json').read_text())
    assert 'ORT max |err|' in p.stdout
    assert res['parity']['topk_equal'] and res['parity']['score_gaps']['min_gap'] > 5e-4
    assert max(res['parity']['max_abs'].values()) < 1e-4
    for k in ('torch_grid_sample_ms', 'torch_gather_ms', 'ort_ms', 'export_s'): assert res[k] > 0
    assert 1.0 < res['params_m'] < 3.0
