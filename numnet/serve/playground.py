"""Playground sessions: a small network learning a two-class data set in the plane, step by step.

A session holds its data (numnet.datasets.planar), a Sequential of Dense layers, a CrossEntropy
loss over two classes and an optimizer, and trains them one mini-batch at a time with the
library's own passes: forward, loss.value_and_gradient, backward, optimizer.step. Playing runs
batches in a background thread; after each batch of work a snapshot (losses, accuracies, the
decision boundary and each hidden unit's output over the plane) is published for the page.

Sessions are bounded (points, hidden layers, units per layer, epochs of play, sessions at once)
and a session that nobody has asked about or watched for ``idle_timeout`` seconds is freed.
"""

import json
import math
import secrets
import tempfile
import threading
import time
from dataclasses import asdict, dataclass, fields
from pathlib import Path

import numpy as np

from .. import validation
from ..datasets.planar import EXTENT, PLANAR_DATASETS, planar_dataset
from ..functional import softmax
from ..layers import Dense
from ..losses import CrossEntropy
from ..model import Sequential
from ..optimizers import SGD, Adagrad, Adam, RMSprop
from .. import initializers
from ..runs import ACTIVATIONS

MAX_POINTS = 2000
MAX_HIDDEN_LAYERS = 6
MAX_UNITS = 8
MAX_LR = 10.0
MAX_L2 = 1.0
#: playing stops by itself after this many epochs (a forgotten page should not train for ever)
MAX_EPOCHS = 10_000
#: Step trains at most this many batches per request
MAX_STEP_BATCHES = 1000
#: the optimizers offered; each applies L2 as weight decay through the gradient, g + λw
OPTIMIZERS = {"sgd": SGD, "adam": Adam, "rmsprop": RMSprop, "adagrad": Adagrad}
#: points per side of the grid over [−EXTENT, EXTENT]² on which the boundary is drawn
GRID = 40
#: every UNIT_STRIDE-th grid point per side is kept for the units' own maps (20×20)
UNIT_STRIDE = 2
#: seconds of training between two looks at the lock and the clock while playing
TRAIN_SLICE = 0.02
#: seconds between two published snapshots while playing
SNAPSHOT_INTERVAL = 0.1
#: loss curve points kept; beyond this every other one is dropped
HISTORY_POINTS = 500


@dataclass(frozen=True)
class PlaygroundConfig:
    """The settings of a playground session (all of them JSON-able). The defaults are TensorFlow
    playground's, but for Adam in place of plain SGD: it separates every data set but the spirals
    in a few dozen epochs."""

    dataset: str = "circles"
    noise: float = 0.0
    test_fraction: float = 0.5
    points: int = 500
    hidden: tuple = (4, 2)
    activation: str = "tanh"
    optimizer: str = "adam"
    lr: float = 0.03
    batch_size: int = 10
    l2: float = 0.0
    seed: int = 0

    @classmethod
    def from_json(cls, data):
        """A checked config from a JSON object; missing settings take their defaults. ValueError names
        the first bad or unknown setting and what was expected."""
        if not isinstance(data, dict):
            raise ValueError(f"playground settings must be a JSON object. Received: {type(data).__name__}")
        names = [f.name for f in fields(cls)]
        unknown = sorted(set(data) - set(names))
        if unknown:
            raise ValueError(f"unknown playground setting {unknown[0]!r}; expected some of {', '.join(names)}")
        settings = {**asdict(cls()), **data}
        owner = "playground"
        points = validation.number("points", settings["points"], 10, MAX_POINTS, integer=True, owner=owner)
        test_fraction = validation.number("test_fraction", settings["test_fraction"], 0.1, 0.9, owner=owner)
        hidden = settings["hidden"]
        if not isinstance(hidden, (list, tuple)) or len(hidden) > MAX_HIDDEN_LAYERS:
            raise ValueError(
                f"{owner}: hidden must be a list of at most {MAX_HIDDEN_LAYERS} layer sizes. Received: hidden={hidden!r}"
            )
        hidden = tuple(validation.number("hidden units", units, 1, MAX_UNITS, integer=True, owner=owner) for units in hidden)
        training_points = points - round(points * test_fraction)
        return cls(
            dataset=validation.one_of("dataset", settings["dataset"], PLANAR_DATASETS, owner),
            noise=validation.number("noise", settings["noise"], 0, 0.5, owner=owner),
            test_fraction=test_fraction,
            points=points,
            hidden=hidden,
            activation=validation.one_of("activation", settings["activation"], ACTIVATIONS, owner),
            optimizer=validation.one_of("optimizer", settings["optimizer"], OPTIMIZERS, owner),
            lr=validation.number("lr", settings["lr"], 0, MAX_LR, low_inclusive=False, owner=owner),
            batch_size=validation.number("batch_size", settings["batch_size"], 1, training_points, integer=True, owner=owner),
            l2=validation.number("l2", settings["l2"], 0, MAX_L2, owner=owner),
            seed=validation.number("seed", settings["seed"], 0, 2**32 - 1, integer=True, owner=owner),
        )

    def to_json(self):
        return {**asdict(self), "hidden": list(self.hidden)}


def limits():
    """The bounds and choices of the settings, for the page and for scripts."""
    return {
        "points": [10, MAX_POINTS], "test_fraction": [0.1, 0.9], "noise": [0, 0.5], "hidden_layers": [0, MAX_HIDDEN_LAYERS],
        "units": [1, MAX_UNITS], "lr": [0, MAX_LR], "l2": [0, MAX_L2], "max_epochs": MAX_EPOCHS,
        "max_step_batches": MAX_STEP_BATCHES, "datasets": list(PLANAR_DATASETS), "activations": list(ACTIVATIONS),
        "optimizers": list(OPTIMIZERS),
    }


def layer_specs(config):
    """The network as [(layer class, keyword arguments)]: per hidden size a Dense (initialised for the
    activation that follows it) and the activation, then a Dense with two outputs, the classes' logits."""
    specs, width = [], 2
    activation = ACTIVATIONS[config.activation]
    for units in config.hidden:
        specs += [(Dense, {"in_features": width, "out_features": units, "init": initializers.for_activation(activation.__name__)}), (activation, {})]
        width = units
    specs.append((Dense, {"in_features": width, "out_features": 2}))
    return specs


def build_network(config):
    """The Sequential of ``layer_specs``, its weights drawn from one generator seeded with ``config.seed``."""
    rng = np.random.default_rng(config.seed)
    return Sequential([cls(**kwargs, rng=rng) if cls is Dense else cls(**kwargs) for cls, kwargs in layer_specs(config)])


def build_optimizer(config):
    return OPTIMIZERS[config.optimizer](config.lr, weight_decay=config.l2)


def _grid():
    """The GRID × GRID points over the plane, row by row from the top (x₂ = EXTENT) down, left to right."""
    axis = np.linspace(-EXTENT, EXTENT, GRID, dtype=np.float32)
    x1, x2 = np.meshgrid(axis, axis[::-1])
    return np.stack([x1.ravel(), x2.ravel()], axis=1)


class SessionError(RuntimeError):
    """A request the session cannot follow in its present state (e.g. playing after training diverged)."""


class Session:
    """One playground: data, network, optimizer, the training position, and the latest snapshot.

    Every method may be called from any thread; the lock keeps training and snapshots apart.
    """

    def __init__(self, config, clock=time.monotonic):
        self.id = secrets.token_urlsafe(12)
        self.config = config
        (self.x_train, self.y_train), (self.x_test, self.y_test) = planar_dataset(
            config.dataset, config.points, config.noise, config.test_fraction, config.seed
        )
        self.model = build_network(config)
        self.optimizer = build_optimizer(config)
        self.loss = CrossEntropy()
        self._order_rng = np.random.default_rng(config.seed)
        self._order, self._position = None, 0
        self.steps, self.epochs = 0, 0
        self.history = {"step": [], "train_loss": [], "test_loss": []}
        self.state, self.message = "paused", None
        self.metrics = {}
        self.version, self.snapshot_json = 0, None
        self.lock = threading.RLock()
        self._clock = clock
        self.last_seen = clock()
        self.watchers = 0
        self.closed = False
        self._playing = threading.Event()
        self._thread = None
        self._grid = _grid()
        with self.lock:
            self._publish()

    # -- training ---------------------------------------------------------------------------------

    def _train_batch(self):
        """One mini-batch step; False (and state "diverged") when the loss stops being finite."""
        n = len(self.x_train)
        if self._order is None or self._position >= n:
            self._order, self._position = self._order_rng.permutation(n), 0
        index = self._order[self._position : self._position + self.config.batch_size]
        self._position += len(index)
        x, y = self.x_train[index], self.y_train[index]
        with np.errstate(over="ignore", invalid="ignore"):  # a diverging run is reported below, not warned about
            out = self.model.forward(x, training=True)
            value, grad = self.loss.value_and_gradient(y, out)
            if math.isfinite(value):
                self.model.backward(grad, input_grad=False)
                self.optimizer.step(self.model)
        if not math.isfinite(value):
            self._stop("diverged", f"the loss became {value} at step {self.steps + 1}: training diverged; "
                                   f"lower the learning rate (now {self.config.lr:g}) and reset")
            return False
        self.steps += 1
        if self._position >= n:
            self.epochs += 1
        return True

    def _stop(self, state, message=None):
        self._playing.clear()
        self.state, self.message = state, message

    def step(self, batches=1):
        """Pause if playing, then train ``batches`` mini-batches (1 to MAX_STEP_BATCHES); return the snapshot."""
        batches = validation.number("batches", batches, 1, MAX_STEP_BATCHES, integer=True, owner="step")
        self.pause()
        with self.lock:
            if self.state == "diverged":
                raise SessionError(self.message)
            for _ in range(batches):
                if not self._train_batch():
                    break
            self._publish()
            return self.snapshot_json

    def play(self):
        """Train in a background thread until paused, diverged, closed, or MAX_EPOCHS is reached."""
        with self.lock:
            if self.state == "diverged":
                raise SessionError(self.message)
            if self.closed or self._playing.is_set():
                return
            if self.epochs >= MAX_EPOCHS:
                raise SessionError(f"this session has trained {MAX_EPOCHS} epochs, the most a session may; reset to start again")
            self._playing.set()
            self.state, self.message = "playing", None
            self._thread = threading.Thread(target=self._play, name=f"numnet-playground-{self.id[:6]}", daemon=True)
            self._thread.start()
            self._publish()

    def _play(self):
        published = time.perf_counter()
        while self._playing.is_set():
            with self.lock:
                if not self._playing.is_set():
                    break
                end = time.perf_counter() + TRAIN_SLICE
                while self.epochs < MAX_EPOCHS and self._train_batch() and time.perf_counter() < end:
                    pass
                if self.state == "playing" and self.epochs >= MAX_EPOCHS:
                    self._stop("paused", f"paused after {MAX_EPOCHS} epochs, the most a session may train")
                if not self._playing.is_set() or time.perf_counter() - published >= SNAPSHOT_INTERVAL:
                    self._publish()
                    published = time.perf_counter()
            time.sleep(0.001)  # let the request threads have the lock

    def pause(self):
        """Stop playing (after the batch under way) and publish where training stands."""
        self._playing.clear()
        thread = self._thread
        if thread is not None and thread is not threading.current_thread():
            thread.join()
        with self.lock:
            if self.state == "playing":
                self.state = "paused"
                self._publish()

    def close(self):
        """Stop training for good; the session answers no more."""
        self.closed = True
        self.pause()

    # -- what the page sees -----------------------------------------------------------------------

    def _evaluate(self, x, y):
        out = self.model.predict(x)
        with np.errstate(over="ignore", invalid="ignore"):
            value = self.loss(y, out)
        return (value if math.isfinite(value) else None), float(np.mean(out.argmax(axis=1) == y))

    def _publish(self):
        """Compute the snapshot (caller holds the lock) and store it, serialised once, as the newest version."""
        if self.state == "diverged":
            train_loss = test_loss = train_accuracy = test_accuracy = None
            boundary, units = None, []
        else:
            train_loss, train_accuracy = self._evaluate(self.x_train, self.y_train)
            test_loss, test_accuracy = self._evaluate(self.x_test, self.y_test)
            recorded = self.model.trace(self._grid)
            probability = softmax(np.asarray(recorded.output, dtype=np.float64))[:, 1]
            boundary = np.round(probability.reshape(GRID, GRID), 3).tolist()
            units = []
            for layer in recorded.layers[1:-1:2]:  # the activations after each hidden Dense
                maps = layer.output.T.reshape(-1, GRID, GRID)[:, ::UNIT_STRIDE, ::UNIT_STRIDE]
                units.append({"layer": layer.index, "maps": np.round(maps.astype(np.float64), 2).tolist()})
            self._record(train_loss, test_loss)
        self.metrics = {"train_loss": train_loss, "test_loss": test_loss, "train_accuracy": train_accuracy, "test_accuracy": test_accuracy}
        snapshot = {
            "id": self.id, "version": self.version + 1, "state": self.state, "message": self.message,
            "step": self.steps, "epoch": self.epochs, **self.metrics,
            "history": self.history, "boundary": boundary, "units": units,
            "grid": {"size": GRID, "unit_size": len(range(0, GRID, UNIT_STRIDE)), "extent": EXTENT},
        }
        self.snapshot_json = json.dumps(snapshot, allow_nan=False)
        self.version += 1

    def _record(self, train_loss, test_loss):
        history = self.history
        if history["step"] and history["step"][-1] == self.steps:
            return
        history["step"].append(self.steps)
        history["train_loss"].append(None if train_loss is None else round(train_loss, 5))
        history["test_loss"].append(None if test_loss is None else round(test_loss, 5))
        if len(history["step"]) > HISTORY_POINTS:
            for key in history:
                history[key] = history[key][::2]

    def describe(self):
        """The session as JSON: id, settings, the points (train and test) and the latest snapshot."""
        def points(x, y):
            return {"x": np.round(x.astype(np.float64), 3).tolist(), "y": y.tolist()}

        with self.lock:
            return {
                "id": self.id,
                "config": self.config.to_json(),
                "data": {"train": points(self.x_train, self.y_train), "test": points(self.x_test, self.y_test)},
                "snapshot": json.loads(self.snapshot_json),
            }

    def model_file(self):
        """The trained network as the bytes of a numnet model file (safetensors), with the settings in its metadata."""
        with self.lock:
            metadata = {
                "playground": self.config.to_json(),
                "class_names": ["0", "1"],
                "input": f"points (x1, x2) in [-{EXTENT:g}, {EXTENT:g}]^2",
                "steps": self.steps,
                "epochs": self.epochs,
                **{key: value for key, value in self.metrics.items() if value is not None},
            }
            with tempfile.TemporaryDirectory() as folder:
                path = Path(folder) / "model.safetensors"
                self.model.save(path, metadata)
                return path.read_bytes()

    # -- liveness ---------------------------------------------------------------------------------

    def touch(self):
        self.last_seen = self._clock()

    def idle_for(self):
        """Seconds since the last request, or 0 while a page watches the session's stream."""
        return 0.0 if self.watchers else self._clock() - self.last_seen


class SessionLimit(RuntimeError):
    """As many sessions as allowed are open."""


class SessionStore:
    """The open sessions, by id: bounded in number, and freed after ``idle_timeout`` seconds unused.

    Args:
        max_sessions: sessions open at once (default 8).
        idle_timeout: seconds without a request or a watching page after which a session is freed (default 600).
        clock: a function giving seconds (time.monotonic); tests pass their own.
    """

    def __init__(self, max_sessions=8, idle_timeout=600.0, clock=time.monotonic):
        self.max_sessions = validation.positive_int("max_sessions", max_sessions, "SessionStore")
        self.idle_timeout = validation.number("idle_timeout", idle_timeout, 0, low_inclusive=False, owner="SessionStore")
        self._clock = clock
        self._sessions = {}
        self._lock = threading.Lock()

    def __len__(self):
        return len(self._sessions)

    def create(self, config):
        """A new session for ``config`` (a PlaygroundConfig); SessionLimit when max_sessions are open."""
        self.sweep()
        with self._lock:
            if len(self._sessions) >= self.max_sessions:
                raise SessionLimit(
                    f"{self.max_sessions} playground sessions are open, the most allowed; close one "
                    f"(DELETE /api/playground/ID) or wait until one has been idle for {self.idle_timeout:g} s"
                )
            session = Session(config, self._clock)
            self._sessions[session.id] = session
        return session

    def get(self, session_id):
        """The session (and note that it was asked for); KeyError when there is none of that id."""
        session = self._sessions.get(session_id)
        if session is None or session.closed:
            raise KeyError(session_id)
        session.touch()
        return session

    def remove(self, session_id):
        """Close and forget a session; KeyError when there is none of that id."""
        with self._lock:
            session = self._sessions.pop(session_id)
        session.close()

    def sweep(self):
        """Close and forget the sessions idle for longer than idle_timeout; return their ids."""
        with self._lock:
            idle = [s for s in self._sessions.values() if s.idle_for() > self.idle_timeout]
            for session in idle:
                del self._sessions[session.id]
        for session in idle:
            session.close()
        return [session.id for session in idle]

    def close_all(self):
        with self._lock:
            sessions, self._sessions = list(self._sessions.values()), {}
        for session in sessions:
            session.close()
