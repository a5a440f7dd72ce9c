from .inference import (BACKENDS, Segmenter, display_available, draw_overlay,
                        get_palette, inference_pipeline, save_label_png)

__all__ = [
    'BACKENDS', 'Segmenter', 'display_available', 'draw_overlay',
    'get_palette', 'inference_pipeline', 'save_label_png'
]
