# The Django start-up story with the real framework (Debian's
# python3-django): the app's AppConfig.ready() imports a module that
# concatenates its data files into one big str kept as a module global
# (`data = data + open(path).read()`).  The package is written to a
# temporary directory.  Prints "ready {json}" (the str's id and size) and
# blocks on stdin.
import json, os, sys, tempfile

FILES, CHARS = 4, 1 << 20

root = tempfile.mkdtemp(prefix="why-django-")
pkg = os.path.join(root, "entry")
os.mkdir(pkg)
for i in range(FILES):
    with open(os.path.join(root, "part%d.txt" % i), "w") as f:
        f.write(chr(ord("a") + i) * CHARS)
with open(os.path.join(pkg, "__init__.py"), "w") as f:
    f.write("")
with open(os.path.join(pkg, "apps.py"), "w") as f:
    f.write("from django.apps import AppConfig\n\n"
            "class EntryConfig(AppConfig):\n"
            "    name = 'entry'\n\n"
            "    def ready(self):\n"
            "        from entry import startup  # noqa: F401\n")
with open(os.path.join(pkg, "startup.py"), "w") as f:
    f.write("import glob, os\n"
            "data = ''\n"
            "for path in sorted(glob.glob(os.path.join(%r, 'part*.txt'))):\n"
            "    data = data + open(path).read()\n" % root)
sys.path.insert(0, root)

import django
from django.conf import settings
settings.configure(INSTALLED_APPS=["django.contrib.contenttypes", "django.contrib.auth", "entry.apps.EntryConfig"],
                   DATABASES={}, USE_TZ=True)
django.setup()

import shutil
import entry.startup
shutil.rmtree(root)
print("ready " + json.dumps({"data": [id(entry.startup.data), sys.getsizeof(entry.startup.data)]}), flush=True)
os.read(0, 1)
