"""Where an interpreter's symbols come from (user/elfimg.c): debug files that
do not belong to it are refused; debuginfod and MiniDebugInfo are used when
the local debug file is missing. (An interpreter with no symbols at all is
test_stripped.py's: user/symfind.c finds what it needs by disassembly.)

pyenv's libpython3.11 is copied and stripped and loaded through
LD_LIBRARY_PATH, which the dynamic loader searches before the executable's
DT_RUNPATH.
"""

import glob
import http.server
import os
import re
import shutil
import socket
import subprocess
import threading
import time
import urllib.request

import pytest

from conftest import (Interp, assert_gc_matches, format_rows, pyenv_root, run_pmw, stop_process,
                      watch_phase)

VERSION = "3.11.7"


@pytest.mark.parametrize("check", ["build-id", "CRC"])
def test_mismatched_debug_file_refused(binary, root, procs, tmp_path, check):
    """The stripped libpython's .gnu_debuglink names a debug file that sits
    beside it but belongs to another build (Debian's python3.11 debug file).
    Its symbols would put probes at wrong addresses: it must be refused,
    by build-id, or (image without a build-id) by the debuglink's CRC32."""
    prefix = os.path.join(pyenv_root(), "versions", VERSION)
    lib = os.path.join(prefix, "lib", "libpython3.11.so.1.0")
    exe = os.path.join(prefix, "bin", "python3.11")
    if not (os.path.exists(lib) and os.path.exists(exe)):
        pytest.skip("pyenv %s not installed (%s)" % (VERSION, exe))
    objcopy, readelf = shutil.which("objcopy"), shutil.which("readelf")
    if not (objcopy and readelf):
        pytest.skip("binutils' objcopy/readelf are not installed")
    notes = subprocess.run([readelf, "-n", "/usr/bin/python3.11"], stdout=subprocess.PIPE,
                           text=True).stdout
    if "Build ID:" not in notes:
        pytest.skip("/usr/bin/python3.11 has no build-id")
    bid = notes.split("Build ID:")[1].split()[0]
    other = "/usr/lib/debug/.build-id/%s/%s.debug" % (bid[:2], bid[2:])
    if not os.path.exists(other):
        pytest.skip("python3.11-dbg is not installed (%s)" % other)
    libdir = tmp_path / "lib"
    libdir.mkdir()
    copy = str(libdir / "libpython3.11.so.1.0")
    debug = str(libdir / "libpython3.11.so.1.0.debug")
    shutil.copy(other, debug)
    strip = [objcopy, "--strip-all", "--remove-section=.gnu_debuglink"]
    if check == "CRC":
        strip.append("--remove-section=.note.gnu.build-id")
    subprocess.run(strip + [lib, copy], check=True)
    # the CRC recorded is the debug file's own: then swap in one byte, so
    # that only a CRC check (not the name) can tell
    subprocess.run([objcopy, "--add-gnu-debuglink=" + debug, copy], check=True)
    if check == "CRC":
        with open(debug, "r+b") as f:
            f.seek(-1, 2)
            last = f.read(1)
            f.seek(-1, 2)
            f.write(bytes([last[0] ^ 0xff]))

    env = dict(os.environ, LD_LIBRARY_PATH=str(libdir))
    target = procs.popen([exe, "-c", "import time; print('up', flush=True); time.sleep(60)"],
                         env=env, stdout=subprocess.PIPE, text=True)
    assert target.stdout.readline().strip() == "up"
    assert copy in open("/proc/%d/maps" % target.pid).read()

    res = run_pmw(["-p", target.pid, "-d", "1", "-v"], timeout=60)
    assert "%s does not match" % check in res.stderr, res.describe()
    assert_only_dynsym(res, copy)
    assert target.poll() is None, "the target must survive"


def assert_only_dynsym(res, image):
    """-v: the image's symbols came from .dynsym alone (no refused file used);
    whatever else is measured is user/symfind.c's (disassembly)."""
    line = re.search(r"symbols for \S*%s: (.*)" % re.escape(image), res.stderr)
    assert line and line.group(1) == ".dynsym", res.describe()


# --------------------------------------------------------------------------
# Symbol sources beyond the image: debuginfod and MiniDebugInfo.
#
# The target is a copy of Debian's /usr/bin/python3.11 whose local debug file
# is hidden: the target and pymemwatch each run in a private mount namespace
# (unshare -m) where an empty tmpfs covers /usr/lib/debug, as on a machine
# without python3.11-dbg. Nothing in pymemwatch is test-specific; the copy
# keeps its build-id and .gnu_debuglink, so every local lookup really runs
# and really finds nothing.

DEBIAN_PY = "/usr/bin/python3.11"
DEBS_DIR = "/var/cache/pymemwatch/debs"
HIDE_DEBUG = ('mount -t tmpfs -o size=1m,mode=755 pmw-hidden /usr/lib/debug '
              '&& exec "$0" "$@"')


def hide_debug(argv=()):
    """argv run with /usr/lib/debug hidden (the PID stays the same: exec all along)."""
    return ["unshare", "--mount", "--propagation", "private", "sh", "-c",
            HIDE_DEBUG] + list(argv)


def build_id(path):
    notes = subprocess.run(["readelf", "-n", path], stdout=subprocess.PIPE,
                           text=True).stdout
    return notes.split("Build ID:")[1].split()[0] if "Build ID:" in notes else None


def debian_copy(tmp_path, name, usdt=True):
    """A copy of Debian's python3.11 in tmp_path/bin (USDT notes removed
    when not @usdt: then GC probes can only come from the symbols) and an
    executable wrapper that runs it with the debug files hidden."""
    for tool in ("unshare", "objcopy", "readelf", "nm", "xz"):
        if not shutil.which(tool):
            pytest.skip("%s is not installed (scripts/install-deps.sh)" % tool)
    if not os.path.exists(DEBIAN_PY) or not build_id(DEBIAN_PY):
        pytest.skip("%s (with a build-id) is not installed" % DEBIAN_PY)
    bindir = tmp_path / "bin"
    bindir.mkdir(exist_ok=True)
    copy = str(bindir / name)
    if usdt:
        shutil.copy(DEBIAN_PY, copy)
    else:
        subprocess.run(["objcopy", "--remove-section=.note.stapsdt", DEBIAN_PY, copy],
                       check=True)
    wrapper = str(bindir / (name + "-hidden"))
    with open(wrapper, "w") as f:
        f.write("#!/bin/sh\nexec %s \"$@\"\n" % " ".join(
            "'%s'" % a for a in hide_debug([copy])))
    os.chmod(wrapper, 0o755)
    return copy, wrapper


def check_hidden(pid):
    """The target really runs without its local debug file."""
    seen = os.listdir("/proc/%d/root/usr/lib/debug" % pid)
    assert seen == [], "/usr/lib/debug is not hidden from the target: %s" % seen


def pmw_env(**extra):
    env = {k: v for k, v in os.environ.items() if not k.startswith("DEBUGINFOD_")}
    env.update(extra)
    return env


def free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def metric(text, name):
    for line in text.splitlines():
        if line.startswith(name + " "):
            return float(line.split()[-1])
    return None


@pytest.fixture(scope="module")
def debuginfod_server(tmp_path_factory):
    """A real debuginfod (elfutils) on 127.0.0.1:<random port> serving the
    -dbg .debs in /var/cache/pymemwatch/debs (scripts/install-deps.sh puts
    python3.11-dbg's there); yields its URL once the .debs are indexed."""
    exe = shutil.which("debuginfod")
    if not exe:
        pytest.skip("the debuginfod server is not installed (Debian package debuginfod)")
    debs = sorted(glob.glob(os.path.join(DEBS_DIR, "python3.11-dbg_*.deb")))
    if not debs:
        pytest.skip("no python3.11-dbg .deb in %s (run scripts/install-deps.sh)" % DEBS_DIR)
    if not shutil.which("dpkg-deb"):
        pytest.skip("dpkg-deb is missing")
    work = tmp_path_factory.mktemp("debuginfod")
    for attempt in range(3):
        port = free_port()
        log = open(str(work / "server.log"), "w")
        # -F: scan the directory; -Z: .debs unpacked by dpkg-deb (-U would need bsdtar)
        proc = subprocess.Popen([exe, "-p", str(port), "-d", str(work / "db.sqlite"),
                                 "-F", "-Z", ".deb=dpkg-deb --fsys-tarfile", "-t", "0",
                                 "-g", "0", DEBS_DIR], stdout=log, stderr=log)
        url = "http://127.0.0.1:%d" % port
        deadline = time.monotonic() + 120
        while time.monotonic() < deadline and proc.poll() is None:
            try:
                text = urllib.request.urlopen(url + "/metrics", timeout=5).read().decode()
            except OSError:
                time.sleep(0.3)
                continue
            if (metric(text, 'scanned_files_total{source=".deb archive"}') or 0) >= len(debs) \
                    and metric(text, 'thread_work_pending{role="scan"}') == 0 \
                    and metric(text, 'thread_busy{role="scan"}') == 0:
                break
            time.sleep(0.3)
        if proc.poll() is None:
            break
        log.close()
    else:
        pytest.fail("debuginfod did not start:\n" + open(str(work / "server.log")).read())
    if time.monotonic() >= deadline:
        stop_process(proc)
        pytest.fail("debuginfod did not index %s within 120 s:\n%s"
                    % (debs, open(str(work / "server.log")).read()))
    yield url
    stop_process(proc)
    log.close()


def gc_exact_run(procs, tmp_path, wrapper, args, env):
    """gc_window.py's gc phase on the hidden-debug copy, watched by a
    pymemwatch in a namespace with /usr/lib/debug hidden too; checks the GC
    counts against gc.get_stats(). Returns (stderr, diag)."""
    target = procs.target(Interp("debian-3.11-copy", wrapper, "copy, debug file hidden"),
                          ["gc"])
    check_hidden(target.pid)
    res, rows, snap = watch_phase(procs, target, "gc", str(tmp_path / "gc.csv"),
                                  ["-vv"] + list(args), wrap=hide_debug(), env=env)
    diag = "%s\nrows:\n%s\nsnapshots: %s" % (res.describe(), format_rows(rows), snap)
    assert res.rc == 0, diag
    assert_gc_matches(rows, snap, diag)
    return res.stderr, diag


@pytest.mark.parametrize("usdt", [True, False], ids=["usdt", "no-usdt"])
def test_debuginfod_symbols_gc_exact(binary, root, procs, tmp_path, debuginfod_server, usdt):
    """No local debug file: pymemwatch fetches it from the debuginfod server
    (DEBUGINFOD_URLS), checks its build-id, says so on stderr, and takes the
    static symbols from it (the arena table; with USDT removed, the GC
    functions too). GC counts equal gc.get_stats() exactly."""
    copy, wrapper = debian_copy(tmp_path, "python3.11", usdt=usdt)
    bid = build_id(copy)
    cache = str(tmp_path / "dbgd-cache")
    stderr, diag = gc_exact_run(procs, tmp_path, wrapper, [],
                                pmw_env(DEBUGINFOD_URLS=debuginfod_server,
                                        DEBUGINFOD_CACHE_PATH=cache))
    fetched = "%s/buildid/%s/debuginfo" % (debuginfod_server, bid)
    status = [l for l in stderr.splitlines() if "debuginfod: fetching" in l]
    assert len(status) == 1, diag
    assert copy in status[0] and bid in status[0] and debuginfod_server in status[0], diag
    assert ("ok, " in status[0] and "from " + fetched in status[0]), diag
    assert os.path.getsize(os.path.join(cache, bid, "debuginfo")) > 1 << 20, diag
    assert "symbols for /proc/" in stderr and ": .dynsym, debuginfod %s\n" % fetched in stderr, diag
    source = ": from debuginfod " + fetched
    assert re.search(r"symbol arenas of \S+%s: from debuginfod %s" % (re.escape(copy),
                                                                     re.escape(fetched)),
                     stderr), diag
    assert "heap=scan" in stderr, diag
    if not usdt:
        assert re.search(r"symbol gc_collect_main of \S+%s%s" % (re.escape(copy),
                                                                 re.escape(source)), stderr), diag
        assert "gc=uprobe" in stderr, diag


def sleeper(procs, wrapper):
    target = procs.popen([wrapper, "-c", "import time; print('up', flush=True); time.sleep(120)"],
                         stdout=subprocess.PIPE, text=True)
    assert target.stdout.readline().strip() == "up"
    check_hidden(target.pid)
    return target


class _Server(object):
    """An HTTP server on 127.0.0.1 in a thread, for misbehaving debuginfod servers."""

    def __init__(self, handler):
        self.httpd = http.server.ThreadingHTTPServer(("127.0.0.1", 0), handler)
        self.httpd.requests = []
        self.url = "http://127.0.0.1:%d" % self.httpd.server_address[1]
        self.thread = threading.Thread(target=self.httpd.serve_forever, daemon=True)
        self.thread.start()

    def close(self):
        self.httpd.shutdown()
        self.httpd.server_close()


def test_debuginfod_wrong_build_id_refused(binary, root, procs, tmp_path):
    """A server that answers with another file (here pymemwatch's own
    binary: an ELF with a symbol table and another build-id) is refused: its
    symbols would put probes at wrong addresses."""
    copy, wrapper = debian_copy(tmp_path, "python3.11")
    other = build_id(binary)
    if not other:
        pytest.skip("%s has no build-id to differ from" % binary)

    class Liar(http.server.BaseHTTPRequestHandler):
        def do_GET(self):
            self.server.requests.append(self.path)
            data = open(binary, "rb").read()
            self.send_response(200)
            self.send_header("Content-Length", str(len(data)))
            self.end_headers()
            self.wfile.write(data)

        def log_message(self, *a):
            pass

    srv = _Server(Liar)
    try:
        target = sleeper(procs, wrapper)
        res = run_pmw(["-p", target.pid, "-d", "1", "-v"], timeout=60, wrap=hide_debug(),
                      env=pmw_env(DEBUGINFOD_URLS=srv.url,
                                  DEBUGINFOD_CACHE_PATH=str(tmp_path / "cache")))
    finally:
        srv.close()
    bid = build_id(copy)
    assert "/buildid/%s/debuginfo" % bid in srv.httpd.requests, res.describe()
    status = [l for l in res.stderr.splitlines() if "debuginfod: fetching" in l]
    assert len(status) == 1 and "refused:" in status[0] and "another build-id" in status[0], \
        res.describe()
    assert_only_dynsym(res, copy)
    assert target.poll() is None, "the target must survive"


def test_debuginfod_unreachable_time_limit(binary, root, procs, tmp_path):
    """A server that accepts connections and never answers: pymemwatch gives
    up after --debuginfod-timeout seconds, says so, and carries on without."""
    copy, wrapper = debian_copy(tmp_path, "python3.11")
    hole = socket.socket()
    hole.bind(("127.0.0.1", 0))
    hole.listen(64)          # the kernel completes handshakes; nothing is ever read or sent
    limit = 2
    try:
        target = sleeper(procs, wrapper)
        t0 = time.monotonic()
        res = run_pmw(["-p", target.pid, "-d", "1", "-v", "--debuginfod-timeout", limit],
                      timeout=60,
                      wrap=hide_debug(),
                      env=pmw_env(DEBUGINFOD_URLS="http://127.0.0.1:%d" % hole.getsockname()[1],
                                  DEBUGINFOD_CACHE_PATH=str(tmp_path / "cache")))
        wall = time.monotonic() - t0
    finally:
        hole.close()
    status = [l for l in res.stderr.splitlines() if "debuginfod: fetching" in l]
    assert len(status) == 1 and "gave up: time limit reached" in status[0], res.describe()
    took = float(re.search(r"after ([0-9.]+) s", status[0]).group(1))
    # the library polls about once a second: the limit plus that, not its 90 s default
    assert limit <= took <= limit + 2, res.describe()
    assert wall < limit + 20, "%.1f s\n%s" % (wall, res.describe())
    assert_only_dynsym(res, copy)
    assert target.poll() is None, "the target must survive"


DEBUGINFOD_SO = "libdebuginfod.so.1"


def test_debuginfod_library_missing(binary, root, procs, tmp_path):
    """libdebuginfod is loaded at run time (dlopen), not linked: on a host
    without it (here its file is covered by /dev/null in pymemwatch's mount
    namespace), DEBUGINFOD_URLS set gives one line saying it is missing and
    nothing is fetched; the run goes on with .dynsym (and disassembly)."""
    copy, wrapper = debian_copy(tmp_path, "python3.11")
    ldd = subprocess.run(["ldd", binary], stdout=subprocess.PIPE, text=True).stdout
    assert "libdebuginfod" not in ldd, "pymemwatch links libdebuginfod:\n" + ldd
    lib = subprocess.run(["/sbin/ldconfig", "-p"], stdout=subprocess.PIPE, text=True).stdout
    found = re.search(r"%s \(libc6,x86-64\) => (\S+)" % re.escape(DEBUGINFOD_SO), lib)
    if not found:
        pytest.skip("%s is not installed: nothing to hide" % DEBUGINFOD_SO)
    hole = socket.socket()
    hole.bind(("127.0.0.1", 0))
    hole.listen(4)           # never answers: a fetch would show as a hang and a status line
    hide_lib = ["unshare", "--mount", "--propagation", "private", "sh", "-c",
                'mount -t tmpfs -o size=1m,mode=755 pmw-hidden /usr/lib/debug && '
                'mount --bind /dev/null "$(readlink -f %s)" && exec "$0" "$@"' % found.group(1)]
    try:
        target = sleeper(procs, wrapper)
        res = run_pmw(["-p", target.pid, "-d", "1", "-v", "--debuginfod-timeout", 2],
                      timeout=60, wrap=hide_lib,
                      env=pmw_env(DEBUGINFOD_URLS="http://127.0.0.1:%d" % hole.getsockname()[1],
                                  DEBUGINFOD_CACHE_PATH=str(tmp_path / "cache")))
    finally:
        hole.close()
    said = [l for l in res.stderr.splitlines() if "libdebuginfod is not available" in l]
    assert len(said) == 1 and DEBUGINFOD_SO in said[0] and "libdebuginfod1" in said[0], \
        res.describe()
    assert "debuginfod: fetching" not in res.stderr, res.describe()
    assert res.rc == 0, res.describe()
    assert_only_dynsym(res, copy)
    assert target.poll() is None, "the target must survive"


def test_minidebuginfo_symbols_gc_exact(binary, root, procs, tmp_path, repo_root):
    """A copy of Debian's python3.11 given a .gnu_debugdata section the way
    Fedora's find-debuginfo builds one (scripts/add-minidebuginfo.sh), USDT
    notes removed and its debug file hidden: the GC and pool-refill functions
    come from MiniDebugInfo (-vv says so) and the GC counts are exact. (The
    3.11 arena table is not in MiniDebugInfo: user/symfind.c finds it.)"""
    copy, wrapper = debian_copy(tmp_path, "python3.11", usdt=False)
    bid = build_id(copy)
    debug = "/usr/lib/debug/.build-id/%s/%s.debug" % (bid[:2], bid[2:])
    if not os.path.exists(debug):
        pytest.skip("python3.11-dbg is not installed (%s): nothing to build MiniDebugInfo from"
                    % debug)
    subprocess.run([os.path.join(repo_root, "scripts", "add-minidebuginfo.sh"), debug, copy],
                   check=True, stdout=subprocess.PIPE)
    stderr, diag = gc_exact_run(procs, tmp_path, wrapper, [], pmw_env())
    assert re.search(r"symbols for \S+%s: \.dynsym, MiniDebugInfo\n" % re.escape(copy),
                     stderr + "\n"), diag
    for func in ("gc_collect_main", "allocate_from_new_pool"):
        assert re.search(r"symbol %s of \S+%s: from MiniDebugInfo" % (func, re.escape(copy)),
                         stderr), diag
    assert "gc=uprobe" in stderr and "debuginfod" not in stderr, diag


def test_minidebuginfo_unusable(binary, root, procs, tmp_path):
    """A .gnu_debugdata that is not xz (here random bytes) is ignored with a
    warning naming it; pymemwatch goes on with .dynsym."""
    copy, wrapper = debian_copy(tmp_path, "python3.11")
    junk = str(tmp_path / "junk")
    with open(junk, "wb") as f:
        f.write(os.urandom(4096))
    subprocess.run(["objcopy", "--add-section", ".gnu_debugdata=" + junk, copy], check=True)
    target = sleeper(procs, wrapper)
    res = run_pmw(["-p", target.pid, "-d", "1", "-v"], timeout=60, wrap=hide_debug(),
                  env=pmw_env())
    assert "%s: its MiniDebugInfo (.gnu_debugdata) is unusable: not an xz-compressed ELF" % copy \
        in res.stderr, res.describe()
    assert_only_dynsym(res, copy)
    assert target.poll() is None, "the target must survive"


def test_debuginfod_cache(binary, root, procs, tmp_path, debuginfod_server):
    """libdebuginfod's cache (DEBUGINFOD_CACHE_PATH) is honoured: a second
    run takes the debug file from it, though its server is now unreachable."""
    copy, wrapper = debian_copy(tmp_path, "python3.11")
    bid = build_id(copy)
    cache = str(tmp_path / "dbgd-cache")
    target = sleeper(procs, wrapper)
    status = []
    for url in (debuginfod_server, "http://127.0.0.1:%d" % free_port()):
        res = run_pmw(["-p", target.pid, "-d", "1", "-v"], timeout=60, wrap=hide_debug(),
                      env=pmw_env(DEBUGINFOD_URLS=url, DEBUGINFOD_CACHE_PATH=cache))
        assert res.rc == 0, res.describe()
        status += [l for l in res.stderr.splitlines() if "debuginfod: fetching" in l]
    assert len(status) == 2, "\n".join(status)
    assert "ok, " in status[0] and "from %s/buildid/%s/debuginfo" % (debuginfod_server, bid) \
        in status[0], status[0]
    assert "ok, " in status[1] and "from cache %s/%s/debuginfo" % (cache, bid) in status[1], \
        status[1]
