# U-Net decoder on ResNetV1c-50 (C2..C5, strides 4 ... 32; mmseg's ResNet
# does not return its stem, so there is no C1 skip): three steps up of 2x
# bilinear-initialised deconv, concatenation and two conv-BN-ReLU blocks of
# 128, 256, 512 channels (narrower than C2-C4); logits at 1/4 size.
custom_imports = dict(imports=['mmseg_ext'], allow_failed_imports=False)
norm_cfg = dict(type='SyncBN', requires_grad=True)
data_preprocessor = dict(
    type='SegDataPreProcessor',
    mean=[123.675, 116.28, 103.53],
    std=[58.395, 57.12, 57.375],
    bgr_to_rgb=True,
    pad_val=0,
    seg_pad_val=255)
model = dict(
    type='CRFEncoderDecoder',  # test_cfg.crf=dict(...) adds a dense CRF
    data_preprocessor=data_preprocessor,
    backbone=dict(
        type='ResNetV1c',
        depth=50,
        num_stages=4,
        out_indices=(0, 1, 2, 3),
        dilations=(1, 1, 1, 1),
        strides=(1, 2, 2, 2),
        norm_cfg=norm_cfg,
        norm_eval=False,
        style='pytorch',
        contract_dilation=True),
    decode_head=dict(
        type='UNetHead',
        in_channels=[256, 512, 1024, 2048],
        in_index=[0, 1, 2, 3],
        decoder_channels=[128, 256, 512],
        num_convs=2,
        kernel_size=3,
        fusion='concat',
        dropout_ratio=0.1,
        norm_cfg=norm_cfg,
        num_classes=21,
        align_corners=False,
        loss_decode=dict(
            type='CrossEntropyLoss', use_sigmoid=False, loss_weight=1.0)),
    train_cfg=dict(),
    test_cfg=dict(mode='whole'))
