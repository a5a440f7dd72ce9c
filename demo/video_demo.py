"""Segment a video file or a camera stream, with the FPS on each frame.

mmseg's ``demo/video_demo.py VIDEO CONFIG CHECKPOINT --output-file OUT``,
in PyTorch or, given an ONNX file from ``tools/deployment/pytorch2onnx.py``,
ONNX Runtime::

    python demo/video_demo.py road.mp4 CONFIG CKPT --output-file out.avi
    python demo/video_demo.py 0 CONFIG CKPT --show --skip-frames 2 \\
        --input-scale 240 180   # webcam 0, real time on a CPU

``--show`` opens a window only where there is a display (``q`` or Esc
quits); without one the demo says so and keeps writing ``--output-file``,
never waiting on a window. To stay real-time on a CPU, ``--skip-frames N``
segments one frame in ``N + 1`` (the others show the last labels) and
``--input-scale W H`` runs the network on a smaller image (an ONNX model:
export it at that size instead), and ``--fast compile`` compiles the network
once (tens of seconds before the first frame) to run every later frame
faster. Ctrl-C stops and still closes the output
video properly.
"""
import argparse
import time
from collections import deque

import cv2
import torch
from mmengine.config import DictAction

from mmseg_ext.apis import (BACKENDS, Segmenter, display_available,
                            draw_overlay, get_palette)
from mmseg_ext.models.utils import FAST_CLI_CHOICES, add_fast_argument


def parse_args(argv=None):
    parser = argparse.ArgumentParser(
        description='Segment a video file or a camera stream')
    parser.add_argument('video', help='video file, or camera index (0)')
    parser.add_argument('config', help='config file')
    parser.add_argument(
        'checkpoint', help='checkpoint file, or an ONNX file (.onnx)')
    parser.add_argument(
        '--device',
        default='cuda:0' if torch.cuda.is_available() else 'cpu',
        help='device used for inference')
    parser.add_argument(
        '--palette',
        help='palette of a data set known to mmseg.utils.get_palette '
        '(default: the model\'s classes)')
    parser.add_argument(
        '--show', action='store_true', help='show the result in a window')
    parser.add_argument(
        '--show-wait-time', default=1, type=int, help='wait time (ms)')
    parser.add_argument('--output-file', help='output video file path')
    parser.add_argument(
        '--output-fourcc', default='MJPG', help='fourcc of the output video')
    parser.add_argument(
        '--output-fps',
        default=-1,
        type=float,
        help='FPS of the output video (default: the input\'s)')
    parser.add_argument(
        '--output-height', default=-1, type=int, help='output frame height')
    parser.add_argument(
        '--output-width', default=-1, type=int, help='output frame width')
    parser.add_argument(
        '--opacity',
        type=float,
        default=0.5,
        help='opacity of the painted segmentation map, in [0, 1]')
    parser.add_argument(
        '--backend',
        choices=BACKENDS,
        help='default: onnxruntime for a .onnx checkpoint, else pytorch')
    parser.add_argument(
        '--crf',
        action=argparse.BooleanOptionalAction,
        help='dense CRF on or off (default: as model.test_cfg.crf)')
    add_fast_argument(parser)
    parser.add_argument(
        '--skip-frames',
        type=int,
        default=0,
        help='segment one frame in N + 1; the others reuse its labels')
    parser.add_argument(
        '--input-scale',
        type=int,
        nargs=2,
        metavar=('W', 'H'),
        help='network input size (the test pipeline\'s Resize scale)')
    parser.add_argument(
        '--cfg-options',
        nargs='+',
        action=DictAction,
        help='override settings of the config, key=value')
    args = parser.parse_args(argv)
    if args.skip_frames < 0:
        parser.error('--skip-frames must be >= 0')
    return args


def draw_fps(img, fps: float) -> None:
    """Write ``'12.3 FPS'`` in the top left corner of ``img``, in place."""
    scale = max(0.4, img.shape[1] / 800)
    org = (int(8 * scale), int(28 * scale))
    text = f'{fps:.1f} FPS'
    thickness = max(1, round(1.5 * scale))
    for color, width in (((0, 0, 0), thickness + 2), ((255, 255, 255),
                                                      thickness)):
        cv2.putText(img, text, org, cv2.FONT_HERSHEY_SIMPLEX, scale, color,
                    width, cv2.LINE_AA)


def open_writer(args, fps: float, size):
    """The output video writer, at ``--output-*`` or the input's values."""
    width = args.output_width if args.output_width > 0 else size[0]
    height = args.output_height if args.output_height > 0 else size[1]
    fps = args.output_fps if args.output_fps > 0 else (fps or 25)
    writer = cv2.VideoWriter(args.output_file,
                             cv2.VideoWriter_fourcc(*args.output_fourcc), fps,
                             (width, height))
    if not writer.isOpened():
        raise SystemExit(f'cannot write {args.output_file} with fourcc '
                         f'{args.output_fourcc}')
    return writer, (width, height)


def main(argv=None):
    args = parse_args(argv)
    show = args.show
    if show and not display_available():
        print('--show: no display (DISPLAY is not set), not showing')
        show = False
    if not show and not args.output_file:
        raise SystemExit('nothing to do: give --output-file (or --show '
                         'with a display)')
    segmenter = Segmenter(
        args.config,
        args.checkpoint,
        backend=args.backend,
        device=args.device,
        crf=args.crf,
        fast=FAST_CLI_CHOICES[args.fast] if args.fast else None,
        scale=args.input_scale,
        cfg_options=args.cfg_options)
    if args.palette:
        from mmseg.utils import get_palette as dataset_palette
        try:
            palette = dataset_palette(args.palette)
        except ValueError as e:
            raise SystemExit(f'--palette: {e}') from None
        palette = get_palette(dict(palette=palette), segmenter.num_classes)
    else:
        palette = segmenter.palette

    source = int(args.video) if args.video.isdigit() else args.video
    cap = cv2.VideoCapture(source)
    if not cap.isOpened():
        raise SystemExit(f'cannot open video {args.video}')
    input_fps = cap.get(cv2.CAP_PROP_FPS)
    writer, out_size = None, None
    labels, frames, segmented = None, 0, 0
    ticks = deque([time.perf_counter()], maxlen=31)
    try:
        while True:
            ok, frame = cap.read()
            if not ok:
                break
            if labels is None or frames % (args.skip_frames + 1) == 0:
                result = segmenter(frame)
                labels = result.pred_sem_seg.data[0].cpu().numpy()
                segmented += 1
            frames += 1
            out = draw_overlay(frame, labels, palette, args.opacity)
            ticks.append(time.perf_counter())
            draw_fps(out, (len(ticks) - 1) / (ticks[-1] - ticks[0]))
            if args.output_file:
                if writer is None:
                    writer, out_size = open_writer(
                        args, input_fps, (out.shape[1], out.shape[0]))
                if (out.shape[1], out.shape[0]) != out_size:
                    out = cv2.resize(out, out_size)
                writer.write(out)
            if show:
                try:
                    cv2.imshow('video_demo', out)
                    key = cv2.waitKey(args.show_wait_time)
                except cv2.error as e:
                    print(f'--show: cannot open a window, not showing '
                          f'({str(e).strip().splitlines()[-1]})')
                    show = False
                    if not args.output_file:
                        break
                else:
                    if key & 0xFF in (27, ord('q')):
                        break
    except KeyboardInterrupt:
        pass
    finally:
        cap.release()
        if writer is not None:
            writer.release()
        if show:
            cv2.destroyAllWindows()
    if not frames:
        raise SystemExit(f'no frame could be read from {args.video}')
    print(f'{frames} frames ({segmented} segmented)' +
          (f' -> {args.output_file}' if writer is not None else ''))


if __name__ == '__main__':
    main()
