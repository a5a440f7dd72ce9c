# CPU recipe (2 cores, about 30 minutes): DeconvNet on a VGG16-BN narrowed
# to (16, 32, 64, 128, 128) channels and fc6 (7x7) / fc7 of 256, the
# mirrored deconvolution decoder to match, from scratch on the 367 CamVid
# train images (crops of 192x256), evaluated on the 101 val images at
# 480x360; the square root of SegNet's median-frequency weights (as the
# other CPU recipes), their prior shift undone at test time (logit_adjust,
# configs/segnet/README.md#class-balancing). Its transposed convolutions
# gain nothing from channels_last batches; 1440 iterations keep it inside 30
# minutes (1600 took 31.3).
_base_ = [
    '../_base_/models/deconvnet_vgg16-bn.py',
    '../_base_/datasets/camvid_cpu.py', '../_base_/default_runtime.py',
    '../_base_/schedules/schedule_cpu30m_adamw.py'
]
norm_cfg = dict(type='BN', requires_grad=True)
widths = [16, 32, 64, 128, 128]
model = dict(
    data_preprocessor=dict(size={{_base_.crop_size}}),
    backbone=dict(stage_channels=widths, fc_channels=256, norm_cfg=norm_cfg),
    decode_head=dict(
        in_channels=widths + [256],
        channels=16,
        norm_cfg=norm_cfg,
        num_classes=11,
        loss_decode={{_base_.sqrt_balanced_loss}}),
    test_cfg=dict(logit_adjust=1.0))
train_cfg = dict(max_iters=1440, val_interval=360)
