"""Closing urllib3 connection pools, both connectors' clients sit on urllib3.

`PoolManager.clear()` only forgets its pools: their connections close when the pools are
garbage collected, and an error kept with its traceback (a failure that was retried) can
keep a pool, and its connection to the server, open long after the client was closed.
"""

from __future__ import annotations

import urllib3


def close_pools(manager: urllib3.PoolManager) -> None:
    """Close every connection `manager` pools, now, then forget the pools."""
    for key in list(manager.pools.keys()):
        pool = manager.pools.get(key)
        if pool is not None:
            pool.close()
    manager.clear()
