"""Per-session agent state and one turn's context.

* :class:`AgentState` — what the agent keeps per session in ``sessions.state``: the dialogue state
  (``assistant.understanding.state.DialogueState``), the count of consecutive turns without a useful
  answer, and the last order id the shopper gave. Loaded and saved every turn; never cached in memory.
* :class:`TurnContext` — one turn's inputs (session, message, pseudonymised user, state, open ticket).
"""
from __future__ import annotations

import json
from dataclasses import dataclass, field
from typing import Any

from assistant.understanding.state import DialogueState


@dataclass
class AgentState:
    """Per-session agent state, stored as JSON in ``sessions.state``."""

    dialogue: DialogueState = field(default_factory=DialogueState)
    failed_turns: int = 0
    last_order_id: str | None = None

    @classmethod
    def load(cls, stored: dict[str, Any] | None) -> "AgentState":
        """From the stored JSON object; anything unreadable gives a fresh state (a turn never crashes on it)."""
        stored = stored or {}
        dialogue = DialogueState.from_json(json.dumps(stored.get("dialogue") or {}))
        return cls(dialogue, int(stored.get("failed_turns") or 0), stored.get("last_order_id"))

    def dump(self) -> dict[str, Any]:
        return {"dialogue": json.loads(self.dialogue.to_json()), "failed_turns": self.failed_turns,
                "last_order_id": self.last_order_id}

    def note(self, useful: bool | None) -> None:
        """Count a turn: True resets the failure count, False adds one, None (small talk) leaves it."""
        if useful is True:
            self.failed_turns = 0
        elif useful is False:
            self.failed_turns += 1


@dataclass
class TurnContext:
    session_id: str
    message: str
    user: str | None
    state: AgentState
    ticket: Any = None
    request: Any = None
    useful: bool | None = None  # set by a step that knows whether the turn helped
    relaxed: bool = False  # the category filter was dropped to find anything
    timer: Any = None  # assistant.stage_timing.StageTimer of this turn (the query log's stage times)
