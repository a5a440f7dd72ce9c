# CPU recipe (2 cores, about 30 minutes): the DeconvNet CPU recipe
# (deconvnet_vgg16-bn-w16_1xb8-cpu30m_camvid-360x480.py) at half resolution:
# CamVid scaled to 240x180, batches of 8 crops of 96x128, whole images tested
# at 240x180 with the logits resized to the labels' 480x360 before scoring.
# SGD with momentum (lr 0.05, momentum 0.9, weight decay 5e-4) as the SegNet
# half-resolution recipe: the plain encoder-decoders learn faster with it
# than with AdamW (configs/segnet/README.md). NCHW batches (its transposed
# convolutions gain nothing from channels_last): about 0.29 s a step, 4500
# iterations in 22.6 minutes (room for about 5800).
_base_ = [
    '../_base_/models/deconvnet_vgg16-bn.py',
    '../_base_/datasets/camvid_cpu-180x240.py', '../_base_/default_runtime.py',
    '../_base_/schedules/schedule_cpu30m_sgd.py'
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
train_cfg = dict(max_iters=4500, val_interval=1125)
