"""Which earlier interval each interval of a list overlaps first, in O(n log n).

The ``eips`` rule names, for each entry that overlaps an earlier one, the earliest it overlaps
(``overlaps eips[3]``). Comparing every pair is quadratic: 5,000 entries took 15 s, and 80 IPv6
ranges, each split into up to 250 networks, 96 s. Here each entry is one closed interval of
integers (an address range is contiguous, however many CIDRs it takes), and an earlier interval
``[s, e]`` overlaps ``[start, end]`` exactly when either

- it holds the point ``start`` (``s <= start <= e``), or
- it starts inside the interval (``start < s <= end``).

Walking the entries in list order, two segment trees over the sorted endpoints answer both
questions for "the smallest index so far": one records each interval on the O(log n) nodes that
cover it (a point query takes the minimum on its path to the root), the other records each
interval at its start (a range query takes the minimum over the starts in ``(start, end]``).
"""

from __future__ import annotations

import math
from collections.abc import Sequence

Interval = tuple[int, int]
"""First and last integer of a closed interval, first <= last."""

_NONE = math.inf


class _MinTree:
    """A segment tree over ``size`` positions, each node holding the smallest index recorded
    on it (iterative: leaves at ``width + position``)."""

    def __init__(self, size: int) -> None:
        self.width = 1 << max(size - 1, 0).bit_length()
        self.nodes: list[float] = [_NONE] * (2 * self.width)

    def cover(self, low: int, high: int, index: int) -> None:
        """Record ``index`` on the nodes that exactly cover positions ``low..high``."""
        low += self.width
        high += self.width + 1
        while low < high:
            if low & 1:
                self.nodes[low] = min(self.nodes[low], index)
                low += 1
            if high & 1:
                high -= 1
                self.nodes[high] = min(self.nodes[high], index)
            low >>= 1
            high >>= 1

    def covering(self, position: int) -> float:
        """The smallest index recorded on a node that covers ``position``."""
        node = position + self.width
        best = _NONE
        while node:
            best = min(best, self.nodes[node])
            node >>= 1
        return best

    def put(self, position: int, index: int) -> None:
        """Record ``index`` at one position (and on every node above it)."""
        node = position + self.width
        while node:
            self.nodes[node] = min(self.nodes[node], index)
            node >>= 1

    def smallest(self, low: int, high: int) -> float:
        """The smallest index put at any position in ``low..high`` (none when low > high)."""
        low += self.width
        high += self.width + 1
        best = _NONE
        while low < high:
            if low & 1:
                best = min(best, self.nodes[low])
                low += 1
            if high & 1:
                high -= 1
                best = min(best, self.nodes[high])
            low >>= 1
            high >>= 1
        return best


def first_overlaps(intervals: Sequence[Interval]) -> list[int | None]:
    """For each interval, the index of the first (lowest-indexed) earlier interval it overlaps,
    or None. Two intervals overlap when they share at least one integer."""
    points = sorted({point for interval in intervals for point in interval})
    rank = {point: position for position, point in enumerate(points)}
    covers, starts = _MinTree(len(points)), _MinTree(len(points))
    found: list[int | None] = []
    for index, (start, end) in enumerate(intervals):
        low, high = rank[start], rank[end]
        # Starts in (start, end]: the positions after start's, up to end's.
        first = min(covers.covering(low), starts.smallest(low + 1, high))
        found.append(None if first == _NONE else int(first))
        covers.cover(low, high, index)
        starts.put(low, index)
    return found
