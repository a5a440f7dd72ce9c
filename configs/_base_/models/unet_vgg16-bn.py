# U-Net on VGG16-BN: the encoder's five stages taken before pooling
# (block1_conv2 ... block5_conv3, strides 1 ... 16); decoder: per step up a
# 2x bilinear-initialised deconv, crop/pad to the skip, concatenation
# (fusion='sum' adds instead) and two conv-BN-ReLU blocks, widths mirroring
# the encoder (decoder_channels=None); logits at full size.
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
        out_pre_pool=True,
        out_indices=(0, 1, 2, 3, 4)),
    decode_head=dict(
        type='UNetHead',
        in_channels=[64, 128, 256, 512, 512],
        in_index=[0, 1, 2, 3, 4],
        decoder_channels=None,
        num_convs=2,
        kernel_size=3,
        fusion='concat',
        dropout_ratio=0,
        norm_cfg=norm_cfg,
        num_classes=21,
        align_corners=False,
        loss_decode=dict(
            type='CrossEntropyLoss', use_sigmoid=False, loss_weight=1.0)),
    train_cfg=dict(),
    test_cfg=dict(mode='whole'))
