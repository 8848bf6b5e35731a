"""Leak story 3: web.py database connections leaking from a uWSGI timer.

web.py keeps each DB's connection in a thread-local (DB._ctx, a ThreadedDict,
i.e. a threading.local subclass that registers every instance in the class
attribute ThreadedDict._instances).  The app's Users.objects.all() opens a
new web.database() on each call, so each call puts a fresh DBConnection in
the calling thread's slot of a fresh ThreadedDict.

Request threads are safe: web.py's WSGI entry point calls
ThreadedDict.clear_all() before and after every request, which drops the
calling thread's slot of every instance, closing its connections.  The uWSGI
timer calls users.timer_func directly from its own long-lived thread, which
nothing ever clears: every connection it opens stays alive in that thread's
thread-local slots.  (The ThreadedDict objects themselves also accumulate in
_instances, from both threads, exactly as in web.py 0.37.)

A "uWSGI timer" thread runs timer_func every 50 ms and a request thread
serves a request every 50 ms doing the same database work: DBConnection
grows at the timer's rate, 20 per second, not 40.

    python3 webpy_timer_threadlocal.py [--lifetime SECONDS]

Runs on Python 2.7 too (web.py's own era): threading.local is plain
thread._local there.

prints "ready {json}" once both threads run, then runs until killed.
"""

import json
import os
import sys
import threading
import time

PERIOD = 0.05             # the timer's interval, and the request rate
N_USERS = 5               # rows read on each call (User objects: freed)
N_URLS = 25               # url mapping entries (Route objects): a control that stays flat


# --- web.utils ------------------------------------------------------------------

class ThreadedDict(threading.local):
    _instances = set()

    def __init__(self):
        ThreadedDict._instances.add(self)

    def __del__(self):
        ThreadedDict._instances.remove(self)

    def __hash__(self):
        return id(self)

    @staticmethod
    def clear_all():
        for t in list(ThreadedDict._instances):
            t.clear()

    def __getitem__(self, key):
        return self.__dict__[key]

    def __setitem__(self, key, value):
        self.__dict__[key] = value

    def get(self, key, default=None):
        return self.__dict__.get(key, default)

    def clear(self):
        self.__dict__.clear()


# --- web.db -----------------------------------------------------------------------

class DBConnection(object):
    """What sqlite3.connect() returns: an open database file."""

    def __init__(self, db, check_same_thread=True):
        self.database = db
        self.check_same_thread = check_same_thread
        self.isolation_level = ""
        self.statement_cache = {}
        self.total_changes = 0

    def execute(self, sql):
        self.statement_cache.setdefault(sql, sql.split())
        return [{"id": i, "name": "user%d" % i, "status": 0} for i in range(N_USERS)]


class DB(object):
    def __init__(self, db_module, keywords):
        keywords.pop("driver", None)
        self.db_module = db_module
        self.keywords = keywords
        self._ctx = ThreadedDict()

    def _getctx(self):
        if not self._ctx.get("db"):
            self._load_context(self._ctx)
        return self._ctx
    ctx = property(_getctx)

    def _load_context(self, ctx):
        ctx.dbq_count = 0
        ctx.transactions = []
        ctx.db = DBConnection(**self.keywords)
        ctx.db_execute = ctx.db.execute

    def select(self, table):
        self.ctx.dbq_count += 1
        return self.ctx.db_execute("SELECT * FROM %s" % table)

    def update(self, table, where, **values):
        self.ctx.dbq_count += 1
        self.ctx.db.total_changes += 1


def database(dbn, **keywords):
    return DB(dbn, keywords)


# --- the application ------------------------------------------------------------

def _connect_to_db():
    return database("sqlite", db="/spec/app/service.db")


class User(object):
    _table_name = "users"

    def __init__(self, row):
        self.__dict__.update(row)

    def update(self, db):
        db.update(self._table_name, where="id=%d" % self.id, status=self.status)


def all_users():
    db = _connect_to_db()
    return db, [User(x) for x in db.select(User._table_name)]


def update_users():
    db, user_list = all_users()
    for eachuser in user_list:
        eachuser.status += 1
        eachuser.update(db)


def timer_func(signal_num):
    update_users()


class Route(object):
    def __init__(self, pattern, classname):
        self.pattern = pattern
        self.classname = classname


class application(object):
    def __init__(self, mapping):
        self.mapping = [Route(mapping[i], mapping[i + 1]) for i in range(0, len(mapping), 2)]

    def _cleanup(self):
        ThreadedDict.clear_all()

    def wsgi(self, env, start_resp):
        self._cleanup()
        try:
            update_users()
            start_resp("200 OK", [("Content-Type", "text/plain")])
            return [b"ok"]
        finally:
            self._cleanup()


urls = []
for _i in range(N_URLS):
    urls += ["/page%d" % _i, "Page%d" % _i]
app = application(urls)


def every(period, fn):
    t0 = time.time()
    k = 0
    while True:
        fn()
        k += 1
        time.sleep(max(0.0, t0 + k * period - time.time()))


def main():
    lifetime = float(sys.argv[sys.argv.index("--lifetime") + 1]) if "--lifetime" in sys.argv else 0
    # uwsgi.register_signal(99, "", users.timer_func); uwsgi.add_timer(99, ...)
    for name, fn in (("uwsgi-timer", lambda: timer_func(99)),
                     ("uwsgi-request", lambda: app.wsgi({"PATH_INFO": "/page1"}, lambda s, h: None))):
        t = threading.Thread(target=every, args=(PERIOD, fn), name=name)
        t.daemon = True            # (2.7's Thread takes no daemon=)
        t.start()
    sys.stdout.write("ready " + json.dumps({"pid": os.getpid(), "rate": 1 / PERIOD, "request_rate": 1 / PERIOD,
                                            "urls": N_URLS}) + "\n")
    sys.stdout.flush()
    deadline = time.time() + lifetime if lifetime else None
    while deadline is None or time.time() < deadline:
        time.sleep(1)


if __name__ == "__main__":
    main()
