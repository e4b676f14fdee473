"""independent workload: docutils (python3-docutils) converting reStructuredText to HTML with
docutils.core.publish_string, over docutils' own documentation as Debian ships it
(/usr/share/doc/python3-docutils: HISTORY, FAQ, RELEASE-NOTES, README, BUGS). Mirrors
pyperformance's `docutils` (rst -> html of docutils' docs)."""
import gzip
import os

import _common

REQUIRES = ["docutils.core"]
DOC = "/usr/share/doc/python3-docutils"
FILES = ["BUGS.txt", "README.txt", "RELEASE-NOTES.txt", "FAQ.txt", "HISTORY.txt"]  # small first: small --scale
ITERATIONS = 1  # passes over the files


def setup():
    import docutils.core
    texts = []
    for name in FILES:
        path = _common.data_path(os.path.join(DOC, name), os.path.join(DOC, name + ".gz"))
        opener = gzip.open if path.endswith(".gz") else open
        with opener(path, "rt", encoding="utf-8") as f:
            texts.append(f.read())
    settings = {"report_level": 5, "halt_level": 5, "warning_stream": False, "_disable_config": True,
                "file_insertion_enabled": False, "raw_enabled": False, "input_encoding": "unicode",
                "output_encoding": "unicode"}
    return docutils.core, texts, settings


def run(state, scale):
    core, texts, settings = state
    n = max(1, int(round(ITERATIONS * len(texts) * scale)))
    total = 0
    for i in range(n):
        total += len(core.publish_string(texts[i % len(texts)], writer_name="html",
                                         settings_overrides=settings))
    return total


if __name__ == "__main__":
    _common.main(REQUIRES, setup, run)
