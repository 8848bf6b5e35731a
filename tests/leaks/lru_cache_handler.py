"""Leak story 1: a tornado-style handler whose lru_cache'd method keeps every
request body alive.

The in-house framework ("poseidon") subclasses tornado's RequestHandler and
decorates a method with functools.lru_cache.  The cache key includes `self`,
so the cache keeps every handler alive, and with it handler.request and the
request body (bytes) of every upload, forever.  Plain tornado handlers
(MainHandler here) serve the same uploads and free them.

An "IOLoop" thread serves one upload to each handler every 50 ms (100 KiB
bodies): the leak is 20 bodies, 2 MiB, per second.

    python3 lru_cache_handler.py [--lifetime SECONDS]

On Python 2.7 (tornado's era there), which has no lru_cache, the same
mistake is a memo dict keyed on (self, uri): it keeps every handler alive
just the same.  The body's type is then str, "bytes_type" in the ready line.

prints "ready {json}" once serving, then runs until killed (or LIFETIME).
"""

import functools
import json
import os
import sys
import threading
import time

BODY_BYTES = 100 * 1024
PERIOD = 0.05             # one request to each handler per period
N_ROUTES = 40             # URLSpec objects: a control that stays flat


# --- tornado, as far as the story needs it ----------------------------------

class HTTPHeaders(dict):
    pass


class HTTPServerRequest(object):
    def __init__(self, method, uri, headers, body):
        self.method = method
        self.uri = uri
        self.path = uri.split("?", 1)[0]
        self.headers = headers
        self.body = body
        self.arguments = {}
        self._start_time = time.time()


class URLSpec(object):
    def __init__(self, pattern, handler_class, name):
        self.pattern = pattern
        self.handler_class = handler_class
        self.name = name


class Application(object):
    def __init__(self, handlers):
        self.handlers = [URLSpec(p, h, "route%d" % i) for i, (p, h) in enumerate(handlers)]

    def find_handler(self, path):
        for spec in self.handlers:
            if spec.pattern == path:
                return spec.handler_class
        raise KeyError(path)

    def __call__(self, request):
        handler = self.find_handler(request.path)(self, request)
        getattr(handler, request.method.lower())()
        handler.finish()


class RequestHandler(object):
    def __init__(self, application, request):
        self.application = application
        self.request = request
        self._headers = HTTPHeaders()
        self._status_code = 200
        self._reason = "OK"
        self._write_buffer = []
        self._finished = False

    def set_header(self, name, value):
        self._headers[name] = value

    def set_status(self, status_code, reason=None):
        self._status_code = status_code
        self._reason = reason or "Unknown"

    def finish(self):
        self._write_buffer = []
        self._finished = True


# --- the framework built on it ----------------------------------------------

def memoize(fn):
    """functools.lru_cache(maxsize=None) where there is one; else (2.7) the
    hand-written memo of that time, a dict keyed on the arguments."""
    if hasattr(functools, "lru_cache"):
        return functools.lru_cache(maxsize=None)(fn)
    memo = {}

    @functools.wraps(fn)
    def cached(*args):
        try:
            return memo[args]
        except KeyError:
            memo[args] = result = fn(*args)
            return result
    cached.memo = memo
    return cached


class ApiBaseHandler(RequestHandler):
    @memoize
    def _calculate_uri_prefix(self, uri):
        # The cache key is (self, uri): every handler instance stays in the
        # cache, and with it self.request.body.
        return uri.rsplit("/", 1)[0]


class UploadHandler(ApiBaseHandler):
    def put(self):
        self._calculate_uri_prefix(self.request.uri)
        self.set_header("Range", "bytes=0-%d" % (len(self.request.body) - 1))
        self.set_status(308, reason="Resume Incomplete")


class MainHandler(RequestHandler):
    """The same endpoint written with plain tornado: no leak."""

    def put(self):
        self.set_header("Range", "bytes=0-%d" % (len(self.request.body) - 1))
        self.set_status(308, reason="Resume Incomplete")


SESSION = "/upload_session/ddc86c2b9e9d11e7afe39801a79be4bd"
routes = [(SESSION, UploadHandler), ("/plain" + SESSION, MainHandler)]
routes += [("/api/v1/other%d" % i, MainHandler) for i in range(N_ROUTES - len(routes))]
app = Application(routes)


def ioloop():
    t0 = time.time()
    k = 0
    while True:
        for path in (SESSION, "/plain" + SESSION):
            app(HTTPServerRequest("PUT", path, HTTPHeaders({"Content-Length": str(BODY_BYTES)}),
                                  os.urandom(BODY_BYTES)))
        k += 1
        time.sleep(max(0.0, t0 + k * PERIOD - time.time()))


def main():
    lifetime = float(sys.argv[sys.argv.index("--lifetime") + 1]) if "--lifetime" in sys.argv else 0
    t = threading.Thread(target=ioloop, name="IOLoop")
    t.daemon = True                # (2.7's Thread takes no daemon=)
    t.start()
    body = type(os.urandom(1))
    sys.stdout.write("ready " + json.dumps({"pid": os.getpid(), "rate": 1 / PERIOD, "body_bytes": BODY_BYTES,
                                            "routes": N_ROUTES,
                                            "bytes_type": body.__name__,
                                            "body_overhead": sys.getsizeof(body())}) + "\n")
    sys.stdout.flush()
    deadline = time.time() + lifetime if lifetime else None
    while deadline is None or time.time() < deadline:
        time.sleep(1)


if __name__ == "__main__":
    main()
