"""A fast intent classifier: TF-IDF (word 1-2 grams + character 2-5 grams) and logistic regression.

Trained ONLY on the Bitext train split (27 customer-service intents) plus our own shopping, chitchat
and "other" utterances (:mod:`assistant.understanding.intent_examples`). Prediction takes well under a millisecond
per message, so understanding never waits on it. The fitted model is cached on disk, keyed by the
hash of the training data and this module's version, and rebuilt when either changes (~10 s).

Example::

    >>> clf = IntentClassifier.load_or_train("../shared/data/bitext-customer-service-intents/train.csv",
    ...                                      cache_dir="var/models/intents")      # doctest: +SKIP
    >>> clf.predict("where is my order 123456")                                    # doctest: +SKIP
    IntentPrediction(intent='track_order', confidence=0.97, runner_up='track_refund')
"""
from __future__ import annotations

import csv
import hashlib
import os
import pickle
import tempfile
from dataclasses import dataclass
from pathlib import Path

from assistant.understanding.intent_examples import shopping_examples

SHOPPING_INTENTS: tuple[str, ...] = ("search", "refine", "compare", "product_question", "recommend")
SERVICE_INTENTS: tuple[str, ...] = (
    "cancel_order", "change_order", "change_shipping_address", "check_cancellation_fee", "check_invoice",
    "check_payment_methods", "check_refund_policy", "complaint", "contact_customer_service", "contact_human_agent",
    "create_account", "delete_account", "delivery_options", "delivery_period", "edit_account", "get_invoice",
    "get_refund", "newsletter_subscription", "payment_issue", "place_order", "recover_password",
    "registration_problems", "review", "set_up_shipping_address", "switch_account", "track_order", "track_refund")
OTHER_INTENTS: tuple[str, ...] = ("chitchat", "other")
ALL_INTENTS: tuple[str, ...] = SHOPPING_INTENTS + SERVICE_INTENTS + OTHER_INTENTS
MODEL_VERSION = "tfidf-lr-1"


@dataclass(frozen=True)
class IntentPrediction:
    """The best intent, its probability, and the second best (for ambiguity checks)."""

    intent: str
    confidence: float
    runner_up: str = ""
    runner_up_confidence: float = 0.0


def read_labelled_csv(path: str | Path) -> list[tuple[str, str]]:
    """Rows of a CSV with ``utterance`` and ``intent`` columns (the Bitext format; extra columns ignored)."""
    path = Path(path)
    if not path.exists():
        raise FileNotFoundError(f"{path} not found: pass a CSV with columns utterance,intent "
                                "(e.g. ../shared/data/bitext-customer-service-intents/train.csv)")
    with path.open(newline="", encoding="utf-8") as handle:
        reader = csv.DictReader(handle)
        if not reader.fieldnames or "utterance" not in reader.fieldnames or "intent" not in reader.fieldnames:
            raise ValueError(f"{path}: needs the columns utterance,intent; found {reader.fieldnames}")
        return [(row["utterance"].strip(), row["intent"].strip()) for row in reader if row.get("utterance")]


class IntentClassifier:
    """TF-IDF + logistic regression over :data:`ALL_INTENTS`. Immutable after fitting; thread-safe to share."""

    def __init__(self, pipeline: object, data_hash: str) -> None:
        self.pipeline = pipeline
        self.data_hash = data_hash
        self.labels: tuple[str, ...] = tuple(str(c) for c in pipeline.classes_)  # type: ignore[attr-defined]

    @staticmethod
    def training_rows(bitext_train_csv: str | Path) -> list[tuple[str, str]]:
        """The exact training data: Bitext train rows + :func:`shopping_examples`."""
        return read_labelled_csv(bitext_train_csv) + shopping_examples()

    @classmethod
    def train(cls, rows: list[tuple[str, str]]) -> IntentClassifier:
        """Fit on (utterance, intent) rows. ~5-15 s on one core for 8k rows."""
        from sklearn.feature_extraction.text import TfidfVectorizer
        from sklearn.linear_model import LogisticRegression
        from sklearn.pipeline import FeatureUnion, Pipeline

        features = FeatureUnion([
            ("words", TfidfVectorizer(ngram_range=(1, 2), sublinear_tf=True, min_df=1, lowercase=True)),
            ("chars", TfidfVectorizer(analyzer="char_wb", ngram_range=(2, 5), sublinear_tf=True, min_df=2,
                                      lowercase=True)),
        ])
        pipeline = Pipeline([("features", features),
                             ("lr", LogisticRegression(C=20.0, max_iter=2000))])
        texts, labels = [t for t, _ in rows], [i for _, i in rows]
        pipeline.fit(texts, labels)
        return cls(pipeline, _hash_rows(rows))

    @classmethod
    def load_or_train(cls, bitext_train_csv: str | Path, cache_dir: str | Path) -> IntentClassifier:
        """Load the cached model for this training data, or train and cache it (atomic write)."""
        rows = cls.training_rows(bitext_train_csv)
        data_hash = _hash_rows(rows)
        cache_dir = Path(cache_dir)
        path = cache_dir / f"intents-{data_hash[:16]}.pkl"
        if path.exists():
            try:
                with path.open("rb") as handle:
                    model = pickle.load(handle)
                if isinstance(model, cls) and model.data_hash == data_hash:
                    return model
            except Exception:  # noqa: BLE001 - a corrupt cache is rebuilt, never fatal
                pass
        model = cls.train(rows)
        cache_dir.mkdir(parents=True, exist_ok=True)
        fd, tmp = tempfile.mkstemp(dir=cache_dir, suffix=".tmp")
        with os.fdopen(fd, "wb") as handle:
            pickle.dump(model, handle)
        os.replace(tmp, path)
        return model

    def predict(self, text: str) -> IntentPrediction:
        """The most likely intent of one message."""
        return self.predict_many([text])[0]

    def predict_many(self, texts: list[str]) -> list[IntentPrediction]:
        """Batch prediction (same order as ``texts``)."""
        probabilities = self.pipeline.predict_proba([t or "" for t in texts])  # type: ignore[attr-defined]
        out = []
        for row in probabilities:
            order = row.argsort()[::-1]
            out.append(IntentPrediction(str(self.labels[order[0]]), float(row[order[0]]),
                                        str(self.labels[order[1]]), float(row[order[1]])))
        return out


def _hash_rows(rows: list[tuple[str, str]]) -> str:
    digest = hashlib.sha256(MODEL_VERSION.encode())
    for text, intent in rows:
        digest.update(f"{text}\t{intent}\n".encode())
    return digest.hexdigest()


def default_bitext_train(data_root: str | Path | None = None) -> Path:
    """Where the Bitext train split usually is: ``<data_root>/bitext-customer-service-intents/train.csv``.

    ``data_root`` defaults to ``../shared/data`` relative to the working directory, then the project's
    own ``data/intents/bitext-train.csv`` if the lead vendors a copy.
    """
    candidates = [Path(data_root) / "bitext-customer-service-intents" / "train.csv"] if data_root else []
    candidates += [Path("../shared/data/bitext-customer-service-intents/train.csv"),
                   Path(__file__).resolve().parents[2] / "data" / "intents" / "bitext-train.csv"]
    for candidate in candidates:
        if candidate.exists():
            return candidate
    raise FileNotFoundError("Bitext train.csv not found; pass its path (…/bitext-customer-service-intents/train.csv) "
                            "or set SHOPASSIST_… data root; tried " + ", ".join(map(str, candidates)))
