# Types whose names need escaping: heap types with control characters,
# quotes, backslashes, non-ASCII and a lone surrogate in __qualname__ or
# __module__.  Usage: names_target.py OUT.json.  Writes to OUT.json
# {"names": {name as Python gives it (surrogates as \udcxx in JSON):
# instance count}}, prints "ready", answers "ping", exits on "quit".
import json
import sys

WEIRD = [   # (u"": text on 2.7 too)
    (u"Line\nBreak", u"__main__"),
    (u'Quote"d', u"__main__"),
    (u"Back\\slash", u"__main__"),
    (u"Caf\u00e9", u"__main__"),
    (u"Lone\udcdcSurrogate", u"__main__"),
    (u"Tab\tBell\x07", u"__main__"),
    (u"Plain", u'mod"with\\odd\nmodule\u00e9'),
    (u"C1\x85Next", u"__main__"),
]
PY2 = sys.version_info[0] == 2
keep = []
names = {}
for i, (qual, mod) in enumerate(WEIRD):
    if PY2:
        # 2.7 has no __qualname__: the name is __name__, a byte string
        # (UTF-8 here); a lone surrogate has no UTF-8 to give it.
        if u"\udcdc" in qual:
            continue
        cls = type("W%d" % i, (object,), {"__module__": mod.encode("utf-8")})
        cls.__name__ = qual.encode("utf-8")
    else:
        cls = type("W%d" % i, (object,), {})
        cls.__qualname__ = qual
        cls.__module__ = mod
    objs = [cls() for _ in range(10 + i)]
    keep.append((cls, objs))
    names[mod + "." + qual if mod != "builtins" else qual] = len(objs)
with open(sys.argv[1], "w") as f:
    json.dump({"names": names}, f)
sys.stdout.write("ready\n")
sys.stdout.flush()
for line in iter(sys.stdin.readline, ""):   # (2.7's file iterator reads ahead)
    if line.strip() == "ping":
        sys.stdout.write("pong\n")
        sys.stdout.flush()
    elif line.strip() == "quit":
        break
