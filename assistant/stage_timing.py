"""Per-stage timing of one turn: understand, retrieve, rerank, explain (milliseconds).

:class:`StageTimer` is made per turn (never shared). ``timer.wrap(parts)`` returns a view of the
assistant's components whose ``search.search`` counts as *retrieve* and whose ``ranker.rerank`` /
``ranker.recommend`` count as *rerank*, so the shopping step is timed without knowing about it.
Stage times add up when a stage runs more than once in a turn (a deeper search retried without the
category). :meth:`StageTimer.trace` gives the :class:`assistant.types.TurnTrace` put on the Reply.

Example::

    timer = StageTimer()
    with timer.stage("understand"):
        request = parts.understand(message, dialogue)
    reply, facts = shop(timer.wrap(parts), turn, 5)
    reply.trace = timer.trace()      # TurnTrace(stages_ms={"understand": 3.1, "retrieve": 41.0, ...}, ...)
"""
from __future__ import annotations

import time
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

from assistant.types import TurnTrace

STAGES = ("understand", "retrieve", "rerank", "explain")


class StageTimer:
    """Accumulates wall time per stage and remembers the first search query of the turn."""

    def __init__(self) -> None:
        self.stages_ms: dict[str, float] = {}
        self.search_query: str | None = None

    @contextmanager
    def stage(self, name: str) -> Iterator[None]:
        started = time.perf_counter()
        try:
            yield
        finally:
            self.add(name, (time.perf_counter() - started) * 1000.0)

    def add(self, name: str, ms: float) -> None:
        self.stages_ms[name] = self.stages_ms.get(name, 0.0) + ms

    def wrap(self, parts: Any) -> "_TimedParts":
        return _TimedParts(parts, self)

    def trace(self) -> TurnTrace:
        return TurnTrace(stages_ms={k: round(v, 3) for k, v in self.stages_ms.items()},
                         search_query=self.search_query)


class _Timed:
    """Delegates every attribute to ``inner``; the named methods are timed as ``stage``."""

    def __init__(self, inner: Any, timer: StageTimer, stage: str, methods: tuple[str, ...]) -> None:
        self._inner, self._timer, self._stage, self._methods = inner, timer, stage, methods

    def __getattr__(self, name: str) -> Any:
        value = getattr(self._inner, name)
        if name not in self._methods:
            return value

        def timed(*args: Any, **kwargs: Any) -> Any:
            if name == "search" and self._timer.search_query is None and args:
                self._timer.search_query = str(args[0])
            with self._timer.stage(self._stage):
                return value(*args, **kwargs)
        return timed


class _TimedParts:
    """The components as the shopping step sees them, with search and ranking timed."""

    def __init__(self, parts: Any, timer: StageTimer) -> None:
        self._parts, self._timer = parts, timer

    @property
    def search(self) -> Any:
        return _Timed(self._parts.search, self._timer, "retrieve", ("search",))

    @property
    def ranker(self) -> Any:
        ranker = self._parts.ranker
        return None if ranker is None else _Timed(ranker, self._timer, "rerank", ("rerank", "recommend"))

    def __getattr__(self, name: str) -> Any:
        return getattr(self._parts, name)
