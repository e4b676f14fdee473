"""bench workload: string building: join, %-format, str.format, f-strings, concatenation, replace/split."""
import random

import _protocol  # ready / SIGUSR1 / elapsed, shared by the workloads

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


if __name__ == "__main__":
    _protocol.main(setup, run)
