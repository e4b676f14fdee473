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
