"""Importing published gaze checkpoints, checked against each project's own architecture and readout.

Each test builds the published network from its description (written here, independently of
`vtlab.gaze.importers`: same parameter names, same forward pass, same input transform and output decoding),
gives it random weights with realistic BatchNorm statistics, saves it the way the project saves it, imports the
file with `vtlab_import_gaze`, and asserts that the ONNX model gives the [pitch, yaw] the original pipeline would
(known answer), in vtlab's ETH-XGaze convention. No published file is downloaded.
"""
import json, math
from functools import partial
from pathlib import Path

import numpy as np
import pytest

torch = pytest.importorskip('torch')
ort = pytest.importorskip('onnxruntime')
import torch.nn as nn
import torch.nn.functional as F
import torchvision
from torchvision.models.resnet import BasicBlock, Bottleneck
import torchvision.transforms.functional as TF
from conftest import run_cmd

PARITY = {}   # layout/variant -> max |ONNX - original| (radians), printed at the end of the module

# ---- the published networks, as their repositories define them --------------------------------------------

class RefResNetPooled(torchvision.models.ResNet):
    "ETH-XGaze modules/resnet.py: torchvision's ResNet whose forward stops after the average pool (fc kept, unused)."
    def forward(self, x):
        x = self.maxpool(self.relu(self.bn1(self.conv1(x))))
        x = self.layer4(self.layer3(self.layer2(self.layer1(x))))
        return self.avgpool(x)

class RefEthXGaze(nn.Module):
    "ETH-XGaze model.py `gaze_network`: DataParallel(resnet50) inside the model, then gaze_fc."
    def __init__(self):
        super().__init__()
        self.gaze_network = nn.DataParallel(RefResNetPooled(Bottleneck, [3, 4, 6, 3]))
        self.gaze_fc = nn.Sequential(nn.Linear(2048, 2))
    def forward(self, x):
        feature = self.gaze_network(x)
        return self.gaze_fc(feature.view(feature.size(0), -1))

class RefBinnedResNet(nn.Module):
    "L2CS-Net l2cs/model.py (heads fc_yaw_gaze/fc_pitch_gaze + fc_finetune) and MobileGaze models/resnet.py (fc_yaw/fc_pitch)."
    def __init__(self, block, layers, num_bins, l2cs):
        super().__init__()
        r = torchvision.models.ResNet(block, layers)
        self.conv1, self.bn1, self.relu, self.maxpool = r.conv1, r.bn1, r.relu, r.maxpool
        self.layer1, self.layer2, self.layer3, self.layer4 = r.layer1, r.layer2, r.layer3, r.layer4
        self.avgpool = nn.AdaptiveAvgPool2d((1, 1))
        n = 512 * block.expansion
        self.yaw_name, self.pitch_name = ('fc_yaw_gaze', 'fc_pitch_gaze') if l2cs else ('fc_yaw', 'fc_pitch')
        setattr(self, self.yaw_name, nn.Linear(n, num_bins)); setattr(self, self.pitch_name, nn.Linear(n, num_bins))
        if l2cs: self.fc_finetune = nn.Linear(n + 3, 3)   # "vestigial layer from previous experiments"
    def forward(self, x):
        x = self.maxpool(self.relu(self.bn1(self.conv1(x))))
        x = self.avgpool(self.layer4(self.layer3(self.layer2(self.layer1(x))))).view(x.size(0), -1)
        return getattr(self, self.yaw_name)(x), getattr(self, self.pitch_name)(x)

def _conv_bn_relu6(cin, cout, k=3, stride=1, groups=1):
    "MobileGaze's Conv2dNormActivation: Conv2d, BatchNorm2d(eps=0.001, momentum=0.01), ReLU6."
    return nn.Sequential(nn.Conv2d(cin, cout, k, stride, (k - 1) // 2, groups=groups, bias=False),
                         nn.BatchNorm2d(cout, eps=0.001, momentum=0.01), nn.ReLU6(inplace=True))

class RefInvertedResidual(nn.Module):
    def __init__(self, cin, cout, stride, t):
        super().__init__()
        hidden, layers = cin * t, []
        self.use_res = stride == 1 and cin == cout
        if t != 1: layers.append(_conv_bn_relu6(cin, hidden, 1))
        layers += [_conv_bn_relu6(hidden, hidden, 3, stride, hidden), nn.Conv2d(hidden, cout, 1, 1, 0, bias=False), nn.BatchNorm2d(cout)]
        self.conv = nn.Sequential(*layers)
    def forward(self, x): return x + self.conv(x) if self.use_res else self.conv(x)

class RefMobileNetV2(nn.Module):
    "MobileGaze models/mobilenet.py: MobileNetV2 (width 1.0) with fc_yaw/fc_pitch instead of the classifier."
    def __init__(self, num_bins):
        super().__init__()
        feats, cin = [_conv_bn_relu6(3, 32, stride=2)], 32
        for t, c, n, s in [[1, 16, 1, 1], [6, 24, 2, 2], [6, 32, 3, 2], [6, 64, 4, 2], [6, 96, 3, 1], [6, 160, 3, 2], [6, 320, 1, 1]]:
            for i in range(n): feats.append(RefInvertedResidual(cin, c, s if i == 0 else 1, t)); cin = c
        feats.append(_conv_bn_relu6(cin, 1280, 1))
        self.features, self.avgpool = nn.Sequential(*feats), nn.AdaptiveAvgPool2d((1, 1))
        self.fc_yaw, self.fc_pitch = nn.Linear(1280, num_bins), nn.Linear(1280, num_bins)
    def forward(self, x):
        x = torch.flatten(self.avgpool(self.features(x)), 1)
        return self.fc_yaw(x), self.fc_pitch(x)

class RefPtGazeBackbone(torchvision.models.ResNet):
    "ptgaze models/mpiifacegaze/backbones/resnet_simple.py: ResNet(basic, [2, 2, 2] + [1]) without layer4/avgpool/fc."
    def __init__(self):
        super().__init__(BasicBlock, [2, 2, 2, 1])
        del self.layer4, self.avgpool, self.fc
    def forward(self, x):
        x = self.maxpool(self.relu(self.bn1(self.conv1(x))))
        return self.layer3(self.layer2(self.layer1(x)))

class RefPtGaze(nn.Module):
    "ptgaze models/mpiifacegaze/resnet_simple.py."
    def __init__(self):
        super().__init__()
        self.feature_extractor = RefPtGazeBackbone()
        self.conv = nn.Conv2d(256, 1, kernel_size=1, stride=1, padding=0)
        self.fc = nn.Linear(256 * 14 ** 2, 2)
    def forward(self, x):
        x = self.feature_extractor(x)
        return self.fc((x * F.relu(self.conv(x))).view(x.size(0), -1))

# ---- each project's input transform and output readout ----------------------------------------------------

IMAGENET = ([0.485, 0.456, 0.406], [0.229, 0.224, 0.225])

def rgb_imagenet(patches, size=None):
    "ETH-XGaze, L2CS-Net, MobileGaze: BGR→RGB, ToTensor, (Resize), Normalize(ImageNet); the resize in float, bilinear."
    x = torch.stack([TF.to_tensor(np.ascontiguousarray(p[:, :, ::-1])) for p in patches])
    if size and x.shape[-1] != size: x = F.interpolate(x, size=(size, size), mode='bilinear', align_corners=False)
    return TF.normalize(x, *IMAGENET)

def bgr_ptgaze(patches):
    "ptgaze transforms.py for MPIIFaceGaze: the BGR patch, ToTensor, Normalize with the mean/std listed in BGR order."
    return TF.normalize(torch.stack([TF.to_tensor(p) for p in patches]), [0.406, 0.456, 0.485], [0.225, 0.224, 0.229])

def decode_bins(logits, width, offset):
    "L2CS-Net pipeline.py / MobileGaze inference.py: softmax, Σ p·idx · width − offset (degrees), then radians."
    idx = torch.arange(logits.shape[1], dtype=torch.float32)
    return np.radians((F.softmax(logits, dim=1) * idx).sum(1).numpy() * width - offset)

def binned_pitchyaw(out, width, offset):
    # The first output (fc_yaw*) is trained on label[0] of GazeHub's 2-D gaze, the horizontal angle (MobileGaze
    # datasets.py: "label[0] = yaw (horizontal), label[1] = pitch (vertical)"); vtlab orders [pitch, yaw].
    yaw_logits, pitch_logits = out
    return np.stack([decode_bins(pitch_logits, width, offset), decode_bins(yaw_logits, width, offset)], 1)

# ---- helpers -------------------------------------------------------------------------------------------------

def realistic(model, side, seed=0):
    "Random weights, BatchNorm statistics from a few batches of random images (as training leaves them), eval mode."
    torch.manual_seed(seed)
    for m in model.modules():
        if isinstance(m, nn.BatchNorm2d): m.momentum = 0.5
    model.train()
    with torch.no_grad():
        for _ in range(3): model(torch.randn(2, 3, side, side))
    return model.eval()

def patches(side, n=4, seed=1):
    from vtlab.gaze.importers import sample_patches
    rnd = np.random.default_rng(seed).integers(0, 256, (n - 2, side, side, 3), dtype=np.uint8)
    return np.concatenate([sample_patches(side, 2), rnd])

def import_and_run(ckpt:Path, out:Path, x:np.ndarray, *flags)->tuple[np.ndarray, dict, dict]:
    "Run `vtlab_import_gaze` on `ckpt`, then the ONNX it wrote on `x`: (pitchyaw, its report, its metadata)."
    p = run_cmd(['vtlab_import_gaze', str(ckpt), '--out', str(out), *flags], timeout=900)
    onnx_path = next(out.glob('*.onnx'))
    rep = json.loads(onnx_path.with_name(onnx_path.name + '.json').read_text())
    sess = ort.InferenceSession(str(onnx_path), providers=['CPUExecutionProvider'])
    assert sess.get_inputs()[0].type == 'tensor(uint8)' and sess.get_inputs()[0].shape[1:] == [x.shape[1], x.shape[2], 3]
    return sess.run(None, {sess.get_inputs()[0].name: x})[0], rep, dict(sess.get_modelmeta().custom_metadata_map)

def runs_in_pipeline(onnx_path:Path, frames:int=2):
    "The real-time loop takes the imported model as it is: a gaze for the astronaut's face, from the model's own contract."
    pytest.importorskip('ai_edge_litert')
    from vtlab.vision.models import fetch_models, FACE_MODELS
    from vtlab.gaze.runtime import GazePipeline, astronaut_frame, astronaut_motion
    fetch_models(FACE_MODELS, verbose=False)
    pipe = GazePipeline(gaze_model=onnx_path, iris=False)
    samples = [pipe.process(astronaut_frame(astronaut_motion(i, 100)), i / 30) for i in range(frames)]
    assert all(s.face and s.gaze_pitch is not None and np.isfinite([s.gaze_pitch, s.gaze_yaw]).all() for s in samples), samples

def check(name, got, expected, rep, meta, contract, atol=1e-4):
    from vtlab.gaze.geometry import NormalizationContract, PUBLISHED_CONTRACTS
    assert NormalizationContract.from_metadata(meta, name) == PUBLISHED_CONTRACTS[contract]
    err = float(np.abs(got - expected).max())
    PARITY[name] = dict(max_abs_diff_rad=err, export_parity=rep['max_abs_diff'], contract=contract,
                        layout=rep['import_config']['layout'], arch=rep['import_config']['arch'])
    assert err < atol, f'{name}: ONNX differs from the original network by {err:.3g} rad'
    assert np.abs(expected).max() > 1e-3   # the known answer is not trivially zero

@pytest.fixture(scope='module', autouse=True)
def report():
    yield
    print('\nimport parity (max |ONNX - original pipeline|, radians):')
    for k, v in PARITY.items(): print(f"  {k:<28} {v['max_abs_diff_rad']:.2e}  ({v['layout']} {v['arch']}, {v['contract']})")

# ---- the four published layouts ------------------------------------------------------------------------------

def test_eth_xgaze_epoch_24_ckpt(tmp_path):
    ref = realistic(RefEthXGaze(), 224)
    opt = torch.optim.Adam(ref.parameters(), lr=1e-4)
    sched = torch.optim.lr_scheduler.StepLR(opt, step_size=10, gamma=0.1)
    # trainer.py save_checkpoint: the whole dict, under a name ending _ckpt.pth.tar
    torch.save({'epoch': 25, 'model_state': ref.state_dict(), 'optim_state': opt.state_dict(),
                'scheule_state': sched.state_dict()}, tmp_path/'epoch_24_ckpt.pth.tar')
    x = patches(224)
    with torch.no_grad(): expected = ref(rgb_imagenet(x)).numpy()          # demo.py: [pitch, yaw] radians
    got, rep, meta = import_and_run(tmp_path/'epoch_24_ckpt.pth.tar', tmp_path/'out', x)
    assert rep['import_config']['layout'] == 'eth-xgaze' and rep['import_config']['arch'] == 'resnet50'
    check('eth-xgaze resnet50', got, expected, rep, meta, 'eth-xgaze')
    runs_in_pipeline(Path(rep['onnx']))

@pytest.mark.parametrize('arch,dataset,parallel', [('resnet50', 'gaze360', False), ('resnet18', 'mpiigaze', True)])
def test_l2cs(tmp_path, arch, dataset, parallel):
    block, layers = {'resnet50': (Bottleneck, [3, 4, 6, 3]), 'resnet18': (BasicBlock, [2, 2, 2, 2])}[arch]
    bins, width, offset, side = {'gaze360': (90, 4, 180, 448), 'mpiigaze': (28, 3, 42, 224)}[dataset]
    ref = realistic(RefBinnedResNet(block, layers, bins, l2cs=True), 448)
    # train.py: gaze360 snapshots save model.state_dict(); the MPIIGaze folds train nn.DataParallel(model) and save its state dict
    torch.save((nn.DataParallel(ref) if parallel else ref).state_dict(), tmp_path/f'L2CSNet_{dataset}.pkl')
    x = patches(side)
    with torch.no_grad(): expected = binned_pitchyaw(ref(rgb_imagenet(x, 448)), width, offset)
    got, rep, meta = import_and_run(tmp_path/f'L2CSNet_{dataset}.pkl', tmp_path/'out', x)
    assert (rep['import_config']['arch'], rep['import_config']['training_set']) == (arch, dataset)
    check(f'l2cs {arch} {dataset}', got, expected, rep, meta, {'gaze360': 'gaze360', 'mpiigaze': 'mpiifacegaze-gazehub'}[dataset])
    runs_in_pipeline(Path(rep['onnx']), frames=1)           # a face-box crop (gaze360) or a virtual camera (mpiigaze)

@pytest.mark.parametrize('arch,dataset,saved', [('mobilenetv2', 'gaze360', 'best_model.pt'), ('resnet18', 'mpiigaze', 'checkpoint.ckpt')])
def test_mobilegaze(tmp_path, arch, dataset, saved):
    bins, width, offset, side = {'gaze360': (90, 4, 180, 448), 'mpiigaze': (28, 3, 42, 224)}[dataset]
    ref = realistic(RefMobileNetV2(bins) if arch == 'mobilenetv2' else RefBinnedResNet(BasicBlock, [2, 2, 2, 2], bins, l2cs=False), 448)
    if saved == 'best_model.pt': torch.save(ref.state_dict(), tmp_path/saved)     # main.py: the best model, a state dict
    else:                                                                       # main.py: the resumable checkpoint
        opt = torch.optim.Adam(ref.parameters(), lr=1e-4)
        torch.save({'epoch': 10, 'model_state_dict': ref.state_dict(), 'optimizer_state_dict': opt.state_dict(), 'loss': 1.5}, tmp_path/saved)
    x = patches(side)
    with torch.no_grad(): expected = binned_pitchyaw(ref(rgb_imagenet(x, 448)), width, offset)
    got, rep, meta = import_and_run(tmp_path/saved, tmp_path/'out', x)
    assert (rep['import_config']['layout'], rep['import_config']['arch']) == ('mobilegaze', arch)
    check(f'mobilegaze {arch} {dataset}', got, expected, rep, meta, {'gaze360': 'gaze360', 'mpiigaze': 'mpiifacegaze-gazehub'}[dataset])

def test_ptgaze_mpiifacegaze(tmp_path):
    ref = realistic(RefPtGaze(), 224)
    opt = torch.optim.SGD(ref.parameters(), lr=0.1, momentum=0.9, nesterov=True)
    sched = torch.optim.lr_scheduler.MultiStepLR(opt, milestones=[10, 13], gamma=0.1)
    # gaze_estimation/checkpoint.py CheckPointer.save: model, optimizer, scheduler, plus epoch and config.as_dict()
    torch.save({'epoch': 15, 'config': {'mode': 'MPIIFaceGaze', 'model': {'name': 'resnet_simple'}}, 'model': ref.state_dict(),
                'optimizer': opt.state_dict(), 'scheduler': sched.state_dict()}, tmp_path/'mpiifacegaze_resnet_simple.pth')
    x = patches(224)
    with torch.no_grad(): expected = ref(bgr_ptgaze(x)).numpy()             # gaze_estimator.py: [pitch, yaw] radians
    got, rep, meta = import_and_run(tmp_path/'mpiifacegaze_resnet_simple.pth', tmp_path/'out', x)
    check('ptgaze resnet_simple', got, expected, rep, meta, 'mpiifacegaze')
    runs_in_pipeline(Path(rep['onnx']))                      # MPIIFaceGaze's face centre and virtual camera

# ---- the conventions, on outputs one can reason about without a face ---------------------------------------

def _arrow(dx, dy): return np.array([dx, dy]) / math.hypot(dx, dy)

def test_conventions_match_each_projects_drawing(tmp_path):
    "A head whose output is known (zero weights, chosen biases): vtlab's gaze vector points where the project draws it."
    from vtlab.gaze.geometry import pitchyaw_to_vector
    from vtlab.gaze.importers import BinnedMobileNetV2, ImportedGazeModel, import_config
    pitch, yaw = math.radians(-12), math.radians(20)            # looking down and to the camera's left
    def draw(p, y): return _arrow(-math.sin(y) * math.cos(p), -math.sin(p))   # ETH-XGaze demo.py draw_gaze(pitchyaw)
    # ETH-XGaze (and ptgaze, which uses the same angle_to_vector): the output is [pitch, yaw]
    m = ImportedGazeModel(import_config('mobilegaze', 'mobilenetv2', 'gaze360')).eval()
    for head, deg in ((m.net.fc_yaw, 20), (m.net.fc_pitch, -12)):   # MobileGaze: bins of 4° from -180°, index (deg+180)/4
        nn.init.zeros_(head.weight); nn.init.zeros_(head.bias); head.bias.data[(deg + 180) // 4] = 60.
    with torch.no_grad(): got = m(torch.zeros(1, 448, 448, 3, dtype=torch.uint8))[0].numpy()
    np.testing.assert_allclose(got, [pitch, yaw], atol=1e-6)
    # MobileGaze's helpers.gaze_to_3d([yaw, pitch]) and vtlab's pitchyaw_to_vector([pitch, yaw]) are the same vector
    gz = np.array([-math.cos(pitch) * math.sin(yaw), -math.sin(pitch), -math.cos(pitch) * math.cos(yaw)])
    np.testing.assert_allclose(pitchyaw_to_vector(got), gz, atol=1e-6)
    g = pitchyaw_to_vector(got)
    np.testing.assert_allclose(_arrow(g[0], g[1]), draw(pitch, yaw), atol=1e-6)   # image x right, y down
    assert g[0] < 0 and g[1] > 0                                   # left and down in the image
