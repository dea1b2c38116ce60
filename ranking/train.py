"""Fine-tune the recommender's BERT encoder on behaviour sequences (sentence-transformers Trainer).

Training examples are (user context -> next item) pairs. Every training user contributes several:
for a sequence ``i1 i2 ... in`` the prefixes ``i1..it`` (t >= 1) each predict ``i(t+1)``; the context
text is built exactly as at serving time (:func:`ranking.encoder.context_text`, newest first).

Two towers, one of them frozen. Items are embedded once by the packaged MiniLM (the same vectors the
retrieval index holds); the *user tower*, a copy of MiniLM, is fine-tuned to map a context into that
item space. Because the item side is fixed, the loss (:class:`CatalogSoftmaxLoss`) is a softmax over
the WHOLE catalogue — every other item is a negative, not just the batch's — with the user's own
history masked out, exactly as in the evaluation. On a CPU this is the difference that matters: a
step costs one forward/backward pass over short contexts only, and each step sees thousands of
negatives. The lowest ``frozen_layers`` BERT layers (and the embeddings) are frozen too, which
roughly halves the backward pass.

It runs on the GPU when torch sees one, otherwise on ``torch_threads`` CPU threads. ``max_steps``
caps the steps and ``max_minutes`` caps the wall clock (the trainer stops cleanly at whichever comes
first), so the default run fits the 20-minute budget on a 2-core CPU.

Example::

    enc = RecEncoder.load()
    ids = ["a", "b", "c"]
    examples = build_examples({"u1": ids}, {"a": "gloves", "b": "goggles", "c": "mask"}, ids)
    items = RecEncoder.load().encode_items(["gloves", "goggles", "mask"])
    report = fine_tune(enc, examples, items, TrainConfig(max_steps=2, batch_size=2), out_dir=Path("/tmp/run"))
    report.steps, report.steps_per_second
"""
from __future__ import annotations

import logging
import random
import time
from dataclasses import asdict, dataclass, field
from pathlib import Path

import numpy as np

from ranking.encoder import RecEncoder, context_text

log = logging.getLogger(__name__)


@dataclass
class TrainConfig:
    """Every training knob, with the default used for the reported numbers.

    Attributes:
        max_steps: optimiser steps (fewer when ``epochs`` passes over the examples come first; the
            pipeline treats 0 as "do not train").
        max_minutes: wall-clock cap for the optimiser loop; 0 = none. The run stops cleanly.
        epochs: passes over the examples when ``max_steps`` does not stop it first.
        batch_size: contexts per step (each is scored against every item in the catalogue).
        learning_rate: AdamW peak rate (linear warm-up over ``warmup_ratio`` of the steps, then decay).
        scale: softmax temperature inverse applied to cosine similarities (as in MNRL).
        max_seq_length: token cap for a context.
        words_per_item, context_items: how a context is written (see ``ranking.encoder.context_text``).
        frozen_layers: the embeddings and this many of the 6 BERT layers stay fixed.
        pairs_per_user: at most this many (prefix -> next) examples per user, latest first; 0 = all.
        seed: shuffling seed.
        torch_threads: CPU threads when there is no GPU.
    """

    max_steps: int = 400
    max_minutes: float = 18.0
    epochs: int = 1
    batch_size: int = 32
    learning_rate: float = 1e-4
    warmup_ratio: float = 0.05
    scale: float = 20.0
    max_seq_length: int = 64
    words_per_item: int = 10
    context_items: int = 5
    frozen_layers: int = 2
    pairs_per_user: int = 0
    seed: int = 42
    torch_threads: int = 2


@dataclass
class TrainExample:
    """One (context -> next item) example: the context text, the target index, the masked history indices."""

    context: str
    target: int
    history: list[int]


@dataclass
class TrainReport:
    """What happened: steps, time, speed and the logged loss curve."""

    steps: int
    seconds: float
    examples: int
    device: str
    losses: list[tuple[int, float]] = field(default_factory=list)
    stopped_by: str = "max_steps"

    @property
    def steps_per_second(self) -> float:
        return self.steps / self.seconds if self.seconds > 0 else 0.0

    def to_dict(self) -> dict:
        out = asdict(self)
        out["steps_per_second"] = round(self.steps_per_second, 4)
        return out


def build_examples(sequences: dict[str, list[str]], texts: dict[str, str], item_ids: list[str],
                   config: TrainConfig | None = None, users: list[str] | None = None) -> list[TrainExample]:
    """Examples from every prefix of every chosen user's sequence, shuffled with ``config.seed``."""
    config = config or TrainConfig()
    index = {item: n for n, item in enumerate(item_ids)}
    examples: list[TrainExample] = []
    for user in users if users is not None else list(sequences):
        seq = sequences[user]
        positions = list(range(len(seq) - 1, 0, -1))
        if config.pairs_per_user:
            positions = positions[:config.pairs_per_user]
        for pos in positions:
            history = seq[:pos]
            ctx = context_text(None, [texts[i] for i in history[-config.context_items:]],
                               config.words_per_item, config.context_items)
            examples.append(TrainExample(ctx, index[seq[pos]], sorted({index[i] for i in history})))
    random.Random(config.seed).shuffle(examples)
    return examples


def _labels(examples: list[TrainExample]) -> list[list[int]]:
    """Fixed-width label rows: target, then history indices, padded with -1 (the collator stacks them)."""
    width = 1 + max(len(e.history) for e in examples)
    return [[e.target] + e.history + [-1] * (width - 1 - len(e.history)) for e in examples]


def make_loss(model, item_vectors: np.ndarray, scale: float):
    """A sentence-transformers loss: softmax over all items, history masked (see the module docstring)."""
    import torch

    class CatalogSoftmaxLoss(torch.nn.Module):
        def __init__(self):
            super().__init__()
            self.model = model
            self.register_buffer("items", torch.from_numpy(np.ascontiguousarray(item_vectors)))
            self.scale = scale

        def forward(self, sentence_features, labels):
            user = self.model(sentence_features[0])["sentence_embedding"]
            user = torch.nn.functional.normalize(user, dim=-1)
            logits = self.scale * user @ self.items.to(user.device).T
            target, history = labels[:, 0], labels[:, 1:]
            mask = torch.zeros_like(logits, dtype=torch.bool)
            rows = torch.arange(len(labels), device=logits.device)[:, None].expand_as(history)
            keep = (history >= 0) & (history != target[:, None])
            mask[rows[keep], history[keep]] = True
            return torch.nn.functional.cross_entropy(logits.masked_fill(mask, -1e4), target)

    return CatalogSoftmaxLoss()


def example_loss(encoder: RecEncoder, examples: list[TrainExample], item_vectors: np.ndarray,
                 scale: float = 20.0) -> float:
    """Mean catalogue-softmax loss of ``examples`` without training (to check that training helped)."""
    users = encoder.encode([e.context for e in examples])
    logits = scale * users @ item_vectors.T
    for row, e in enumerate(examples):
        logits[row, [h for h in e.history if h != e.target]] = -1e4
    logits -= logits.max(axis=1, keepdims=True)
    logp = logits - np.log(np.exp(logits).sum(axis=1, keepdims=True))
    return float(-np.mean([logp[row, e.target] for row, e in enumerate(examples)]))


def _device() -> str:
    import torch

    return "cuda" if torch.cuda.is_available() else "cpu"


def _freeze(model, frozen_layers: int) -> None:
    bert = model[0].auto_model
    for param in bert.embeddings.parameters():
        param.requires_grad = False
    for layer in bert.encoder.layer[:frozen_layers]:
        for param in layer.parameters():
            param.requires_grad = False


def fine_tune(encoder: RecEncoder, examples: list[TrainExample], item_vectors: np.ndarray, config: TrainConfig,
              out_dir: Path, progress: bool = True) -> TrainReport:
    """Fine-tune ``encoder.model`` (the user tower) in place against fixed ``item_vectors``.

    Args:
        encoder: the user tower to train (modified in place).
        examples: from :func:`build_examples` (indices refer to rows of ``item_vectors``).
        item_vectors: L2-normalised item vectors from the *untrained* encoder, shape (n_items, dim).
        config: the knobs; ``config.max_seq_length`` is applied to the model.
        out_dir: scratch folder for the trainer (checkpoint saving is off; nothing big is written).
        progress: show the trainer's progress bar (steps, elapsed, ETA).
    """
    import torch
    from datasets import Dataset
    from sentence_transformers import SentenceTransformerTrainer, SentenceTransformerTrainingArguments
    from transformers import TrainerCallback

    if len(examples) < 2:
        raise ValueError("need at least two (context -> next item) examples; are the sequences empty?")
    device = _device()
    if device == "cpu":
        torch.set_num_threads(config.torch_threads)
    encoder.model.to(device)
    encoder.model.max_seq_length = config.max_seq_length
    _freeze(encoder.model, config.frozen_layers)
    batch_size = min(config.batch_size, len(examples))
    steps_per_epoch = max(1, len(examples) // batch_size)
    max_steps = min(config.max_steps, steps_per_epoch * config.epochs) if config.max_steps else steps_per_epoch
    losses: list[tuple[int, float]] = []
    state = {"stopped_by": "max_steps", "start": time.perf_counter()}

    class _Watch(TrainerCallback):
        def on_train_begin(self, args, st, control, **kw):
            state["start"] = time.perf_counter()

        def on_log(self, args, st, control, logs=None, **kw):
            if logs and "loss" in logs:
                losses.append((st.global_step, float(logs["loss"])))

        def on_step_end(self, args, st, control, **kw):
            if config.max_minutes and time.perf_counter() - state["start"] > 60 * config.max_minutes:
                state["stopped_by"] = "max_minutes"
                control.should_training_stop = True

    dataset = Dataset.from_dict({"context": [e.context for e in examples], "label": _labels(examples)})
    args = SentenceTransformerTrainingArguments(
        output_dir=str(out_dir), max_steps=max_steps, per_device_train_batch_size=batch_size,
        learning_rate=config.learning_rate, warmup_ratio=config.warmup_ratio, seed=config.seed,
        logging_steps=max(1, max_steps // 25), save_strategy="no", report_to=[], disable_tqdm=not progress,
        dataloader_num_workers=0, use_cpu=device == "cpu", dataloader_drop_last=True)
    loss = make_loss(encoder.model, item_vectors, config.scale)
    trainer = SentenceTransformerTrainer(model=encoder.model, args=args, train_dataset=dataset, loss=loss,
                                         callbacks=[_Watch()])
    started = time.perf_counter()
    result = trainer.train()
    seconds = time.perf_counter() - started
    for param in encoder.model.parameters():
        param.requires_grad = True
    encoder.model.eval()
    return TrainReport(steps=int(result.global_step), seconds=seconds, examples=len(examples), device=device,
                       losses=losses, stopped_by=state["stopped_by"])
