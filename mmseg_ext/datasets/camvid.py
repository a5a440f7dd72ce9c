import os.path as osp
from typing import Dict, List, Optional, Sequence

from mmseg.datasets import BaseSegDataset
from mmseg.registry import DATASETS


@DATASETS.register_module()
class CamVidDataset(BaseSegDataset):
    """CamVid road scenes in SegNet's benchmark version.

    Semantic object classes in video: A high-definition ground truth database
    (Brostow, Fauqueur & Cipolla, Pattern Recognition Letters 2009), with the
    11 classes and splits used by SegNet.

    Images and labels are PNG files with the same stem (``train/`` and
    ``trainannot/``, ...); labels hold class ids 0-10 and 11 for void, which
    is mapped to ``ignore_index`` (255) on loading, so that padding, the loss
    and the metric all treat it as mmseg treats 255. Blank lines of the
    split file (``ann_file``) are ignored.

    SegNet's median-frequency class weights live in the dataset base config
    (``balanced_loss`` in ``configs/_base_/datasets/camvid.py``), where a
    loss config can refer to them.
    """
    METAINFO = dict(
        classes=('Sky', 'Building', 'Pole', 'Road', 'Pavement', 'Tree',
                 'SignSymbol', 'Fence', 'Car', 'Pedestrian', 'Bicyclist'),
        palette=[[128, 128, 128], [128, 0, 0], [192, 192, 128], [128, 64, 128],
                 [60, 40, 222], [128, 128, 0], [192, 128, 128], [64, 64, 128],
                 [64, 0, 128], [64, 64, 0], [0, 128, 192]])
    #: Label id of the void (unlabelled) class in the files.
    VOID_ID = 11

    def __init__(self,
                 img_suffix='.png',
                 seg_map_suffix='.png',
                 reduce_zero_label=False,
                 **kwargs) -> None:
        super().__init__(
            img_suffix=img_suffix,
            seg_map_suffix=seg_map_suffix,
            reduce_zero_label=reduce_zero_label,
            **kwargs)

    @classmethod
    def get_label_map(
            cls,
            new_classes: Optional[Sequence] = None
    ) -> Optional[Dict[int, int]]:
        """Map void to 255 on top of any class-subset mapping."""
        label_map = super().get_label_map(new_classes)
        if label_map is None:
            label_map = {i: i for i in range(len(cls.METAINFO['classes']))}
        label_map[cls.VOID_ID] = 255
        return label_map

    def load_data_list(self) -> List[dict]:
        """mmseg's sample list without what blank split-file lines give.

        mmseg turns a blank line of ``ann_file`` into an image named
        ``img_suffix`` (``.png``) that does not exist.
        """
        blank = osp.join(self.data_prefix.get('img_path', ''), self.img_suffix)
        return [
            info for info in super().load_data_list()
            if info['img_path'] != blank
        ]
