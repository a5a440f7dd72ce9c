# DeconvNet: VGG16 encoder with BN after every conv (as in the paper),
# recording its switches, with fc6 (7x7) / fc7 (1x1) as same-padded convs
# followed by BN and no dropout, as in the released definition (outputs
# pool1..pool5, fc7); decoder: 7x7 deconv back to the pool5 grid
# (padding 3), then mirrored unpooling + 3x3 deconv-BN-ReLU stages
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
        type='VGG',
        depth=16,
        norm_cfg=norm_cfg,
        return_switches=True,
        with_fc=True,
        fc_norm_cfg=norm_cfg,
        fc_dropout=0,
        out_indices=(0, 1, 2, 3, 4, 5)),
    decode_head=dict(
        type='DeconvNetHead',
        in_channels=[64, 128, 256, 512, 512, 4096],
        in_index=[0, 1, 2, 3, 4, 5],
        channels=64,
        num_convs=(2, 2, 3, 3, 3, 1),
        kernel_size=3,
        fc_kernel_size=7,
        switch_source='backbone',
        dropout_ratio=0,
        norm_cfg=norm_cfg,
        num_classes=21,
        align_corners=False,
        loss_decode=dict(
            type='CrossEntropyLoss', use_sigmoid=False, loss_weight=1.0)),
    train_cfg=dict(),
    test_cfg=dict(mode='whole'))
