# CPU recipe (2 cores, about 30 minutes): FCN-8s on a VGG16-BN narrowed to
# (16, 32, 64, 128, 128) channels, fc6 (3x3) / fc7 of 256, from scratch on
# the 367 CamVid train images (crops of 192x256), evaluated on the 101 val
# images at 480x360. Cross-entropy weighted by the square root of SegNet's
# median-frequency weights, their prior shift undone at test time
# (logit_adjust; configs/fcn/README.md). Channels_last batches: about 15%
# faster steps on the CPU, so 3500 iterations fit where 3000 did.
_base_ = [
    '../_base_/models/fcn8s_vgg16.py', '../_base_/datasets/camvid_cpu.py',
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
        in_channels=[64, 128, 256],
        num_classes=11,
        loss_decode={{_base_.sqrt_balanced_loss}}),
    test_cfg=dict(logit_adjust=1.0))
train_cfg = dict(max_iters=3500, val_interval=875)
