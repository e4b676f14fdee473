"""bench workload: re.compile / finditer / sub / split over generated text."""
import random
import re

import _protocol  # ready / SIGUSR1 / elapsed, shared by the workloads

ITERATIONS = 150


def setup():
    rng = random.Random(4321)
    syll = ["ka", "lo", "mi", "ne", "tu", "ra", "shi", "po", "ven", "dor"]
    lines = []
    for n in range(600):
        words = ["".join(rng.choice(syll) for _ in range(rng.randint(1, 4))) for _ in range(rng.randint(5, 14))]
        if n % 3 == 0:
            words.insert(rng.randint(0, len(words)), "user%d@host%d.example.org" % (rng.randint(1, 999), rng.randint(1, 50)))
        if n % 4 == 0:
            words.append("2023-%02d-%02dT%02d:%02d:%02d" % (rng.randint(1, 12), rng.randint(1, 28), rng.randint(0, 23), rng.randint(0, 59), rng.randint(0, 59)))
        if n % 5 == 0:
            words.append("%d.%d.%d.%d:%d" % (rng.randint(1, 255), rng.randint(0, 255), rng.randint(0, 255), rng.randint(1, 254), rng.randint(1024, 65535)))
        words.append("value=%d.%02d" % (rng.randint(0, 10000), rng.randint(0, 99)))
        lines.append(" ".join(words))
    text = "\n".join(lines)
    patterns = [
        r"[\w.]+@([\w-]+)\.example\.org",
        r"(\d{4})-(\d{2})-(\d{2})T(\d{2}):(\d{2}):(\d{2})",
        r"\b(\d{1,3}(?:\.\d{1,3}){3}):(\d+)\b",
        r"value=(\d+)\.(\d+)",
        r"\b(k\w*a)\b",
        r"(?i)\b(?:shi|ven)+\w*",
    ]
    return text, patterns


def run(state, scale):
    text, patterns = state
    total = 0
    for i in range(max(1, int(round(ITERATIONS * scale)))):
        re.purge()  # real compiles every iteration
        compiled = [re.compile(p) for p in patterns]
        for rx in compiled:
            for m in rx.finditer(text):
                total += len(m.groups()) + m.end() - m.start()
        out = compiled[1].sub(lambda m: "%s/%s/%s" % (m.group(3), m.group(2), m.group(1)), text)
        out = compiled[3].sub(r"v<\1,\2>", out)
        total += len(out)
        total += len(re.split(r"\s+", text[: 20000 + i]))
        total += len(compiled[4].findall(text))
    return total


if __name__ == "__main__":
    _protocol.main(setup, run)
