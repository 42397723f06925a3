"""Bad requests answered as JSON: ``{"error": message, "status": code}``, never a traceback page.

Handlers raise ``ApiError(status, message)``; the exception handlers here turn it, Starlette's own
404 and 405, and any unexpected exception (500, logged with its traceback on the server) into JSON.
Pages outside /api get the same message as plain text.
"""

import json
import logging

from starlette.exceptions import HTTPException
from starlette.responses import JSONResponse, PlainTextResponse

logger = logging.getLogger("numnet.serve")


class ApiError(Exception):
    """An answer other than 2xx: ``status`` (400, 404, 409, ...) and a message that says what was wrong."""

    def __init__(self, status, message):
        super().__init__(message)
        self.status = status
        self.message = message


def error_response(status, message, path="/api"):
    """The error as JSON for the API (and for any path under /api), as plain text for pages."""
    if path.startswith("/api"):
        return JSONResponse({"error": message, "status": status}, status_code=status)
    return PlainTextResponse(f"{status}: {message}\n", status_code=status)


async def _api_error(request, error):
    return error_response(error.status, error.message, request.url.path)


async def _http_exception(request, error):
    messages = {
        404: f"no such resource: {request.url.path}",
        405: f"{request.method} is not allowed on {request.url.path}",
    }
    response = error_response(error.status_code, messages.get(error.status_code, str(error.detail)), request.url.path)
    if error.headers:
        response.headers.update(error.headers)
    return response


async def _unexpected(request, error):
    logger.exception("unexpected error on %s %s", request.method, request.url.path)
    return error_response(500, f"internal error ({type(error).__name__}); the server log has the details", request.url.path)


EXCEPTION_HANDLERS = {ApiError: _api_error, HTTPException: _http_exception, Exception: _unexpected}


async def read_json(request, expected=dict):
    """The request body parsed as JSON (an empty body is ``expected()``); ApiError 400 when it is not
    valid JSON or not of the ``expected`` type."""
    body = await request.body()
    if not body.strip():
        return expected()
    try:
        data = json.loads(body)
    except (UnicodeDecodeError, json.JSONDecodeError) as error:
        raise ApiError(400, f"the request body is not valid JSON: {error}") from None
    if not isinstance(data, expected):
        raise ApiError(400, f"the request body must be a JSON {'object' if expected is dict else expected.__name__}, got {type(data).__name__}")
    return data
