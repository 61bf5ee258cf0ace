"The nail runtime without torch or TensorFlow: its modules import, and a real frame goes through NailPipeline with the shipped models."
import json, subprocess, sys, textwrap
from conftest import ROOT

# Modules a laptop or the server loads per frame or per request, and the command modules whose `--help` must be fast:
# none of them may import torch or TensorFlow at import time.
TORCH_FREE = ['vtlab.nails.base', 'vtlab.nails.pipeline', 'vtlab.nails.hands', 'vtlab.nails.evaluate', 'vtlab.nails.synth',
              'vtlab.nails.server', 'vtlab.nails.webapp', 'vtlab.nails.tfjs', 'vtlab.nails.webbench', 'vtlab.nails.bench',
              'vtlab.nails.convert']

BLOCKED = textwrap.dedent('''
    import sys
    for name in ('torch', 'tensorflow'): sys.modules[name] = None   # any import of them now raises ImportError
    ''')


def run_blocked(code:str)->dict:
    "Run `code` in a fresh interpreter where torch and TensorFlow cannot be imported; it prints one JSON line."
    p = subprocess.run([sys.executable, '-c', BLOCKED + textwrap.dedent(code)], capture_output=True, text=True, timeout=300, cwd=ROOT)
    assert p.returncode == 0, p.stderr[-3000:]
    return json.loads(p.stdout.strip().splitlines()[-1])


def test_runtime_modules_import_without_torch():
    res = run_blocked(f'''
        import importlib, json
        for m in {TORCH_FREE!r}: importlib.import_module(m)
        print(json.dumps(dict(loaded=sorted(k for k in sys.modules if k.split('.')[0] in ('torch', 'tensorflow') and sys.modules[k] is not None))))
        ''')
    assert res['loaded'] == [], res


def test_pipeline_runs_a_real_frame_without_torch():
    "One held-out frame with known nail masks through the shipped models, scored against the truth."
    from vtlab.nails.pipeline import default_model_paths
    default_model_paths()   # the ONNX export of the shipped weights needs torch: done here, once, outside the blocked process
    res = run_blocked('''
        import json
        from vtlab.nails.base import HELD_OUT_SEED
        from vtlab.nails.synth import render_sample, sample_seed
        from vtlab.nails.pipeline import NailPipeline
        from vtlab.nails.evaluate import gt_masks, match_nails
        pipe = NailPipeline()                          # the shipped models, from the ONNX export cache
        i = 0
        while True:                                    # the first held-out frame that shows at least three nails
            s = render_sample(sample_seed(HELD_OUT_SEED, i)); i += 1
            if len(s.visible_nails) >= 3: break
        r = pipe.process(s.image)
        vis, ign = gt_masks(s)
        m = match_nails(r.instance_masks(), vis, ign)
        print(json.dumps(dict(m, visible=len(vis), hand=r.hand)))
        ''')
    assert res['hand'] > 0.5, res
    assert res['tp'] >= 0.6 * res['visible'] and min(res['ious']) > 0.6, res


def test_missing_export_without_torch_is_a_clear_error(tmp_path):
    "On a machine without torch and without the ONNX export, the pipeline says what to do instead of failing on an import."
    res = run_blocked(f'''
        import json, os
        os.environ['VTLAB_OUTPUTS'] = {str(tmp_path)!r}   # an empty export cache
        from vtlab.nails.pipeline import NailPipeline
        try: NailPipeline(); print(json.dumps(dict(error=None)))
        except RuntimeError as e: print(json.dumps(dict(error=str(e))))
        ''')
    assert res['error'] and 'exporting needs torch' in res['error'] and 'pass ONNX files' in res['error'], res
