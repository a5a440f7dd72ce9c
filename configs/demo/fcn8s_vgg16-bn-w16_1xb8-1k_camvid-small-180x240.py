# CPU demo (`make demo`): the FCN-8s CPU recipe
# (../fcn/fcn8s_vgg16-bn-w16_1xb8-cpu30m_camvid-360x480.py) at half its
# resolution, on the CamVid copy embedded in the repository: a VGG16-BN
# narrowed to (16, 32, 64, 128, 128) channels, fc6 (3x3) / fc7 of 256, from
# scratch on the 367 train images at 240x180 (crops of 176x240), evaluated on
# the 101 val images at 240x180. Cross-entropy weighted by the square root of
# SegNet's median-frequency weights, their prior shift undone at test time
# (logit_adjust). Train + test take under 10 minutes on 2 CPU cores.
_base_ = [
    '../_base_/models/fcn8s_vgg16.py',
    '../_base_/datasets/camvid-small_180x240.py',
    '../_base_/default_runtime.py',
    '../_base_/schedules/schedule_cpu30m_adamw.py'
]
model = dict(
    data_preprocessor=dict(size={{_base_.crop_size}}),
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
train_cfg = dict(max_iters=1000, val_interval=500)
# fixed seed: a re-run of `make demo` on the CPU lands on the README's numbers
randomness = dict(seed=0)
