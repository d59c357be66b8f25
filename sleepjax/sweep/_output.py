"""Output folders: one writer per folder (a lock), and never a clobbered file.

A run writes into `--out` only while it holds `<out>/.sleepjax.lock`, a small
JSON file made with `O_CREAT | O_EXCL` (atomic on local and NFSv3+ file
systems) that names the holder: process id, host, job and start time. A
second process is refused while the holder lives; a lock left by a process
that died on this host is detected, reported and taken over. The processes
of one `jax.distributed` job share the lock that process 0 takes.

A folder that holds files sleepjax did not write is refused (with or without
`--overwrite`, which replaces only sleepjax's own outputs); sleepjax marks the
folders it writes with `.sleepjax`. Leftovers of a store creation that was
killed (`.results.zarr.creating-*`, `.deleting-*`) are removed under the lock.
"""

from __future__ import annotations

import datetime as _dt
import json
import os
import shutil
import socket
import sys
import time
import uuid
from pathlib import Path

from .._errors import ConfigError

LOCK = ".sleepjax.lock"
MARK = ".sleepjax"
#: what sleepjax writes into an output folder (and may replace)
OWN = ("results.zarr", "figure.png", "summary.txt", "sweep_summary.txt", MARK, LOCK)


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:  # exists, owned by someone else
        return True
    return True


def _age(path: Path) -> float:
    try:
        return time.time() - path.stat().st_mtime
    except OSError:
        return 0.0


def check_folder(out: Path, *, overwrite: bool) -> None:
    """Refuse an output folder that cannot be written or holds foreign files
    (nothing is written here)."""
    if str(out) in ("", "."):
        raise ConfigError(
            "--out must name an output folder (an empty name would write into the "
            "current directory)."
        )
    if out.exists() and not out.is_dir():
        raise ConfigError(f"--out {out} exists and is not a folder.")
    if not out.exists():
        parent = out.parent if str(out.parent) else Path(".")
        while not parent.exists():
            parent = parent.parent
        if not os.access(parent, os.W_OK | os.X_OK):
            raise ConfigError(f"cannot create --out {out}: {parent} is not writable.")
        return
    if not os.access(out, os.W_OK | os.X_OK):
        raise ConfigError(f"cannot write into --out {out}: permission denied.")
    names = {p.name for p in out.iterdir()}
    ours = (out / MARK).exists() or (out / "results.zarr" / "zarr.json").exists()
    if names and not ours:
        hits = sorted(names & set(OWN))
        if not overwrite:
            raise ConfigError(
                f"--out {out} is not empty and was not written by sleepjax; choose "
                "a new or empty folder (or --overwrite to add sleepjax's files to "
                "it without touching the others)."
            )
        if hits:
            raise ConfigError(
                f"--out {out} holds {', '.join(hits)}, which sleepjax did not write; "
                "--overwrite never replaces files sleepjax did not write: choose "
                "another folder."
            )


class OutputLock:
    """The exclusive lock of one output folder (see the module docs).

    `OutputLock.acquire(out)` takes it (raising `ConfigError` if a live process
    holds it); `release()` gives it back. A context manager."""

    def __init__(self, path: Path, info: dict, owner: bool):
        self.path = path
        self.info = info
        self.owner = owner

    @classmethod
    def acquire(cls, out: Path, *, job: str | None = None, say=None) -> OutputLock:
        """Take the lock of `out` (created if needed). `job`: a job id shared by
        the processes of one `jax.distributed` run; a process that is not
        process 0 joins the lock of its job instead of taking one."""
        out.mkdir(parents=True, exist_ok=True)
        path = out / LOCK
        info = {
            "pid": os.getpid(),
            "host": socket.gethostname(),
            "job": job or uuid.uuid4().hex,
            "started": _dt.datetime.now(_dt.UTC).isoformat(timespec="seconds"),
            "command": " ".join(sys.argv[:3]),
        }
        for _ in range(3):
            try:
                fd = os.open(path, os.O_CREAT | os.O_EXCL | os.O_WRONLY, 0o644)
            except FileExistsError:
                fd = None
            if fd is None:
                held = cls._read(path)
                if held is None:  # being written by its creator: look again
                    if _age(path) > 10.0:  # or its creator died while writing it
                        path.unlink(missing_ok=True)
                    time.sleep(0.2)
                    continue
                if job is not None and held.get("job") == job:
                    return cls(path, held, owner=False)  # a process of our job
                if held.get("host") == info["host"] and not _alive(int(held["pid"])):
                    if say is not None:
                        say(
                            f"removed a stale lock on {out}: process {held['pid']} "
                            f"(started {held.get('started')}) is gone"
                        )
                    path.unlink(missing_ok=True)
                    continue
                raise ConfigError(
                    f"--out {out} is in use by another sleepjax process (pid "
                    f"{held.get('pid')} on {held.get('host')}, started "
                    f"{held.get('started')}: {held.get('command', '')}). Wait for it "
                    f"or choose another folder; if that process is gone, delete "
                    f"{path}."
                )
            with os.fdopen(fd, "w") as f:
                json.dump(info, f)
            lock = cls(path, info, owner=True)
            lock._clean(out)
            (out / MARK).write_text(json.dumps({"created": info["started"]}) + "\n")
            return lock
        raise ConfigError(f"could not take the lock {path}; try again.")

    @staticmethod
    def _read(path: Path) -> dict | None:
        try:
            return json.loads(path.read_text())
        except (OSError, ValueError):
            return None

    @staticmethod
    def _clean(out: Path) -> None:
        """Leftovers of a store creation or replacement that was killed."""
        for p in out.glob(".results.zarr.*-*"):
            if p.name.split(".")[-1].startswith(("creating-", "deleting-")):
                shutil.rmtree(p, ignore_errors=True)

    def check(self) -> None:
        """Raise if this process no longer holds the lock (another took it
        after it was deleted, or the folder is gone)."""
        held = self._read(self.path)
        if held is None or held.get("job") != self.info["job"]:
            raise ConfigError(
                f"the lock {self.path} is no longer this run's (the output folder was "
                "deleted or taken over by another process); this run stops."
            )

    def release(self) -> None:
        if self.owner:
            held = self._read(self.path)
            if held is not None and held.get("job") == self.info["job"]:
                self.path.unlink(missing_ok=True)

    def __enter__(self) -> OutputLock:
        return self

    def __exit__(self, *exc) -> None:
        self.release()
