"""The package's registry scope, ``mmseg_ext``.

Everything the package defines is registered in mmseg's own registries under
its own name, so an mmseg config finds it once ``mmseg_ext`` is imported
(``custom_imports``). The registries here are children of mmseg's and add
a scope, as mmseg's are children of MMEngine's:

- A type written ``'mmseg_ext.NAME'`` (or a dict with
  ``_scope_='mmseg_ext'``) makes MMEngine import this module, and with it
  the package, before it looks the name up. The package's runtime and
  schedule bases name their hooks this way, so they work next to a stock
  mmseg model base that imports nothing.
- Every name resolves as in mmseg's scope except ``LoadImageFromFile`` and
  ``LoadAnnotations``, which are the checked loaders
  (:class:`~mmseg_ext.datasets.CheckedLoadImageFromFile`,
  :class:`~mmseg_ext.datasets.CheckedLoadAnnotations`). Test pipelines use
  them as ``dict(type='LoadImageFromFile', _scope_='mmseg_ext')``: mmseg's
  ``MMSegInferencer`` and ``inference_model`` look for those two step names,
  while mmseg's scope keeps its original loaders.
"""
from mmengine.registry import Registry
from mmseg.registry import HOOKS as MMSEG_HOOKS
from mmseg.registry import TRANSFORMS as MMSEG_TRANSFORMS

HOOKS = Registry('hook', parent=MMSEG_HOOKS, scope='mmseg_ext')
TRANSFORMS = Registry('transform', parent=MMSEG_TRANSFORMS, scope='mmseg_ext')
