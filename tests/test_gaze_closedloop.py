"""The closed loop, for both kinds of model the runtime must serve: rendered 640×480 camera frames of people with
known gaze go through the real `GazePipeline` (detector → face mesh → head pose → normalization → ONNX →
de-normalization), and the gaze error in the camera frame must stay within 1.5× the model's own held-out error on
normalized patches. Both models are the trained ones vtlab ships: the 96-px eye-band model (`default`, the real-time
loop's) and the 224-px model trained on ETH-XGaze-framed patches (`eth224`: focal 960 px at 600 mm), so the runtime
has to make 224-px patches at the focal length that model was trained with.

Measured (120 frames, 480 held-out patches): 96 px: held-out 1.90° mean / 1.72° median, closed loop 2.17° / 2.03°
(1.14× / 1.18×; the previous default model: 2.96° / 2.71°, 3.38° / 2.90°); 224 px: held-out 2.52° / 2.27°, closed loop 3.30° / 3.09° (1.31× / 1.36×); 118/120 faces each.
The models' cards (held-out, closed loop, real photos) are in vtlab/gaze/weights/MODEL_CARD.md."""
import json
import pytest
from conftest import ROOT

pytest.importorskip('ai_edge_litert')

def _check(model, label):
    from vtlab.gaze.closedloop import closed_loop, heldout_patches
    ref = heldout_patches(model, n=480, seed=7)
    res = closed_loop(model, n=120, seed=3)
    print(f"{label}: held-out patches {ref['mean_deg']:.2f} mean / {ref['median_deg']:.2f} median; closed loop "
          f"{res['runtime']['mean_deg']:.2f} mean / {res['runtime']['median_deg']:.2f} median "
          f"({res['runtime']['mean_deg'] / ref['mean_deg']:.2f}x); {res['faces_found']}/120 faces")
    assert res['faces_found'] >= 110   # measured 118: the detector misses a face or two at the widest head angles
    assert res['runtime']['mean_deg'] <= 1.5 * ref['mean_deg'], (res['runtime'], ref)
    assert res['runtime']['median_deg'] <= 1.5 * ref['median_deg'], (res['runtime'], ref)
    return ref, res

def test_shipped_96px_eye_band_model_closed_loop():
    from vtlab.gaze.runtime import GazeModel, default_gaze_model
    gm = GazeModel(default_gaze_model())
    assert gm.contract.patch_px == 96 and gm.contract.crop is not None
    _check(gm, '96-px eye band')

def test_shipped_224px_model_closed_loop():
    from vtlab.gaze.runtime import GazeModel, shipped_gaze_model
    gm = GazeModel(shipped_gaze_model('eth224'))
    assert (gm.contract.patch_px, gm.contract.focal_norm_px, gm.contract.distance_norm_mm) == (224, 960., 600.)
    _check(gm, '224 px')

def test_model_card_notebook_without_a_compared_run(tmp_path):
    """`nbs/runs/gaze_model_card.ipynb` as its header shows it, with no run to compare against (it used to fail
    formatting the absent run's label): the card of the shipped model, whose photo numbers match the shipped card's."""
    import os, subprocess
    from conftest import BIN
    from vtlab.gaze.runtime import SHIPPED_DIR
    p = subprocess.run([str(BIN/'papermill'), str(ROOT/'nbs'/'runs'/'gaze_model_card.ipynb'), str(tmp_path/'card.ipynb'),
                        '-p', 'frames', '6', '-p', 'patches', '30', '-p', 'out_dir', str(tmp_path/'card'),
                        '-k', 'python3', '--language', 'python', '--cwd', str(ROOT/'nbs'/'runs')],
                       capture_output=True, text=True, env=dict(os.environ), timeout=600)
    assert p.returncode == 0, p.stderr[-4000:]
    card, shipped = (json.loads(f.read_text()) for f in (tmp_path/'card'/'card.json', SHIPPED_DIR/'gaze_default.card.json'))
    for k in ('mirror_err_deg', 'looks_at_camera_err_deg', 'stability_max_deg'):   # the same model on the same photos
        assert abs(card['real_photos'][k] - shipped['real_photos'][k]) < 0.01, k
    for k, v in shipped['eyelids']['moves_deg'].items():                           # the same rendered lids
        assert abs(card['eyelids']['moves_deg'][k]['pitch_shift_deg'] - v['pitch_shift_deg']) < 0.01, k
    md = (tmp_path/'card'/'MODEL_CARD.md').read_text()
    assert '| grace_hopper |' in md and 'previous default' not in md and card['contract'] in md
    assert 'Eyelids that move without the eye' in md
