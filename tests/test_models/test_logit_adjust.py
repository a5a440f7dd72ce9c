"""test_cfg.logit_adjust: undoing the class weights' prior shift."""
import math

import pytest
import torch
from mmengine.config import ConfigDict
from mmengine.registry import init_default_scope
from mmseg.registry import MODELS

WEIGHTS = [0.25, 1.0, 4.0]


def _model(class_weight=WEIGHTS, logit_adjust=None):
    init_default_scope('mmseg')
    loss = dict(
        type='CrossEntropyLoss', class_weight=class_weight, reduction='none')
    model = MODELS.build(
        dict(
            type='CRFEncoderDecoder',
            data_preprocessor=dict(type='SegDataPreProcessor'),
            backbone=dict(
                type='VGG', stage_channels=(4, 4, 8, 8, 8), out_indices=(2, )),
            decode_head=dict(
                type='FCNHead',
                in_channels=8,
                channels=8,
                num_convs=1,
                num_classes=3,
                loss_decode=loss),
            test_cfg=ConfigDict(mode='whole', logit_adjust=logit_adjust)))
    model.init_weights()
    return model.eval()


def _predict(model, inputs):
    meta = dict(img_shape=(21, 27), ori_shape=(21, 27), pad_shape=(21, 27))
    with torch.no_grad():
        logits = model.encode_decode(inputs, [meta])
        result = model.predict(inputs)[0]
    return logits, result


@pytest.mark.parametrize('tau', [1.0, 0.5, True])
def test_logit_adjust_subtracts_log_class_weight(tau):
    inputs = torch.randn(1, 3, 21, 27)
    model = _model()
    plain, _ = _predict(model, inputs)
    model.test_cfg.logit_adjust = tau
    adjusted, result = _predict(model, inputs)
    shift = -float(tau) * torch.tensor([math.log(w) for w in WEIGHTS])
    torch.testing.assert_close(adjusted - plain,
                               shift.view(1, 3, 1, 1).expand_as(plain))
    # predictions are the argmax of the adjusted logits
    assert torch.equal(result.pred_sem_seg.data,
                       adjusted[0].argmax(0, keepdim=True))


def test_logit_adjust_off_changes_nothing():
    inputs = torch.randn(1, 3, 21, 27)
    model = _model()
    plain, _ = _predict(model, inputs)
    for off in (0, 0.0, None, False):
        model.test_cfg.logit_adjust = off
        torch.testing.assert_close(_predict(model, inputs)[0], plain)


def test_logit_adjust_needs_class_weights():
    with pytest.raises(ValueError, match='logit_adjust.*none'):
        _model(class_weight=None, logit_adjust=1.0)
    with pytest.raises(ValueError, match='one positive class weight'):
        _model(class_weight=[1.0, 0.0, 2.0], logit_adjust=1.0)
