# The matplotlib story with the real library (Debian's python3-matplotlib,
# Agg backend): a chart handler that draws with pyplot and never closes its
# figure, so pyplot's figure registry (matplotlib._pylab_helpers.Gcf.figs)
# keeps every Figure.  Prints "ready {json}" (the figures' ids) and blocks
# on stdin.
import io, json, os, sys, warnings
import matplotlib
matplotlib.use("Agg")
import matplotlib.pyplot as plt

N = int(sys.argv[1]) if len(sys.argv) > 1 else 25
warnings.simplefilter("ignore")     # "More than 20 figures have been opened"


def chart(seed):
    fig = plt.figure(figsize=(2, 2))
    ax = fig.add_subplot(111)
    ax.plot([i * seed for i in range(50)])
    buf = io.BytesIO()
    fig.savefig(buf, format="png")
    return len(buf.getvalue())     # the figure is never closed: the leak


for i in range(N):
    chart(i)
figs = [id(plt.figure(n)) for n in plt.get_fignums()]
print("ready " + json.dumps({"figures": figs}), flush=True)
os.read(0, 1)
