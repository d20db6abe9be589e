"""Received files on disk, content-addressed by sha256: never overwritten, never deleted."""

from __future__ import annotations

import hashlib
import os
import tempfile
from pathlib import Path


class FileStore:
    """A directory of files named by the sha256 of their content."""

    def __init__(self, data_dir: Path) -> None:
        self.root = data_dir / "files"

    def put(self, content: bytes) -> tuple[str, str]:
        """Store `content`; return its sha256 and its path relative to the data directory."""
        digest = hashlib.sha256(content).hexdigest()
        relative = Path("files") / digest[:2] / digest
        target = self.root / digest[:2] / digest
        if not target.exists():
            target.parent.mkdir(parents=True, exist_ok=True)
            # Write then rename, so a crash never leaves a half file under a valid name.
            fd, tmp = tempfile.mkstemp(dir=target.parent, prefix=".incoming-")
            try:
                with os.fdopen(fd, "wb") as fh:
                    fh.write(content)
                    fh.flush()
                    os.fsync(fh.fileno())
                os.replace(tmp, target)
            except BaseException:
                Path(tmp).unlink(missing_ok=True)
                raise
        return digest, relative.as_posix()

    def put_file(self, source: Path) -> tuple[str, str]:
        """Store the file at `source` (moved, not copied, when it lies on the same disk);
        return its sha256 and its path relative to the data directory."""
        digest = hashlib.sha256()
        with source.open("rb") as fh:
            for block in iter(lambda: fh.read(1 << 20), b""):
                digest.update(block)
        sha256 = digest.hexdigest()
        relative = Path("files") / sha256[:2] / sha256
        target = self.root / sha256[:2] / sha256
        if target.exists():
            source.unlink(missing_ok=True)
            return sha256, relative.as_posix()
        target.parent.mkdir(parents=True, exist_ok=True)
        try:
            os.replace(source, target)
        except OSError:
            # Another file system: copy under a temporary name, then rename.
            with source.open("rb") as fh:
                data = fh.read()
            self.put(data)
            source.unlink(missing_ok=True)
        return sha256, relative.as_posix()

    def path_of(self, relative: str) -> Path:
        """The absolute path of a stored file."""
        return self.root.parent / relative
