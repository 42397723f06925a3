import warnings

from starlette.applications import Starlette
from starlette.middleware import Middleware
from starlette.responses import JSONResponse
from starlette.routing import Route

from numnet.serve.errors import EXCEPTION_HANDLERS
from numnet.serve.limits import BodyLimitMiddleware

with warnings.catch_warnings():  # Starlette asks for httpx2 in place of httpx for its TestClient
    warnings.filterwarnings("ignore", message="Using `httpx` with `starlette.testclient`")
    from starlette.testclient import TestClient


async def echo(request):
    body = await request.body()
    return JSONResponse({"size": len(body), "head": body[:5].decode()})


def client(limit):
    app = Starlette(routes=[Route("/api/echo", echo, methods=["POST"]), Route("/echo", echo, methods=["POST"])],
                    middleware=[Middleware(BodyLimitMiddleware, max_bytes=limit)], exception_handlers=EXCEPTION_HANDLERS)
    return TestClient(app)


def test_bodies_up_to_the_limit_reach_the_app_whole():
    def chunks():
        for part in (b"hello", b"-" * 45):
            yield part

    with client(50) as c:
        assert c.post("/api/echo", content=b"a" * 50).json() == {"size": 50, "head": "aaaaa"}
        assert c.post("/api/echo", content=chunks()).json() == {"size": 50, "head": "hello"}
        assert c.post("/api/echo").json() == {"size": 0, "head": ""}


def test_larger_bodies_are_refused_before_the_app_runs():
    with client(50) as c:
        declared = c.post("/api/echo", content=b"a" * 51)
        assert declared.status_code == 413
        assert declared.json() == {"error": "the request body is larger than the limit of 50 bytes", "status": 413}
        streamed = c.post("/api/echo", content=(b"z" * 20 for _ in range(3)))
        assert streamed.status_code == 413 and streamed.json()["status"] == 413
        page = c.post("/echo", content=b"a" * 51)
        assert page.status_code == 413 and page.text == "413: the request body is larger than the limit of 50 bytes\n"


def test_a_content_length_that_is_not_a_number_is_a_bad_request():
    with client(50) as c:
        response = c.post("/api/echo", content=b"abc", headers={"Content-Length": "three"})
        assert response.status_code == 400 and response.json()["error"] == "the Content-Length header is not a number"
