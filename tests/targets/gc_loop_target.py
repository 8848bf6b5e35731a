# A heap that stays the same while full collections run about half the
# time (each followed by a sleep as long as it took): a reader that stops
# it lands inside one often.  Prints "ready N", N the objects the GC
# tracks outside a collection (gc.get_objects(), less its own list), and
# then only collects and sleeps (2.7 and 3.x).
import gc
import sys
import time

heap = [[i] for i in range(200000)]
truth = len(gc.get_objects()) - 1
sys.stdout.write("ready %d\n" % truth)
sys.stdout.flush()
now = time.time
while True:
    t = now()
    gc.collect()
    time.sleep(now() - t)
