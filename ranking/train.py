"""Fine-tune the recommender: the BERT user tower (LoRA adapter or top layers) plus the item projection.

Training examples are (user context -> next item) pairs. For a sequence ``i1 i2 ... in`` every prefix
``i1..it`` predicts ``i(t+1)``; the context is built by :func:`ranking.context.build_user_context`,
the same function serving calls. Sequences carry no queries, so for ``query_share`` of the examples a
*pseudo-query* (2-3 consecutive words of the target's title) is put in front, exactly as a served
query is ("query: ... | history"): the tower learns both forms it will be served.

The loss is a softmax over the WHOLE catalogue (:func:`catalogue_loss`): every other item is a
negative (which subsumes in-batch and "hard" negatives at these catalogue sizes: the hardest
negatives are in it), the user's own history is masked out as in the evaluation, and items the
shopper marked ``not_interested`` get ``negative_margin`` added to their logit (pushed down harder).
The item side is the frozen MiniLM vectors through a trained projection plus a residual per item id
(:mod:`ranking.heads`), re-applied to the whole catalogue every step (one 384 x 384 product), so the
item side learns without re-encoding any item text. The user vector mixes the tower with the history
mean (the gate is learnt).

Two stages: stage 1 trains only the heads for ``warm_heads_epochs`` over tower vectors of the examples
computed once (cheap: no BERT pass per step); stage 2 trains the LoRA tower with the heads, starting
from stage 1's best (which stays the answer unless the tower beats it on validation).

Convergence: every ``eval_every`` steps NDCG@10 on validation users (no query, full ranking, history
masked), the best step is kept (its weights restored at the end), training stops early after
``patience`` evaluations without improvement. The curve goes to ``curve.json`` / ``curve.png``
(matplotlib) and to TensorBoard (``tensorboard --logdir <model folder>`` shows every run's loss and
validation NDCG side by side). ``device``: ``auto`` (CUDA when torch sees it), ``cpu``, ``cuda``, ...

Example::

    enc = RecEncoder.load()
    examples = build_examples({"u1": ["a", "b", "c"]}, {"a": "gloves", "b": "goggles", "c": "mask"}, ["a", "b", "c"])
    items = enc.encode_items(["gloves", "goggles", "mask"])
    report, heads = fine_tune(RecEncoder.load(), examples, items, TrainConfig(max_steps=2, batch_size=2), Path("/tmp/run"))
"""
from __future__ import annotations

import json
import logging
import random
import time
from dataclasses import asdict, dataclass, field
from pathlib import Path

import numpy as np

from ranking.blend import ndcg10_from_ranks, target_ranks
from ranking.checkpoint import ContextSettings
from ranking.context import build_user_context
from ranking.encoder import RecEncoder, set_transformer
from ranking.heads import Heads

log = logging.getLogger(__name__)

LORA_TARGETS = r".*encoder\.layer\.({layers})\.(attention\.self\.(query|key|value)|attention\.output\.dense|intermediate\.dense|output\.dense)"


@dataclass
class TrainConfig:
    """Every training knob, with the default used for the reported numbers.

    Attributes:
        max_steps: optimiser steps; 0 = as many as ``epochs`` passes take.
        max_minutes: wall-clock cap for the optimiser loop; 0 = none. The run stops cleanly.
        epochs: passes over the examples (fractions allowed).
        batch_size: contexts per step (each scored against every item in the catalogue).
        learning_rate: AdamW peak rate of the tower (linear warm-up over ``warmup_ratio`` of the steps, at
            most ``warmup_steps_max``, then linear decay).
        head_learning_rate: peak rate of the item projection and the history gate.
        scale: inverse softmax temperature on cosines (as in MultipleNegativesRankingLoss).
        max_seq_length, words_per_item, context_items: how a context is written and cut.
        frozen_layers: the embeddings and the lowest ``frozen_layers`` BERT layers are not trained.
        adapter: ``lora`` (a peft LoRA adapter on the upper layers: a checkpoint of ~2 MB) or ``full``
            (the upper layers themselves: ~90 MB).
        lora_rank, lora_alpha: LoRA size and scaling.
        item_projection: train the item projection (else the frozen item vectors are used as they are).
        item_residual: train one residual vector per item (collaborative; items never seen get none).
        residual_learning_rate: peak rate of the item residuals.
        warm_heads_epochs: stage 1, before the tower is touched: train only the heads for this many epochs
            over cached tower vectors of the examples (cheap: no BERT pass per step); 0 = off.
        warm_heads_examples: at most this many examples are encoded for stage 1 (the rest wait for stage 2).
        warm_heads_batch: stage-1 batch size.
        stage2_head_scale: stage 2 trains the heads at this fraction of their rates (0 = frozen: only the
            tower adapts to the stage-1 heads).
        ease_lambda: L2 strength of the EASE item-item signal fitted beside the model (ranking.baselines.Ease).
        history_mix: mix the history mean into the user vector with a learnt gate.
        query_share: share of examples with a pseudo-query (train/serve identity for ``rerank``).
        negative_margin: logit bonus of ``not_interested`` items in the loss.
        eval_every: validation NDCG@10 every this many steps (and at step 0 and at the end).
        patience: stop after this many validations without a new best.
        pairs_per_user: at most this many (prefix -> next) examples per user, latest first; 0 = all.
        seed: shuffling and pseudo-query seed.
        torch_threads: CPU threads when training on the CPU.
        device: ``auto`` | ``cpu`` | ``cuda`` | ``cuda:N`` | ``mps``.
    """

    max_steps: int = 0
    max_minutes: float = 25.0
    epochs: float = 1.0
    batch_size: int = 32
    learning_rate: float = 5e-4
    head_learning_rate: float = 2e-3
    warmup_ratio: float = 0.05
    warmup_steps_max: int = 100
    scale: float = 20.0
    max_seq_length: int = 64
    words_per_item: int = 10
    context_items: int = 5
    frozen_layers: int = 2
    adapter: str = "lora"
    lora_rank: int = 16
    lora_alpha: int = 32
    item_projection: bool = True
    item_residual: bool = True
    residual_learning_rate: float = 3e-4
    warm_heads_epochs: float = 3.0
    warm_heads_examples: int = 40000
    warm_heads_batch: int = 256
    stage2_head_scale: float = 0.0
    ease_lambda: float = 100.0
    history_mix: bool = True
    query_share: float = 0.2
    negative_margin: float = 2.0
    eval_every: int = 100
    patience: int = 3
    pairs_per_user: int = 0
    seed: int = 42
    torch_threads: int = 2
    device: str = "auto"

    @property
    def context(self) -> ContextSettings:
        return ContextSettings(self.words_per_item, self.context_items, self.max_seq_length)


@dataclass
class TrainExample:
    """One example: context text, target index, masked history, the context's items (for the history mix)."""

    context: str
    target: int
    history: list[int]
    recent: list[int] = field(default_factory=list)
    recent_weights: list[float] = field(default_factory=list)
    negatives: list[int] = field(default_factory=list)
    weight: float = 1.0


@dataclass
class ValidationSet:
    """Validation users: histories (indices, chronological), their event weights, and targets."""

    histories: list[list[int]]
    targets: list[int]
    weights: list[list[float]] | None = None


@dataclass
class TrainReport:
    """What happened: steps, time, speed, the loss and validation curves, the best step."""

    steps: int
    seconds: float
    examples: int
    device: str
    losses: list[tuple[int, float]] = field(default_factory=list)
    validation: list[tuple[int, float]] = field(default_factory=list)
    best_step: int = 0
    best_ndcg10: float | None = None
    stopped_by: str = "max_steps"
    gate: float = 0.0
    warm_heads: list[tuple[float, float]] = field(default_factory=list)
    warm_heads_seconds: float = 0.0

    @property
    def steps_per_second(self) -> float:
        return self.steps / self.seconds if self.seconds > 0 else 0.0

    def to_dict(self) -> dict:
        out = asdict(self)
        out["steps_per_second"] = round(self.steps_per_second, 4)
        return out


def pseudo_query(text: str, rng: random.Random) -> str:
    """2-3 consecutive words from the start of an item's title: what a shopper might have typed for it."""
    title = text.split(".")[0]
    words = [w.strip(",;:()[]\"'") for w in title.split()[:8]]
    words = [w for w in words if w]
    if not words:
        return ""
    size = min(len(words), rng.choice((2, 3)))
    start = rng.randrange(0, len(words) - size + 1)
    return " ".join(words[start:start + size]).lower()


def build_examples(sequences: dict[str, list[str]], texts: dict[str, str], item_ids: list[str],
                   config: TrainConfig | None = None, users: list[str] | None = None,
                   weights: dict[str, list[float]] | None = None,
                   negatives: dict[str, list[str]] | None = None) -> list[TrainExample]:
    """Examples from every prefix of every chosen user's sequence, shuffled with ``config.seed``.

    Args:
        sequences: user -> item ids, oldest first.
        texts: item id -> text.
        item_ids: the vocabulary (indices refer to it).
        users: which users (default all).
        weights: user -> one event weight per sequence entry (shop events); None = all 1.
        negatives: user -> ``not_interested`` item ids (extra-hard negatives).
    """
    config = config or TrainConfig()
    index = {item: n for n, item in enumerate(item_ids)}
    rng = random.Random(config.seed)
    settings = config.context
    examples: list[TrainExample] = []
    for user in users if users is not None else list(sequences):
        seq = [index[i] for i in sequences[user]]
        wts = (weights or {}).get(user) or [1.0] * len(seq)
        negs = [index[i] for i in (negatives or {}).get(user, []) if i in index]
        positions = list(range(len(seq) - 1, 0, -1))
        if config.pairs_per_user:
            positions = positions[:config.pairs_per_user]
        for pos in positions:
            target = seq[pos]
            query = pseudo_query(texts[item_ids[target]], rng) if rng.random() < config.query_share else None
            ctx = build_user_context(query, seq[:pos], wts[:pos], lambda i: texts[item_ids[i]], settings)
            examples.append(TrainExample(ctx.text, target, sorted(set(seq[:pos])), ctx.items, ctx.weights,
                                         [n for n in negs if n != target], wts[pos]))
    rng.shuffle(examples)
    return examples


def validation_contexts(valid: ValidationSet, item_texts: list[str], settings: ContextSettings):
    """(texts, recent items, recent weights) of the validation users, without a query."""
    out = [build_user_context(None, h, valid.weights[n] if valid.weights else None, lambda i: item_texts[i], settings)
           for n, h in enumerate(valid.histories)]
    return [c.text for c in out], [c.items for c in out], [c.weights for c in out]


def resolve_device(name: str = "auto") -> str:
    import torch

    if name in ("", "auto", None):
        return "cuda" if torch.cuda.is_available() else "cpu"
    return name


def example_loss(encoder: RecEncoder, examples: list[TrainExample], item_vectors: np.ndarray,
                 scale: float = 20.0, heads: Heads | None = None, item_ids: list[str] | None = None) -> float:
    """Mean catalogue-softmax loss of ``examples`` without training (to check that training helped)."""
    heads = heads or Heads.identity()
    items = heads.items(item_vectors, item_ids)
    users = heads.user(encoder.encode([e.context for e in examples]), [e.recent for e in examples],
                       [e.recent_weights for e in examples], items)
    logits = scale * users @ items.T
    for row, e in enumerate(examples):
        logits[row, [h for h in e.history if h != e.target]] = -1e4
    logits -= logits.max(axis=1, keepdims=True)
    logp = logits - np.log(np.exp(logits).sum(axis=1, keepdims=True))
    return float(-np.mean([logp[row, e.target] for row, e in enumerate(examples)]))


def _apply_adapter(encoder: RecEncoder, config: TrainConfig) -> list:
    """Make the tower trainable as configured; returns its trainable parameters."""
    bert = encoder.model[0].auto_model
    for param in bert.parameters():
        param.requires_grad = False
    n_layers = len(bert.encoder.layer)
    layers = "|".join(str(n) for n in range(config.frozen_layers, n_layers))
    if config.adapter == "lora":
        from peft import LoraConfig, get_peft_model

        lora = LoraConfig(r=config.lora_rank, lora_alpha=config.lora_alpha, lora_dropout=0.05,
                          target_modules=LORA_TARGETS.format(layers=layers), bias="none")
        set_transformer(encoder.model, get_peft_model(bert, lora))
    elif config.adapter == "full":
        for layer in bert.encoder.layer[config.frozen_layers:]:
            for param in layer.parameters():
                param.requires_grad = True
    else:
        raise ValueError(f"adapter must be 'lora' or 'full', not {config.adapter!r}")
    return [p for p in encoder.model.parameters() if p.requires_grad]


def finish_adapter(encoder: RecEncoder, save_to: Path | None = None) -> None:
    """Save the LoRA adapter (if any) to ``save_to`` and merge it into the tower for fast inference."""
    model = encoder.model[0].auto_model
    if hasattr(model, "merge_and_unload"):
        if save_to is not None:
            model.save_pretrained(str(save_to))
        set_transformer(encoder.model, model.merge_and_unload())
    for param in encoder.model.parameters():
        param.requires_grad = False
    encoder.model.eval()


def _tower_vectors(encoder, torch, texts: list[str], batch: int = 128, progress: bool = False) -> np.ndarray:
    with torch.no_grad():
        return encoder.model.encode(texts, batch_size=batch, convert_to_numpy=True, normalize_embeddings=True,
                                    show_progress_bar=progress)


def _validate(encoder, heads_module, torch, items_raw, valid_ctx, valid: ValidationSet,
              tower: np.ndarray | None = None) -> float:
    texts, recent, weights = valid_ctx
    tower = _tower_vectors(encoder, torch, texts) if tower is None else tower
    with torch.no_grad():
        heads = heads_module.to_heads()
    items = heads.items(items_raw, heads.residual_ids)
    users = heads.user(tower, recent, weights, items)
    scores = users @ items.T
    return ndcg10_from_ranks(target_ranks(scores, valid.histories, valid.targets))


def _heads_module(torch, dim: int, config: TrainConfig, item_ids: list[str]):
    class HeadsModule(torch.nn.Module):
        def __init__(self):
            super().__init__()
            self.weight = torch.nn.Parameter(torch.zeros(dim, dim), requires_grad=config.item_projection)
            self.bias = torch.nn.Parameter(torch.zeros(dim), requires_grad=config.item_projection)
            self.residual = torch.nn.Parameter(torch.zeros(len(item_ids) if config.item_residual else 0, dim),
                                               requires_grad=config.item_residual)
            self.gate = torch.nn.Parameter(torch.tensor(0.5 if config.history_mix else 0.0),
                                           requires_grad=config.history_mix)
            self.decay = 0.5

        def items(self, raw):
            out = raw + raw @ self.weight.T + self.bias
            return torch.nn.functional.normalize(out + self.residual if config.item_residual else out, dim=-1)

        def user(self, tower, items, recent, recent_w):
            tower = torch.nn.functional.normalize(tower, dim=-1)
            if not config.history_mix:
                return tower
            mean = (recent_w[:, :, None] * items[recent.clamp(min=0)]).sum(dim=1)
            mean = torch.nn.functional.normalize(mean, dim=-1)
            return torch.nn.functional.normalize(tower + self.gate * mean, dim=-1)

        def to_heads(self) -> Heads:
            weight = self.weight.detach().cpu().numpy().astype(np.float32)
            bias = self.bias.detach().cpu().numpy().astype(np.float32)
            residual = self.residual.detach().cpu().numpy().astype(np.float32) if config.item_residual else None
            return Heads(weight if config.item_projection else None, bias if config.item_projection else None,
                         float(self.gate.detach().cpu()) if config.history_mix else 0.0, self.decay,
                         list(item_ids) if config.item_residual else None, residual)

    return HeadsModule()


def _batch_tensors(torch, batch: list[TrainExample], device: str, decay: float):
    width = max(1, max(len(e.recent) for e in batch))
    recent = torch.full((len(batch), width), -1, dtype=torch.long)
    weights = torch.zeros((len(batch), width))
    for row, e in enumerate(batch):
        n = len(e.recent)
        if n:
            recent[row, :n] = torch.tensor(e.recent)
            age = torch.arange(n - 1, -1, -1, dtype=torch.float32)
            weights[row, :n] = torch.tensor(e.recent_weights, dtype=torch.float32) * decay ** age
    return recent.to(device), weights.to(device)


def catalogue_loss(torch, logits, batch: list[TrainExample], margin: float):
    """Cross-entropy over all items; history (other than the target) masked; negatives pushed up by ``margin``;
    each example weighted by its target's event weight (a purchase teaches more than a view)."""
    target = torch.tensor([e.target for e in batch], device=logits.device)
    mask_rows, mask_cols, neg_rows, neg_cols = [], [], [], []
    for row, e in enumerate(batch):
        hist = [h for h in e.history if h != e.target]
        mask_rows += [row] * len(hist)
        mask_cols += hist
        neg_rows += [row] * len(e.negatives)
        neg_cols += e.negatives
    if mask_rows:
        logits = logits.index_put((torch.tensor(mask_rows, device=logits.device),
                                   torch.tensor(mask_cols, device=logits.device)),
                                  torch.tensor(-1e4, device=logits.device))
    if neg_rows and margin:
        bonus = torch.zeros_like(logits)
        bonus[torch.tensor(neg_rows), torch.tensor(neg_cols)] = margin
        logits = logits + bonus
    losses = torch.nn.functional.cross_entropy(logits, target, reduction="none")
    weight = torch.tensor([e.weight for e in batch], device=logits.device, dtype=losses.dtype)
    return (losses * weight).sum() / weight.sum()


def fine_tune(encoder: RecEncoder, examples: list[TrainExample], item_vectors: np.ndarray, config: TrainConfig,
              out_dir: Path, valid: ValidationSet | None = None, item_texts: list[str] | None = None,
              progress: bool = True, echo=print, item_ids: list[str] | None = None) -> tuple[TrainReport, Heads]:
    """Fine-tune ``encoder`` (the user tower, in place) and the heads; returns the report and the best heads.

    Args:
        encoder: the user tower (a fresh load: it is modified in place; a LoRA adapter stays attached
            until :func:`finish_adapter`).
        examples: from :func:`build_examples` (indices refer to rows of ``item_vectors``).
        item_vectors: frozen item-tower vectors, shape (n_items, dim).
        config: the knobs.
        out_dir: the run folder: ``curve.json``, ``curve.png`` and ``tensorboard/`` are written here.
        valid, item_texts: validation users and the item texts (for their contexts); without them there
            is no curve and the last step is kept.
        item_ids: the ids of ``item_vectors``' rows (the keys of the item residuals; default "0", "1", ...).
    """
    import torch

    if len(examples) < 2:
        raise ValueError("need at least two (context -> next item) examples; are the sequences empty?")
    device = resolve_device(config.device)
    if device == "cpu":
        torch.set_num_threads(config.torch_threads)
    torch.manual_seed(config.seed)
    out_dir.mkdir(parents=True, exist_ok=True)
    encoder.model.max_seq_length = config.max_seq_length
    tower_params = _apply_adapter(encoder, config)
    encoder.model.to(device)
    dim = item_vectors.shape[1]
    item_ids = list(item_ids) if item_ids is not None else [str(n) for n in range(len(item_vectors))]
    heads = _heads_module(torch, dim, config, item_ids).to(device)
    items_raw = torch.from_numpy(np.ascontiguousarray(item_vectors, dtype=np.float32)).to(device)
    valid_ctx = validation_contexts(valid, item_texts, config.context) if valid and item_texts else None
    report = TrainReport(0, 0.0, len(examples), device)
    if config.warm_heads_epochs > 0:
        _warm_heads(torch, encoder, heads, examples, items_raw, item_vectors, config, valid, valid_ctx, device,
                    report, progress, echo)
    batch_size = min(config.batch_size, len(examples))
    steps_per_epoch = max(1, len(examples) // batch_size)
    total = max(1, int(round(steps_per_epoch * config.epochs)))
    total = min(total, config.max_steps) if config.max_steps else total
    groups = [{"params": tower_params, "lr": config.learning_rate}]
    # after stage 1 the heads are trained already and stage-2 batches are smaller: a fraction of their rate
    groups += _head_groups(heads, config, config.stage2_head_scale if config.warm_heads_epochs > 0 else 1.0)
    head_params = [p for p in heads.parameters() if p.requires_grad]
    optimiser = torch.optim.AdamW(groups, weight_decay=0.01)
    # capped: on Video Games 5 % of an epoch is 366 steps, and early stopping ended the run inside the warm-up
    warmup = max(1, min(int(config.warmup_ratio * total), config.warmup_steps_max))
    scheduler = torch.optim.lr_scheduler.LambdaLR(
        optimiser, lambda s: (s + 1) / warmup if s < warmup else max(0.0, (total - s) / max(1, total - warmup)))
    writer = _writer(out_dir / "tensorboard")

    def snapshot():
        return ({k: v.detach().clone() for k, v in encoder.model.state_dict().items() if "lora_" in k}
                if config.adapter == "lora" else
                {k: v.detach().clone() for k, v in encoder.model.state_dict().items()},
                {k: v.detach().clone() for k, v in heads.state_dict().items()})

    def validate(step: int):
        encoder.model.eval()
        ndcg = _validate(encoder, heads, torch, item_vectors, valid_ctx, valid)
        encoder.model.train()
        report.validation.append((step, round(ndcg, 5)))
        if writer:
            writer.add_scalar("valid/ndcg@10", ndcg, step)
        return ndcg

    best, best_state, bad = -1.0, None, 0
    if valid_ctx:
        best, best_state = validate(0), snapshot()
        report.best_step, report.best_ndcg10 = 0, round(best, 5)
        echo(f"step 0: validation NDCG@10 {best:.4f} ({len(valid.targets)} users)")
    from tqdm import tqdm

    started = time.perf_counter()
    bar = tqdm(total=total, desc="fine-tuning", unit="step", disable=not progress)
    encoder.model.train()
    running, step = [], 0
    for step in range(1, total + 1):
        start = ((step - 1) * batch_size) % (steps_per_epoch * batch_size)
        batch = examples[start:start + batch_size]
        texts = [e.context for e in batch]
        features = encoder.model.preprocess(texts) if hasattr(encoder.model, "preprocess") else \
            encoder.model.tokenize(texts)
        features = {k: v.to(device) if hasattr(v, "to") else v for k, v in features.items()}
        tower = encoder.model(features)["sentence_embedding"]
        items = heads.items(items_raw)
        recent, recent_w = _batch_tensors(torch, batch, device, heads.decay)
        users = heads.user(tower, items, recent, recent_w)
        loss = catalogue_loss(torch, config.scale * users @ items.T, batch, config.negative_margin)
        optimiser.zero_grad(set_to_none=True)
        loss.backward()
        torch.nn.utils.clip_grad_norm_(tower_params + head_params, 1.0)
        optimiser.step()
        scheduler.step()
        running.append(float(loss.detach()))
        bar.update(1)
        if step % 10 == 0 or step == total:
            mean = float(np.mean(running))
            report.losses.append((step, round(mean, 4)))
            bar.set_postfix(loss=f"{mean:.3f}", best=f"{best:.4f}" if best >= 0 else "-")
            if writer:
                writer.add_scalar("train/loss", mean, step)
                writer.add_scalar("train/lr", scheduler.get_last_lr()[0], step)
                writer.add_scalar("train/gate", float(heads.gate.detach()), step)
            running = []
        out_of_time = config.max_minutes and time.perf_counter() - started > 60 * config.max_minutes
        if valid_ctx and (step % config.eval_every == 0 or step == total or out_of_time):
            ndcg = validate(step)
            if ndcg > best:
                best, best_state, bad = ndcg, snapshot(), 0
                report.best_step, report.best_ndcg10 = step, round(best, 5)
            else:
                bad += 1
            echo(f"step {step}: validation NDCG@10 {ndcg:.4f} (best {best:.4f} at step {report.best_step})")
            if bad >= config.patience:
                report.stopped_by = "early_stopping"
                break
        if out_of_time:
            report.stopped_by = "max_minutes"
            break
    bar.close()
    report.steps, report.seconds = step, time.perf_counter() - started
    if best_state is not None:
        tower_state, head_state = best_state
        encoder.model.load_state_dict(tower_state, strict=False)
        heads.load_state_dict(head_state)
    best_heads = heads.to_heads()
    report.gate = best_heads.gate
    if writer:
        writer.flush()
        writer.close()
    encoder.model.to("cpu")
    encoder.model.eval()
    write_curve(out_dir, report)
    return report, best_heads


def _head_groups(heads, config: TrainConfig, scale: float = 1.0) -> list[dict]:
    """Optimiser groups of the heads: projection and gate at the head rate, item residuals at their own
    (both times ``scale``)."""
    plain = [p for name, p in heads.named_parameters() if p.requires_grad and name != "residual"]
    groups = [{"params": plain, "lr": scale * config.head_learning_rate, "weight_decay": 0.0}] if plain else []
    if config.item_residual and heads.residual.numel():
        groups.append({"params": [heads.residual], "lr": scale * config.residual_learning_rate, "weight_decay": 0.0})
    return groups


def _warm_heads(torch, encoder, heads, examples: list[TrainExample], items_raw, item_vectors: np.ndarray,
                config: TrainConfig, valid: ValidationSet | None, valid_ctx, device: str, report: TrainReport,
                progress: bool, echo) -> None:
    """Stage 1: train only the heads over cached tower vectors (the tower as loaded; no BERT pass per step).

    Measured on Scientific: the heads need several epochs, which a tower pass per step cannot afford here.
    Cosine-decayed rates; validation every half epoch; the best heads are kept (step 0 = the untouched heads).
    """
    started = time.perf_counter()
    chosen = examples[:config.warm_heads_examples]
    echo(f"stage 1 (heads only): encoding {len(chosen):,} training contexts once ...")
    encoder.model.eval()
    tower = torch.from_numpy(_tower_vectors(encoder, torch, [e.context for e in chosen], progress=progress)).to(device)
    valid_tower = _tower_vectors(encoder, torch, valid_ctx[0]) if valid_ctx else None
    optimiser = torch.optim.AdamW(_head_groups(heads, config), weight_decay=0.0)
    batch = min(config.warm_heads_batch, len(chosen))
    per_epoch = max(1, len(chosen) // batch)
    total = max(1, int(round(config.warm_heads_epochs * per_epoch)))
    # cosine decay to 0: at a constant rate the validation jumped by ±0.01 between half epochs (docs/ranking.md)
    scheduler = torch.optim.lr_scheduler.LambdaLR(optimiser, lambda s: 0.5 * (1 + np.cos(np.pi * min(s, total) / total)))
    every = max(1, per_epoch // 2)
    rng = np.random.RandomState(config.seed)

    def check(step: int, best: float, state):
        ndcg = _validate(encoder, heads, torch, item_vectors, valid_ctx, valid, tower=valid_tower)
        report.warm_heads.append((round(step / per_epoch, 2), round(ndcg, 5)))
        echo(f"stage 1, epoch {step / per_epoch:.1f}: validation NDCG@10 {ndcg:.4f}")
        if ndcg > best:
            return ndcg, {k: v.detach().clone() for k, v in heads.state_dict().items()}
        return best, state

    best, state = check(0, -1.0, None) if valid_ctx else (-1.0, None)
    order = rng.permutation(len(chosen))
    for step in range(1, total + 1):
        position = (step - 1) % per_epoch
        if position == 0 and step > 1:
            order = rng.permutation(len(chosen))
        rows = order[position * batch:(position + 1) * batch]
        part = [chosen[n] for n in rows]
        items = heads.items(items_raw)
        recent, recent_w = _batch_tensors(torch, part, device, heads.decay)
        users = heads.user(tower[torch.from_numpy(rows).to(device)], items, recent, recent_w)
        loss = catalogue_loss(torch, config.scale * users @ items.T, part, config.negative_margin)
        optimiser.zero_grad(set_to_none=True)
        loss.backward()
        optimiser.step()
        scheduler.step()
        if valid_ctx and (step % every == 0 or step == total):
            best, state = check(step, best, state)
    if state is not None:
        heads.load_state_dict(state)
    report.warm_heads_seconds = round(time.perf_counter() - started, 1)
    echo(f"stage 1 done in {report.warm_heads_seconds / 60:.1f} min; best validation NDCG@10 {best:.4f}")


def _writer(folder: Path):
    try:
        from torch.utils.tensorboard import SummaryWriter
    except ImportError:  # tensorboard not installed: the curve still goes to curve.json / curve.png
        log.warning("tensorboard is not installed: no TensorBoard log (pip install tensorboard)")
        return None
    return SummaryWriter(log_dir=str(folder))


def write_curve(out_dir: Path, report: TrainReport) -> None:
    """``curve.json`` and ``curve.png``: training loss and validation NDCG@10 against the step."""
    (out_dir / "curve.json").write_text(json.dumps({"loss": report.losses, "validation_ndcg10": report.validation,
                                                    "best_step": report.best_step}, indent=1))
    try:
        import matplotlib

        matplotlib.use("Agg")
        import matplotlib.pyplot as plt
    except ImportError:  # pragma: no cover - matplotlib is a dependency
        return
    fig, ax = plt.subplots(figsize=(7, 4))
    if report.losses:
        ax.plot(*zip(*report.losses), color="tab:blue", label="training loss")
    ax.set_xlabel("step")
    ax.set_ylabel("training loss (catalogue softmax)", color="tab:blue")
    if report.validation:
        ax2 = ax.twinx()
        ax2.plot(*zip(*report.validation), "o-", color="tab:red", label="validation NDCG@10")
        ax2.axvline(report.best_step, color="tab:red", linestyle=":", linewidth=1)
        ax2.set_ylabel("validation NDCG@10", color="tab:red")
    ax.set_title(f"best step {report.best_step} (NDCG@10 {report.best_ndcg10})")
    fig.tight_layout()
    fig.savefig(out_dir / "curve.png", dpi=100)
    plt.close(fig)
