"""Checks the tools run on a config before they build the runner.

Like :func:`~mmseg_ext.datasets.check_datasets`, each function either passes,
repairs what a run would otherwise die on (and says so), or raises one of
:mod:`mmseg_ext.engine.errors`, which the tools print as one line.
"""
import errno
import fcntl
import logging
import os
import os.path as osp
import re
import socket
import tempfile
import time
from types import SimpleNamespace
from typing import Dict, List

from mmengine.config import Config
from mmengine.dist import barrier, get_rank, is_distributed
from mmengine.hooks import CheckpointHook
from mmengine.logging import MessageHub
from mmengine.registry import init_default_scope
from mmengine.runner.checkpoint import find_latest_checkpoint
from mmseg.registry import HOOKS

from .checkpoint import UnsafeCheckpointError, verify_checkpoint
from .errors import CheckpointError, WorkDirError
from .fileio import TMP_SUFFIX, AtomicLocalBackend

#: Name of the lock file :func:`lock_work_dir` holds in a work_dir.
LOCK_FILE = '.train.lock'
_held_locks: Dict[str, int] = {}


def check_work_dir(cfg: Config) -> None:
    """Create ``cfg.work_dir`` and check that files can be written there.

    Otherwise MMEngine fails with a traceback, and for a folder that cannot
    be created often a misleading "No such file or directory".

    Args:
        cfg (Config): The full config, after command-line options.

    Raises:
        WorkDirError: The folder cannot be created or written, naming the
            path and the cause.
    """
    work_dir = str(cfg.work_dir)
    if '://' in work_dir:
        return
    try:
        os.makedirs(work_dir, exist_ok=True)
    except OSError as e:
        raise WorkDirError(f'cannot create work_dir {work_dir}: '
                           f'{_creation_problem(work_dir, e)}') from None
    try:
        fd, probe = tempfile.mkstemp(prefix='.write-test-', dir=work_dir)
        os.close(fd)
        os.remove(probe)
    except OSError as e:
        raise WorkDirError(f'work_dir {work_dir} is not writable: '
                           f'{_os_problem(e)}') from None


def _creation_problem(path: str, error: OSError) -> str:
    """Why ``os.makedirs(path)`` failed, in the words of the path."""
    parent = osp.abspath(path)
    while not osp.exists(parent) and osp.dirname(parent) != parent:
        parent = osp.dirname(parent)
    if isinstance(error, FileExistsError) or osp.isfile(path):
        return 'a file of that name exists'
    if not osp.isdir(parent):
        return f'{parent} is a file, not a folder'
    if error.errno == errno.ENOENT:
        # e.g. /proc or /sys: the folder exists but takes no new entries
        return f'{parent} does not allow creating folders in it'
    return f'{_os_problem(error)} in {parent}'


def _os_problem(error: OSError) -> str:
    if error.errno in (errno.EACCES, errno.EPERM):
        return 'permission denied'
    if error.errno == errno.EROFS:
        return 'read-only file system'
    if error.errno == errno.ENOSPC:
        return 'no space left on device'
    return error.strerror or str(error)


def lock_work_dir(cfg: Config) -> None:
    """Refuse a second live training run in ``cfg.work_dir``.

    Two runs in one folder write one log with both runs interleaved, and
    the config of one beside the checkpoints of the other. The first run
    holds a POSIX lock on ``work_dir/.train.lock`` for as long as its
    process lives; the kernel releases it when the process ends in any way,
    ``kill -9`` included, so ``--resume`` after a crash is never locked
    out. In a distributed run rank 0 holds the lock.

    Args:
        cfg (Config): The full config, after command-line options.

    Raises:
        WorkDirError: Another live process holds the lock; the message
            names the work_dir and, as that process wrote it, its pid,
            host and start time.
    """
    work_dir = str(cfg.work_dir)
    if '://' in work_dir or _rank(cfg) != 0:
        return
    path = osp.realpath(osp.join(work_dir, LOCK_FILE))
    if path in _held_locks:
        return  # closing a second descriptor would drop the lock
    fd = os.open(path, os.O_RDWR | os.O_CREAT, 0o644)
    try:
        fcntl.lockf(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
    except OSError:
        os.close(fd)
        holder = _read_holder(path)
        raise WorkDirError(
            f'work_dir {work_dir} is in use by another training run'
            f'{holder}; wait for it to end or choose another --work-dir'
        ) from None
    os.ftruncate(fd, 0)
    os.write(
        fd, f'pid {os.getpid()} on {socket.gethostname()} since '
        f'{time.strftime("%Y-%m-%d %H:%M:%S")}\n'.encode())
    _held_locks[path] = fd  # held until the process ends


def _read_holder(path: str) -> str:
    try:
        with open(path) as f:
            holder = f.read().strip()
    except OSError:
        return ''
    return f' ({holder})' if holder else ''


def check_checkpoint(cfg: Config) -> List[str]:
    """Check the checkpoint a run will load, and repair ``--resume``.

    - ``load_from`` (also the checkpoint of ``tools/test.py``): the file must
      be complete and safe for weights-only loading
      (:func:`~mmseg_ext.engine.verify_checkpoint`).
    - ``resume=True`` without ``load_from`` resumes from the file named by
      ``work_dir/last_checkpoint``. If that checkpoint is truncated or
      damaged (a plain ``CheckpointHook`` killed mid-write, a full disk, a
      bad copy), or ``last_checkpoint`` is empty (MMEngine rewrites it in
      place), the file is moved aside to ``NAME.damaged`` and
      ``last_checkpoint`` names the newest intact checkpoint instead.
      Leftovers of interrupted atomic writes are removed. A checkpoint that
      refers to code is never skipped: the run stops.

    The checkpoint folder and file names are the checkpoint hook's
    (``default_hooks.checkpoint``), as MMEngine derives them. In a
    distributed run only rank 0 changes files.

    Args:
        cfg (Config): The full config, after command-line options.

    Returns:
        list[str]: What was repaired, for the run's log.

    Raises:
        CheckpointError: The checkpoint to load is missing or damaged, or
            ``--resume`` finds no intact checkpoint.
        UnsafeCheckpointError: The checkpoint to load refers to code.
    """
    load_from = cfg.get('load_from')
    if load_from:
        if '://' not in str(load_from):
            verify_checkpoint(str(load_from))
        return []
    if not cfg.get('resume'):
        return []
    notes: List[str] = []
    if _rank(cfg) == 0:
        notes = _repair_resume(cfg)
    if is_distributed():
        barrier()
    return notes


def _rank(cfg: Config) -> int:
    """This process's rank, also before the runner starts the group."""
    if is_distributed():
        return get_rank()
    launcher = cfg.get('launcher', 'none')
    if launcher == 'slurm':
        return int(os.environ.get('SLURM_PROCID', 0))
    if launcher != 'none':
        return int(os.environ.get('RANK', 0))
    return 0


def _checkpoint_hook(cfg: Config) -> CheckpointHook:
    """The config's checkpoint hook, with its folder set up by MMEngine."""
    init_default_scope(cfg.get('default_scope', 'mmseg'))
    # the runner's default when the config names none (Runner.default_hooks)
    hook_cfg = (cfg.get('default_hooks') or {}).get('checkpoint') or dict(
        type='CheckpointHook', interval=1)
    hook = HOOKS.build(hook_cfg)
    if not isinstance(hook, CheckpointHook):
        hook = CheckpointHook(interval=1)
    # CheckpointHook.before_train derives the checkpoint folder from out_dir
    # and work_dir; a fresh message hub keeps it from deleting anything
    hook.before_train(
        SimpleNamespace(
            work_dir=cfg.work_dir,
            logger=logging.getLogger(__name__),
            message_hub=MessageHub(name=f'{__name__}.{id(cfg)}')))
    return hook


def _repair_resume(cfg: Config) -> List[str]:
    """Point ``last_checkpoint`` at the newest intact checkpoint."""
    work_dir = cfg.work_dir
    pointer = osp.join(work_dir, 'last_checkpoint')
    if not osp.isfile(pointer):
        return []  # MMEngine starts afresh, and says so
    target = find_latest_checkpoint(work_dir) or ''
    if '://' in target:
        return []
    hook = _checkpoint_hook(cfg)
    folder = str(hook.out_dir)
    if '://' in folder:
        return []
    notes = []
    if target and not _inside(target, folder):
        # last_checkpoint holds an absolute path: in a copied or moved
        # work_dir it still names the original's checkpoint
        local = osp.join(folder, osp.basename(target))
        if osp.isfile(local):
            notes.append(f'{pointer} names {target}, outside {folder} (a '
                         f'copied work_dir?): resuming from {local} instead')
            target = local
            AtomicLocalBackend().put_text(target, pointer)
        else:
            notes.append(f'resuming from {target}, which is outside the '
                         f'checkpoint folder {folder}')
    if target:
        folder = osp.dirname(target)
    notes += _remove_partial_files(folder)
    try:
        if not target:
            raise CheckpointError(f'{pointer} is empty')
        verify_checkpoint(target)
        return notes
    except UnsafeCheckpointError:
        raise
    except CheckpointError as e:
        problem = str(e)
    for candidate in _checkpoints(folder, hook.filename_tmpl):
        if osp.abspath(candidate) == osp.abspath(target):
            continue
        try:
            verify_checkpoint(candidate)
        except UnsafeCheckpointError:
            raise
        except CheckpointError:
            continue
        notes.append(f'{problem}: resuming from {candidate} instead')
        if osp.isfile(target):
            os.replace(target, target + '.damaged')
            notes.append(f'moved the damaged file to {target}.damaged')
        AtomicLocalBackend().put_text(candidate, pointer)
        return notes
    raise CheckpointError(
        f'cannot resume: {problem}, and {folder} holds no other intact '
        f'checkpoint; remove {pointer} to start afresh')


def _inside(path: str, folder: str) -> bool:
    """Whether ``path`` lies in ``folder`` (symbolic links resolved)."""
    folder = osp.realpath(folder)
    return osp.commonpath([osp.realpath(path), folder]) == folder


def _checkpoints(folder: str, filename_tmpl: str) -> List[str]:
    """Checkpoints named by ``filename_tmpl`` in ``folder``, newest first."""
    head, _, tail = filename_tmpl.partition('{}')
    pattern = re.compile(f'^{re.escape(head)}(\\d+){re.escape(tail)}$')
    found = []
    for name in os.listdir(folder) if osp.isdir(folder) else []:
        match = pattern.match(name)
        if match:
            found.append((int(match.group(1)), osp.join(folder, name)))
    return [path for _, path in sorted(found, reverse=True)]


def _remove_partial_files(folder: str) -> List[str]:
    """Delete what interrupted atomic writes left behind."""
    notes = []
    for name in sorted(os.listdir(folder)) if osp.isdir(folder) else []:
        if name.startswith('.') and name.endswith(TMP_SUFFIX):
            os.remove(osp.join(folder, name))
            notes.append(
                f'removed {name}, left by an interrupted checkpoint write')
    return notes
