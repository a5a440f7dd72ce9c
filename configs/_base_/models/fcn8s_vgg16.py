# FCN-8s on VGG16: scores from pool3, pool4 and fc7 (backbone outputs 2, 3, 5)
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
    backbone=dict(type='VGG', depth=16, with_fc=True, out_indices=(2, 3, 5)),
    decode_head=dict(
        type='FCNSkipHead',
        in_channels=[256, 512, 4096],
        in_index=[0, 1, 2],
        dropout_ratio=0,  # fc6/fc7 already drop out
        num_classes=21,
        align_corners=False,
        loss_decode=dict(
            type='CrossEntropyLoss', use_sigmoid=False, loss_weight=1.0)),
    train_cfg=dict(),
    test_cfg=dict(mode='whole'))
