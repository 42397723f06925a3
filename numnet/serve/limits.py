"""A bound on request bodies: anything larger is answered 413 before the app sees it."""

from .errors import error_response

#: default limit on a request body: room for a photo of a digit
MAX_BODY_BYTES = 8 * 1024 * 1024


class BodyLimitMiddleware:
    """ASGI middleware: read the whole body (up to ``max_bytes``) before the app runs, and answer
    413 with a JSON error when the declared Content-Length or the bytes actually sent exceed it.

    Reading the body first means a handler can never see half of an oversized request.
    """

    def __init__(self, app, max_bytes=MAX_BODY_BYTES):
        self.app = app
        self.max_bytes = max_bytes

    async def __call__(self, scope, receive, send):
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        declared = dict(scope["headers"]).get(b"content-length")
        try:
            declared = int(declared) if declared is not None else None
        except ValueError:
            await error_response(400, "the Content-Length header is not a number", scope["path"])(scope, receive, send)
            return
        if declared is not None and declared > self.max_bytes:
            await self._too_large(scope, receive, send)
            return
        chunks, size, more = [], 0, True
        while more:
            message = await receive()
            if message["type"] == "http.disconnect":
                return
            chunk = message.get("body", b"")
            size += len(chunk)
            if size > self.max_bytes:
                await self._too_large(scope, receive, send)
                return
            chunks.append(chunk)
            more = message.get("more_body", False)
        body = b"".join(chunks)
        delivered = False

        async def replay():
            nonlocal delivered
            if not delivered:
                delivered = True
                return {"type": "http.request", "body": body, "more_body": False}
            return await receive()  # after the body: wait for the disconnect, as a server would send it

        await self.app(scope, replay, send)

    async def _too_large(self, scope, receive, send):
        message = f"the request body is larger than the limit of {self.max_bytes} bytes"
        await error_response(413, message, scope["path"])(scope, receive, send)
