# SegNet (VGG16-BN, 13 + 13 convs) on PASCAL VOC 2012, trained from scratch:
#   python tools/train.py configs/segnet_voc.py
# Needs only the VOC 2012 release under data/VOCdevkit/VOC2012 (JPEGImages,
# SegmentationClass, ImageSets/Segmentation): it trains on `train` (1464
# images) and validates on `val` (1449). With the SBD augmented labels
# prepared as in mmseg, use
# segnet/segnet_vgg16-bn_4xb4-40k_voc12aug-512x512.py (10582 images) instead.
_base_ = [
    '_base_/models/segnet_vgg16-bn.py',
    'mmseg::_base_/datasets/pascal_voc12.py', '_base_/default_runtime.py',
    '_base_/schedules/schedule_40k.py'
]
crop_size = (512, 512)
data_preprocessor = dict(size=crop_size)
model = dict(
    data_preprocessor=data_preprocessor, decode_head=dict(num_classes=21))
