# CPU recipe (2 cores, about 30 minutes): the LargeFOV CPU recipe
# (deeplabv1-largefov_vgg16-bn-w16_1xb8-cpu30m_camvid-360x480.py) at half
# resolution, as DilatedNet's: CamVid scaled to 240x180, batches of 8 crops
# of 96x128, val images at 240x180 with the logits resized to the labels'
# 480x360 before scoring. They are tested in sliding 96x128 windows, the
# training crops, half overlapping (mmseg's mode='slide'): fc6, dilated by
# 12 on a 12x16 map, then sees the zero padding it was trained with. 8000
# iterations in about 26 minutes: 56.34 / 56.97 mIoU (seeds 0 / 1; seed 0
# tested whole: 54.77).
_base_ = [
    '../_base_/models/deeplabv1-largefov_vgg16.py',
    '../_base_/datasets/camvid_cpu-180x240.py', '../_base_/default_runtime.py',
    '../_base_/schedules/schedule_cpu30m_adamw.py'
]
model = dict(
    data_preprocessor=dict(
        type='ChannelsLastSegDataPreProcessor', size={{_base_.crop_size}}),
    backbone=dict(
        norm_cfg=dict(type='BN'),
        stage_channels=(16, 32, 64, 128, 128),
        fc_channels=256,
        fc_dropout=0.1),
    decode_head=dict(
        in_channels=256,
        channels=256,
        num_classes=11,
        loss_decode={{_base_.sqrt_balanced_loss}}),
    test_cfg=dict(
        mode='slide',
        crop_size={{_base_.crop_size}},
        stride=(48, 64),
        logit_adjust=0.5))
train_cfg = dict(max_iters=8000, val_interval=2000)
