"""bench workload: GC-heavy: trees with parent pointers (reference cycles), built and discarded."""

import _protocol  # ready / SIGUSR1 / elapsed, shared by the workloads

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


if __name__ == "__main__":
    _protocol.main(setup, run)
