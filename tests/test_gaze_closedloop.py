"""The closed loop, for both kinds of model the runtime must serve: rendered 640×480 camera frames of people with
known gaze go through the real `GazePipeline` (detector → face mesh → head pose → normalization → ONNX →
de-normalization), and the gaze error in the camera frame must stay within 1.5× the model's own held-out error on
normalized patches. The 96-px eye-band model is the one vtlab ships; the 224-px model is the same network stamped
for ETH-XGaze-framed 224-px patches (focal 960 px, resized to its input inside the graph), so the runtime has to
make 224-px patches for it. No 224-px network is trained here: the 224-px case checks the runtime's 224-px path
(ETH-XGaze framing, a 224-px patch through a graph that resizes it), with this network.

Measured (load ~9 on 2 cores, which does not change the numbers): 96 px: held-out patches 3.06° mean / 2.77°
median, closed loop 3.43° / 2.89° (1.12×), 58/60 faces; 224 px: held-out 4.24° / 3.81°, closed loop 3.35° / 3.07°."""
import json
import pytest
from conftest import ROOT

pytest.importorskip('ai_edge_litert')

def _check(model, label):
    from vtlab.gaze.closedloop import closed_loop, heldout_patches
    ref = heldout_patches(model, n=240, seed=7)
    res = closed_loop(model, n=60, seed=3)
    print(f"{label}: held-out patches {ref['mean_deg']:.2f} mean / {ref['median_deg']:.2f} median; closed loop "
          f"{res['runtime']['mean_deg']:.2f} mean / {res['runtime']['median_deg']:.2f} median "
          f"({res['runtime']['mean_deg'] / ref['mean_deg']:.2f}x); {res['faces_found']}/60 faces")
    assert res['faces_found'] >= 55   # measured 58: the detector misses a face or two at the widest head angles
    assert res['runtime']['mean_deg'] <= 1.5 * ref['mean_deg'], (res['runtime'], ref)
    assert res['runtime']['median_deg'] <= 1.5 * ref['median_deg'], (res['runtime'], ref)
    return ref, res

def test_shipped_96px_eye_band_model_closed_loop():
    from vtlab.gaze.runtime import GazeModel, default_gaze_model
    gm = GazeModel(default_gaze_model())
    assert gm.contract.patch_px == 96 and gm.contract.crop is not None
    _check(gm, '96-px eye band')

def test_224px_model_closed_loop(tmp_path):
    from vtlab.gaze.models import load_gaze_model
    from vtlab.gaze.export import export_gaze_onnx, at_patch_size
    from vtlab.gaze.runtime import GazeModel, default_gaze_weights
    m224 = at_patch_size(load_gaze_model(default_gaze_weights()), 224)
    export_gaze_onnx(m224, tmp_path/'gaze224.onnx')
    gm = GazeModel(tmp_path/'gaze224.onnx')
    assert (gm.contract.patch_px, gm.contract.focal_norm_px) == (224, 960.)
    _check(gm, '224 px')
