"""independent workload: SymPy (python3-sympy): expand, integrate, summation and str of a large
expansion, with SymPy's cache cleared before each, as pyperformance's `sympy` benchmarks
(sympy_expand, sympy_integrate, sympy_sum, sympy_str) do."""
import _common

REQUIRES = ["sympy"]
ITERATIONS = 1


def setup():
    import sympy
    from sympy.core.cache import clear_cache
    return sympy, clear_cache


def run(state, scale):
    sympy, clear_cache = state
    x, y, z = sympy.symbols("x y z")
    ops = [lambda: len(sympy.expand((1 + x + y + z) ** 20).args),
           lambda: len(str(sympy.integrate(x ** 1 * sympy.exp(x) * sympy.cos(x), x))),
           lambda: int(sympy.summation(x ** 2, (x, 1, 400))),
           lambda: len(str(sympy.expand((x + 2 * y + 3 * z) ** 30)))]
    total = 0
    for i in range(max(1, int(round(ITERATIONS * len(ops) * scale)))):  # a small scale is fewer operations
        clear_cache()
        total += ops[i % len(ops)]()
    return total


if __name__ == "__main__":
    _common.main(REQUIRES, setup, run)
