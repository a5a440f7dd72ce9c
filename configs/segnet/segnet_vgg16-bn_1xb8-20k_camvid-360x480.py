# SegNet on CamVid 360x480, the paper's setting, with median-frequency class
# balancing (balanced_loss of the dataset base)
_base_ = [
    '../_base_/models/segnet_vgg16-bn.py', '../_base_/datasets/camvid.py',
    '../_base_/default_runtime.py', '../_base_/schedules/schedule_20k.py'
]
crop_size = (360, 480)
data_preprocessor = dict(size=crop_size)
model = dict(
    data_preprocessor=data_preprocessor,
    decode_head=dict(num_classes=11, loss_decode={{_base_.balanced_loss}}))
