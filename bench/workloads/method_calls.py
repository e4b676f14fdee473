"""bench workload: Python method calls, in the style of pyperformance's call_method (bound
method calls of small classes, chained, with a few short-lived bound-method and argument
objects; little else allocates)."""
import _protocol  # ready / SIGUSR1 / elapsed, shared by the workloads

ITERATIONS = 1500000


class Point(object):
    def __init__(self, x):
        self.x = x

    def get(self):
        return self.x

    def add(self, other):
        return self.x + other.get()

    def chain(self, n, other):
        if n <= 0:
            return self.add(other)
        return self.chain(n - 1, other)


class Counter(object):
    def __init__(self):
        self.n = 0

    def bump(self, k=1):
        self.n += k
        return self

    def value(self):
        return self.n


def setup():
    return Point(3), Point(4), Counter()


def run(state, scale):
    a, b, c = state
    total = 0
    for i in range(max(1, int(round(ITERATIONS * scale)))):
        total += a.chain(4, b) + b.add(a) + a.get()
        c.bump().bump(2).bump()
        f = c.value  # a bound method object, created and dropped
        total += f()
    return total


if __name__ == "__main__":
    _protocol.main(setup, run)
