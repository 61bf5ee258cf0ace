"End-to-end tests of the two-pass nail pillar: synthetic data CLI, papermill training run, benchmark CLI."
import json, os, subprocess, sys
from pathlib import Path
import numpy as np
import pytest
from conftest import ROOT, BIN, run_cmd


def test_synth_cli_writes_coco_and_video(tmp_path):
    from vtlab.nails.synth import CocoNails, read_y4m
    out = tmp_path/'synth'
    run_cmd(['vtlab_synth_nails', '--out', str(out), '-n', '4', '--seed', '5', '--video-frames', '4'])
    ds = CocoNails(out/'annotations.json')
    assert len(ds) == 4
    img, nails = ds[0]
    assert img.shape == (480, 640, 3)
    frames = list(read_y4m(out/'video'/'hands.y4m'))
    labels = np.load(out/'video'/'hands_labels.npz')['labels']
    assert len(frames) == 4 and labels.shape == (4, 480, 640) and labels.max() > 0


@pytest.fixture(scope='module')
def smoke_models(tmp_path_factory):
    "Run the papermill training notebook at smoke size into a private outputs/ and data/."
    tmp = tmp_path_factory.mktemp('train')
    env = {'VTLAB_OUTPUTS': str(tmp/'outputs'), 'VTLAB_DATA': str(tmp/'data')}
    run_cmd(['papermill', str(ROOT/'nbs'/'runs'/'train_nails.ipynb'), str(tmp/'train_nails.out.ipynb'),
             '-p', 'n_frames', '10', '-p', 'steps1', '8', '-p', 'steps2', '8', '-p', 'n_eval', '3', '-k', 'python3', '--language', 'python', '--no-progress-bar'],
            env=env, timeout=900)
    return tmp, env


def test_train_notebook_writes_models(smoke_models):
    tmp, _ = smoke_models
    models = tmp/'outputs'/'models'/'nails_smoke'
    for f in ('pass1.onnx', 'pass2.onnx', 'pass1/last/model.safetensors', 'pass2/last/config.json', 'pass1/metrics.csv', 'eval.json'):
        assert (models/f).exists(), f
    score = json.loads((models/'eval.json').read_text())
    assert set(score['two_pass']) >= {'mask_iou', 'precision', 'recall'}
    rows = (models/'pass1'/'metrics.csv').read_text().splitlines()
    assert rows[0].startswith('step,') and rows[-1].split(',')[0] == '8'


def test_bench_cli(smoke_models):
    tmp, env = smoke_models
    models = tmp/'outputs'/'models'/'nails_smoke'
    out = tmp/'bench'
    run_cmd(['vtlab_bench_nails', '--n-eval', '3', '--n-time', '3', '--no-baseline', '--no-mediapipe', '--no-browser',
             '--pass1', str(models/'pass1.onnx'), '--pass2', str(models/'pass2.onnx'), '--out', str(out)], env=env, timeout=600)
    res = json.loads((out/'nails.json').read_text())
    assert (out/'nails.png').stat().st_size > 5000   # the chart beside the JSON
    lat = res['two_pass']['latency_ms']
    assert {'pass1', 'total'} <= set(lat) and lat['total']['p50_ms'] > 0
    assert res['two_pass']['accuracy']['frames'] == 3


def test_shipped_models_reach_iou_target():
    "The trained models shipped in vtlab/nails/weights reach mask IoU >= 0.8 on the bench's 100 held-out frames."
    from vtlab.nails.pipeline import NailPipeline
    from vtlab.nails.evaluate import evaluate_pipeline
    acc = evaluate_pipeline(NailPipeline(), n=100)
    assert acc['mask_iou'] >= 0.8, acc  # the target, on matched nails
    # regression floors only: the shipped pass 1 finds 78 % of visible nails at 72 % precision (vtlab/nails/weights/pass1/config.json)
    assert acc['recall'] >= 0.7 and acc['precision'] >= 0.65, acc
