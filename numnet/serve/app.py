"""The web app: three pages and the JSON API behind them (docs/serve.md describes every route).

    /            look inside a digit model: draw, see the input, the probabilities and every layer
    /playground  train a small network on points in the plane, live
    /runs        the run folders: curves, confusion matrix, history, settings

The pages are plain HTML, CSS and JavaScript from the static folder beside this module.
"""

import asyncio
import contextlib
import time
from pathlib import Path

import numpy as np
from starlette.applications import Starlette
from starlette.concurrency import run_in_threadpool
from starlette.middleware import Middleware
from starlette.responses import FileResponse, JSONResponse, Response, StreamingResponse
from starlette.routing import Mount, Route
from starlette.staticfiles import StaticFiles

from ..runs import TrainConfig
from . import runs_browser
from .errors import EXCEPTION_HANDLERS, ApiError, read_json
from .export import python_code
from .limits import MAX_BODY_BYTES, BodyLimitMiddleware
from .lookinside import MAX_PIXELS
from .models import ModelStore, NoModel
from .playground import PlaygroundConfig, SessionError, SessionLimit, SessionStore, limits
from .training_job import TrainingJob

STATIC = Path(__file__).parent / "static"
#: seconds between two looks of the server-sent event stream for a new snapshot
STREAM_POLL = 0.05
#: seconds of silence after which the stream sends a comment, so that proxies keep it open
KEEP_ALIVE = 15.0


def _page(name):
    async def page(request):
        return FileResponse(STATIC / name, media_type="text/html; charset=utf-8")

    return page


# -- look inside ------------------------------------------------------------------------------------


async def _digit_model(request):
    run = request.query_params.get("run")
    try:
        return await run_in_threadpool(request.app.state.models.get, run)
    except runs_browser.NotFound:
        raise ApiError(404, f"no run {run!r} with a model file under the runs folder") from None
    except NoModel as error:
        raise ApiError(409, f"{error}; POST /api/train trains the default model") from None
    except ValueError as error:  # ModelFormatError, or a model that does not take 28×28 digits
        raise ApiError(422, str(error)) from None


def _flag(request, name, default):
    text = request.query_params.get(name)
    if text is None:
        return default
    if text.lower() in ("1", "true", "yes"):
        return True
    if text.lower() in ("0", "false", "no"):
        return False
    raise ApiError(400, f"query parameter {name} must be true or false (1 or 0). Received: {name}={text!r}")


async def model_info(request):
    models, job = request.app.state.models, request.app.state.training
    try:
        digit_model = await _digit_model(request)
    except ApiError as error:
        if error.status != 409:
            raise
        return JSONResponse({"state": "none", "runs_dir": str(models.runs_dir), "training": job.status()})
    return JSONResponse({"state": "ready", "model": digit_model.describe(), "training": job.status()})


def _pixels(data):
    """The "pixels" of a JSON predict request as a checked 2-D float array."""
    if set(data) != {"pixels"}:
        raise ApiError(400, 'expected a JSON object {"pixels": [[...], ...]} (rows of grayscale values in [0, 1])')
    try:
        pixels = np.asarray(data["pixels"], dtype=np.float64)
    except (TypeError, ValueError):
        raise ApiError(400, "pixels must be a 2-D array of numbers: a list of rows of equal length") from None
    if pixels.ndim != 2 or pixels.size > MAX_PIXELS:
        raise ApiError(400, f"pixels must be a 2-D array (rows of equal length) of at most {MAX_PIXELS} values, got shape {pixels.shape}")
    if not np.isfinite(pixels).all() or pixels.min() < 0 or pixels.max() > 1:
        raise ApiError(400, "pixels must be grayscale values in [0, 1] (0 black, 1 white)")
    return pixels


async def predict(request):
    digit_model = await _digit_model(request)
    trace = _flag(request, "trace", True)
    content_type = request.headers.get("content-type", "").split(";")[0].strip().lower()
    if content_type == "application/json":
        work, argument = digit_model.predict_pixels, _pixels(await read_json(request))
    elif content_type.startswith("image/") or content_type == "application/octet-stream":
        body = await request.body()
        if not body:
            raise ApiError(400, "the request body is empty: send the bytes of an image file")
        work, argument = digit_model.predict_image, body
    else:
        raise ApiError(415, f"send an image (Content-Type image/png, image/jpeg, ...) or JSON {{\"pixels\": ...}}, not {content_type or 'no Content-Type'}")
    started = time.perf_counter()
    try:
        result = await run_in_threadpool(work, argument, trace)
    except ValueError as error:
        raise ApiError(400, str(error)) from None
    response = JSONResponse(result)
    # the time the server spent on the picture, for the page and for benchmarks (decode, prepare, trace, JSON)
    response.headers["Server-Timing"] = f"predict;dur={1000 * (time.perf_counter() - started):.1f}"
    return response


async def unit_weights(request):
    digit_model = await _digit_model(request)
    try:
        return JSONResponse(digit_model.unit_weights(request.path_params["layer"], request.path_params["unit"]))
    except LookupError as error:
        raise ApiError(404, str(error)) from None


async def training_status(request):
    return JSONResponse(request.app.state.training.status())


async def start_training(request):
    try:
        request.app.state.training.start()
    except RuntimeError as error:
        raise ApiError(409, str(error)) from None
    return JSONResponse(request.app.state.training.status(), status_code=202)


# -- playground -------------------------------------------------------------------------------------


def _session(request):
    session_id = request.path_params["session"]
    try:
        return request.app.state.sessions.get(session_id)
    except KeyError:
        raise ApiError(404, f"no playground session {session_id!r} (it may have been freed after being idle)") from None


def _snapshot(json_text):
    return Response(json_text, media_type="application/json")


async def playground_settings(request):
    return JSONResponse({"defaults": PlaygroundConfig().to_json(), "limits": limits()})


async def create_session(request):
    try:
        config = PlaygroundConfig.from_json(await read_json(request))
    except ValueError as error:
        raise ApiError(400, str(error)) from None
    try:
        session = await run_in_threadpool(request.app.state.sessions.create, config)
    except SessionLimit as error:
        raise ApiError(503, str(error)) from None
    return JSONResponse(session.describe(), status_code=201)


async def session_info(request):
    return JSONResponse(_session(request).describe())


async def delete_session(request):
    session = _session(request)
    await run_in_threadpool(request.app.state.sessions.remove, session.id)
    return JSONResponse({"closed": session.id})


async def step(request):
    session = _session(request)
    data = await read_json(request)
    unknown = sorted(set(data) - {"batches"})
    if unknown:
        raise ApiError(400, f'unknown step setting {unknown[0]!r}; expected {{"batches": n}}')
    try:
        return _snapshot(await run_in_threadpool(session.step, data.get("batches", 1)))
    except ValueError as error:
        raise ApiError(400, str(error)) from None
    except SessionError as error:
        raise ApiError(409, str(error)) from None


async def play(request):
    session = _session(request)
    try:
        await run_in_threadpool(session.play)
    except SessionError as error:
        raise ApiError(409, str(error)) from None
    return _snapshot(session.snapshot_json)


async def pause(request):
    session = _session(request)
    await run_in_threadpool(session.pause)
    return _snapshot(session.snapshot_json)


async def stream(request):
    """Server-sent events: a "snapshot" event with the session's JSON snapshot whenever it changes,
    and a "closed" event when the session is freed."""
    session = _session(request)

    async def events():
        session.watchers += 1
        try:
            sent, quiet_since = 0, time.monotonic()
            while not session.closed:
                version = session.version
                if version != sent:
                    sent, quiet_since = version, time.monotonic()
                    yield f"event: snapshot\nid: {version}\ndata: {session.snapshot_json}\n\n"
                elif time.monotonic() - quiet_since > KEEP_ALIVE:
                    quiet_since = time.monotonic()
                    yield ": keep-alive\n\n"
                await asyncio.sleep(STREAM_POLL)
            yield "event: closed\ndata: {}\n\n"
        finally:
            session.watchers -= 1
            session.touch()

    return StreamingResponse(events(), media_type="text/event-stream", headers={"Cache-Control": "no-cache", "X-Accel-Buffering": "no"})


async def export_model(request):
    session = _session(request)
    data = await run_in_threadpool(session.model_file)
    name = f"{session.config.dataset}_network.safetensors"
    return Response(data, media_type="application/octet-stream", headers={"Content-Disposition": f'attachment; filename="{name}"'})


async def export_code(request):
    session = _session(request)
    name = f"{session.config.dataset}_network.py"
    return Response(
        python_code(session.config, session.epochs), media_type="text/x-python; charset=utf-8",
        headers={"Content-Disposition": f'attachment; filename="{name}"'},
    )


# -- runs -------------------------------------------------------------------------------------------


async def list_runs(request):
    root = request.app.state.models.runs_dir
    return JSONResponse({"root": str(root), "runs": await run_in_threadpool(runs_browser.list_runs, root)})


async def run_details(request):
    name = request.path_params["name"]
    try:
        return JSONResponse(await run_in_threadpool(runs_browser.run_details, request.app.state.models.runs_dir, name))
    except runs_browser.NotFound:
        raise ApiError(404, f"no run {name!r} under the runs folder") from None


async def run_file(request):
    name, filename = request.path_params["name"], request.path_params["filename"]
    try:
        path = runs_browser.run_file(request.app.state.models.runs_dir, name, filename)
    except runs_browser.NotFound:
        raise ApiError(404, f"no file {filename!r} in run {name!r}") from None
    media_type = runs_browser.FILE_TYPES[path.suffix]
    disposition = "attachment" if path.suffix == ".safetensors" else "inline"
    return FileResponse(path, media_type=media_type, headers={"Content-Disposition": f'{disposition}; filename="{path.name}"'})


# -- the app ----------------------------------------------------------------------------------------


ROUTES = [
    Route("/", _page("index.html")),
    Route("/playground", _page("playground.html")),
    Route("/runs", _page("runs.html")),
    Route("/api/model", model_info),
    Route("/api/predict", predict, methods=["POST"]),
    Route("/api/model/layers/{layer:int}/units/{unit:int}", unit_weights),
    Route("/api/train", training_status),
    Route("/api/train", start_training, methods=["POST"]),
    Route("/api/playground", playground_settings),
    Route("/api/playground", create_session, methods=["POST"]),
    Route("/api/playground/{session}", session_info),
    Route("/api/playground/{session}", delete_session, methods=["DELETE"]),
    Route("/api/playground/{session}/step", step, methods=["POST"]),
    Route("/api/playground/{session}/play", play, methods=["POST"]),
    Route("/api/playground/{session}/pause", pause, methods=["POST"]),
    Route("/api/playground/{session}/stream", stream),
    Route("/api/playground/{session}/export/model", export_model),
    Route("/api/playground/{session}/export/code", export_code),
    Route("/api/runs", list_runs),
    Route("/api/runs/{name}", run_details),
    Route("/api/runs/{name}/files/{filename}", run_file),
    Mount("/static", StaticFiles(directory=STATIC), name="static"),
]


def create_app(model_path=None, runs_dir="runs", *, max_body_bytes=MAX_BODY_BYTES, max_sessions=8, idle_timeout=600.0,
               training_config=None):
    """The Starlette app.

    Args:
        model_path: the model file to look inside by default (checked now: ValueError if unusable);
            None shows the newest run's model under ``runs_dir``.
        runs_dir: the folder of run folders (it need not exist yet).
        max_body_bytes: larger request bodies are answered 413.
        max_sessions, idle_timeout: bounds of the playground's sessions (see SessionStore).
        training_config: the TrainConfig of the default model trained on request (default TrainConfig()).
    """
    models = ModelStore(runs_dir, model_path)
    if model_path is not None:
        models.get()
    sessions = SessionStore(max_sessions, idle_timeout)

    @contextlib.asynccontextmanager
    async def lifespan(app):
        async def sweep():
            while True:
                await asyncio.sleep(min(idle_timeout / 2, 30.0))
                await run_in_threadpool(sessions.sweep)

        sweeper = asyncio.create_task(sweep())
        try:
            yield
        finally:
            sweeper.cancel()
            await run_in_threadpool(sessions.close_all)

    app = Starlette(
        routes=ROUTES,
        middleware=[Middleware(BodyLimitMiddleware, max_bytes=max_body_bytes)],
        exception_handlers=EXCEPTION_HANDLERS,
        lifespan=lifespan,
    )
    app.state.models = models
    app.state.sessions = sessions
    app.state.training = TrainingJob(runs_dir, training_config if training_config is not None else TrainConfig())
    return app
