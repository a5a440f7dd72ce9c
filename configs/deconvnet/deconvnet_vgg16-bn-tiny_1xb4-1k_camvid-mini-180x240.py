# CPU recipe: DeconvNet with its VGG16-BN encoder narrowed to (16, 32, 64,
# 128, 128) channels and fc6/fc7 to 256, the mirrored deconvolution decoder
# to match, trained from scratch at 240x180 on the embedded CamVid subset,
# median-frequency balanced; pointing data_root at full CamVid trains and
# evaluates on its 367 / 101 images at 240x180.
_base_ = [
    '../_base_/models/deconvnet_vgg16-bn.py',
    '../_base_/datasets/camvid-mini_180x240.py',
    '../_base_/default_runtime.py', '../_base_/schedules/schedule_1k_adamw.py'
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
        loss_decode={{_base_.balanced_loss}}))
