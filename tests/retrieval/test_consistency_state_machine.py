"""Hypothesis state machine: store and both indexes under adds, updates, deletes, interrupted
ingests and restarts. Invariants: counts match, no duplicates, every stored product is findable
in both indexes, and nothing deleted is found."""
import tempfile
from pathlib import Path

from hypothesis import HealthCheck, settings as hyp_settings, strategies as st
from hypothesis.stateful import RuleBasedStateMachine, initialize, invariant, rule

from catalog.records import Product
from catalog.settings import Settings
from catalog.store import Store
from retrieval.ingest import IndexPaths, delete_products, ingest_products
from retrieval.lexical_index import LexicalIndex
from retrieval.search import ProductSearch
from retrieval.vector_index import VectorIndex, open_client

WORDS = ["kettle", "lantern", "tripod", "saddle", "violin", "compass", "anchor", "helmet", "marble", "quilt"]
ids = st.sampled_from([f"id{i}" for i in range(8)])


def make(pid: str, word: str) -> Product:
    return Product(id=pid, title=f"{word} {pid}", description=f"a {word} for testing")


class CatalogMachine(RuleBasedStateMachine):
    embedder = None  # set by the test from the session fixture

    @initialize()
    def open(self):
        self.folder = Path(tempfile.mkdtemp())
        self.settings = Settings(data_dir=self.folder)
        self.model: dict[str, str] = {}
        self.reopen()

    def reopen(self):
        self.store = Store.from_settings(self.settings)
        paths = IndexPaths.for_settings(self.settings)
        self.vectors = VectorIndex(open_client(paths.chroma), paths.collection(self.embedder), self.embedder)

    def ingest(self, products):
        ingest_products(self.store, self.vectors, self.embedder, products, IndexPaths.for_settings(self.settings).bm25,
                        progress=False)

    @rule(pid=ids, word=st.sampled_from(WORDS))
    def add_or_update(self, pid, word):
        self.ingest([make(pid, word)])
        self.model[pid] = word

    @rule(pid=ids, word=st.sampled_from(WORDS))
    def interrupted_ingest(self, pid, word):
        """The store commits, then the process dies before Chroma and BM25 hear of it."""
        product = make(pid, word)
        self.store.upsert_products([product], {pid: product.content_hash()})
        self.model[pid] = word
        self.ingest([])  # the next ingest (of anything) must heal the indexes

    @rule(pid=ids)
    def delete(self, pid):
        delete_products(self.settings, [pid], embedder=self.embedder)
        self.model.pop(pid, None)
        self.store.close()
        self.reopen()

    @rule()
    def restart(self):
        self.store.close()
        self.reopen()

    @invariant()
    def consistent(self):
        if not hasattr(self, "store"):
            return
        stored = self.store.product_hashes()
        assert set(stored) == set(self.model)
        assert self.vectors.hashes() == stored
        lexical = LexicalIndex.load(IndexPaths.for_settings(self.settings).bm25)
        search = ProductSearch(self.store, self.embedder, self.vectors, lexical)
        lexical_ids = search.lexical.ids if search.lexical else []
        assert sorted(lexical_ids) == sorted(stored)  # no duplicates, nothing missing
        for pid, word in self.model.items():
            title = f"{word} {pid}"
            assert pid in [h.product.id for h in search.search(pid, k=len(self.model), mode="bm25")]
            assert pid in [h.product.id for h in search.search(title, k=len(self.model), mode="dense")]


def test_store_and_indexes_stay_consistent(embedder):
    CatalogMachine.embedder = embedder
    machine = CatalogMachine.TestCase
    machine.settings = hyp_settings(max_examples=6, stateful_step_count=6, deadline=None,
                                    suppress_health_check=list(HealthCheck))
    machine().runTest()
