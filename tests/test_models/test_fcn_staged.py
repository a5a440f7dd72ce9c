"""FCN's staged training: FCN-16s starts from an FCN-32s checkpoint."""
import torch
from mmengine.config import Config
from mmengine.registry import init_default_scope
from mmengine.runner import load_checkpoint
from mmseg.registry import MODELS

from mmseg_ext.models import bilinear_kernel

CFG_32S = 'configs/fcn/fcn32s_vgg16_1xb8-20k_camvid-360x480.py'
CFG_16S = 'configs/fcn/fcn16s_vgg16_1xb8-20k_camvid-360x480.py'
# narrow widths keep the models small; the layer names are the real ones
NARROW = dict(stage_channels=(4, 4, 8, 8, 8), fc_channels=16)


def _build(path: str):
    cfg = Config.fromfile(path)
    init_default_scope('mmseg')
    cfg.model.backbone.update(NARROW)
    widths = {3: 8, 5: 16}
    cfg.model.decode_head.in_channels = [
        widths[i] for i in cfg.model.backbone.out_indices
    ]
    model = MODELS.build(cfg.model)
    model.init_weights()
    return model.eval()


def test_fcn16s_from_fcn32s_starts_as_fcn32s(tmp_path):
    fcn32s = _build(CFG_32S)
    with torch.no_grad():  # a "trained" FCN-32s: no zero or bilinear layer
        for p in fcn32s.parameters():
            p.add_(torch.randn_like(p) * 0.1)
    ckpt = tmp_path / 'fcn32s.pth'
    torch.save({'state_dict': fcn32s.state_dict()}, ckpt)

    fcn16s = _build(CFG_16S)
    # missing keys (the new pool4 score and upsampling) keep their init;
    # a partial load is asked for explicitly (model.load_partial, as the
    # staged configs' load_partial=True does through the runner)
    fcn16s.load_partial = True
    load_checkpoint(fcn16s, str(ckpt), strict=False, logger='silent')
    head = fcn16s.decode_head
    assert len(head.skip_scores) == len(head.upsamples) == 1
    assert not head.skip_scores[0].weight.any()
    assert not head.skip_scores[0].bias.any()
    kernel = head.upsamples[0].weight
    eye = torch.eye(kernel.shape[0])[:, :, None, None]
    torch.testing.assert_close(kernel, eye * bilinear_kernel(4))
    # everything else is FCN-32s's
    old = fcn32s.state_dict()
    for name, value in fcn16s.state_dict().items():
        if 'skip_scores' not in name and 'upsamples' not in name:
            torch.testing.assert_close(value, old[name], msg=name)

    # so FCN-16s predicts what FCN-32s predicts: its pool4 score adds
    # nothing and the 2x bilinear step keeps the coarse scores
    x = torch.randn(1, 3, 64, 96)
    with torch.no_grad():
        coarse = fcn32s.decode_head(fcn32s.extract_feat(x))
        fine = head(fcn16s.extract_feat(x))
    up = torch.nn.functional.interpolate(
        coarse, size=fine.shape[-2:], mode='bilinear', align_corners=False)
    inner = (..., slice(1, -1), slice(1, -1))  # borders: zero padding
    torch.testing.assert_close(fine[inner], up[inner], rtol=0, atol=1e-5)
