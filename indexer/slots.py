"""The slot table shared by the derived indexes: slot -> paper vid, and back for live slots.

A slot is one stored version of a paper in the derived indexes (a row of the vector matrix and
a document of the keyword segments). Slots only grow; a removed or replaced version's slot dies
(vid -1), so files written once never change.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np


@dataclass(frozen=True)
class SlotTable:
    """slot_vids[s] is the vid of slot s (-1: dead); live vids sorted with their slots."""

    slot_vids: np.ndarray
    live_vids: np.ndarray
    live_slots: np.ndarray

    @classmethod
    def of(cls, slot_vids: np.ndarray) -> SlotTable:
        slot_vids = np.asarray(slot_vids, dtype=np.int64)
        slots = np.flatnonzero(slot_vids >= 0)
        order = np.argsort(slot_vids[slots], kind="stable")
        return cls(slot_vids, slot_vids[slots][order], slots[order].astype(np.int64))

    @property
    def size(self) -> int:
        return len(self.slot_vids)

    @property
    def live(self) -> int:
        return len(self.live_vids)

    @property
    def alive(self) -> np.ndarray:
        return self.slot_vids >= 0

    def slots_of(self, vids: np.ndarray) -> np.ndarray:
        """Live slot of each vid, -1 for a vid that is not (or no longer) indexed."""
        vids = np.asarray(vids, dtype=np.int64)
        if not len(self.live_vids) or not len(vids):
            return np.full(len(vids), -1, dtype=np.int64)
        at = np.searchsorted(self.live_vids, vids).clip(max=len(self.live_vids) - 1)
        return np.where(self.live_vids[at] == vids, self.live_slots[at], -1)

    def evolve(self, removed: np.ndarray, added_vids: np.ndarray) -> tuple[SlotTable, np.ndarray]:
        """The next table, where the live slots of `removed` and of `added_vids` (a new version
        replaces the old) die and `added_vids` take new slots; also the slots that died."""
        added_vids = np.asarray(added_vids, dtype=np.int64)
        gone = np.union1d(np.asarray(removed, dtype=np.int64), added_vids)
        killed = self.slots_of(gone)
        killed = killed[killed >= 0]
        slot_vids = np.concatenate([self.slot_vids, added_vids])
        slot_vids[killed] = -1
        keep = ~np.isin(self.live_vids, gone)
        new_slots = np.arange(self.size, self.size + len(added_vids), dtype=np.int64)
        live_vids = np.concatenate([self.live_vids[keep], added_vids])
        live_slots = np.concatenate([self.live_slots[keep], new_slots])
        order = np.argsort(live_vids, kind="stable")
        return SlotTable(slot_vids, live_vids[order], live_slots[order]), killed
