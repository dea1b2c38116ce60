"""The policy/FAQ knowledge base: policy documents in their own Chroma collection, answers that quote them.

Documents become *passages* (one per ``##`` section of a Markdown file, or one per subflow of the
ABCD ``guidelines.json``). Passages are embedded with the project's MiniLM embedder — always our own
embedding function, never Chroma's default (it would try a download) — and stored in the
``policies_<fingerprint>`` collection of a Chroma store under ``<data_dir>/knowledge`` (or on the Chroma server of
``settings.chroma_url``), apart from the product index.

An answer *quotes* the best passage and names its source. When the best cosine similarity is below
``threshold``, or the passage shares no content word with the question, the answer is ``found=False``: the assistant says it does not know and offers a person.
The knowledge base never writes policy text of its own.

Sources:
    * ``data/policies/*.md`` — the project's demo policies (default);
    * ``../shared/data/abcd-agent-guidelines`` (a folder with ``guidelines.json``) for development.

Example::

    kb = PolicyKnowledgeBase.from_settings(Settings(), paths=[default_policy_dir()])
    ans = kb.answer("how long do I have to return something?")
    ans.found, ans.sources, ans.text
    # True, ['returns.md § Return window'], 'From our returns policy (returns.md § Return window): "You can ..."'
"""
from __future__ import annotations

import fcntl
import hashlib
import json
import re
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from pathlib import Path

from catalog.settings import Settings

COLLECTION = "policies"
DEFAULT_THRESHOLD = 0.34  # cosine similarity; calibrated on the demo policies (docs/assistant.md)


@dataclass(frozen=True)
class PolicyPassage:
    """One quotable unit of policy text. ``source`` is what the shopper is told ("returns.md § Return window")."""

    id: str
    title: str
    section: str
    text: str
    source: str

    def embed_text(self) -> str:
        return f"{self.title}. {self.section}. {self.text}"


@dataclass
class PolicyAnswer:
    """The knowledge base's answer: a quote with its source, or ``found=False``."""

    found: bool
    text: str
    score: float
    sources: list[str] = field(default_factory=list)
    passages: list[PolicyPassage] = field(default_factory=list)


def default_policy_dir() -> Path:
    """The project's demo policies (``data/policies`` in the repository)."""
    return Path(__file__).resolve().parents[2] / "data" / "policies"


def _markdown_passages(path: Path) -> list[PolicyPassage]:
    text = path.read_text(encoding="utf-8")
    title_match = re.search(r"^#\s+(.+)$", text, re.MULTILINE)
    title = title_match.group(1).strip() if title_match else path.stem.replace("_", " ").title()
    out = []
    for block in re.split(r"^##\s+", text, flags=re.MULTILINE)[1:]:
        section, _, body = block.partition("\n")
        body = " ".join(body.split())
        if body:
            pid = f"{path.name}#{section.strip().lower().replace(' ', '-')}"
            out.append(PolicyPassage(pid, title, section.strip(), body, f"{path.name} § {section.strip()}"))
    return out


def _abcd_passages(path: Path) -> list[PolicyPassage]:
    """One passage per ABCD subflow: its instructions plus the text of each action."""
    guidelines = json.loads(path.read_text(encoding="utf-8"))
    out = []
    for flow, spec in guidelines.items():
        for subflow, sub in (spec.get("subflows") or {}).items():
            parts = list(sub.get("instructions") or [])
            for action in sub.get("actions") or []:
                parts.append(action.get("text", ""))
                parts.extend(action.get("subtext") or [])
            body = " ".join(" ".join(p.split()) for p in parts if p)
            if body:
                pid = f"abcd#{flow}/{subflow}".lower().replace(" ", "-")
                out.append(PolicyPassage(pid, f"{flow} ({spec.get('description', '')})", subflow, body,
                                         f"ABCD guidelines § {flow} > {subflow}"))
    return out


def load_policy_documents(paths: Iterable[str | Path]) -> list[PolicyPassage]:
    """Passages from Markdown files, folders of them, and ABCD ``guidelines.json`` (or its folder).

    Raises:
        FileNotFoundError: a path does not exist, or yields no passage (say which documents to use).
    """
    passages: list[PolicyPassage] = []
    for raw in paths:
        path = Path(raw)
        if not path.exists():
            raise FileNotFoundError(f"policy documents not found at {path}: pass a folder of .md files "
                                    "or the abcd-agent-guidelines folder")
        files = sorted(path.glob("*.md")) + sorted(path.glob("guidelines.json")) if path.is_dir() else [path]
        for file in files:
            if file.name.lower() == "readme.md":
                continue
            found = _abcd_passages(file) if file.suffix == ".json" else _markdown_passages(file)
            passages.extend(found)
    if not passages:
        raise FileNotFoundError(f"no policy passages in {list(map(str, paths))}: Markdown files need '## ' sections")
    return passages


_STOPWORDS = frozenset(
    "a an the and or of to in on at for with from by is are was were be been do does did can could will would "
    "should i me my we our you your it its this that these those there what which who whom how when where why "
    "much many long any some get got have has had please tell know about policy policies demo".split())


def _shares_a_word(question: str, passage: PolicyPassage) -> bool:
    """At least one content word of the question (by 4-letter prefix) appears in the passage: a guard
    against a merely topical embedding match ("loyalty points" vs "creating an account")."""
    passage_words = re.findall(r"[a-z]{3,}", passage.embed_text().lower())
    stems = {w[:4] for w in passage_words} | {w[:3] for w in passage_words}
    words = [w for w in re.findall(r"[a-z]{3,}", question.lower()) if w not in _STOPWORDS]
    return any(w[:4] in stems for w in words)


def _fingerprint(passages: Sequence[PolicyPassage], model: str) -> str:
    digest = hashlib.sha256(model.encode())
    for p in passages:
        digest.update(f"{p.id}\t{p.source}\t{p.embed_text()}\n".encode())
    return digest.hexdigest()[:16]


class PolicyKnowledgeBase:
    """Policy passages in a Chroma collection, queried with the project's embedder.

    Args:
        client: a Chroma client (``retrieval.vector_index.open_client``).
        embedder: a :class:`retrieval.embedder.Embedder` (or anything with ``encode(texts)`` and ``name``).
        passages: what to index (:func:`load_policy_documents`).
        threshold: minimum cosine similarity for an answer; below it the answer is "I don't know".
        lock_path: a file locked while (re)building, so two processes never write the collection at once.
    """

    def __init__(self, client, embedder, passages: Sequence[PolicyPassage], threshold: float = DEFAULT_THRESHOLD,
                 lock_path: Path | None = None, collection: str = COLLECTION):
        from retrieval.vector_index import MiniLMEmbeddingFunction

        self.client = client
        self.embedder = embedder
        self.passages = {p.id: p for p in passages}
        self.threshold = threshold
        self.lock_path = lock_path
        self.collection_name = collection
        self._function = MiniLMEmbeddingFunction(embedder)
        self.collection = None

    @classmethod
    def from_settings(cls, settings: Settings, paths: Iterable[str | Path] | None = None, embedder=None,
                      threshold: float = DEFAULT_THRESHOLD) -> "PolicyKnowledgeBase":
        """Open (and build if needed) the knowledge base of ``paths`` (default: the demo policies)."""
        from retrieval.embedder import Embedder
        from retrieval.vector_index import open_client

        passages = load_policy_documents(list(paths) if paths else [default_policy_dir()])
        embedder = embedder or Embedder(settings.embedding_model, threads=settings.torch_threads)
        folder = settings.data_dir / "knowledge"
        folder.mkdir(parents=True, exist_ok=True)
        kb = cls(open_client(folder, settings.chroma_url), embedder, passages, threshold,
                 lock_path=folder / ".build.lock")
        kb.build()
        return kb

    def build(self) -> int:
        """Index the passages unless the collection already holds exactly them; returns the passage count."""
        fingerprint = _fingerprint(list(self.passages.values()), getattr(self.embedder, "name", "embedder"))
        name = f"{self.collection_name}_{fingerprint}"  # one collection per document set: never stale
        lock = open(self.lock_path, "w") if self.lock_path else None
        try:
            if lock:
                fcntl.flock(lock, fcntl.LOCK_EX)
            collection = self.client.get_or_create_collection(
                name, embedding_function=self._function, configuration={"hnsw": {"space": "cosine"}},
                metadata={"owner": "shopassist", "fingerprint": fingerprint})
            if collection.count() != len(self.passages):
                ids = list(self.passages)
                vectors = self.embedder.encode([self.passages[i].embed_text() for i in ids])
                collection.upsert(ids=ids, embeddings=vectors, documents=[self.passages[i].text for i in ids],
                                  metadatas=[{"source": self.passages[i].source} for i in ids])
            self.collection = collection
        finally:
            if lock:
                fcntl.flock(lock, fcntl.LOCK_UN)
                lock.close()
        return len(self.passages)

    def search(self, question: str, k: int = 3) -> list[tuple[PolicyPassage, float]]:
        """The ``k`` most similar passages with cosine similarity, best first."""
        if self.collection is None:
            self.build()
        question = (question or "").strip()
        if not question:
            return []
        vector = self.embedder.encode([question])[0]
        got = self.collection.query(query_embeddings=[vector], n_results=min(k, len(self.passages)),
                                    include=["distances"])
        return [(self.passages[i], 1.0 - d) for i, d in zip(got["ids"][0], got["distances"][0])
                if i in self.passages]

    def answer(self, question: str, k: int = 3) -> PolicyAnswer:
        """Quote the best passage with its source, or say it is not in the policies (``found=False``)."""
        hits = self.search(question, k)
        if not hits or hits[0][1] < self.threshold:
            best = hits[0][1] if hits else 0.0
            return PolicyAnswer(False, "I couldn't find that in our policy documents, so I won't guess. "
                                       "I can connect you with a person who can answer it.", best)
        passage, score = hits[0]
        if not _shares_a_word(question, passage):
            return PolicyAnswer(False, "I couldn't find that in our policy documents, so I won't guess. "
                                       "I can connect you with a person who can answer it.", score)
        kind = passage.title.split("(")[0].strip()
        text = f'From our {kind[:1].lower() + kind[1:]} ({passage.source}): "{passage.text}"'
        return PolicyAnswer(True, text, score, [passage.source], [p for p, _ in hits])
