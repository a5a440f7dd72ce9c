from .fcn_skip_head import FCNSkipHead

__all__ = ['FCNSkipHead']
