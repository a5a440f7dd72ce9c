"""Backbone outputs that carry max-pooling switches to the decode head."""
from typing import Optional, Sequence, Tuple

from torch import Size, Tensor

#: One pooling stage's switches: argmax indices and the pre-pool size, or
#: ``None`` where the stage has no max-pooling layer.
Switch = Optional[Tuple[Tensor, Size]]


class FeaturesWithSwitches(tuple):
    """A tuple of feature maps that also carries pooling switches.

    :class:`mmseg.models.segmentors.EncoderDecoder` hands the decode head
    (and every auxiliary head) exactly what the backbone returned. A plain
    tuple subclass keeps ``in_index`` and ``input_transform`` working as for
    any backbone, while heads that need the encoder's max-pooling switches
    (SegNet, DeconvNet) read them from :attr:`switches`. Slicing or indexing
    yields ordinary tensors and tuples, so other heads never see them.

    Args:
        feats (Sequence[Tensor]): The backbone's selected outputs.
        switches (Sequence[Switch]): Per pooling stage, from shallow to deep,
            ``(indices, pre_pool_size)`` or ``None``.
    """

    switches: Tuple[Switch, ...]

    def __new__(cls, feats: Sequence[Tensor], switches: Sequence[Switch]):
        obj = super().__new__(cls, feats)
        obj.switches = tuple(switches)
        return obj

    def __getnewargs__(self):
        return tuple(self), self.switches


def get_switches(inputs: Sequence[Tensor]) -> Tuple[Switch, ...]:
    """Return the switches carried by a backbone's outputs.

    Raises:
        ValueError: If the backbone did not record switches.
    """
    switches = getattr(inputs, 'switches', None)
    if switches is None:
        raise ValueError(
            'this decode head needs max-pooling switches from the backbone; '
            'build the backbone with `return_switches=True` (VGG) or use a '
            'backbone that records them')
    return switches
