"""A model that writes names, end to end: what ``numnet train --dataset names`` does, as library functions.

A character-level model reads a name so far and scores every possible next character (numnet.text):

    lstm:         Embedding(27, 32) -> LSTM(32, 128) -> Dense(128, 27)
    transformer:  Embedding(27, 64) -> PositionalEmbedding(16, 64)
                  -> 2 × [Residual(LayerNorm, causal MultiHeadSelfAttention(64, 4 heads)),
                         Residual(LayerNorm, Dense(64, 256), ReLU, Dense(256, 64))]
                  -> LayerNorm -> Dense(64, 27)

Both are trained with Adam on the cross-entropy of every next character (the padding ignored), their
gradients clipped to a global norm of 1, and the epoch with the lowest validation loss is kept. The run
reports the test loss in nats per character beside the bigram's (numnet.bigram) on the same split, and
samples new names (numnet.sampling).
"""

import json
import time
from dataclasses import asdict, dataclass, field, replace
from pathlib import Path

import numpy as np

from ._files import atomic_write
from .bigram import Bigram
from .callbacks import EarlyStopping
from .datasets import load_names
from .layers import LSTM, Dense, Embedding, LayerNorm, MultiHeadSelfAttention, PositionalEmbedding, ReLU, Residual
from .losses import CrossEntropy
from .model import Sequential
from .optimizers import Adam
from .runs import default_run_folder, write_model_and_history
from .sampling import sample, share_new
from .text import IGNORE, Vocabulary, encode_words

NAMES_MODELS = ("lstm", "transformer")
# per-model defaults for the settings left unset (None)
MODEL_DEFAULTS = {"lstm": {"epochs": 12, "lr": 3e-3}, "transformer": {"epochs": 15, "lr": 1e-3}}
#: names sampled after training: written to samples.txt, and checked against the training list
SAMPLES = 200


@dataclass
class NamesConfig:
    """Everything that defines a names run (all of it is saved in the run folder)."""

    dataset: str = "names"
    model: str = "lstm"
    embedding_dim: int = 32  # lstm
    hidden: int = 128  # lstm
    dim: int = 64  # transformer
    blocks: int = 2  # transformer
    heads: int = 4  # transformer
    max_len: int = 16  # the longest input read: names of up to max_len − 1 letters
    epochs: int | None = None
    batch_size: int = 32
    lr: float | None = None
    clip_norm: float = 1.0
    patience: int = 3  # stop after this many epochs without a better validation loss
    seed: int = 0
    out: str | None = None
    verbose: int = 1


@dataclass
class NamesResult:
    folder: Path
    model: Sequential
    history: dict
    test_loss: float
    bigram_test_loss: float
    samples: list
    share_new: float
    seconds: float
    interrupted: bool
    files: list = field(default_factory=list)


def build_lstm(vocabulary_size, embedding_dim=32, hidden=128, seed=0):
    """Token indices (N, T) -> Embedding -> LSTM -> Dense scores (N, T, vocabulary_size)."""
    rng = np.random.default_rng(seed)
    return Sequential([
        Embedding(vocabulary_size, embedding_dim, rng=rng),
        LSTM(embedding_dim, hidden, rng=rng),
        Dense(hidden, vocabulary_size, rng=rng),
    ])


def build_transformer(vocabulary_size, dim=64, blocks=2, heads=4, max_len=16, seed=0):
    """Token indices (N, T ≤ max_len) -> Embedding + PositionalEmbedding -> ``blocks`` pre-norm transformer
    blocks (causal self-attention, then a 4·dim ReLU MLP, each a Residual) -> LayerNorm -> Dense scores."""
    rng = np.random.default_rng(seed)
    layers = [Embedding(vocabulary_size, dim, rng=rng), PositionalEmbedding(max_len, dim, rng=rng)]
    for _ in range(blocks):
        layers += [
            Residual([LayerNorm(dim), MultiHeadSelfAttention(dim, heads, causal=True, rng=rng)]),
            Residual([LayerNorm(dim), Dense(dim, 4 * dim, rng=rng), ReLU(), Dense(4 * dim, dim, rng=rng)]),
        ]
    return Sequential(layers + [LayerNorm(dim), Dense(dim, vocabulary_size, rng=rng)])


def build_names_model(config, vocabulary_size):
    if config.model == "lstm":
        return build_lstm(vocabulary_size, config.embedding_dim, config.hidden, config.seed)
    return build_transformer(vocabulary_size, config.dim, config.blocks, config.heads, config.max_len, config.seed)


def with_defaults(config):
    """``config`` checked, with its model's defaults filled in for the settings left unset (None)."""
    if config.model not in NAMES_MODELS:
        raise ValueError(f"unknown model {config.model!r} for --dataset names; expected one of {', '.join(NAMES_MODELS)}")
    return replace(config, **{k: v for k, v in MODEL_DEFAULTS[config.model].items() if getattr(config, k) is None})


def train_names(config, resume=False):
    """Train the names model described by ``config``, write the run folder, and return a NamesResult.

    The run folder gets model.safetensors, history.csv, config.json, curves.png and samples.txt
    (SAMPLES new names, one per line), and a checkpoint after every epoch; with ``resume=True``
    training continues from it, or starts fresh when there is none.
    """
    config = with_defaults(config)
    vocabulary = Vocabulary()
    train, validation, test = load_names()
    longest = max(len(name) for name in train + validation + test)
    if longest + 1 > config.max_len:
        raise ValueError(f"max_len must exceed the longest name ({longest} letters). Received: max_len={config.max_len}")
    (x_train, y_train), validation_data, (x_test, y_test) = (encode_words(names, vocabulary) for names in (train, validation, test))
    model = build_names_model(config, len(vocabulary))
    loss = CrossEntropy(ignore_index=IGNORE)
    folder = Path(config.out) if config.out else default_run_folder()

    started = time.perf_counter()
    with atomic_write(folder / "config.json", "w") as file:  # first, so that --resume finds the settings
        json.dump({"config": asdict(config)}, file, indent=2)
    history = model.fit(
        x_train, y_train, loss=loss, optimizer=Adam(config.lr), epochs=config.epochs, batch_size=config.batch_size,
        seed=config.seed, validation_data=validation_data, metrics=[], verbose=config.verbose,
        callbacks=[EarlyStopping("val_loss", patience=config.patience, restore_best_weights=True)],
        clip_norm=config.clip_norm, checkpoint_dir=folder / "checkpoints", resume=resume,
    )
    seconds = time.perf_counter() - started

    test_loss = model.evaluate(x_test, y_test, loss=loss, metrics=[])["loss"]
    bigram_test_loss = Bigram(vocabulary).fit(train).loss(test)
    model.metadata = {"dataset": "names", "vocabulary": vocabulary.symbols, "max_len": config.max_len}
    names = sample(model, SAMPLES, rng=config.seed)
    novel = share_new(names, train)
    model.metadata.update({
        "test_loss": test_loss,
        "bigram_test_loss": bigram_test_loss,
        "share_of_samples_not_in_training_names": novel,
        "config": asdict(config),
    })

    files = write_model_and_history(folder, model, history.history) + [folder / "samples.txt"]
    with atomic_write(folder / "samples.txt", "w") as file:
        file.write("".join(name + "\n" for name in names))
    return NamesResult(folder, model, history.history, test_loss, bigram_test_loss, names, novel, seconds, history.interrupted, files)


def saved_names_config(folder):
    """The NamesConfig stored in a run folder's config.json; None when there is none or it is not a names run."""
    path = Path(folder) / "config.json"
    if not path.is_file():
        return None
    try:
        saved = json.loads(path.read_text())["config"]
    except (ValueError, KeyError, TypeError) as error:
        raise ValueError(f"{path}: not a numnet run configuration ({error})") from None
    if not isinstance(saved, dict) or saved.get("dataset") != "names":
        return None
    try:
        return NamesConfig(**saved)
    except TypeError as error:
        raise ValueError(f"{path}: not a names run configuration ({error})") from None
