"""Leak story 2: Celery AsyncResults piling up because the task has trail=True.

A long task schedules subtasks with subtask.delay().  With trail=True (the
default in Celery 4), apply_async appends each subtask's AsyncResult to the
running task's request.children, so every result stays alive until the task
ends -- and each AsyncResult owns a vine promise holding a weakref.WeakMethod
(on_ready = promise(self._on_fulfilled, weak=True)), the three types Dozer
showed growing in step.  The broker messages themselves are published and
dropped (Message: created at the same rate, never accumulates).

A worker thread runs the task: one subtask.delay() every 10 ms, 100 per second.

    python3 celery_trail.py [--lifetime SECONDS]

prints "ready {json}" once the task is running, then runs until killed.
"""

import collections
import json
import os
import sys
import threading
import time
import uuid
import weakref

PERIOD = 0.01             # one subtask.delay() per period
N_TASKS = 30              # registered tasks: a control that stays flat


# --- vine ---------------------------------------------------------------------

class promise(object):
    def __init__(self, fun=None, args=None, kwargs=None, callback=None, on_error=None, weak=False):
        self.weak = weak
        self.fun = self._get_fun_or_weakref(fun=fun, weak=weak)
        self.args = args or ()
        self.kwargs = kwargs or {}
        self.ready = False
        self.failed = False
        self.value = None
        self.reason = None
        self._svpending = None
        self._lvpending = None
        self.on_error = on_error
        self.cancelled = False
        if callback is not None:
            self.then(callback)

    @staticmethod
    def _get_fun_or_weakref(fun, weak):
        if weak and fun is not None and hasattr(fun, "__self__"):
            return weakref.WeakMethod(fun)
        return fun

    def then(self, callback):
        self._svpending = callback
        return callback


# --- celery ---------------------------------------------------------------------

class Message(object):
    def __init__(self, headers, properties, body):
        self.headers = headers
        self.properties = properties
        self.body = body


class Producer(object):
    def __init__(self):
        self.sent = 0

    def publish(self, message):
        json.dumps([message.headers, message.body])   # "sent to redis"
        self.sent += 1


class Backend(object):
    def __init__(self, url):
        self.url = url


class ResultBase(object):
    parent = None


class AsyncResult(ResultBase):
    def __init__(self, id, backend=None, task_name=None, app=None, parent=None):
        self.app = app
        self.id = id
        self.backend = backend or self.app.backend
        self.parent = parent
        self.on_ready = promise(self._on_fulfilled, weak=True)
        self._cache = None
        self._ignored = False

    def _on_fulfilled(self, result):
        self._cache = result
        return result


class Context(object):
    """celery.app.task.Context: the request of the running task."""

    def __init__(self, **kwargs):
        self.id = None
        self.args = ()
        self.kwargs = {}
        self.children = None
        self.__dict__.update(kwargs)


class Task(object):
    trail = True
    name = None
    app = None

    def __init__(self, fun, name):
        self.run = fun
        self.name = name
        self.request_stack = []

    @property
    def request(self):
        return self.request_stack[-1]

    def delay(self, *args, **kwargs):
        return self.apply_async(args, kwargs)

    def apply_async(self, args=None, kwargs=None, **options):
        return self.app.send_task(self.name, args, kwargs, **options)

    def add_trail(self, result):
        if self.trail:
            self.request.children.append(result)
        return result

    def __call__(self, *args, **kwargs):
        self.request_stack.append(Context(id=str(uuid.uuid4()), args=args, kwargs=kwargs, children=[]))
        self.app.current_worker_task = self
        try:
            return self.run(*args, **kwargs)
        finally:
            self.app.current_worker_task = None
            self.request_stack.pop()


class Celery(object):
    def __init__(self, main, broker, backend):
        self.main = main
        self.broker = broker
        self.backend = Backend(backend)
        self.tasks = collections.OrderedDict()
        self.producer = Producer()
        self.current_worker_task = None

    def task(self, fun):
        t = Task(fun, "%s.%s" % (self.main, fun.__name__))
        t.app = self
        self.tasks[t.name] = t
        return t

    def send_task(self, name, args=None, kwargs=None, **options):
        parent = self.current_worker_task
        task_id = str(uuid.uuid4())
        self.producer.publish(Message({"lang": "py", "task": name, "id": task_id,
                                       "parent_id": parent.request.id if parent else None},
                                      {"correlation_id": task_id}, [args or (), kwargs or {}, {}]))
        result = AsyncResult(task_id, app=self)
        if parent:
            parent.add_trail(result)
        return result


# --- demo.py --------------------------------------------------------------------

app = Celery("demo", broker="redis://localhost", backend="redis://localhost")


@app.task
def subtask():
    pass


@app.task
def task():
    t0 = time.time()
    k = 0
    while True:
        subtask.delay()
        k += 1
        time.sleep(max(0.0, t0 + k * PERIOD - time.time()))


for _i in range(N_TASKS - len(app.tasks)):
    _fun = lambda: None
    _fun.__name__ = "other%d" % _i
    app.task(_fun)


def main():
    lifetime = float(sys.argv[sys.argv.index("--lifetime") + 1]) if "--lifetime" in sys.argv else 0
    threading.Thread(target=task, name="MainProcess-worker", daemon=True).start()
    print("ready " + json.dumps({"pid": os.getpid(), "rate": 1 / PERIOD, "tasks": N_TASKS}), flush=True)
    deadline = time.time() + lifetime if lifetime else None
    while deadline is None or time.time() < deadline:
        time.sleep(1)


if __name__ == "__main__":
    main()
