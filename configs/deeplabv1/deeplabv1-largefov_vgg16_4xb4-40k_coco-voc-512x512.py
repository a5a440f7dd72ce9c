_base_ = [
    '../_base_/models/deeplabv1-largefov_vgg16.py',
    '../_base_/datasets/coco-voc_512x512.py', '../_base_/default_runtime.py',
    '../_base_/schedules/schedule_40k.py'
]
crop_size = (512, 512)
data_preprocessor = dict(size=crop_size)
model = dict(
    data_preprocessor=data_preprocessor, decode_head=dict(num_classes=21))
