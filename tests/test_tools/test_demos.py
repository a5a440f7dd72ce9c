"""The image and video demos and their ONNX Runtime backend, on real CamVid
images with checkpoints made here (no display is ever waited on)."""
import glob
import importlib.util
import os.path as osp
import signal

import cv2
import mmcv
import numpy as np
import pytest
import torch
import torch.nn as nn
import torch.nn.functional as F
from mmengine.config import Config
from mmengine.model import revert_sync_batchnorm
from mmengine.registry import init_default_scope
from mmseg.apis import inference_model, init_model
from mmseg.registry import DATASETS, MODELS
from PIL import Image

from mmseg_ext.apis import Segmenter, draw_overlay
from mmseg_ext.engine.errors import ConfigError
from ..conftest import CAMVID_MINI, MINI_CFG, REPO

SEGNET = osp.join(REPO, 'configs', 'segnet',
                  'segnet_vgg16-bn-tiny_1xb4-1k_camvid-mini-180x240.py')
DECONVNET = osp.join(REPO, 'configs', 'deconvnet',
                     'deconvnet_vgg16-bn-tiny_1xb4-1k_camvid-mini-180x240.py')
CONFIGS = dict(fcn8s=MINI_CFG, segnet=SEGNET, deconvnet=DECONVNET)
VAL = [
    osp.join(CAMVID_MINI, 'val', name + '.jpg')
    for name in open(osp.join(CAMVID_MINI, 'val.txt')).read().split()
]
PALETTE = DATASETS.get('CamVidDataset').METAINFO['palette']


def load_script(*parts):
    """A script of the repository as a module (``main(argv)`` to run)."""
    path = osp.join(REPO, *parts)
    spec = importlib.util.spec_from_file_location(
        osp.splitext(parts[-1])[0], path)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def make_checkpoint(config: str, path: str, seed: int = 0) -> str:
    """Save a checkpoint of the config's model that segments by the image.

    Random convolutions, BN statistics taken on four real images (so the
    features neither vanish nor explode) and a score layer scaled to logits
    of std 1, with the CamVid ``dataset_meta`` as a trained run saves it.
    """
    init_default_scope('mmseg')  # module fixtures run before conftest's
    cfg = Config.fromfile(config)
    torch.manual_seed(seed)
    model = revert_sync_batchnorm(MODELS.build(cfg.model))
    imgs = torch.stack([
        torch.from_numpy(mmcv.imread(f)).permute(2, 0, 1).float()
        for f in VAL[::6]
    ])
    inputs = model.data_preprocessor(dict(inputs=list(imgs)))['inputs']
    for m in model.modules():
        if isinstance(m, nn.modules.batchnorm._BatchNorm):
            m.momentum = None  # cumulative average of the batch
    with torch.no_grad():
        model.train()(inputs, mode='tensor')
        logits = model.eval()(inputs, mode='tensor')
        model.decode_head.conv_seg.weight /= logits.std()
    meta = dict(DATASETS.get(cfg.test_dataloader.dataset.type).METAINFO)
    torch.save(
        dict(state_dict=model.state_dict(), meta=dict(dataset_meta=meta)),
        path)
    return path


@pytest.fixture(scope='module')
def checkpoints(tmp_path_factory):
    root = tmp_path_factory.mktemp('demo_ckpts')
    return {
        name: make_checkpoint(cfg, str(root / f'{name}.pth'))
        for name, cfg in CONFIGS.items()
    }


@pytest.fixture(scope='module')
def onnx_files(checkpoints, tmp_path_factory):
    """Each model exported at 180x240 by tools/deployment/pytorch2onnx.py.
    """
    tool = load_script('tools', 'deployment', 'pytorch2onnx.py')
    root = tmp_path_factory.mktemp('demo_onnx')
    files = {}
    for name, cfg in CONFIGS.items():
        model = tool.build_model(Config.fromfile(cfg), checkpoints[name])
        files[name] = str(root / f'{name}.onnx')
        tool.export(model, files[name], (180, 240))
    return files


@pytest.fixture
def no_display(monkeypatch):
    """No display, and a test that would wait on a window fails instead."""
    monkeypatch.delenv('DISPLAY', raising=False)
    monkeypatch.delenv('WAYLAND_DISPLAY', raising=False)

    def hang(*args):
        raise AssertionError('waited on a window')

    monkeypatch.setattr(cv2, 'waitKey', hang)
    monkeypatch.setattr(cv2, 'imshow', hang)


def _labels(result):
    return result.pred_sem_seg.data[0].cpu().numpy()


def test_pytorch_path_is_mmsegs(checkpoints):
    """Same logits as mmseg's init_model + inference_model, also for an
    image the pipeline resizes (480x360 -> 240x180) and back."""
    segmenter = Segmenter(SEGNET, checkpoints['segnet'])
    model = revert_sync_batchnorm(
        init_model(SEGNET, checkpoints['segnet'], device='cpu'))
    big = cv2.resize(mmcv.imread(VAL[3]), (480, 360))
    for img in (VAL[0], VAL[1], big):
        ours, theirs = segmenter(img), inference_model(model, img)
        assert torch.equal(ours.seg_logits.data, theirs.seg_logits.data)
        assert torch.equal(ours.pred_sem_seg.data, theirs.pred_sem_seg.data)
    labels = _labels(segmenter(big))
    assert labels.shape == (360, 480)
    assert len(np.unique(labels)) >= 3  # depends on the image


def test_crf_switch(checkpoints):
    """--crf runs CRFEncoderDecoder's CRF on the original image."""
    plain = Segmenter(SEGNET, checkpoints['segnet'])
    crf = Segmenter(SEGNET, checkpoints['segnet'], crf=dict(iterations=3))
    assert plain.crf is None and crf.crf.iterations == 3
    model = revert_sync_batchnorm(
        init_model(
            SEGNET,
            checkpoints['segnet'],
            device='cpu',
            cfg_options={'model.test_cfg.crf': dict(iterations=3)}))
    ours, theirs = crf(VAL[2]), inference_model(model, VAL[2])
    assert torch.equal(ours.pred_sem_seg.data, theirs.pred_sem_seg.data)
    assert not torch.equal(ours.pred_sem_seg.data,
                           plain(VAL[2]).pred_sem_seg.data)
    off = Segmenter(
        SEGNET,
        checkpoints['segnet'],
        crf=False,
        cfg_options={'model.test_cfg.crf': dict(iterations=3)})
    assert off.crf is None


def test_fast_switch(checkpoints, tmp_path, no_display):
    """--fast (Segmenter(fast=True)): the labels of the plain model."""
    plain = Segmenter(MINI_CFG, checkpoints['fcn8s'])
    fast = Segmenter(MINI_CFG, checkpoints['fcn8s'], fast=True)
    assert fast.model.test_cfg.fast is True
    assert not plain.model.test_cfg.get('fast')
    for img in (VAL[0], VAL[0], VAL[1]):  # the first fast call runs plain
        ours, theirs = fast(img), plain(img)
        torch.testing.assert_close(
            ours.seg_logits.data, theirs.seg_logits.data, rtol=0, atol=1e-4)
        assert torch.equal(ours.pred_sem_seg.data, theirs.pred_sem_seg.data)
    demo = load_script('demo', 'image_demo.py')
    out = str(tmp_path / 'fast.png')
    demo.main([
        VAL[1], MINI_CFG, checkpoints['fcn8s'], '--out-file', out,
        '--save-npy', '--fast'
    ])
    np.testing.assert_array_equal(
        np.load(str(tmp_path / 'fast_labels.npy')), _labels(plain(VAL[1])))


def test_fast_needs_pytorch(onnx_files):
    with pytest.raises(ConfigError, match='pytorch backend'):
        Segmenter(SEGNET, onnx_files['segnet'], fast=True)


def test_image_demo_on_a_glob(checkpoints, tmp_path, no_display):
    demo = load_script('demo', 'image_demo.py')
    out = tmp_path / 'out'
    pattern = osp.join(CAMVID_MINI, 'val', '0016E5_0796[17].jpg')
    images = sorted(glob.glob(pattern))
    assert len(images) == 2
    demo.main([
        pattern, SEGNET, checkpoints['segnet'], '--out-file',
        str(out), '--save-npy', '--opacity', '0.6'
    ])
    segmenter = Segmenter(SEGNET, checkpoints['segnet'])
    for path in images:
        stem = osp.join(out, osp.splitext(osp.basename(path))[0])
        labels = _labels(segmenter(path))
        png = Image.open(stem + '_labels.png')
        assert png.mode == 'P'
        np.testing.assert_array_equal(np.asarray(png), labels)
        np.testing.assert_array_equal(np.load(stem + '_labels.npy'), labels)
        assert png.getpalette()[:33] == sum(PALETTE, [])
        # colours in the right channel order: BGR image, RGB palette
        img, overlay = mmcv.imread(path), mmcv.imread(stem + '.png')
        rgb = np.asarray(PALETTE, np.float32)[labels]
        expected = img * 0.4 + rgb[..., ::-1] * 0.6
        assert np.abs(overlay - expected).max() < 1.01
        np.testing.assert_array_equal(
            overlay, draw_overlay(img, labels, segmenter.palette, 0.6))


def test_image_demo_single_file_and_errors(checkpoints, tmp_path, no_display):
    demo = load_script('demo', 'image_demo.py')
    out = str(tmp_path / 'one.png')
    demo.main([VAL[0], SEGNET, checkpoints['segnet'], '--out-file', out])
    assert mmcv.imread(out).shape == (180, 240, 3)
    assert osp.isfile(str(tmp_path / 'one_labels.png'))
    assert not osp.exists(str(tmp_path / 'one_labels.npy'))
    with pytest.raises(SystemExit, match='no display'):
        demo.main([VAL[0], SEGNET, checkpoints['segnet']])
    with pytest.raises(SystemExit, match='no image found'):
        demo.main([str(tmp_path / '*.jpg'), SEGNET, checkpoints['segnet']])
    with pytest.raises(ConfigError, match='does not fit'):
        demo.main(
            [VAL[0], DECONVNET, checkpoints['segnet'], '--out-file', out])


def _write_video(path, frames, fps=5):
    writer = cv2.VideoWriter(path, cv2.VideoWriter_fourcc(*'FFV1'), fps,
                             (240, 180))  # lossless
    assert writer.isOpened()
    for frame in frames:
        writer.write(frame)
    writer.release()


def _read_video(path):
    cap = cv2.VideoCapture(path)
    frames = []
    while True:
        ok, frame = cap.read()
        if not ok:
            break
        frames.append(frame)
    cap.release()
    return frames


@pytest.fixture
def alarm():
    """Fail instead of hanging."""

    def fail(*args):
        raise AssertionError('the demo hung')

    old = signal.signal(signal.SIGALRM, fail)
    signal.alarm(900)  # a loaded machine is slow, not hung
    yield
    signal.alarm(0)
    signal.signal(signal.SIGALRM, old)


@pytest.mark.parametrize('backend', ['pytorch', 'onnxruntime'])
def test_video_demo(backend, checkpoints, onnx_files, tmp_path, no_display,
                    alarm, capsys):
    """A generated video, --show without a display, every other frame
    segmented, the FPS drawn on each output frame."""
    demo = load_script('demo', 'video_demo.py')
    video, out = str(tmp_path / 'in.avi'), str(tmp_path / 'out.avi')
    frames = [mmcv.imread(f) for f in VAL[:6]]
    _write_video(video, frames)
    model = (onnx_files if backend == 'onnxruntime' else checkpoints)['segnet']
    demo.main([
        video, SEGNET, model, '--output-file', out, '--output-fourcc', 'FFV1',
        '--show', '--skip-frames', '1'
    ])
    assert '6 frames (3 segmented)' in capsys.readouterr().out
    written = _read_video(out)
    assert len(written) == 6 and written[0].shape == (180, 240, 3)
    segmenter = Segmenter(SEGNET, model)
    palette = segmenter.palette
    for i in (0, 1, 4):
        labels = _labels(segmenter(frames[i - i % 2]))  # skipped: reused
        expected = draw_overlay(frames[i], labels, palette)
        np.testing.assert_array_equal(written[i][30:], expected[30:])
        diff = np.abs(written[i][:30].astype(int) - expected[:30])
        assert diff[:, :80].max() > 100  # the FPS text
        assert diff[:, 120:].max() == 0


def test_video_demo_errors(checkpoints, tmp_path, no_display):
    demo = load_script('demo', 'video_demo.py')
    with pytest.raises(SystemExit, match='nothing to do'):
        demo.main([VAL[0], SEGNET, checkpoints['segnet'], '--show'])
    with pytest.raises(SystemExit, match='cannot open video'):
        demo.main([
            str(tmp_path / 'missing.avi'), SEGNET, checkpoints['segnet'],
            '--output-file',
            str(tmp_path / 'o.avi')
        ])


def _pool_ties(model, rtol=1e-5):
    """Count, per forward, the max-pooling windows whose two largest inputs
    are equal up to float rounding (where PyTorch and ONNX Runtime may
    record different switches)."""
    counts = []

    def hook(module, args, output):
        x = args[0]
        h, w = x.shape[-2:]
        x = F.pad(x, (0, w % 2, 0, h % 2), value=float('-inf'))
        n, c, h, w = x.shape
        win = x.view(n, c, h // 2, 2, w // 2, 2).permute(0, 1, 2, 4, 3, 5)
        top = win.reshape(n, c, h // 2, w // 2, 4).topk(2, dim=-1).values
        tie = (top[..., 0] > 0) & (
            top[..., 0] - top[..., 1] <= rtol * top[..., 0])
        counts[-1] += int(tie.sum())

    handles = [
        m.register_forward_hook(hook) for m in model.backbone.modules()
        if isinstance(m, nn.MaxPool2d)
    ]
    return counts, handles


@pytest.mark.parametrize('name', sorted(CONFIGS))
def test_onnxruntime_gives_pytorchs_labels(name, checkpoints, onnx_files):
    """Same labels on real images, also one the pipeline resizes. Allowed
    differences, and only these: pixels whose two best logits tie (within
    1e-4), and for unpooling models images where a max-pooling window holds
    two maxima equal up to rounding, so that the switch (and the unpooled
    map) can differ; there at most 3% of the pixels (random weights)."""
    torch_seg = Segmenter(CONFIGS[name], checkpoints[name])
    onnx_seg = Segmenter(CONFIGS[name], onnx_files[name])
    assert onnx_seg.backend == 'onnxruntime'
    unpools = any(
        getattr(m, 'return_indices', False)
        for m in torch_seg.model.backbone.modules())
    assert unpools == (name != 'fcn8s')
    counts, handles = _pool_ties(torch_seg.model)
    big = cv2.resize(mmcv.imread(VAL[5]), (480, 360))
    exact = 0
    for img in VAL[::3] + [big]:
        counts.append(0)
        ours, theirs = torch_seg(img), onnx_seg(img)
        logits = ours.seg_logits.data
        top = logits.topk(2, dim=0).values
        argmax_tie = (top[0] - top[1]) < 1e-4
        differ = (_labels(ours) != _labels(theirs)) & ~argmax_tie.numpy()
        if not differ.any():
            exact += 1
            if not (unpools and counts[-1] > 0):  # else a switch may move
                assert (ours.seg_logits.data -
                        theirs.seg_logits.data).abs().max() < 1e-3
            continue
        assert unpools and counts[-1] > 0, (name, differ.sum())
        # random weights spread a moved switch further than trained ones
        assert differ.mean() < 0.03
        assert len(np.unique(_labels(ours))) >= 3
    for handle in handles:
        handle.remove()
    assert exact >= 3  # most images match exactly


def test_onnx_fixed_input_size(onnx_files):
    with pytest.raises(ConfigError, match='fixed 240x180'):
        Segmenter(SEGNET, onnx_files['segnet'], scale=(120, 90))
    seg = Segmenter(SEGNET, onnx_files['segnet'], scale=(240, 180))
    result = seg(np.zeros((100, 300, 3), np.uint8))  # another aspect ratio
    assert result.pred_sem_seg.data.shape == (1, 100, 300)
    assert result.img_shape == (180, 240)
