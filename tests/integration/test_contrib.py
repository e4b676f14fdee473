"""The container files, validated as far as a machine without Docker or
Kubernetes can (contrib/validate.py):

- the DaemonSet manifest against the Kubernetes schema (python3-kubernetes'
  models) and yamllint, and a mutated copy refused; its Prometheus
  annotations are the ones contrib/prometheus.yml's kubernetes-pods job keeps,
  and that job passes promtool (with static targets: Debian's Prometheus has
  no Kubernetes discovery);
- the Dockerfile's builder steps run as a script: the image's file list, and
  the image's root run like a container (private mount namespace, chroot,
  only the manifest's capabilities);
- the manifest's capabilities: the static binary under capsh with exactly
  those and nothing else attaches to a target of root and to one of another
  user in a 0700 directory and reads them (GC counts exact, metrics served);
  without any one of them it cannot.
"""

import os
import re
import shutil
import subprocess
import tempfile
import time
import urllib.request

import pytest
import yaml

from conftest import (REPO_ROOT, Watch, assert_gc_matches, format_rows, get_interp, read_csv,
                      rows_for, stop_process, wait_rows)

CONTRIB = os.path.join(REPO_ROOT, "contrib")
VALIDATE = os.path.join(CONTRIB, "validate.py")
MANIFEST = os.path.join(CONTRIB, "kubernetes", "daemonset.yaml")
STATIC = os.path.join(REPO_ROOT, "pymemwatch-static")
OTHER_UID = 4321


def manifest():
    return yaml.safe_load(open(MANIFEST))


def container(doc):
    return doc["spec"]["template"]["spec"]["containers"][0]


def manifest_caps():
    return ["cap_" + c.lower() for c in container(manifest())["securityContext"]["capabilities"]["add"]]


def validate(*args):
    return subprocess.run(["/usr/bin/python3", VALIDATE] + list(args), cwd=REPO_ROOT,
                          stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True, timeout=600)


def need(tool):
    if not shutil.which(tool):
        pytest.skip("%s is not installed (scripts/install-deps.sh)" % tool)


def test_manifest_valid(tmp_path):
    need("yamllint")
    cp = validate("manifest", MANIFEST)
    if cp.returncode == 2:
        pytest.skip(cp.stdout.strip())
    assert cp.returncode == 0, cp.stdout
    # the validator refuses what Kubernetes would: a misspelt field, a wrong type
    bad = open(MANIFEST).read().replace("hostPID:", "hostPid:").replace(
        "containerPort: 9464", 'containerPort: "9464"')
    (tmp_path / "bad.yaml").write_text(bad)
    cp = validate("manifest", str(tmp_path / "bad.yaml"))
    assert cp.returncode == 1 and "no field 'hostPid'" in cp.stdout and "expected int" in cp.stdout, \
        cp.stdout

    doc = manifest()
    spec, c = doc["spec"]["template"]["spec"], container(doc)
    assert spec["hostPID"] is True
    assert not c["securityContext"].get("privileged")
    assert c["securityContext"]["capabilities"]["drop"] == ["ALL"]
    assert c["args"][:3] == ["-a", "--prometheus", ":9464"], c["args"]
    notes = doc["spec"]["template"]["metadata"]["annotations"]
    assert notes["prometheus.io/scrape"] == "true"
    assert notes["prometheus.io/port"] == str(c["ports"][0]["containerPort"]) == "9464"
    assert notes["prometheus.io/path"] == "/metrics"


def test_prometheus_kubernetes_job(tmp_path):
    """contrib/prometheus.yml's commented kubernetes-pods job keeps the pods the
    DaemonSet annotates; uncommented, it passes promtool."""
    need("promtool")
    conf = open(os.path.join(CONTRIB, "prometheus.yml")).read()
    i, j = conf.index("#  - job_name: kubernetes-pods"), conf.index("# Fleet view")
    job = "".join(l[1:] + "\n" for l in conf[i:j].strip().splitlines())
    for name in ("scrape", "port", "path"):
        assert "__meta_kubernetes_pod_annotation_prometheus_io_%s" % name in job
    job = job.replace("kubernetes_sd_configs:\n      - role: pod",
                      'static_configs:\n      - targets: ["127.0.0.1:9464"]')
    assert "static_configs" in job
    (tmp_path / "p.yml").write_text(conf + job)
    cp = subprocess.run(["promtool", "check", "config", str(tmp_path / "p.yml")],
                        stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
    assert cp.returncode == 0, cp.stdout


def capsh_argv(keep, argv):
    """argv run by root with exactly the capabilities @keep: every other one is
    dropped from the bounding set, which is what root gets at exec (as in a
    container given `drop: [ALL]` and `add: keep`)."""
    all_caps = subprocess.run(["capsh", "--print"], stdout=subprocess.PIPE, text=True).stdout
    bounding = re.search(r"^Bounding set =(.*)$", all_caps, re.M).group(1).split(",")
    drop = ",".join(c for c in bounding if c not in keep)
    return ["capsh", "--drop=" + drop, "--"] + argv


@pytest.fixture(scope="module")
def static_binary():
    cp = subprocess.run(["make", "-s", "static"], cwd=REPO_ROOT, stdout=subprocess.PIPE,
                        stderr=subprocess.STDOUT, text=True, timeout=900)
    if cp.returncode != 0 and "apt-get source" in cp.stdout:
        pytest.skip("make static: Debian's libmicrohttpd source is unreachable")
    assert cp.returncode == 0, cp.stdout
    return STATIC


def test_image_file_list(env, static_binary, tmp_path):
    """The Dockerfile's builder steps as a script: the final image's files, and
    its root run as a container would run it."""
    need("capsh")
    rootfs = str(tmp_path / "rootfs")
    cp = validate("image", rootfs)
    assert cp.returncode == 0, cp.stdout[-4000:]
    files = re.findall(r"^  (/\S+)", cp.stdout, re.M)
    assert "apt-get: " in cp.stdout and "all installed here" in cp.stdout, cp.stdout
    assert "/usr/bin/pymemwatch" in files and "/tmp/" in files, files
    assert all(f in ("/usr/bin/pymemwatch", "/tmp/", "/proc/", "/sys/", "/usr/lib/debug/")
               or f.startswith("/usr/share/terminfo/") for f in files), files
    assert "/usr/share/terminfo/x/xterm" in files
    assert "entrypoint /usr/bin/pymemwatch\ncmd -a --prometheus :9464 -q" in cp.stdout
    image_bin = os.path.join(rootfs, "usr/bin/pymemwatch")
    assert "INTERP" not in subprocess.run(["readelf", "-l", image_bin], stdout=subprocess.PIPE,
                                          text=True).stdout
    # the image's root as a container: its own mount namespace with /proc and /sys,
    # chroot, only the manifest's capabilities, the entrypoint
    run = ('mount --bind /proc "$R/proc" && mount --rbind /sys "$R/sys" && exec capsh '
           '--drop="$DROP" --chroot="$R" --shell=/usr/bin/pymemwatch -- --version')
    drop = capsh_argv(manifest_caps(), [])[1][len("--drop="):]
    out = subprocess.run(["unshare", "--mount", "--propagation", "private", "sh", "-c", run],
                         env=dict(os.environ, R=rootfs, DROP=drop), stdout=subprocess.PIPE,
                         stderr=subprocess.STDOUT, text=True, timeout=60)
    assert out.returncode == 0 and "build: static" in out.stdout, out.stdout


@pytest.fixture
def other_user_target(procs):
    """Debian's python3.11 copied into a 0700 home of another user, run as that
    user, collecting every 0.2 s: only DAC_READ_SEARCH opens its files. (Not under
    tmp_path: pytest's folders are 0700 root, which that user cannot cross.)"""
    need("setpriv")
    top = tempfile.mkdtemp(prefix="pmw-contrib.")
    os.chmod(top, 0o755)
    home = os.path.join(top, "alice")
    os.makedirs(os.path.join(home, "venv"))
    shutil.copy("/usr/bin/python3.11", os.path.join(home, "venv", "python"))
    for p in (home, os.path.join(home, "venv"), os.path.join(home, "venv", "python")):
        os.chown(p, OTHER_UID, OTHER_UID)
    os.chmod(home, 0o700)
    p = procs.popen(["setpriv", "--reuid", str(OTHER_UID), "--regid", str(OTHER_UID),
                     "--clear-groups", os.path.join(home, "venv", "python"), "-c",
                     "import gc, time\nwhile True:\n    gc.collect(); time.sleep(0.2)\n"])
    yield p
    stop_process(p)
    shutil.rmtree(top, ignore_errors=True)


def free_port():
    import socket
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def test_manifest_capabilities(env, procs, static_binary, other_user_target, tmp_path):
    """The static binary with exactly the manifest's capabilities and its
    arguments (-a replaced by the two test targets: -a would take every Python
    of this shared machine) attaches and reads; without any one it cannot."""
    need("capsh")
    caps, args = manifest_caps(), container(manifest())["args"]
    interp = get_interp("debian-3.11")
    target = procs.target(interp, ["gc"])
    other = other_user_target
    time.sleep(0.5)
    port = free_port()
    pmw_args = ["-p", "%d,%d" % (target.pid, other.pid)] + \
        [a if a != ":9464" else "127.0.0.1:%d" % port for a in args if a != "-a"] + \
        ["-i", "0.5", "--csv", str(tmp_path / "gc.csv")]
    assert "--prometheus" in pmw_args and "-q" in pmw_args
    run = capsh_argv(caps, ["-c", 'exec "$PMW_STATIC" "$@"'])
    pmw = Watch(pmw_args, wrap=run, env=dict(os.environ, PMW_STATIC=static_binary))
    procs.watches.append(pmw)
    pmw.wait_watching()
    assert wait_rows(str(tmp_path / "gc.csv"), target.pid, 1), pmw.stop().describe()
    status = open("/proc/%d/status" % pmw.pid).read()
    snap = target.run_phase("gc")
    time.sleep(1.2)
    metrics = urllib.request.urlopen("http://127.0.0.1:%d/metrics" % port, timeout=10).read().decode()
    res = pmw.stop()
    rows = rows_for(read_csv(str(tmp_path / "gc.csv"))[1], target.pid)
    diag = "%s\n%s" % (res.describe(), format_rows(rows))
    assert res.rc == 0 and "cannot drop capabilities" not in res.stderr, diag
    assert "attached to PID %d" % other.pid in res.stderr, diag
    want = sum(1 << n for n in (21, 19, 2))      # SYS_ADMIN, SYS_PTRACE, DAC_READ_SEARCH
    assert caps == ["cap_sys_admin", "cap_sys_ptrace", "cap_dac_read_search"], caps
    assert "CapBnd:\t%016x" % want in status, status
    assert_gc_matches(rows, snap, diag)
    live = re.search(r'pymemwatch_live_heap_bytes\{pid="%d"[^}]*\} (\S+)' % other.pid, metrics)
    assert live and float(live.group(1)) > 0, metrics[:2000]

    for missing in caps:
        less = [c for c in caps if c != missing]
        cp = subprocess.run(capsh_argv(less, ["-c", 'exec "$PMW_STATIC" "$@"', "pmw", "-p",
                                              str(other.pid), "-d", "1", "-q"]),
                            env=dict(os.environ, PMW_STATIC=static_binary), stdout=subprocess.PIPE,
                            stderr=subprocess.PIPE, text=True, timeout=60)
        assert cp.returncode != 0, "%s not needed?\n%s" % (missing, cp.stderr)
        if missing != "cap_dac_read_search":
            assert cp.returncode == 77 and missing[4:].upper() in cp.stderr, cp.stderr
        else:       # the interpreter is there but not readable: said so, with the fix
            assert cp.returncode == 2 and "CAP_DAC_READ_SEARCH" in cp.stderr, cp.stderr
