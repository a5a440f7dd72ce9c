"""Our configs against the published layer lists, with copied weights."""
import os.path as osp

import torch
import torch.nn as nn
from mmengine.config import Config
from mmseg.registry import MODELS

from ..conftest import REPO


def _config(path):
    return Config.fromfile(osp.join(REPO, 'configs', path))


def _largefov_reference(widths, fc, num_classes):
    """DeepLab-LargeFOV's published (Caffe) layer list, widths narrowed.

    conv1_1 ... conv5_3 (3x3; conv5 pad 2 dilation 2), each with ReLU;
    pool1-3 MAX 3x3/2 pad 1, pool4-5 MAX 3x3/1 pad 1 (Caffe rounds up);
    pool5a AVE 3x3/1 pad 1; fc6 3x3 pad 12 dilation 12, ReLU, drop6;
    fc7 1x1, ReLU, drop7; fc8 1x1.
    """
    layers, in_ch = [], 3
    for stage, (num_convs, width) in enumerate(zip((2, 2, 3, 3, 3), widths)):
        dilation = 2 if stage == 4 else 1
        for _ in range(num_convs):
            layers += [
                nn.Conv2d(
                    in_ch, width, 3, padding=dilation, dilation=dilation),
                nn.ReLU()
            ]
            in_ch = width
        stride = 2 if stage < 3 else 1
        layers.append(nn.MaxPool2d(3, stride, padding=1, ceil_mode=True))
    layers += [
        nn.AvgPool2d(3, 1, padding=1),  # pool5a
        nn.Conv2d(in_ch, fc, 3, padding=12, dilation=12),  # fc6
        nn.ReLU(),
        nn.Dropout(0.5),
        nn.Conv2d(fc, fc, 1),  # fc7
        nn.ReLU(),
        nn.Dropout(0.5),
        nn.Conv2d(fc, num_classes, 1),  # fc8
    ]
    return nn.Sequential(*layers)


def _largefov_model(**backbone):
    cfg = _config('deeplabv1/deeplabv1-largefov_vgg16_4xb4-40k_voc12aug-'
                  '512x512.py')
    cfg.model.backbone.update(
        stage_channels=(4, 8, 8, 16, 16), fc_channels=12, **backbone)
    cfg.model.decode_head.update(in_channels=12, channels=12, num_classes=5)
    return MODELS.build(cfg.model).eval()


def _copy_convs(src, dst):
    convs = [m for m in src.modules() if isinstance(m, nn.Conv2d)]
    refs = [m for m in dst.modules() if isinstance(m, nn.Conv2d)]
    assert [c.weight.shape for c in convs] == [r.weight.shape for r in refs]
    with torch.no_grad():
        for conv, ref in zip(convs, refs):
            ref.weight.copy_(conv.weight)
            ref.bias.copy_(conv.bias)


def test_largefov_matches_reference_layers():
    torch.manual_seed(0)
    model = _largefov_model()
    reference = _largefov_reference((4, 8, 8, 16, 16), 12, 5).eval()
    _copy_convs(model, reference)
    # odd sizes at every stride-2 pooling: Caffe's ceil and our floor agree
    x = torch.randn(2, 3, 33, 41)
    with torch.no_grad():
        ours = model(x, mode='tensor')
        ref = reference(x)
        assert ours.shape == ref.shape == (2, 5, 5, 6)
        torch.testing.assert_close(ours, ref)
        # without pool5a the logits move: the test can tell
        plain = _largefov_model(pool5a=False)
        plain.load_state_dict(model.state_dict())
        assert not torch.allclose(plain(x, mode='tensor'), ref, atol=1e-3)


def test_deconvnet_parameter_count():
    """The released DeconvNet (BN after fc6/fc7) has 251,801,365 weights."""
    cfg = _config('deconvnet/deconvnet_vgg16-bn_4xb4-40k_voc12aug-512x512.py')
    with torch.device('meta'):
        model = MODELS.build(cfg.model)
    assert isinstance(model.backbone.fc6_norm, nn.modules.batchnorm._NormBase)
    assert model.backbone.dropout.p == 0
    assert sum(p.numel() for p in model.parameters()) == 251_801_365
