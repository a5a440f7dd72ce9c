# CPU recipe (2 cores, about 30 minutes): DilatedNet, the dilated VGG16
# front-end with BN narrowed to (16, 32, 64, 128, 128) channels and fc6
# (3x3, dilation 4) / fc7 of 256, plus the identity-initialised basic
# context module, from scratch on the 367 CamVid train images (crops of
# 192x256), evaluated on the 101 val images at 480x360; square-root
# median-frequency balancing,
# undone at test time (logit_adjust, configs/segnet/README.md).
# Channels_last batches (about 10% faster steps on the CPU) fit 2800
# iterations inside 30 minutes.
_base_ = [
    '../_base_/models/dilatednet_vgg16.py', '../_base_/datasets/camvid_cpu.py',
    '../_base_/default_runtime.py',
    '../_base_/schedules/schedule_cpu30m_adamw.py'
]
model = dict(
    data_preprocessor=dict(
        type='ChannelsLastSegDataPreProcessor', size={{_base_.crop_size}}),
    backbone=dict(
        norm_cfg=dict(type='BN'),
        stage_channels=(16, 32, 64, 128, 128),
        fc_channels=256,
        fc6_kernel=3,
        fc_dropout=0.1),
    decode_head=dict(
        in_channels=256,
        num_classes=11,
        loss_decode={{_base_.sqrt_balanced_loss}}),
    test_cfg=dict(logit_adjust=1.0))
train_cfg = dict(max_iters=2800, val_interval=700)
