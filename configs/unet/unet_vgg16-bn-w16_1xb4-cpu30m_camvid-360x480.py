# CPU recipe (2 cores, about 30 minutes): U-Net on a VGG16-BN narrowed to
# (16, 32, 64, 128, 128) channels, a lighter decoder (16, 16, 32, 64; two
# conv-BN-ReLU per step, concatenated skips), from scratch on the 367 CamVid
# train images (batches of 4 crops of 192x256), evaluated on the 101 val
# images at 480x360; square-root median-frequency balancing, undone at
# test time (logit_adjust, configs/segnet/README.md#class-balancing).
# Channels_last batches (about 20% faster steps on the CPU) fit 4000
# iterations inside 30 minutes.
_base_ = [
    '../_base_/models/unet_vgg16-bn.py', '../_base_/datasets/camvid_cpu.py',
    '../_base_/default_runtime.py',
    '../_base_/schedules/schedule_cpu30m_adamw.py'
]
norm_cfg = dict(type='BN', requires_grad=True)
widths = [16, 32, 64, 128, 128]
model = dict(
    data_preprocessor=dict(
        type='ChannelsLastSegDataPreProcessor', size={{_base_.crop_size}}),
    backbone=dict(stage_channels=widths, norm_cfg=norm_cfg),
    decode_head=dict(
        in_channels=widths,
        decoder_channels=[16, 16, 32, 64],
        norm_cfg=norm_cfg,
        num_classes=11,
        loss_decode={{_base_.sqrt_balanced_loss}}),
    test_cfg=dict(logit_adjust=1.0))
train_dataloader = dict(batch_size=4)
train_cfg = dict(max_iters=4000, val_interval=1000)
