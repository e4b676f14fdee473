"""An interpreter whose symbols are gone: a clear error naming the fix.

pyenv's libpython3.11 is copied and stripped (no .symtab, no debuglink, a
build-id with no debug file behind it) and loaded through LD_LIBRARY_PATH,
which the dynamic loader searches before the executable's DT_RUNPATH.
"""

import os
import shutil
import subprocess
import time

import pytest

from conftest import pyenv_root, run_pmw
from test_cli import error_line_ok

VERSION = "3.11.7"


def test_stripped_interpreter_without_debuginfo(binary, root, procs, tmp_path):
    prefix = os.path.join(pyenv_root(), "versions", VERSION)
    lib = os.path.join(prefix, "lib", "libpython3.11.so.1.0")
    exe = os.path.join(prefix, "bin", "python3.11")
    if not (os.path.exists(lib) and os.path.exists(exe)):
        pytest.skip("pyenv %s not installed (%s)" % (VERSION, exe))
    strip = shutil.which("strip")
    if not strip:
        pytest.skip("binutils' strip is not installed")
    libdir = tmp_path / "lib"
    libdir.mkdir()
    copy = str(libdir / "libpython3.11.so.1.0")
    shutil.copy(lib, copy)
    subprocess.run([strip, "--strip-all", "--remove-section=.gnu_debuglink", copy], check=True)

    env = dict(os.environ, LD_LIBRARY_PATH=str(libdir))
    target = procs.popen([exe, "-c", "import time; print('up', flush=True); time.sleep(60)"],
                         env=env, stdout=subprocess.PIPE, text=True)
    assert target.stdout.readline().strip() == "up"
    maps = open("/proc/%d/maps" % target.pid).read()
    assert copy in maps, "the stripped copy was not the one loaded:\n" + maps

    res = run_pmw(["-p", target.pid, "-d", "1"], timeout=60)
    assert res.rc == 2, res.describe()
    assert error_line_ok(res), res.describe()
    err = res.stderr.lower()
    assert "no symbol table" in err and "debug" in err, res.describe()
    assert target.poll() is None, "the target must survive"


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

    res = run_pmw(["-p", target.pid, "-d", "1"], timeout=60)
    assert res.rc == 2, res.describe()
    assert "%s does not match" % check in res.stderr, res.describe()
    assert "no symbol table" in res.stderr.lower(), res.describe()
    assert target.poll() is None, "the target must survive"
