"""The HubSpot contacts cursor's lag window: which `<id>:<ms>` keys it keeps."""

from __future__ import annotations

import random

import pytest

from sync.ingest_hubspot import _Window


def kept_by_definition(added: list[tuple[str, int]], lag_ms: int, limit: int) -> dict[str, int]:
    """Every key added, no older than `lag_ms` before the latest, the latest `limit` of them
    by time, then key."""
    top = max(ms for _, ms in added)
    within = sorted({(ms, key) for key, ms in added if ms >= top - lag_ms}, reverse=True)
    return {key: ms for ms, key in within[:limit]}


@pytest.mark.parametrize("seed", range(20))
def test_keeps_the_latest_keys_within_the_lag_page_after_page(seed: int) -> None:
    rng = random.Random(seed)
    lag_ms, limit = rng.choice([(50, 1000), (1000, 30), (200, 5)])
    window = _Window(lag_ms, limit)
    added: list[tuple[str, int]] = []
    clock = 0
    for _ in range(30):
        page = []
        for _ in range(rng.randint(0, 25)):
            clock += rng.choice([0, 0, 1, 7, 40])
            ms = clock - rng.choice([0, 0, 0, 30, 300])  # re-read from the lag window too
            page.append((f"{rng.randint(1, 60)}:{ms}", ms))
        window.add(page)
        added += page
        if added:
            assert window.seen == kept_by_definition(added, lag_ms, limit)


def test_a_window_read_back_from_its_cursor_keeps_the_same_keys() -> None:
    window = _Window(100, 3)
    window.add([("a:1", 1), ("b:150", 150), ("c:160", 160), ("d:170", 170), ("e:170", 170)])
    assert window.seen == {"c:160": 160, "d:170": 170, "e:170": 170}
    again = _Window(100, 3, window.top, dict(window.seen))
    again.add([("f:171", 171)])
    assert again.seen == {"d:170": 170, "e:170": 170, "f:171": 171}
