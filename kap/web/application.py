"""The Flask class of this app: Flask, with one per-request question answered once.

Flask asks ``inspect.iscoroutinefunction`` of every hook and view it calls, on every call
(``Flask.ensure_sync``): ten times for a signed-in request that does nothing, about a
twentieth of what such a request costs (``make bench``'s signed-in floor, issue 18). The
answer never changes for a function, so it is kept per function, weakly: a callback made
for one request (``after_this_request``) is forgotten with its request.
"""

from __future__ import annotations

import weakref
from collections.abc import Callable
from typing import Any

from flask import Flask


class KapFlask(Flask):
    """Flask, its ``ensure_sync`` remembered per function."""

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        #: The plain (not async) functions seen so far. A weak set: holding nothing of a
        #: function, it keeps none alive (a dictionary from each function to itself would).
        self._plain_functions: weakref.WeakSet[Callable[..., Any]] = weakref.WeakSet()

    def ensure_sync(self, func: Callable[..., Any]) -> Callable[..., Any]:
        try:
            if func in self._plain_functions:
                return func
        except TypeError:  # a callable that takes no weak reference: asked every time
            return super().ensure_sync(func)
        sync = super().ensure_sync(func)
        if sync is func:
            self._plain_functions.add(func)
        return sync
