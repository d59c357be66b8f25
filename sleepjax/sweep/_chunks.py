"""Which chunks of a sweep are done, and which a process still has to run,
without a per-network or per-chunk list in memory.

A store's done chunks are found from the `status` chunk files that exist
(a chunk never written has none), each read and checked (all >= 0); the
pending ones are everything else, enumerated lazily. Memory: the done
chunks' indices and one block of status values.
"""

from __future__ import annotations

import dataclasses
import os
from collections.abc import Iterator
from pathlib import Path
from typing import TYPE_CHECKING

import numpy as np

from ._coords import BLOCK

#: chunk indices enumerated at a time by `ChunkSchedule.mine`
_PENDING_BLOCK = 1 << 14

if TYPE_CHECKING:
    from ._index import SweepPlan
    from ._store import ResultStore


def _remove_partials(path: Path) -> None:
    """Delete temporary files left by chunk writes that were killed."""
    for p in path.rglob("*.partial"):
        if p.is_file():
            p.unlink(missing_ok=True)


def _written_chunks(store: ResultStore, name: str) -> list[int] | None:
    """Indices of the chunk files of array `name` on disk, ascending (`None`
    when the store's chunk files are not laid out as `name/c/<i>`)."""
    arr = store._array(name)
    try:
        if arr.metadata.chunk_key_encoding.encode_chunk_key((7,)) != "c/7":
            return None
    except AttributeError:
        return None
    folder = store.path / name / "c"
    if not folder.is_dir():
        return []
    found = []
    with os.scandir(folder) as entries:
        for e in entries:
            if e.name.isdigit() and int(e.name) < store.n_chunks:
                found.append(int(e.name))
    return sorted(found)


def done_chunk_indices(store: ResultStore) -> np.ndarray:
    """Sorted indices (int64) of the chunks whose status is written: every
    value >= 0. An unreadable status chunk (a torn write) is not done."""
    from ._layout import _STATUS

    candidates = _written_chunks(store, _STATUS)
    if candidates is None:
        candidates = range(store.n_chunks)
    cs = store.chunk_size
    per_block = max(1, BLOCK // cs)
    done: list[int] = []
    run: list[int] = []

    def check(run: list[int]) -> None:
        # one read for consecutive chunks; chunk by chunk if that read fails
        sl = slice(run[0] * cs, min((run[-1] + 1) * cs, store.n_networks))
        try:
            status = store._array(_STATUS)[sl]
        except Exception:  # a torn status chunk (old zarr)
            done.extend(i for i in run if store._read_chunk_done(store.chunk_slice(i)))
            return
        for i in run:
            a = i * cs - sl.start
            if store._chunk_done(status[a : a + cs]):
                done.append(i)

    for i in candidates:
        if run and (i != run[-1] + 1 or len(run) >= per_block):
            check(run)
            run = []
        run.append(i)
    if run:
        check(run)
    return np.asarray(done, dtype=np.int64)


@dataclasses.dataclass(frozen=True)
class ChunkSchedule:
    """The chunks of `n` networks in chunks of `chunk`, those already `done`
    (sorted indices), and the share of process `pi` of `pc`: the pending
    chunks `i` with `i % pc == pi`."""

    n: int
    chunk: int
    done: np.ndarray
    pi: int = 0
    pc: int = 1

    @property
    def n_chunks(self) -> int:
        return -(-self.n // self.chunk)

    @property
    def n_pending(self) -> int:
        return self.n_chunks - len(self.done)

    def slice(self, i: int) -> slice:
        return slice(i * self.chunk, min((i + 1) * self.chunk, self.n))

    def _size(self, i: int) -> int:
        return min((i + 1) * self.chunk, self.n) - i * self.chunk

    @property
    def done_networks(self) -> int:
        """Networks in the done chunks."""
        last = self.n_chunks - 1
        short = self.chunk - self._size(last)
        has_last = bool(len(self.done)) and int(self.done[-1]) == last
        return len(self.done) * self.chunk - (short if has_last else 0)

    def _mine_between(self, lo: int, hi: int) -> int:
        """How many chunks `lo <= i < hi` belong to this process."""
        if hi <= lo:
            return 0

        def upto(k):  # i < k with i % pc == pi
            return 0 if k <= self.pi else (k - self.pi - 1) // self.pc + 1

        return upto(hi) - upto(lo)

    def _mine_done_between(self, lo: int, hi: int) -> int:
        a, b = np.searchsorted(self.done, [lo, hi])
        d = self.done[a:b]
        return int(np.count_nonzero(d % self.pc == self.pi))

    @property
    def n_mine(self) -> int:
        """Pending chunks of this process."""
        return self._mine_between(0, self.n_chunks) - self._mine_done_between(
            0, self.n_chunks
        )

    @property
    def mine_networks(self) -> int:
        """Networks in the pending chunks of this process."""
        last = self.n_chunks - 1
        last_mine = last % self.pc == self.pi and not (
            len(self.done) and int(self.done[-1]) == last
        )
        short = self.chunk - self._size(last)
        return self.n_mine * self.chunk - (short if last_mine else 0)

    def mine(self) -> Iterator[int]:
        """The pending chunks of this process, ascending (lazily)."""
        step = max(1, _PENDING_BLOCK // self.pc) * self.pc
        for lo in range(0, self.n_chunks, step):
            hi = min(lo + step, self.n_chunks)
            first = lo + (self.pi - lo) % self.pc
            idx = np.arange(first, hi, self.pc, dtype=np.int64)
            a, b = np.searchsorted(self.done, [lo, hi])
            if b > a:
                idx = idx[~np.isin(idx, self.done[a:b])]
            yield from idx.tolist()

    def any_mine_pending(self, lo: int, hi: int) -> bool:
        """Whether a pending chunk of this process lies in `lo <= i < hi`."""
        return self._mine_between(lo, hi) > self._mine_done_between(lo, hi)

    def groups(self, plan: SweepPlan) -> list[int]:
        """The groups of `plan` with networks in this process's pending
        chunks, in order (each group is a contiguous range of networks)."""
        out: list[int] = []
        for gi, start, stop in plan.group_ranges():
            lo, hi = start // self.chunk, (stop - 1) // self.chunk + 1
            if gi not in out and self.any_mine_pending(lo, hi):
                out.append(gi)
        return out


def check_in_memory(plan: SweepPlan, bytes_per_network: int) -> None:
    """Refuse an in-memory sweep (`out=None`) whose results, status and
    coordinates would not fit in the memory budget (a store has no limit:
    it holds one chunk at a time)."""
    from ..config import ConfigError

    n = plan.n_networks
    per_net = bytes_per_network + 1 + 8 * (len(plan.paths) + 4)
    budget = plan.run.memory_budget_mb * 2**20
    if n * per_net > budget:
        raise ConfigError(
            f"[sweep] {n} networks kept in memory (out=None) need "
            f"{n * per_net / 2**30:.3g} GiB ({bytes_per_network} bytes of outputs "
            "per network, plus status and coordinates), more than the memory "
            f"budget [run] memory_budget_mb = {plan.run.memory_budget_mb:g} MiB; "
            "write them to a results folder (out=...), which holds one chunk at "
            "a time, or raise the budget."
        )
