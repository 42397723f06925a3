import warnings

import pytest
from starlette.applications import Starlette
from starlette.responses import JSONResponse
from starlette.routing import Route

from numnet.serve.errors import EXCEPTION_HANDLERS, ApiError, read_json

with warnings.catch_warnings():  # Starlette asks for httpx2 in place of httpx for its TestClient
    warnings.filterwarnings("ignore", message="Using `httpx` with `starlette.testclient`")
    from starlette.testclient import TestClient


async def parse(request):
    return JSONResponse({"got": await read_json(request)})


async def refuse(request):
    raise ApiError(409, "not now")


async def crash(request):
    raise ZeroDivisionError("secret detail")


@pytest.fixture(scope="module")
def client():
    routes = [Route("/api/parse", parse, methods=["POST"]), Route("/api/refuse", refuse), Route("/api/crash", crash),
              Route("/page", crash)]
    with TestClient(Starlette(routes=routes, exception_handlers=EXCEPTION_HANDLERS), raise_server_exceptions=False) as client:
        yield client


def test_api_errors_are_json(client):
    assert client.get("/api/refuse").json() == {"error": "not now", "status": 409}
    assert client.get("/api/refuse").status_code == 409
    assert client.get("/api/missing").json() == {"error": "no such resource: /api/missing", "status": 404}
    assert client.post("/api/refuse").json() == {"error": "POST is not allowed on /api/refuse", "status": 405}


def test_unexpected_errors_say_little(client):
    crashed = client.get("/api/crash")
    assert crashed.status_code == 500
    assert crashed.json()["error"] == "internal error (ZeroDivisionError); the server log has the details"
    page = client.get("/page")
    assert page.status_code == 500 and "secret detail" not in page.text and "Traceback" not in page.text


def test_read_json(client):
    assert client.post("/api/parse", json={"a": [1]}).json() == {"got": {"a": [1]}}
    assert client.post("/api/parse").json() == {"got": {}}
    assert client.post("/api/parse", content=b"\xff\xfe").status_code == 400
    assert client.post("/api/parse", content=b"3").json()["error"] == "the request body must be a JSON object, got int"
