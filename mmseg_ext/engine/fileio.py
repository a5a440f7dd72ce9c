"""A local file backend whose writes are all or nothing."""
import os
import os.path as osp
import tempfile
from pathlib import Path
from typing import Union

from mmengine.fileio import LocalBackend, register_backend

#: Name part of the temporary files; a crash can leave them behind.
TMP_SUFFIX = '.partial'


def _file_mode() -> int:
    """Mode ``open()`` would give a new file (``mkstemp`` uses 0o600)."""
    umask = os.umask(0)
    os.umask(umask)
    return 0o666 & ~umask


_FILE_MODE = _file_mode()


@register_backend('atomic_local')
class AtomicLocalBackend(LocalBackend):
    """Local files written to a temporary file, synced, then renamed.

    ``os.replace`` within one directory is atomic, so a reader (``--resume``,
    ``tools/test.py``) finds either the previous file or the complete new
    one, never a half-written one, even when the process is killed during
    the write. A crash leaves at most a hidden ``.NAME.*.partial`` file.

    Select it with ``backend_args=dict(backend='atomic_local')``; reading,
    listing and removing work as in :class:`~mmengine.fileio.LocalBackend`.
    """

    def put(self, obj: bytes, filepath: Union[str, Path]) -> None:
        """Write bytes to ``filepath`` atomically.

        Args:
            obj (bytes): Data to be written.
            filepath (str or Path): Path to write data.
        """
        self._atomic_write(obj, filepath)

    def put_text(self,
                 obj: str,
                 filepath: Union[str, Path],
                 encoding: str = 'utf-8') -> None:
        """Write text to ``filepath`` atomically.

        Args:
            obj (str): Text to be written.
            filepath (str or Path): Path to write data.
            encoding (str): Text encoding. Defaults to 'utf-8'.
        """
        self._atomic_write(obj.encode(encoding), filepath)

    @staticmethod
    def _atomic_write(data: bytes, filepath: Union[str, Path]) -> None:
        filepath = osp.abspath(filepath)
        folder, name = osp.split(filepath)
        os.makedirs(folder, exist_ok=True)
        fd, tmp = tempfile.mkstemp(
            prefix=f'.{name}.', suffix=TMP_SUFFIX, dir=folder)
        try:
            with os.fdopen(fd, 'wb') as f:
                f.write(data)
                f.flush()
                os.fsync(f.fileno())
            os.chmod(tmp, _FILE_MODE)
            os.replace(tmp, filepath)
        except BaseException as e:
            if osp.exists(tmp):
                os.remove(tmp)
            if isinstance(e, OSError) and e.errno is not None:
                # name the file being written, not the temporary one
                raise OSError(e.errno, e.strerror, filepath) from None
            raise
