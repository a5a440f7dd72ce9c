from .camvid import CamVidDataset
from .checks import check_datasets
from .transforms import CheckedLoadAnnotations, CheckedLoadImageFromFile

__all__ = [
    'CamVidDataset', 'CheckedLoadAnnotations', 'CheckedLoadImageFromFile',
    'check_datasets'
]
