# Types whose names need escaping: heap types with control characters,
# quotes, backslashes, non-ASCII and a lone surrogate in __qualname__ or
# __module__.  Usage: names_target.py OUT.json.  Writes to OUT.json
# {"names": {name as Python gives it (surrogates as \udcxx in JSON):
# instance count}}, prints "ready", answers "ping", exits on "quit".
import json
import sys

WEIRD = [
    ("Line\nBreak", "__main__"),
    ('Quote"d', "__main__"),
    ("Back\\slash", "__main__"),
    ("Caf\u00e9", "__main__"),
    ("Lone\udcdcSurrogate", "__main__"),
    ("Tab\tBell\x07", "__main__"),
    ("Plain", 'mod"with\\odd\nmodule\u00e9'),
    ("C1\x85Next", "__main__"),
]
keep = []
names = {}
for i, (qual, mod) in enumerate(WEIRD):
    cls = type("W%d" % i, (object,), {})
    cls.__qualname__ = qual
    cls.__module__ = mod
    objs = [cls() for _ in range(10 + i)]
    keep.append((cls, objs))
    names[mod + "." + qual if mod != "builtins" else qual] = len(objs)
with open(sys.argv[1], "w") as f:
    json.dump({"names": names}, f)
print("ready", flush=True)
for line in sys.stdin:
    if line.strip() == "ping":
        print("pong", flush=True)
    elif line.strip() == "quit":
        break
