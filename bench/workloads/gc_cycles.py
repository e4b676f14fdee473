"""bench workload: GC-heavy: trees with parent pointers (reference cycles), built and discarded."""
import os
import signal
import sys
import time

ITERATIONS = 330


class TreeNode(object):
    def __init__(self, parent, depth, label):
        self.parent = parent  # cycle: child -> parent -> children -> child
        self.label = label
        self.children = []
        self.attrs = {"depth": depth, "label": label}
        if depth > 0:
            for i in range(3):
                self.children.append(TreeNode(self, depth - 1, label * 3 + i))

    def count(self):
        n = 1
        for c in self.children:
            n += c.count()
        return n


def setup():
    return None


def run(state, scale):
    total = 0
    for it in range(max(1, int(round(ITERATIONS * scale)))):
        forest = [TreeNode(None, 6, it + j) for j in range(3)]  # 3 x 1093 nodes
        total += sum(t.count() for t in forest)
        keep = forest[it % 3].children[0]
        del forest  # the cycles are only reclaimed by the collector
        total += len(keep.attrs)
    return total


# ---- bench protocol (same in every workload) ---------------------------------
def main():
    scale, wait, hold = 1.0, True, False
    argv = sys.argv[1:]
    while argv:
        a = argv.pop(0)
        if a == "--scale":
            scale = float(argv.pop(0))
        elif a == "--no-wait":
            wait = False
        elif a == "--hold":
            hold = True
        else:
            sys.exit("usage: %s [--scale F] [--no-wait] [--hold]" % sys.argv[0])
    sigs = {signal.SIGUSR1}
    signal.pthread_sigmask(signal.SIG_BLOCK, sigs)
    state = setup()
    run(state, 0.05)
    print("ready %d" % os.getpid(), flush=True)
    if wait and signal.sigtimedwait(sigs, 600) is None:
        sys.exit("no SIGUSR1 within 600 s")
    t0 = time.perf_counter()
    run(state, scale)
    elapsed = time.perf_counter() - t0
    print("elapsed %.6f" % elapsed, flush=True)
    if hold and signal.sigtimedwait(sigs, 600) is None:
        sys.exit("no second SIGUSR1 within 600 s")


if __name__ == "__main__":
    main()
