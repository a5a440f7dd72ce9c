"""mmseg's data preprocessor, handing the model channels_last batches."""
import torch
from mmseg.models.data_preprocessor import SegDataPreProcessor
from mmseg.registry import MODELS


@MODELS.register_module()
class ChannelsLastSegDataPreProcessor(SegDataPreProcessor):
    """:class:`~mmseg.models.SegDataPreProcessor` whose batches are
    channels_last (NHWC in memory).

    The values are those of ``SegDataPreProcessor``; only the memory layout
    of ``inputs`` changes. A convolution given a channels_last input returns
    a channels_last output, so the whole network then runs in that layout,
    forward and backward, with no change to its weights, checkpoints or
    distributed wrappers. On CPUs oneDNN's convolutions avoid a reorder per
    layer this way: a training step of the narrowed VGG16 CPU recipes on 2
    cores took 0.464 -> 0.397 s (FCN-8s), 0.855 -> 0.746 s (SegNet) and
    0.643 -> 0.487 s (DeepLab-LargeFOV), batch 8 of 192x256
    (``benchmarks/step_time.py``). Measure before using it elsewhere: layouts
    that help one machine or layer type (e.g. transposed convolutions) can
    slow another.

    Args:
        **kwargs: Those of ``SegDataPreProcessor``.
    """

    def forward(self, data: dict, training: bool = False) -> dict:
        data = super().forward(data, training)
        inputs = data['inputs']
        if isinstance(inputs, torch.Tensor) and inputs.dim() == 4:
            data['inputs'] = inputs.contiguous(
                memory_format=torch.channels_last)
        return data
