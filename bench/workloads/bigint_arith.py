"""bench workload: integer arithmetic: pidigits (big ints) and trial-division factorization (small ints)."""

import _protocol  # ready / SIGUSR1 / elapsed, shared by the workloads

ITERATIONS = 800


def setup():
    return None


def pidigits(ndigits):
    # unbounded spigot (Gibbons), as in the benchmarks game
    digits = []
    q, r, t, k, n, l = 1, 0, 1, 1, 3, 3
    while len(digits) < ndigits:
        if 4 * q + r - t < n * t:
            digits.append(n)
            q, r, t, k, n, l = 10 * q, 10 * (r - n * t), t, k, (10 * (3 * q + r)) // t - 10 * n, l
        else:
            q, r, t, k, n, l = q * k, (2 * q + r) * l, t * l, k + 1, (q * (7 * k + 2) + r * l) // (t * l), l + 2
    return digits


def factorize(n):
    factors = []
    d = 2
    while d * d <= n:
        while n % d == 0:
            factors.append(d)
            n //= d
        d += 1 if d == 2 else 2
    if n > 1:
        factors.append(n)
    return factors


def run(state, scale):
    total = 0
    for i in range(max(1, int(round(ITERATIONS * scale)))):
        total += sum(pidigits(120 + (i % 5) * 10))
        base = 1000003 + i * 7919
        for n in range(base, base + 40):
            total += len(factorize(n))
        total += pow(3, 2000 + i, 10 ** 40 + 7) % 1000
    return total


if __name__ == "__main__":
    _protocol.main(setup, run)
