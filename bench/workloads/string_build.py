"""bench workload: string building: join, %-format, str.format, f-strings, concatenation, replace/split."""
import os
import random
import signal
import sys
import time

ITERATIONS = 400


def setup():
    rng = random.Random(55)
    rows = [(i, "name%d" % rng.randint(0, 99999), rng.random() * 1e4, rng.choice(["ok", "warn", "fail"]))
            for i in range(2000)]
    return rows


def run(rows, scale):
    total = 0
    for it in range(max(1, int(round(ITERATIONS * scale)))):
        parts = []
        for (i, name, value, status) in rows:
            parts.append("%6d %-12s %10.3f %s" % (i, name, value, status))
        table = "\n".join(parts)
        html = "".join(["<tr><td>{}</td><td>{}</td><td>{:.2f}</td></tr>".format(i, name, value)
                        for (i, name, value, status) in rows])
        csv_text = ""
        for (i, name, value, status) in rows[:400]:
            csv_text += str(i) + "," + name + "," + repr(value) + "," + status + "\n"
        fstr = [f"{name}:{status}:{i * it}" for (i, name, value, status) in rows]
        words = table.replace("  ", " ").split()
        upper = " ".join(w.upper() for w in words[:3000])
        total += len(table) + len(html) + len(csv_text) + len(fstr) + len(upper)
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
