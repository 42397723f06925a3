"""Running the app with uvicorn: in the foreground for ``numnet serve``, or in a thread for tests and scripts."""

import socket
import sys
import threading

import uvicorn

from .app import create_app

LOOPBACK = ("127.0.0.1", "localhost", "::1")


def _bind(host, port):
    """A listening socket on host:port (port 0 picks a free one); OSError when it is taken."""
    family = socket.AF_INET6 if ":" in host else socket.AF_INET
    sock = socket.socket(family, socket.SOCK_STREAM)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    try:
        sock.bind((host, port))
    except OSError as error:
        sock.close()
        raise OSError(f"cannot listen on {host}:{port}: {error.strerror or error}") from None
    sock.listen(128)
    sock.set_inheritable(True)
    return sock


def _url(host, sock):
    port = sock.getsockname()[1]
    return f"http://[{host}]:{port}/" if ":" in host else f"http://{host}:{port}/"


def _server(app, sock):
    config = uvicorn.Config(app, log_level="warning", access_log=False, timeout_graceful_shutdown=2, lifespan="on")
    return uvicorn.Server(config)


def serve(model_path=None, runs_dir="runs", host="127.0.0.1", port=8000, out=sys.stdout, err=sys.stderr):
    """Serve the app on host:port until Ctrl-C, after printing its URL (and a warning when the host
    is not this machine's loopback address)."""
    app = create_app(model_path, runs_dir)
    sock = _bind(host, port)
    if host not in LOOPBACK:
        print(f"numnet serve: warning: listening on {host}, not only on this machine: anyone who can reach it "
              "can use the app, upload pictures and start training", file=err)
    print(f"numnet serve: {_url(host, sock)}  (Ctrl-C stops)", file=out, flush=True)
    try:
        _server(app, sock).run(sockets=[sock])
    except KeyboardInterrupt:  # uvicorn shuts down cleanly, then passes the Ctrl-C on
        pass
    print("numnet serve: stopped", file=out, flush=True)


class BackgroundServer:
    """The app served from a thread on 127.0.0.1 and a free port, for tests and scripts.

    Example:
        >>> with BackgroundServer(create_app(runs_dir="runs")) as server:
        ...     httpx.get(server.url + "api/runs")
    """

    def __init__(self, app, host="127.0.0.1"):
        self._sock = _bind(host, 0)
        self.url = _url(host, self._sock)
        self._server = _server(app, self._sock)
        self._thread = threading.Thread(target=self._server.run, kwargs={"sockets": [self._sock]}, daemon=True)

    def start(self):
        self._thread.start()
        while not self._server.started:
            if not self._thread.is_alive():
                raise RuntimeError("the server stopped while starting")
            self._thread.join(0.01)
        return self

    def stop(self):
        self._server.should_exit = True
        self._thread.join(10)
        self._sock.close()

    def __enter__(self):
        return self.start()

    def __exit__(self, *exc):
        self.stop()
