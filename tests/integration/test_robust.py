"""Robustness: never harm the target, never lose a row.

(a) SIGKILL of pymemwatch mid-run: the target keeps running, its GC still
    works, and nothing stays attached: the uprobes on the target's binary
    (a private copy, so that no other test's probes count), found by inode
    in every process's perf events and in tracefs, return to the count
    before the run, and the BPF programs and links the run held are gone
    by id, whoever might still hold them (perf_event uprobes die with their
    file descriptors).
(b) a target whose executable was deleted or replaced on disk after it
    started: pymemwatch attaches through the mapping, or fails with one
    line naming the cause; it never crashes.
(c) `pymemwatch -- FILE` where FILE is a truncated or corrupt ELF: exit 2,
    one line naming the cause.
(d) a CSV output path that is a symlink planted in /tmp: refused
    (O_NOFOLLOW), one line, non-zero exit, the symlink's target untouched.
(e) the CSV of a run killed with SIGKILL has its header and only complete
    lines (the file is flushed every interval).
(f) once attached, pymemwatch holds only the capabilities the rest of the
    run needs, in every thread, with no_new_privs set; and it still works:
    rows keep coming, leak bursts still attach their probes.
(g) a container plants, where its interpreter's debug file belongs, an
    absolute symlink to a host file or a FIFO: the link is resolved inside
    the container, the FIFO does not hang pymemwatch.
"""

import csv
import io
import json
import os
import shutil
import signal
import struct
import subprocess
import tempfile
import time

import pytest

from conftest import (PID_ATTACHED_RE, Interp, check_header, get_interp,
                      read_csv, rows_for, run_pmw, wait_rows)

TRACEFS = ("/sys/kernel/tracing", "/sys/kernel/debug/tracing")


def one_error_line(res, code):
    """stderr is exactly one line starting with 'pymemwatch: '."""
    lines = [l for l in res.stderr.splitlines() if l.strip()]
    assert res.rc == code, res.describe()
    assert len(lines) == 1, "expected one error line\n" + res.describe()
    assert lines[0].startswith("pymemwatch: "), res.describe()
    return lines[0]


def bpftool_json(*args):
    exe = shutil.which("bpftool") or "/usr/sbin/bpftool"
    if not os.path.exists(exe):
        pytest.skip("bpftool not installed")
    cp = subprocess.run([exe, "-j"] + list(args), stdout=subprocess.PIPE,
                        stderr=subprocess.PIPE, text=True, timeout=30)
    assert cp.returncode == 0, "bpftool %s: %s" % (args, cp.stderr)
    return json.loads(cp.stdout or "[]") or []


def same_file(path, st):
    """`path` (any form: /proc/PID/root/..., map_files) is the file `st`."""
    try:
        o = os.stat(path)
    except OSError:
        return False
    return (o.st_dev, o.st_ino) == (st.st_dev, st.st_ino)


def probes_on(st):
    """Everything attached to the file `st` by inode: perf_event uprobes and
    uretprobes held by any process (bpftool perf show), and tracefs
    (legacy) uprobes."""
    perf = [e for e in bpftool_json("perf", "show")
            if e.get("fd_type") in ("uprobe", "uretprobe")
            and same_file(e.get("filename", ""), st)]
    legacy = [l for l in uprobe_events()
              if len(l.split()) > 1 and same_file(l.split()[1].rsplit(":", 1)[0], st)]
    return perf + legacy


def bpf_ids_held(pid):
    """{"prog": ids, "link": ids, "map": ids} of the BPF objects pid holds
    file descriptors of (/proc/PID/fdinfo: bpftool 7.1 here cannot list
    holders)."""
    out = {"prog": set(), "link": set(), "map": set()}
    d = "/proc/%d/fdinfo" % pid
    for fd in os.listdir(d):
        try:
            with open(os.path.join(d, fd)) as f:
                for line in f:
                    k, _, v = line.partition(":")
                    if k in ("prog_id", "link_id", "map_id"):
                        out[k[:-3]].add(int(v))
        except OSError:
            pass
    return out


def ids_alive(kind, ids):
    """those of `ids` that still exist, held by anyone or pinned."""
    return {e["id"] for e in bpftool_json(kind, "show")} & set(ids)


def uprobe_events():
    for d in TRACEFS:
        path = os.path.join(d, "uprobe_events")
        if os.path.exists(path):
            with open(path) as f:
                return f.read().splitlines()
    return []


def pong(target, timeout=10.0):
    """SIGUSR2 -> `pong`: the target's interpreter still runs Python code."""
    mark = len(target.out.lines)
    os.kill(target.pid, signal.SIGUSR2)
    return target.out.wait_for("pong", timeout, start=mark) is not None


# --------------------------------------------------------------------------
# (a) SIGKILL mid-run leaves the target running and no probe behind


def test_sigkill_leaves_target_unprobed(env, procs, tmp_path):
    base = get_interp("debian-3.11")
    exe = str(tmp_path / "python3.11")
    shutil.copy2(base.path, exe)            # an inode no other test probes
    exe_st = os.stat(exe)
    before = probes_on(exe_st)
    target = procs.target(Interp("copy-3.11", exe, "copy of " + base.path), ["gc", "churn"])
    csv_path = str(tmp_path / "kill.csv")
    w = procs.watch("-p", target.pid, "-i", "0.2", "-q", "--csv", csv_path)
    w.wait_watching()
    assert wait_rows(csv_path, target.pid, 2), w.stop().describe()

    # while it runs, its uprobes are on the binary (so the checks below can see one)
    during = probes_on(exe_st)
    assert len(during) > len(before), "no uprobe on %s while pymemwatch %d runs: %s" \
        % (exe, w.pid, bpftool_json("perf", "show"))
    held = bpf_ids_held(w.pid)
    progs, links = held["prog"], held["link"]
    assert progs and held["map"], "pymemwatch %d holds no BPF program or map" % w.pid
    target.run_phase("gc")      # probes fire in the target while attached

    os.kill(w.pid, signal.SIGKILL)
    w.proc.wait(10)
    res = w.stop()
    assert res.rc == -signal.SIGKILL, res.describe()

    # nothing remains attached to the binary, and the programs and links of
    # the killed run are gone, whoever might hold them
    deadline = time.monotonic() + 10
    while True:
        left = (probes_on(exe_st), ids_alive("prog", progs), ids_alive("link", links),
                ids_alive("map", held["map"]))
        if (len(left[0]) <= len(before) and not any(left[1:])) or \
                time.monotonic() > deadline:
            break
        time.sleep(0.2)
    assert len(left[0]) == len(before), "uprobes left on %s by the killed pymemwatch %d: " \
        "%d before, %d during, now %s" % (exe, w.pid, len(before), len(during), left[0])
    assert not any(left[1:]), "programs %s / links %s / maps %s of the killed " \
        "pymemwatch still exist" % left[1:]

    # the target is untouched: alive, answers, and its GC and allocator
    # paths (where the uprobes were) still work
    assert target.proc.poll() is None, "target died: %s" % target.err.text()
    assert pong(target), target.out.text()
    snap = target.run_phase("churn")
    assert snap, "churn phase returned nothing"
    assert target.proc.poll() is None, target.err.text()
    assert target.stop() == 0, target.err.text()


# --------------------------------------------------------------------------
# (b) executable deleted or replaced on disk after the target started


@pytest.mark.parametrize("how", ["deleted", "replaced"])
def test_exe_deleted_or_replaced(env, procs, tmp_path, how):
    base = get_interp("debian-3.11")
    d = tmp_path / "bin"
    d.mkdir()
    exe = str(d / "python3.11")
    shutil.copy2(base.path, exe)
    target = procs.target(Interp("copy-3.11", exe, "copy of " + base.path),
                          ["gc"])
    os.unlink(exe)
    if how == "replaced":
        shutil.copy2("/bin/true", exe)          # another binary, same path
    with open("/proc/%d/maps" % target.pid) as f:
        assert "(deleted)" in f.read()

    csv_path = str(tmp_path / "deleted.csv")
    res = run_pmw(["-p", target.pid, "-i", "0.5", "-d", "3", "-q",
                   "--csv", csv_path], timeout=120)
    assert res.rc in (0, 2), res.describe()
    if res.rc == 2:
        line = one_error_line(res, 2)
        assert str(target.pid) in line, res.describe()
    else:
        # attached through the mapping (/proc/PID/map_files), real rows
        assert PID_ATTACHED_RE.search(res.stderr), res.describe()
        header, rows = read_csv(csv_path)
        check_header(header)
        rows = rows_for(rows, target.pid)
        assert rows, res.describe()
        assert all(r["python"].startswith("3.11") for r in rows), rows
        assert any(r["rss_bytes"] > 0 for r in rows), rows
    assert target.proc.poll() is None, target.err.text()
    target.run_phase("gc")
    assert target.stop() == 0, target.err.text()


# --------------------------------------------------------------------------
# (c) a truncated or corrupt ELF as the command


def _corrupt_shoff(path):
    with open(path, "r+b") as f:
        size = os.fstat(f.fileno()).st_size
        f.seek(0x28)                            # e_shoff (ELF64)
        f.write(struct.pack("<Q", size + 4096))


@pytest.mark.parametrize("kind", ["truncated", "bad-shoff"])
def test_command_corrupt_elf(env, tmp_path, kind):
    base = get_interp("debian-3.11")
    exe = str(tmp_path / ("python3.11-" + kind))
    if kind == "truncated":
        with open(base.path, "rb") as src, open(exe, "wb") as dst:
            dst.write(src.read(65536))
    else:
        shutil.copy2(base.path, exe)
        _corrupt_shoff(exe)
    os.chmod(exe, 0o755)
    res = run_pmw(["-d", "2", "--", exe, "-c", "pass"], timeout=60)
    line = one_error_line(res, 2)
    assert exe in line, res.describe()
    assert "corrupt or truncated ELF" in line, res.describe()


def test_command_not_elf(env, tmp_path):
    exe = str(tmp_path / "not-an-elf")
    with open(exe, "wb") as f:
        f.write(b"\x7fELF" + b"\xff" * 60)       # an ELF magic and garbage
    os.chmod(exe, 0o755)
    res = run_pmw(["-d", "2", "--", exe], timeout=60)
    line = one_error_line(res, 2)
    assert exe in line, res.describe()


# --------------------------------------------------------------------------
# (d) the CSV output path is a planted symlink


@pytest.mark.parametrize("dangling", [False, True])
def test_csv_symlink_refused(env, procs, dangling):
    interp = get_interp("debian-3.11")
    target = procs.target(interp, ["gc"])
    d = tempfile.mkdtemp(prefix="pmw-symlink-", dir="/tmp")
    try:
        victim = os.path.join(d, "victim")
        if not dangling:
            with open(victim, "w") as f:
                f.write("precious\n")
            before = os.stat(victim)
        link = os.path.join(d, "out.csv")
        os.symlink(victim, link)
        res = run_pmw(["-p", target.pid, "-d", "2", "-q", "--csv", link],
                      timeout=60)
        assert res.rc != 0, res.describe()
        lines = [l for l in res.stderr.splitlines() if l.strip()]
        err = [l for l in lines if link in l]
        assert len(err) == 1 and err[0].startswith("pymemwatch: "), \
            res.describe()
        assert "symbolic link" in err[0], res.describe()
        assert os.path.islink(link)
        if dangling:
            assert not os.path.exists(victim), "symlink target created"
        else:
            after = os.stat(victim)
            with open(victim) as f:
                assert f.read() == "precious\n"
            assert (after.st_size, after.st_mtime_ns, after.st_ino) == \
                (before.st_size, before.st_mtime_ns, before.st_ino)
    finally:
        shutil.rmtree(d, ignore_errors=True)
    assert target.proc.poll() is None


# --------------------------------------------------------------------------
# (e) CSV of a SIGKILLed run: header and complete lines only


def test_csv_complete_after_sigkill(env, procs, tmp_path):
    interp = get_interp("debian-3.11")
    target = procs.target(interp, ["churn", "gc"])
    csv_path = str(tmp_path / "killed.csv")
    w = procs.watch("-p", target.pid, "-i", "0.1", "-q", "--csv", csv_path)
    w.wait_watching()
    target.run_phase("churn")                   # activity while rows flow
    assert wait_rows(csv_path, target.pid, 5), w.stop().describe()
    os.kill(w.pid, signal.SIGKILL)
    w.proc.wait(10)
    assert w.stop().rc == -signal.SIGKILL

    with open(csv_path, "rb") as f:
        data = f.read()
    assert data.endswith(b"\r\n"), "last line incomplete: %r" % data[-200:]
    text = data.decode("utf-8")
    records = list(csv.reader(io.StringIO(text, newline="")))
    header, body = records[0], records[1:]
    check_header(header)
    assert len(body) >= 5, text
    bad = [r for r in body if len(r) != len(header)]
    assert not bad, "incomplete rows: %s" % bad
    pid_col = header.index("pid")
    assert all(r[pid_col] == str(target.pid) for r in body), text
    assert target.proc.poll() is None
    target.run_phase("gc")


# --------------------------------------------------------------------------
# (f) capabilities dropped after attach

# linux/capability.h
CAP = {"CAP_DAC_READ_SEARCH": 2, "CAP_SYS_PTRACE": 19, "CAP_SYS_ADMIN": 21,
       "CAP_CHECKPOINT_RESTORE": 40}


def proc_status(pid):
    out = {}
    with open("/proc/%d/status" % pid) as f:
        for line in f:
            k, _, v = line.partition(":")
            out[k] = v.strip()
    return out


@pytest.mark.parametrize("args,kept", [
    (["--mode", "gc"], ["CAP_SYS_PTRACE"]),
    # growth sites (on by default in heap and full) open watchpoints later: CAP_SYS_ADMIN stays
    (["--mode", "heap", "--growth-sites", "off", "--prometheus", "127.0.0.1:19913"], ["CAP_SYS_PTRACE"]),
    (["--alloc-profile", "always", "-vv"], ["CAP_SYS_PTRACE", "CAP_SYS_ADMIN"]),
], ids=["gc", "heap-prometheus", "full-bursts"])
def test_capabilities_dropped(env, procs, tmp_path, args, kept):
    interp = get_interp("debian-3.11")
    target = procs.target(interp, ["churn"])
    csv_path = str(tmp_path / "caps.csv")
    w = procs.watch("-p", target.pid, "-i", "0.3", "-q", "--csv", csv_path,
                    *args)
    w.wait_watching()
    want = sum(1 << CAP[c] for c in kept)
    tasks = os.listdir("/proc/%d/task" % w.pid)
    for tid in tasks:
        st = proc_status(int(tid))
        for k in ("CapEff", "CapPrm", "CapBnd"):
            assert int(st[k], 16) == want, "thread %s %s=%s, want %x (%s)\n%s" \
                % (tid, k, st[k], want, kept, w.stop().describe())
        assert int(st["CapInh"], 16) == 0 and int(st["CapAmb"], 16) == 0, st
        assert st["NoNewPrivs"] == "1", st
    if "--prometheus" in args:
        assert len(tasks) >= 2, "the HTTP server thread should exist: %s" % tasks
    # still working with what is left: rows, and (full) probes attached by bursts
    target.run_phase("churn")
    if "--alloc-profile" in args:
        i = w.err.wait_for("burst on", 30)
        assert i is not None and not w.err.lines[i].endswith("(0 free probes)"), \
            w.stop().describe()
    assert wait_rows(csv_path, target.pid, 3), w.stop().describe()
    res = w.stop()
    assert res.rc == 0, res.describe()
    assert "cannot drop capabilities" not in res.stderr, res.describe()
    assert "Operation not permitted" not in res.stderr, res.describe()


# --------------------------------------------------------------------------
# (g) files planted in a container's root: a symlink out of it, a FIFO


@pytest.mark.parametrize("plant", ["symlink-to-host", "fifo"])
def test_planted_debug_file_in_container(env, procs, tmp_path, plant):
    """The debug file a container offers for its interpreter's build-id is
    an absolute symlink to a host-only file (an ELF with a symbol table and
    the right build-id, which would be loaded if the link were followed
    from the host's root), or a FIFO (which a blocking open would hang on).
    pymemwatch must resolve the link inside the container (where nothing
    is), not hang, and attach without debuginfo."""
    from roots import require_root_fs
    root = require_root_fs("trixie")
    exe = "/usr/bin/python3.13"
    for tool in ("readelf", "objcopy", "unshare", "chroot"):
        if not shutil.which(tool):
            pytest.skip("%s is not installed" % tool)
    notes = subprocess.run(["readelf", "-n", root + exe], stdout=subprocess.PIPE,
                           text=True, check=True).stdout
    build_id = notes.split("Build ID:")[1].split()[0]
    hostonly = str(tmp_path / "hostonly.debug")
    subprocess.run(["objcopy", "--add-symbol", "pmw_planted=.text:0", root + exe,
                    hostonly], check=True)
    os.makedirs(os.path.join(root, "usr/lib/debug"), exist_ok=True)
    plant_dir = "%s/usr/lib/debug/.build-id/%s" % (root, build_id[:2])
    plant_path = "%s/%s.debug" % (plant_dir, build_id[2:])
    make = ("ln -s %s %s" % (hostonly, plant_path) if plant == "symlink-to-host"
            else "mkfifo %s" % plant_path)
    # a private tmpfs over the root's /usr/lib/debug: the cached root is untouched
    script = ("mount -t tmpfs tmpfs {root}/usr/lib/debug && mkdir -p {d} && {make} && "
              "exec chroot {root} {exe} -c 'import time; print(\"up\", flush=True); "
              "time.sleep(120)'").format(root=root, d=plant_dir, make=make, exe=exe)
    target = procs.popen(["unshare", "--mount", "--propagation", "private", "sh", "-c",
                          script], stdout=subprocess.PIPE, text=True)
    assert target.stdout.readline().strip() == "up"
    assert os.path.lexists("/proc/%d/root%s" % (
        target.pid, plant_path[len(root):])), "the plant is not visible to the target"

    res = run_pmw(["-p", target.pid, "-d", "2", "-q", "-v", "--mode", "heap"], timeout=60)
    assert res.rc == 0, res.describe()
    assert "attached to PID %d" % target.pid in res.stderr, res.describe()
    assert "debuginfo for" not in res.stderr, \
        "a file outside the container (or a FIFO) was loaded as debuginfo\n" + res.describe()
    assert target.poll() is None, "the target must survive"
