# DeconvNet on CamVid 360x480 with median-frequency class balancing
# (CamVidDataset.CLASS_WEIGHTS)
_base_ = [
    '../_base_/models/deconvnet_r50.py', '../_base_/datasets/camvid.py',
    '../_base_/default_runtime.py',
    'mmseg::_base_/schedules/schedule_20k.py'
]
crop_size = (360, 480)
data_preprocessor = dict(size=crop_size)
model = dict(
    data_preprocessor=data_preprocessor,
    decode_head=dict(
        num_classes=11,
        loss_decode=dict(
            class_weight=[
                0.2595, 0.1826, 4.5640, 0.1417, 0.9051, 0.3826, 9.6446, 1.8418,
                0.6823, 6.2478, 7.3614
            ],
            # per-pixel losses, averaged over all pixels by the model: the
            # 'mean' reduction of mmseg 1.2.2 fails on ignored (255) pixels
            # with class weights
            reduction='none')))
# atomic checkpoint writes; --resume skips a damaged last checkpoint
default_hooks = dict(checkpoint=dict(type='SafeCheckpointHook'))
