"""Leak story 5: matplotlib figures never closed, in a Flask app under gunicorn.

pyplot.figure() creates a Figure, wraps it in a canvas and a figure manager
and registers the manager in the global Gcf.figs (matplotlib._pylab_helpers);
only pyplot.close() removes it.  The chart endpoint (seaborn-style: a figure
with two axes of three lines each, saved as PNG) never closes its figure, so
every request leaves a whole Figure tree behind in each gunicorn worker:
Figure, FigureCanvasAgg, FigureManagerBase, Axes, Line2D and the data arrays
(array.array here, numpy arrays in the story).  Past 20 open figures pyplot
warns, as in the story.  The JSON endpoint next to it does not leak, and the
PNG buffers (io.BytesIO) and responses are freed.

A gunicorn-like master imports the app, forks WORKERS sync workers and waits;
each worker serves a JSON request and a chart request every 100 ms: 10
figures per second per worker.

    python3 flask_figures.py [--lifetime SECONDS] [--workers N]

prints "ready {json}" (with the workers' PIDs) once they serve, then runs
until killed; workers exit when the master does.
"""

import array
import collections
import io
import json
import math
import os
import signal
import sys
import time
import warnings
import zlib

PERIOD = 0.1              # one chart request (and one JSON request) per period
POINTS = 400              # points per line
N_RULES = 35              # the URL map's rules: a control that stays flat


# --- matplotlib -------------------------------------------------------------

class Gcf(object):
    """matplotlib._pylab_helpers.Gcf"""
    figs = collections.OrderedDict()

    @classmethod
    def get_active(cls):
        return next(reversed(cls.figs.values())) if cls.figs else None

    @classmethod
    def _set_new_active_manager(cls, manager):
        cls.figs[manager.num] = manager
        cls.figs.move_to_end(manager.num)

    @classmethod
    def destroy_fig(cls, fig):
        num = next((m.num for m in cls.figs.values() if m.canvas.figure is fig), None)
        if num is not None:
            cls.figs.pop(num)


class Line2D(object):
    def __init__(self, xdata, ydata, color, label):
        self._x = array.array("d", xdata)
        self._y = array.array("d", ydata)
        self._color = color
        self._label = label
        self.axes = None
        self.figure = None


class Axes(object):
    def __init__(self, fig, rect):
        self.figure = fig
        self._position = rect
        self.lines = []
        self.texts = []
        self._xlabel = self._ylabel = ""

    def plot(self, x, y, color, label):
        line = Line2D(x, y, color, label)
        line.axes = self
        line.figure = self.figure
        self.lines.append(line)
        return line

    def set_xlabel(self, s):
        self._xlabel = s


class Figure(object):
    def __init__(self, figsize=(6.4, 4.8), dpi=100):
        self.figsize = figsize
        self.dpi = dpi
        self.axes = []
        self.texts = []
        self.canvas = None
        self.suppressComposite = None

    def add_subplot(self, nrows, ncols, index):
        ax = Axes(self, (nrows, ncols, index))
        self.axes.append(ax)
        return ax

    def savefig(self, fname, format="png"):
        self.canvas.print_figure(fname, format=format)


class FigureCanvasAgg(object):
    def __init__(self, figure):
        self.figure = figure
        figure.canvas = self
        self.manager = None
        self.renderer = None

    def print_figure(self, fname, format="png"):
        raw = b"".join(line._y.tobytes() for ax in self.figure.axes for line in ax.lines)
        fname.write(b"\x89PNG\r\n\x1a\n" + zlib.compress(raw, 1))


class FigureManagerBase(object):
    def __init__(self, canvas, num):
        self.canvas = canvas
        canvas.manager = self
        self.num = num


class pyplot(object):
    """matplotlib.pyplot, the functions the endpoint uses."""
    max_open_warning = 20

    @staticmethod
    def figure(num=None, figsize=(6.4, 4.8)):
        allnums = list(Gcf.figs)
        num = max(allnums) + 1 if allnums else 1
        if len(allnums) == pyplot.max_open_warning:
            warnings.warn("More than %d figures have been opened. Figures created through the pyplot "
                          "interface (`matplotlib.pyplot.figure`) are retained until explicitly closed and "
                          "may consume too much memory." % pyplot.max_open_warning, RuntimeWarning)
        manager = FigureManagerBase(FigureCanvasAgg(Figure(figsize)), num)
        Gcf._set_new_active_manager(manager)
        return manager.canvas.figure

    @staticmethod
    def gcf():
        manager = Gcf.get_active()
        return manager.canvas.figure if manager else pyplot.figure()

    @staticmethod
    def savefig(*args, **kwargs):
        pyplot.gcf().savefig(*args, **kwargs)

    @staticmethod
    def close(fig):
        Gcf.destroy_fig(fig)


# --- flask ------------------------------------------------------------------

class Rule(object):
    def __init__(self, rule, endpoint, methods):
        self.rule = rule
        self.endpoint = endpoint
        self.methods = set(methods)


class Response(object):
    def __init__(self, body, mimetype):
        self.body = body
        self.mimetype = mimetype
        self.headers = {"Content-Type": mimetype, "Content-Length": str(len(body))}


class Flask(object):
    def __init__(self, name):
        self.name = name
        self.url_map = []
        self.view_functions = {}

    def route(self, rule, methods=("GET",)):
        def deco(f):
            self.url_map.append(Rule(rule, f.__name__, methods))
            self.view_functions[f.__name__] = f
            return f
        return deco

    def wsgi_app(self, environ, start_response):
        for rule in self.url_map:
            if rule.rule == environ["PATH_INFO"] and environ["REQUEST_METHOD"] in rule.methods:
                resp = self.view_functions[rule.endpoint]()
                start_response("200 OK", list(resp.headers.items()))
                return [resp.body]
        start_response("404 NOT FOUND", [])
        return [b""]


app = Flask("charts")


def load_data(seed):
    xs = [i / 10.0 for i in range(POINTS)]
    return {"x": xs, "series": [[math.sin(x + seed + k) for x in xs] for k in range(6)]}


def draw(data):
    fig = pyplot.figure(figsize=(8, 6))
    for i in range(2):
        ax = fig.add_subplot(2, 1, i + 1)
        for k in range(3):
            ax.plot(data["x"], data["series"][i * 3 + k], color="C%d" % k, label="s%d" % k)
        ax.set_xlabel("t")
    # no pyplot.close(fig)


@app.route("/api/v1/a")
def api_a():
    return Response(json.dumps({"ok": True, "items": list(range(20))}).encode(), "application/json")


@app.route("/api/v1/b", methods=("GET", "HEAD"))
def api_b():
    draw(load_data(time.time() % 7))
    buf = io.BytesIO()
    pyplot.savefig(buf, format="png")
    return Response(buf.getvalue(), "image/png")


for _i in range(N_RULES - len(app.url_map)):
    app.route("/api/v2/r%d" % _i)(api_a)


# --- gunicorn ---------------------------------------------------------------

def worker(master):
    t0 = time.time()
    k = 0
    while os.getppid() == master:
        for method, path in (("GET", "/api/v1/a"), ("HEAD", "/api/v1/b")):
            app.wsgi_app({"REQUEST_METHOD": method, "PATH_INFO": path}, lambda status, headers: None)
        k += 1
        time.sleep(max(0.0, t0 + k * PERIOD - time.time()))
    os._exit(0)


def main():
    lifetime = float(sys.argv[sys.argv.index("--lifetime") + 1]) if "--lifetime" in sys.argv else 0
    nworkers = int(sys.argv[sys.argv.index("--workers") + 1]) if "--workers" in sys.argv else 2
    master = os.getpid()
    workers = []
    for _ in range(nworkers):
        pid = os.fork()
        if pid == 0:
            try:
                worker(master)
            finally:
                os._exit(0)
        workers.append(pid)

    def stop(*_):
        for pid in workers:
            try:
                os.kill(pid, signal.SIGTERM)
            except OSError:
                pass
        os._exit(0)
    signal.signal(signal.SIGTERM, stop)
    signal.signal(signal.SIGINT, stop)
    print("ready " + json.dumps({"pid": master, "workers": workers, "rate": 1 / PERIOD, "points": POINTS,
                                 "rules": N_RULES}), flush=True)
    deadline = time.time() + lifetime if lifetime else None
    while deadline is None or time.time() < deadline:
        time.sleep(0.5)
    stop()


if __name__ == "__main__":
    main()
