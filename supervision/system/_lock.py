"""One process owns a run directory at a time: an exclusive lock, which names its holder.

A run directory holds personal data (leads, drafts, the CRM) and the API token, so it is
its owner's alone: while a command holds the lock, the directory is 0700, everything in
it that its user owns is 0600 (directories 0700), and the process's umask is 077, so what
it creates (SQLite's journal files, events, summaries, caches) is born private.
"""

from __future__ import annotations

import fcntl
import json
import os
import stat
from datetime import UTC, datetime
from pathlib import Path
from types import TracebackType
from typing import IO, final

from messages import UsageError

LOCK_FILE = ".lock"
PRIVATE_UMASK = 0o077
"""The umask while a command holds a run directory: new files 0600, directories 0700."""


@final
class DirectoryInUse(UsageError):
    """Another process holds the run directory; the message names it."""


def prepare(out: Path) -> None:
    """Make the run directory, or say in one line why it cannot be one."""
    if out.exists() and not out.is_dir():
        raise UsageError(f"--out {out} is a file, not a directory; pass a directory for the run")
    try:
        out.mkdir(mode=0o700, parents=True, exist_ok=True)
        probe = out / ".leadwright-write-test"
        probe.touch()
        probe.unlink()
    except OSError as exc:
        raise UsageError(
            f"--out {out}: cannot write there ({exc.strerror or exc}); pass a writable directory"
        ) from None


@final
class DirectoryLock:
    """An exclusive lock on ``out``, held from ``__enter__`` to ``__exit__``.

    The lock is the kernel's (``flock``), so a process killed with -9 releases it with
    its last breath; the file says who holds it, for the one-line refusal.
    """

    def __init__(self, out: Path, *, command: str, url: str | None = None) -> None:
        self.out = out
        self.command = command
        self.url = url
        self._file: IO[str] | None = None
        self._umask: int | None = None

    def __enter__(self) -> DirectoryLock:
        prepare(self.out)
        path = self.out / LOCK_FILE
        try:
            handle = path.open("a+", encoding="utf-8")
        except OSError as exc:
            raise UsageError(
                f"--out {self.out}: cannot write its lock file ({exc.strerror or exc}); "
                "pass a writable directory"
            ) from None
        try:
            fcntl.flock(handle, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            handle.seek(0)
            holder = holder_text(handle.read())
            handle.close()
            raise DirectoryInUse(
                f"{self.out} is in use by {holder}; wait for it to finish, stop it, "
                "or pass another --out"
            ) from None
        handle.seek(0)
        handle.truncate()
        handle.write(self.describe())
        handle.flush()
        self._file = handle
        self._umask = os.umask(PRIVATE_UMASK)
        make_private(self.out)
        return self

    def describe(self) -> str:
        return json.dumps(
            {
                "pid": os.getpid(),
                "command": self.command,
                "url": self.url,
                "since": datetime.now(UTC).isoformat(timespec="seconds"),
            }
        )

    def announce(self, url: str) -> None:
        """Say where the holder listens (``serve``), for other commands' messages."""
        self.url = url
        if self._file is not None:
            self._file.seek(0)
            self._file.truncate()
            self._file.write(self.describe())
            self._file.flush()

    def __exit__(
        self,
        kind: type[BaseException] | None,
        error: BaseException | None,
        traceback: TracebackType | None,
    ) -> None:
        if self._file is not None:
            fcntl.flock(self._file, fcntl.LOCK_UN)
            self._file.close()
            self._file = None
        if self._umask is not None:
            os.umask(self._umask)
            self._umask = None


def make_private(out: Path) -> None:
    """``out`` and what its user owns inside it: directories 0700, files 0600 (symbolic
    links are left alone, and so are files that another user owns)."""
    _chmod(out, 0o700)
    for root, dirs, files in os.walk(out):
        for name in dirs:
            _chmod(Path(root, name), 0o700)
        for name in files:
            _chmod(Path(root, name), 0o600)


def _chmod(path: Path, mode: int) -> None:
    try:
        status = path.lstat()
        if stat.S_ISLNK(status.st_mode) or status.st_uid != os.getuid():
            return
        if stat.S_IMODE(status.st_mode) != mode:
            path.chmod(mode)
    except OSError:
        pass  # gone meanwhile, or not ours to change


def holder_text(text: str) -> str:
    """``run (pid 123) since ...`` from a lock file's contents, or ``another process``."""
    try:
        holder = json.loads(text)
        where = f" at {holder['url']}" if holder.get("url") else ""
        return f"`{holder['command']}` (pid {holder['pid']}{where}, since {holder['since']})"
    except (ValueError, KeyError, TypeError):
        return "another process"
