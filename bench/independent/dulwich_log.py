"""independent workload: Dulwich (python3-dulwich), a pure-Python git: walk the whole history of
a packed repository and compute each commit's tree changes (`git log --name-status`), opening
the repository afresh each time. Mirrors pyperformance's `dulwich_log`.

The repository is built once by this driver with Dulwich itself and cached under /tmp (keyed by
Dulwich's version): 600 commits, each adding one module of Debian's /usr/lib/python3.11 (or
appending a line to an earlier one), with fixed authors and dates, so it is the same everywhere.
Building it is not timed."""
import os
import shutil
import tempfile

import _common

REQUIRES = ["dulwich.repo"]
SRC = "/usr/lib/python3.11"
COMMITS = 600
ITERATIONS = 2


def _source_files():
    out = []
    for d, dirs, files in os.walk(SRC):
        dirs[:] = sorted(x for x in dirs if x not in ("test", "tests", "idle_test", "site-packages",
                                                       "dist-packages", "__pycache__"))
        out += [os.path.join(d, f) for f in sorted(files) if f.endswith(".py")]
    return out


def _build(path):
    from dulwich.objects import Blob, Commit, Tree
    from dulwich.repo import MemoryRepo, Repo
    mem = MemoryRepo()
    store = mem.object_store
    files = _source_files()
    content = {}  # path (bytes) -> data
    parent = None

    def tree_of(entries):  # {name: data or dict} -> tree id, adding blobs/trees to the store
        t = Tree()
        for name, v in entries.items():
            if isinstance(v, dict):
                t.add(name, 0o040000, tree_of(v))
            else:
                b = Blob.from_string(v)
                store.add_object(b)
                t.add(name, 0o100644, b.id)
        store.add_object(t)
        return t.id

    added = 0
    for i in range(COMMITS):
        if i % 4 == 3 and content:
            key = sorted(content)[(i * 7919) % len(content)]
            content[key] += b"# edit %d\n" % i
            msg = b"edit " + key
        else:
            f = files[added % len(files)]
            added += 1
            with open(f, "rb") as fh:
                key = os.path.relpath(f, SRC).encode()
                content[key] = fh.read()
            msg = b"add " + key
        nested = {}
        for k, v in content.items():
            parts = k.split(b"/")
            d = nested
            for p in parts[:-1]:
                d = d.setdefault(p, {})
            d[parts[-1]] = v
        c = Commit()
        c.tree = tree_of(nested)
        c.parents = [parent] if parent else []
        c.author = c.committer = b"Bench Author <bench@example.org>"
        c.author_time = c.commit_time = 1700000000 + i * 3600
        c.author_timezone = c.commit_timezone = 0
        c.message = msg + b"\n"
        store.add_object(c)
        parent = c.id
    tmp = tempfile.mkdtemp(prefix=os.path.basename(path) + ".", dir=os.path.dirname(path))
    repo = Repo.init_bare(tmp)
    repo.object_store.add_objects([(store[sha], None) for sha in store])  # one pack
    repo.refs[b"refs/heads/master"] = parent
    repo.close()
    try:
        os.rename(tmp, path)
    except OSError:  # built concurrently by another run
        shutil.rmtree(tmp, ignore_errors=True)


def setup():
    import dulwich
    from dulwich.repo import Repo
    path = os.path.join(tempfile.gettempdir(), "pmw-bench-dulwich-%s-%d" %
                        (".".join(map(str, dulwich.__version__)), COMMITS))
    if not os.path.isdir(path):
        _build(path)
    return Repo, path


def run(state, scale):
    repo_cls, path = state
    total = 0
    left = max(1, int(round(ITERATIONS * COMMITS * scale)))  # a small scale walks fewer commits
    while left > 0:
        repo = repo_cls(path)
        for entry in repo.get_walker(repo.head(), max_entries=min(left, COMMITS)):
            total += len(entry.commit.message)
            for change in entry.changes():
                total += 1
        repo.close()
        left -= COMMITS
    return total


if __name__ == "__main__":
    _common.main(REQUIRES, setup, run)
