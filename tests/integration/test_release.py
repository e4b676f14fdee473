"""What a release is made of: --version, the bash completion generated from
the option table, `make install` and `make dist` (Makefile, user/release.c).
Nothing here loads BPF; `make dist` builds the static binary (incremental)."""

import os
import re
import shutil
import subprocess
import tarfile

import pytest

from conftest import REPO_ROOT

BASH = shutil.which("bash") or "/bin/bash"


def run(argv, **kw):
    return subprocess.run(argv, cwd=REPO_ROOT, stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
                          text=True, **kw)


def git_rev():
    if not os.path.isdir(os.path.join(REPO_ROOT, ".git")) and \
            not os.path.isfile(os.path.join(REPO_ROOT, ".git")):
        return None
    cp = run(["git", "describe", "--always", "--dirty", "--abbrev=12"])
    return cp.stdout.strip() if cp.returncode == 0 else None


def test_version(binary):
    """--version: the version, the revision it was built from, the build,
    libbpf, debuginfod, and the CPython versions of the table (the same range
    the refusal of an unsupported version names)."""
    cp = run([binary, "--version"])
    assert cp.returncode == 0, cp.stdout
    lines = dict(l.split(": ", 1) for l in cp.stdout.splitlines()[1:])
    assert re.match(r"pymemwatch \d+\.\d+\.\d+$", cp.stdout.splitlines()[0]), cp.stdout
    rev = git_rev()
    if rev and not rev.endswith("-dirty"):
        assert lines["revision"] == rev, \
            "%s was built from %s, the checkout is at %s: run make" % (binary, lines["revision"], rev)
    assert lines["build"] == "dynamic", cp.stdout
    assert re.match(r"v?\d+\.\d+", lines["libbpf"]), cp.stdout
    assert lines["debuginfod"].startswith(("available", "unavailable: ")), cp.stdout
    versions = lines["CPython"].split("; free-threaded: ")
    minors = [int(v.split(".")[1]) for v in versions[0].split(", ")]
    assert minors == list(range(minors[0], minors[-1] + 1)), cp.stdout
    readme = open(os.path.join(REPO_ROOT, "README.md")).read()
    assert "Supported: CPython 3.%d\u20133.%d " % (minors[0], minors[-1]) in readme, cp.stdout
    assert "3.13t" in versions[1], cp.stdout


def complete(binary, words):
    """COMPREPLY of the generated completion for the command line `words`
    (the last word is the one being completed)."""
    script = ('source <("$PMW" --bash-completion) && COMP_WORDS=("$@") && '
              'COMP_CWORD=$(($# - 1)) && _pymemwatch && printf "%s\\n" "${COMPREPLY[@]}"')
    cp = subprocess.run([BASH, "-c", script, "bash"] + words, env=dict(os.environ, PMW=binary),
                        stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, timeout=30)
    assert cp.returncode == 0, cp.stderr
    return [w for w in cp.stdout.splitlines() if w]


def test_bash_completion(binary, tmp_path, procs):
    """The completion, generated from the option table, completes every
    option --help lists, the words of a choice, files for FILE, Python PIDs
    for -p (also after a comma), and commands after --."""
    helptext = run([binary, "--help"]).stdout
    listed = set(re.findall(r"--([a-z][a-z-]+)", helptext.split("CSV COLUMNS")[0]))
    offered = set(w[2:] for w in complete(binary, ["pymemwatch", "--"]) if w.startswith("--"))
    assert listed and listed <= offered, sorted(listed - offered)
    assert complete(binary, ["pymemwatch", "--mo"]) == ["--mode"]
    assert complete(binary, ["pymemwatch", "--mode", ""]) == ["gc", "heap", "full"]
    assert complete(binary, ["pymemwatch", "--alloc-profile", "al"]) == ["always"]
    (tmp_path / "run.csv").write_text("")
    assert complete(binary, ["pymemwatch", "--csv", str(tmp_path / "ru")]) == \
        [str(tmp_path / "run.csv")]
    assert complete(binary, ["pymemwatch", "report", str(tmp_path / "ru")]) == \
        [str(tmp_path / "run.csv")]
    py = procs.popen(["/usr/bin/python3", "-c", "import time; time.sleep(60)"])
    assert str(py.pid) in complete(binary, ["pymemwatch", "-p", ""])
    assert "1,%d" % py.pid in complete(binary, ["pymemwatch", "--pid", "1,%d" % py.pid])
    assert "bash" in complete(binary, ["pymemwatch", "--", "bas"])
    assert complete(binary, ["pymemwatch", "-i", ""]) == []


def test_make_install(binary, tmp_path):
    """make install DESTDIR=...: the binary, the man page and the completion
    (the one the installed binary generates); STATIC=1 installs the static one."""
    dest = tmp_path / "root"
    cp = run(["make", "-s", "install", "DESTDIR=%s" % dest, "PREFIX=/usr"], timeout=600)
    assert cp.returncode == 0, cp.stdout
    files = sorted(str(p.relative_to(dest)) for p in dest.rglob("*") if p.is_file())
    assert files == ["usr/bin/pymemwatch", "usr/share/bash-completion/completions/pymemwatch",
                     "usr/share/man/man8/pymemwatch.8"], files
    installed = str(dest / "usr/bin/pymemwatch")
    assert open(installed, "rb").read() == open(binary, "rb").read()
    gen = subprocess.run([installed, "--bash-completion"], stdout=subprocess.PIPE, text=True)
    assert gen.stdout == (dest / "usr/share/bash-completion/completions/pymemwatch").read_text()
    if shutil.which("man"):
        page = subprocess.run(["man", "-l", str(dest / "usr/share/man/man8/pymemwatch.8")],
                              stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
                              env=dict(os.environ, MANWIDTH="100"))
        assert "--debuginfod-timeout" in page.stdout.replace("\u2010", "-"), page.stderr
    static = os.path.join(REPO_ROOT, "pymemwatch-static")
    if os.path.exists(static):
        cp = run(["make", "-s", "install", "STATIC=1", "DESTDIR=%s" % (tmp_path / "s")])
        assert cp.returncode == 0, cp.stdout
        out = run([str(tmp_path / "s/usr/local/bin/pymemwatch"), "--version"]).stdout
        assert "build: static" in out, out
        # no dlopen into a static glibc: debuginfod is unavailable, and it says why
        assert "debuginfod: unavailable: this is the static build" in out, out


def test_make_dist(tmp_path):
    """make dist: a source tarball holding every tracked file plus REVISION,
    the static binary, and SHA-256 sums that check."""
    rev = git_rev()
    if not rev:
        pytest.skip("not a git checkout: make dist needs git archive")
    cp = run(["make", "-s", "dist"], timeout=900)
    if cp.returncode != 0 and "apt-get source" in cp.stdout:
        pytest.skip("make static: Debian's libmicrohttpd source is unreachable")
    assert cp.returncode == 0, cp.stdout
    dist = os.path.join(REPO_ROOT, "dist")
    sums = open(os.path.join(dist, "SHA256SUMS")).read().split("\n")
    names = sorted(l.split()[1] for l in sums if l)
    version = re.search(r"pymemwatch-([0-9.]+)\.tar\.gz", " ".join(names)).group(1)
    assert names == ["pymemwatch-%s-x86_64-static" % version, "pymemwatch-%s.tar.gz" % version]
    check = subprocess.run(["sha256sum", "-c", "SHA256SUMS"], cwd=dist, stdout=subprocess.PIPE,
                           text=True)
    assert check.returncode == 0, check.stdout
    with tarfile.open(os.path.join(dist, "pymemwatch-%s.tar.gz" % version)) as t:
        members = set(m.name for m in t.getmembers() if m.isfile())
        revision = t.extractfile("pymemwatch-%s/REVISION" % version).read().decode().strip()
    tracked = run(["git", "ls-tree", "-r", "--name-only", "HEAD"]).stdout.split()
    prefix = "pymemwatch-%s/" % version
    assert members == set(prefix + f for f in tracked) | {prefix + "REVISION"}, \
        sorted(members ^ (set(prefix + f for f in tracked) | {prefix + "REVISION"}))[:10]
    assert revision == rev.replace("-dirty", ""), (revision, rev)   # the tarball is HEAD
    static = open(os.path.join(dist, "pymemwatch-%s-x86_64-static" % version), "rb").read()
    assert static == open(os.path.join(REPO_ROOT, "pymemwatch-static"), "rb").read()
