# DilatedNet (Yu & Koltun): VGG16 front-end at output stride 8 (pool4/pool5
# removed, conv5 dilation 2, fc6 7x7 dilation 4, fc7 1x1) + context module.
custom_imports = dict(imports=['mmseg_ext'], allow_failed_imports=False)
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
        type='VGG',
        depth=16,
        dilations=(1, 1, 1, 1, 2),
        pool_strides=(2, 2, 2, 0, 0),
        with_fc=True,
        fc6_dilation=4,
        out_indices=(5, )),
    decode_head=dict(
        type='ContextHead',
        variant='basic',
        in_channels=4096,
        dropout_ratio=0,  # fc6/fc7 already drop out
        num_classes=21,
        align_corners=False,
        loss_decode=dict(
            type='CrossEntropyLoss', use_sigmoid=False, loss_weight=1.0)),
    train_cfg=dict(),
    test_cfg=dict(mode='whole'))
