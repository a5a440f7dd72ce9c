# DeepLab-v1 LargeFOV (Chen et al.): VGG16 with 3x3 stride-1 pool4/pool5,
# conv5 dilation 2, a 3x3 stride-1 average pooling (pool5a), fc6 3x3
# dilation 12 and fc7 1x1, both 1024 wide, in the backbone; the head is only
# the 1x1 score layer (mmseg's FCNHead without convs). Output stride 8,
# bilinear upsampling.
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
        pool_kernel=3,
        pool_strides=(2, 2, 2, 1, 1),
        ceil_mode=False,
        dilations=(1, 1, 1, 1, 2),
        with_fc=True,
        fc_channels=1024,
        fc6_kernel=3,
        fc6_dilation=12,
        pool5a=True,
        out_indices=(5, )),
    decode_head=dict(
        type='FCNHead',
        in_channels=1024,
        channels=1024,
        num_convs=0,
        concat_input=False,
        dropout_ratio=0,  # fc6/fc7 already drop out
        num_classes=21,
        align_corners=False,
        loss_decode=dict(
            type='CrossEntropyLoss', use_sigmoid=False, loss_weight=1.0)),
    train_cfg=dict(),
    test_cfg=dict(mode='whole'))
