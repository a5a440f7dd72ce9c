"""Dense CRF post-processing: the CRF itself, the segmentor, the CLI."""
import glob
import os.path as osp
import subprocess
import sys

import mmcv
import numpy as np
import pytest
import torch
from mmengine.config import Config
from mmengine.registry import init_default_scope
from mmseg.registry import MODELS
from mmseg.structures import SegDataSample

from mmseg_ext.models import CRFEncoderDecoder, DenseCRF
from ..conftest import CAMVID_MINI, MINI_CFG, REPO


def _disk_scene(h=48, w=64, radius=12, pred_radius=16):
    """A two-region image with a sharp circular edge, its labels, and a
    blurred prediction whose soft disk is too large."""
    yy, xx = np.mgrid[:h, :w]
    dist = np.hypot(yy - h // 2, xx - w // 2 + 2)
    gt = (dist < radius).astype(np.int64)
    colours = np.where(gt[..., None] == 1, [200, 180, 60], [40, 60, 120])
    noise = np.random.default_rng(0).normal(0, 8, colours.shape)
    image = np.clip(colours + noise, 0, 255).astype(np.uint8)
    fg = 1 / (1 + np.exp(-(pred_radius - dist) / 3))
    probs = np.stack([1 - fg, fg]).astype(np.float32)
    near_edge = np.abs(dist - radius) < 8
    return image, gt, probs, near_edge


def test_crf_sharpens_blurred_prediction_to_image_edge():
    image, gt, probs, near_edge = _disk_scene()
    before = (probs.argmax(0) != gt)[near_edge].mean()
    marginals = DenseCRF()(probs, image)
    after = (marginals.argmax(0) != gt)[near_edge].mean()
    assert before > 0.2
    assert after < 0.2 * before, (before, after)
    # the appearance kernel does it: smoothness alone keeps the error
    smooth_only = DenseCRF(w1=0)(probs, image)
    assert (smooth_only.argmax(0) != gt)[near_edge].mean() > 0.5 * before
    # marginals are distributions over the classes
    assert marginals.shape == probs.shape and marginals.dtype == np.float32
    np.testing.assert_allclose(marginals.sum(0), 1, atol=1e-4)


def test_crf_without_pairwise_terms_returns_the_unary():
    probs = torch.rand(3, 9, 11).softmax(0)
    image = np.zeros((9, 11, 3), np.uint8)
    out = DenseCRF(w1=0, w2=0, iterations=3)(probs, image)
    np.testing.assert_allclose(out, probs.numpy(), atol=1e-5)


def test_crf_refine_logits_keeps_device_and_dtype():
    image, _, probs, _ = _disk_scene(h=20, w=30, radius=6, pred_radius=8)
    logits = torch.from_numpy(np.log(probs)).double()
    out = DenseCRF(iterations=2).refine_logits(logits, image)
    assert out.dtype == torch.float64 and out.shape == logits.shape
    torch.testing.assert_close(
        out.exp().sum(0),
        torch.ones(20, 30, dtype=torch.float64),
        atol=1e-4,
        rtol=0)


def test_crf_bad_settings():
    with pytest.raises(TypeError, match="'sigma'"):
        DenseCRF.from_cfg(dict(iterations=3, sigma=2))
    with pytest.raises(TypeError, match='test_cfg.crf'):
        DenseCRF.from_cfg(5)
    with pytest.raises(ValueError, match='iterations'):
        DenseCRF(iterations=0)
    with pytest.raises(ValueError, match='theta_beta'):
        DenseCRF(theta_beta=0)
    with pytest.raises(ValueError, match='w2'):
        DenseCRF(w2=-1)
    assert DenseCRF.from_cfg(True).iterations == 10
    crf = DenseCRF()
    with pytest.raises(ValueError, match='does not match'):
        crf(np.full((2, 4, 5), .5, np.float32), np.zeros((4, 6, 3), np.uint8))
    with pytest.raises(ValueError, match='C >= 2'):
        crf(np.ones((1, 4, 5), np.float32), np.zeros((4, 5, 3), np.uint8))


def _demo_model(crf=None, segmentor=None):
    cfg = Config.fromfile(MINI_CFG)
    if segmentor is not None:
        cfg.model.type = segmentor
    cfg.model.backbone.stage_channels = (4, 8, 8, 16, 16)
    cfg.model.backbone.fc_channels = 12
    cfg.model.decode_head.in_channels = [8, 16, 12]
    if crf is not None:
        cfg.model.test_cfg.crf = crf
    torch.manual_seed(0)  # the same weights whichever tests ran before
    model = MODELS.build(cfg.model)
    model.init_weights()
    return model.eval()


def _camvid_sample():
    """A real CamVid image through the demo config's test pipeline."""
    img_path = sorted(glob.glob(osp.join(CAMVID_MINI, 'val', '*.jpg')))[0]
    img = mmcv.imread(img_path)
    h, w = img.shape[:2]
    sample = SegDataSample()
    sample.set_metainfo(
        dict(
            img_path=img_path,
            ori_shape=(h, w),
            img_shape=(h, w),
            pad_shape=(h, w),
            padding_size=[0, 0, 0, 0]))
    data = dict(
        inputs=[torch.from_numpy(img).permute(2, 0, 1)], data_samples=[sample])
    return img, data


def test_segmentor_is_encoder_decoder_without_crf():
    assert issubclass(CRFEncoderDecoder, MODELS.get('EncoderDecoder'))
    assert Config.fromfile(MINI_CFG).model.type == 'CRFEncoderDecoder'
    model = _demo_model()
    plain = _demo_model(segmentor='EncoderDecoder')
    assert type(plain) is MODELS.get('EncoderDecoder')
    plain.load_state_dict(model.state_dict())
    with torch.no_grad():
        ours = model.test_step(_camvid_sample()[1])[0]
        ref = plain.test_step(_camvid_sample()[1])[0]
    assert torch.equal(ours.pred_sem_seg.data, ref.pred_sem_seg.data)
    assert torch.equal(ours.seg_logits.data, ref.seg_logits.data)


def test_every_model_base_builds_the_crf_segmentor():
    """`test_cfg.crf` must work on every config (configs/deeplabv1 README:
    mmseg's EncoderDecoder would ignore it silently)."""
    paths = glob.glob(osp.join(REPO, 'configs', '_base_', 'models', '*.py'))
    assert len(paths) >= 10
    for path in paths:
        assert Config.fromfile(path).model.type == 'CRFEncoderDecoder', path


def test_segmentor_applies_crf_from_test_cfg():
    model = _demo_model()
    img, data = _camvid_sample()
    with torch.no_grad():
        plain = model.test_step(data)[0]
        model.test_cfg.crf = dict(iterations=3, theta_alpha=40)
        _, data = _camvid_sample()
        refined = model.test_step(data)[0]
    # the same as running the CRF by hand on the image read from disk
    crf = DenseCRF(iterations=3, theta_alpha=40)
    expected = crf(plain.seg_logits.data.softmax(0), img)
    assert torch.equal(refined.pred_sem_seg.data[0],
                       torch.from_numpy(expected.argmax(0)))
    torch.testing.assert_close(
        refined.seg_logits.data.exp(),
        torch.from_numpy(expected),
        atol=1e-5,
        rtol=0)
    assert not torch.equal(refined.pred_sem_seg.data, plain.pred_sem_seg.data)
    model.test_cfg.crf = dict(bad_key=1)
    with pytest.raises(TypeError, match='bad_key'):
        model.test_step(data)


def test_segmentor_rejects_bad_crf_at_build():
    with pytest.raises(TypeError, match='itrations'):
        _demo_model(crf=dict(itrations=5))


def test_crf_image_without_path_is_the_denormalised_input():
    """Padding and flip are undone and the size restored."""
    model = _demo_model(crf=dict(iterations=1))
    img, _ = _camvid_sample()
    h, w = img.shape[:2]
    prep = model.data_preprocessor
    x = torch.from_numpy(img[..., ::-1].copy()).permute(2, 0, 1).float()
    x = ((x - prep.mean) / prep.std).flip(dims=(2, ))
    x = torch.nn.functional.pad(x, (0, 7, 0, 5))
    sample = SegDataSample()
    sample.set_metainfo(
        dict(
            ori_shape=(h, w),
            img_shape=(h, w),
            padding_size=[0, 7, 0, 5],
            flip=True,
            flip_direction='horizontal'))
    out = model.crf_image(x, sample, (h, w))
    assert out.shape == (h, w, 3) and out.dtype == np.uint8
    assert np.abs(out.astype(int) - img[..., ::-1]).max() <= 1
    # and predicting on that input runs the CRF at ori_shape
    with torch.no_grad():
        result = model.predict(x[None], [sample])[0]
    assert result.pred_sem_seg.shape == (h, w)
    half = model.crf_image(x, sample, (h // 2, w // 2))
    assert half.shape == (h // 2, w // 2, 3)


@pytest.fixture(scope='module')
def random_checkpoint(tmp_path_factory):
    """Seeded random weights whose predictions are not one class."""
    init_default_scope('mmseg')
    torch.manual_seed(0)
    model = MODELS.build(Config.fromfile(MINI_CFG).model)
    model.init_weights()
    with torch.no_grad():
        pred = model.eval().test_step(_camvid_sample()[1])[0].pred_sem_seg
    assert pred.data.unique().numel() > 1, 'degenerate random model'
    path = str(tmp_path_factory.mktemp('ckpt') / 'random.pth')
    torch.save(dict(state_dict=model.state_dict(), meta=dict()), path)
    return path


def _test_cli(checkpoint, work_dir, *options):
    opts = [
        'test_dataloader.num_workers=0',
        'test_dataloader.persistent_workers=False'
    ] + list(options)
    args = [
        sys.executable, 'tools/test.py', MINI_CFG, checkpoint, '--work-dir',
        str(work_dir), '--out',
        str(work_dir / 'pred'), '--cfg-options'
    ] + opts
    return subprocess.run(
        args, cwd=REPO, text=True, capture_output=True, timeout=600)


@pytest.mark.slow
def test_crf_from_tools_test_cli(random_checkpoint, tmp_path):
    plain = _test_cli(random_checkpoint, tmp_path / 'plain')
    assert plain.returncode == 0, plain.stderr[-3000:]
    crf = _test_cli(random_checkpoint, tmp_path / 'crf',
                    'model.test_cfg.crf.iterations=2',
                    'model.test_cfg.crf.theta_alpha=40')
    assert crf.returncode == 0, crf.stderr[-3000:]
    assert 'mIoU' in crf.stdout + crf.stderr
    names = sorted(
        osp.basename(p) for p in glob.glob(str(tmp_path / 'plain/pred/*.png')))
    assert len(names) == 24
    changed = 0
    for name in names:
        a = mmcv.imread(str(tmp_path / 'plain/pred' / name), 'unchanged')
        b = mmcv.imread(str(tmp_path / 'crf/pred' / name), 'unchanged')
        assert a.shape == b.shape == (180, 240)
        changed += int((a != b).any())
    assert changed > 0
    # the CLI's CRF is the model's: same prediction in process
    model = MODELS.build(Config.fromfile(MINI_CFG).model).eval()
    model.load_state_dict(torch.load(random_checkpoint)['state_dict'])
    model.test_cfg.crf = dict(iterations=2, theta_alpha=40)
    img, data = _camvid_sample()
    with torch.no_grad():
        pred = model.test_step(data)[0].pred_sem_seg.data[0].numpy()
    # the predictions are PNGs named after the (JPEG) images
    name = osp.splitext(osp.basename(data['data_samples'][0].img_path))[0]
    name += '.png'
    cli = mmcv.imread(str(tmp_path / 'crf/pred' / name), 'unchanged')
    assert np.array_equal(pred, cli)
    bad = _test_cli(random_checkpoint, tmp_path / 'bad',
                    'model.test_cfg.crf.sigma=3')
    assert bad.returncode != 0
    assert 'sigma' in bad.stderr
