"""Plain records shared by every package: products, attributes and behaviour events."""
from __future__ import annotations

import hashlib
import json
import re
from datetime import datetime, timezone
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field, field_validator

AttributeSource = Literal["given", "extracted", "predicted"]
EventKind = Literal["view", "click", "add_to_cart", "purchase", "rating", "like", "not_interested"]
EVENT_KINDS: tuple[str, ...] = EventKind.__args__  # type: ignore[attr-defined]


class Attribute(BaseModel):
    """One product attribute with where it came from (the file, a rule/encoder, or a neighbour vote)."""

    model_config = ConfigDict(frozen=True)
    value: str
    source: AttributeSource = "given"


class Product(BaseModel):
    """A catalog product. Only ``id`` and ``title`` are required.

    ``category`` is a path from the root, e.g. ``["footwear", "womens footwear", "ballerinas"]``.
    ``attributes`` maps a lower-case name (``colour``, ``size``, ``material``, ``gender``, ...) to an
    :class:`Attribute`.
    """

    model_config = ConfigDict(extra="forbid")
    id: str = Field(min_length=1, max_length=200)
    title: str = Field(min_length=1, max_length=2000)
    description: str = ""
    category: list[str] = Field(default_factory=list)
    category_source: AttributeSource | None = None
    brand: str | None = None
    price: float | None = Field(None, ge=0)
    currency: str | None = None
    attributes: dict[str, Attribute] = Field(default_factory=dict)
    rating: float | None = Field(None, ge=0, le=5)
    image_url: str | None = None

    @field_validator("price")
    @classmethod
    def _zero_is_unlisted(cls, value: float | None) -> float | None:
        """A price of 0 is a feed's missing price, not a free product: shown as "price not listed"."""
        return None if value == 0 else value

    @field_validator("id", "title")
    @classmethod
    def _strip(cls, value: str) -> str:
        value = value.strip()
        if not value:
            raise ValueError("must not be blank")
        return value

    @property
    def category_path(self) -> str:
        return " > ".join(self.category)

    def attribute(self, name: str) -> str | None:
        found = self.attributes.get(name)
        return found.value if found else None

    def lists_size(self, size: str) -> bool:
        """The listing names ``size`` as a size: a size attribute ("7, 8, 9"), "size 8", "UK 8" (not "pack of 8")."""
        value = re.escape(size.lower())
        sizes = " ".join(a.value for key, a in self.attributes.items() if "size" in key.lower()).lower()
        if re.search(rf"(?<![\w.]){value}(?![\w.])", sizes):
            return True
        text = f"{self.title} {self.description}".lower()
        return re.search(rf"\b(?:size|uk|us|eu)\s*:?\s*{value}(?![\w.])", text) is not None

    def search_text(self) -> str:
        """The text both indexes see: title, brand, category and the start of the description."""
        parts = [self.title]
        if self.brand and self.brand.lower() not in self.title.lower():
            parts.append(self.brand)
        if self.category:
            parts.append(self.category_path)
        if self.description:
            parts.append(self.description[:300])
        return ". ".join(parts)

    def content_hash(self) -> str:
        """Stable hash of everything stored; a changed row gets a new hash and is re-indexed."""
        payload = json.dumps(self.model_dump(mode="json"), sort_keys=True, ensure_ascii=False)
        return hashlib.sha256(payload.encode()).hexdigest()[:32]


class Event(BaseModel):
    """A behaviour event. ``user`` is already pseudonymised (see ``catalog.privacy``)."""

    user: str
    item_id: str
    kind: EventKind
    value: float | None = None
    session_id: str | None = None
    query: str | None = None
    ts: datetime = Field(default_factory=lambda: datetime.now(timezone.utc))
