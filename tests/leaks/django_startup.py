"""Leak story 4: a Django service that eats its memory at start-up.

Not a steady leak: a one-off burst while the app is imported.  As in the
story, the start-up (AppConfig.ready and module imports) concatenates data
files into one big str (`data = data + open(path).read()`), parses it in a
protobuf-text-format-like way into a tree of dicts, loads a pypinyin-like
phrase dictionary (str -> [[str]]) and builds the URL resolver's registry.
Afterwards the service serves requests and its memory stays flat.

A request thread serves a request every 50 ms (allocating and freeing).

    python3 django_startup.py [--lifetime SECONDS]

prints "ready {json}" once start-up is over, then runs until killed.  The
JSON says how many bytes the big str holds, and how many dict/str objects
the start-up built, for the test to compare with a census.
"""

import json
import os
import random
import shutil
import sys
import tempfile
import threading
import time

N_FILES = 6
FILE_CHARS = 2 * 1024 * 1024     # each data file; `data` ends up 12 MiB
N_NODES = 20000                  # DataTree nodes parsed from the text (dicts)
N_PHRASES = 60000                # phrase dictionary entries
N_URLS = 3000                    # URL patterns
PERIOD = 0.05

rng = random.Random(4)
WORDS = ["".join(rng.choice("abcdefghijklmnopqrstuvwxyz") for _ in range(rng.randint(3, 9)))
         for _ in range(2000)]


# --- entry/settings.py --------------------------------------------------------------

def write_data_files(d):
    """The data files shipped with the service (generated here)."""
    paths = []
    for i in range(N_FILES):
        p = os.path.join(d, "tree%d.txt" % i)
        lines, n = [], 0
        while n < FILE_CHARS:
            line = 'node { name: "%s" value: %d tag: "%s" }\n' % (rng.choice(WORDS), rng.randint(0, 10 ** 6),
                                                                  rng.choice(WORDS))
            lines.append(line)
            n += len(line)
        with open(p, "w") as f:
            f.write("".join(lines)[:FILE_CHARS])
        paths.append(p)
    return paths


class DataTree(object):
    def __init__(self):
        self.nodes = []
        self.index = {}


def text_format_parse(text, message):
    """google.protobuf.text_format.Parse, as far as memory goes."""
    pos = 0
    for i in range(N_NODES):
        end = text.index("}", pos)
        chunk = text[pos:end]
        pos = end + 1
        fields = chunk.split('"')
        node = {"name": fields[1] + "/%d" % i, "value": chunk[len(fields[0]):], "tag": fields[3] + "#%d" % i,
                "attrs": {"line": i, "offset": pos}}
        message.nodes.append(node)
        message.index[node["name"]] = node
    return message


def load_phrases():
    """pypinyin.phrases_dict: phrase -> [[pinyin], ...]."""
    return {"%s %s %d" % (rng.choice(WORDS), rng.choice(WORDS), i): [[rng.choice(WORDS)], [rng.choice(WORDS)]]
            for i in range(N_PHRASES)}


class URLPattern(object):
    def __init__(self, regex, callback, default_args, name):
        self.pattern = regex
        self.callback = callback
        self.default_args = default_args
        self.name = name


def view(request, **kwargs):
    return {"path": request["PATH_INFO"], "kwargs": kwargs}


def build_urlconf():
    return [URLPattern(r"^api/v1/%s/(?P<pk>[0-9]+)/%d/$" % (rng.choice(WORDS), i), view,
                       {"section": rng.choice(WORDS), "page": i}, "url-%d" % i)
            for i in range(N_URLS)]


_tmp = tempfile.mkdtemp(prefix="django-startup-")
try:
    data = ""
    for file_path in write_data_files(_tmp):
        data = data + open(file_path, "r").read()
finally:
    shutil.rmtree(_tmp, ignore_errors=True)
DATA = text_format_parse(data, DataTree())
PHRASES_DICT = load_phrases()
urlpatterns = build_urlconf()


# --- serving --------------------------------------------------------------------------

def handle(request):
    for p in urlpatterns[:50]:
        if p.name == request["name"]:
            return json.dumps(p.callback(request, **p.default_args))
    return "404"


def serve():
    t0 = time.time()
    k = 0
    while True:
        handle({"PATH_INFO": "/api/v1/x/%d/" % k, "name": "url-%d" % (k % 50), "QUERY_STRING": "a=1&b=2"})
        k += 1
        time.sleep(max(0.0, t0 + k * PERIOD - time.time()))


def main():
    lifetime = float(sys.argv[sys.argv.index("--lifetime") + 1]) if "--lifetime" in sys.argv else 0
    threading.Thread(target=serve, name="gunicorn-worker", daemon=True).start()
    print("ready " + json.dumps({"pid": os.getpid(), "data_chars": len(data), "data_bytes": sys.getsizeof(data),
                                 "nodes": N_NODES, "phrases": N_PHRASES, "urls": N_URLS}), flush=True)
    deadline = time.time() + lifetime if lifetime else None
    while deadline is None or time.time() < deadline:
        time.sleep(1)


if __name__ == "__main__":
    main()
