"""ChannelsLastSegDataPreProcessor: mmseg's batches, laid out NHWC."""
import torch
from mmengine.config import ConfigDict
from mmengine.optim import OptimWrapper
from mmengine.registry import init_default_scope
from mmengine.structures import PixelData
from mmseg.registry import MODELS
from mmseg.structures import SegDataSample

PREPROCESS = dict(
    mean=[123.675, 116.28, 103.53],
    std=[58.395, 57.12, 57.375],
    bgr_to_rgb=True,
    size=(96, 128),
    pad_val=0,
    seg_pad_val=255)


def _batch(n=2):
    g = torch.Generator().manual_seed(0)
    inputs, samples = [], []
    for _ in range(n):
        inputs.append(
            torch.randint(
                0, 256, (3, 90, 121), generator=g, dtype=torch.uint8))
        sample = SegDataSample()
        sample.gt_sem_seg = PixelData(
            data=torch.randint(0, 3, (1, 90, 121), generator=g))
        sample.set_metainfo(dict(img_shape=(90, 121), ori_shape=(90, 121)))
        samples.append(sample)
    return dict(inputs=inputs, data_samples=samples)


def _model(preprocessor):
    init_default_scope('mmseg')
    torch.manual_seed(0)
    model = MODELS.build(
        dict(
            type='CRFEncoderDecoder',
            data_preprocessor=dict(type=preprocessor, **PREPROCESS),
            backbone=dict(
                type='VGG',
                stage_channels=(4, 4, 8, 8, 8),
                norm_cfg=dict(type='BN'),
                return_switches=True,
                out_indices=(0, 1, 2, 3, 4)),
            decode_head=dict(
                type='SegNetHead',
                in_channels=[4, 4, 8, 8, 8],
                in_index=[0, 1, 2, 3, 4],
                channels=4,
                norm_cfg=dict(type='BN'),
                num_classes=3,
                loss_decode=dict(type='CrossEntropyLoss')),
            test_cfg=ConfigDict(mode='whole')))
    model.init_weights()
    return model


def test_same_values_channels_last_layout():
    init_default_scope('mmseg')
    plain = MODELS.build(dict(type='SegDataPreProcessor', **PREPROCESS))
    fast = MODELS.build(
        dict(type='ChannelsLastSegDataPreProcessor', **PREPROCESS))
    for training in (True, False):
        want = plain(_batch(), training)
        got = fast(_batch(), training)
        assert got['inputs'].is_contiguous(memory_format=torch.channels_last)
        assert not want['inputs'].is_contiguous(
            memory_format=torch.channels_last)
        assert torch.equal(got['inputs'], want['inputs'])
        for a, b in zip(got['data_samples'], want['data_samples']):
            assert torch.equal(a.gt_sem_seg.data, b.gt_sem_seg.data)


def test_train_step_and_prediction_match_the_plain_layout():
    """The same loss, the same SGD step (unpooling included) and the same
    logits as with NCHW batches, up to float rounding; the weights stay
    NCHW. Rounding differs between the layouts' kernels and grows through
    13 train-mode BN layers, so the step is compared by direction."""
    results = {}
    for preprocessor in ('SegDataPreProcessor',
                         'ChannelsLastSegDataPreProcessor'):
        model = _model(preprocessor)
        model.eval()
        with torch.no_grad():
            pred = model.val_step(_batch())
        model.train()
        before = {k: v.clone() for k, v in model.state_dict().items()}
        wrapper = OptimWrapper(torch.optim.SGD(model.parameters(), lr=0.1))
        losses = model.train_step(_batch(), wrapper)
        step = []
        for name, param in model.named_parameters():
            assert param.is_contiguous(), name
            step.append((param.detach() - before[name]).flatten())
        results[preprocessor] = (losses, torch.cat(step), pred)
    (loss_a, step_a, pred_a), (loss_b, step_b, pred_b) = results.values()
    for key in loss_a:
        torch.testing.assert_close(
            loss_b[key], loss_a[key], rtol=1e-3, atol=1e-5)
    assert step_a.abs().max() > 0
    assert torch.cosine_similarity(step_a, step_b, dim=0) > 0.99
    for a, b in zip(pred_a, pred_b):
        torch.testing.assert_close(
            b.seg_logits.data, a.seg_logits.data, rtol=1e-4, atol=1e-4)
        assert torch.equal(b.pred_sem_seg.data, a.pred_sem_seg.data)
