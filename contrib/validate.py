#!/usr/bin/python3
"""Validate the container files without Docker or Kubernetes (neither runs here).

  contrib/validate.py manifest [contrib/kubernetes/daemonset.yaml]
      yamllint, then the Kubernetes schema: every field of the manifest must be one of
      the API's (the model classes of Debian's python3-kubernetes, generated from
      Kubernetes' OpenAPI schema), of its type, with the required ones present. Prints
      the capabilities and the arguments it runs with.

  contrib/validate.py image ROOTFS [contrib/Dockerfile]
      runs the builder stage's steps as a script on this machine (Debian 12, as the
      builder): the apt-get step is checked (each package installed here), COPY . /src
      copies the work tree (tracked and untracked files, less Dockerfile.dockerignore)
      into a temporary /src, ENV and RUN steps run there with ROOTFS as the image's root,
      then prints the final image's file list (COPY --from=build /rootfs/ /), ENTRYPOINT
      and CMD.

Exit status 0 valid, 1 invalid, 2 a tool is missing (Debian: yamllint, python3-kubernetes).
"""

import fnmatch
import json
import os
import re
import shlex
import shutil
import subprocess
import sys
import tempfile

HERE = os.path.dirname(os.path.abspath(__file__))
REPO = os.path.dirname(HERE)
YAMLLINT_CONF = ("{extends: default, rules: {line-length: {max: 100}, document-start: disable,"
                 " comments: {min-spaces-from-content: 1}}}")


def schema_errors(data, typ, path="$"):
    """Fields of @data not in the model @typ (python3-kubernetes), or of the wrong type."""
    import kubernetes.client as kc
    if typ.startswith("list["):
        if not isinstance(data, list):
            return ["%s: expected a list" % path]
        return [e for i, d in enumerate(data) for e in schema_errors(d, typ[5:-1], "%s[%d]" % (path, i))]
    if typ.startswith("dict("):
        if not isinstance(data, dict):
            return ["%s: expected a map" % path]
        inner = typ[typ.index(",") + 1:-1].strip()
        return [e for k, v in data.items() for e in schema_errors(v, inner, "%s.%s" % (path, k))]
    prim = {"str": str, "int": int, "bool": bool, "float": (int, float), "object": object}
    if typ in prim:
        if not isinstance(data, prim[typ]) or (typ == "int" and isinstance(data, bool)):
            return ["%s: expected %s, got %r" % (path, typ, data)]
        return []
    cls = getattr(kc, typ)
    if not isinstance(data, dict):
        return ["%s: expected a %s map" % (path, typ)]
    by_json = {v: k for k, v in cls.attribute_map.items()}
    errs = []
    for k, v in data.items():
        if k not in by_json:
            errs.append("%s: %s has no field %r" % (path, typ, k))
        else:
            errs += schema_errors(v, cls.openapi_types[by_json[k]], "%s.%s" % (path, k))
    return errs


def check_manifest(path):
    try:
        import yaml
        from kubernetes.client import ApiClient
    except ImportError as e:
        print("validate: %s (Debian: python3-yaml, python3-kubernetes)" % e)
        return 2
    if not shutil.which("yamllint"):
        print("validate: yamllint is not installed (Debian: yamllint)")
        return 2
    lint = subprocess.run(["yamllint", "-s", "-d", YAMLLINT_CONF, path],
                          stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
    errs = [l for l in lint.stdout.splitlines() if l.strip()] if lint.returncode else []
    doc = yaml.safe_load(open(path))
    if doc.get("apiVersion") != "apps/v1" or doc.get("kind") != "DaemonSet":
        errs.append("$: not an apps/v1 DaemonSet")
    errs += schema_errors(doc, "V1DaemonSet")
    try:       # the generated models check required fields and enumerations
        ApiClient()._ApiClient__deserialize(doc, "V1DaemonSet")
    except ValueError as e:
        errs.append("$: %s" % e)
    for e in errs:
        print("invalid: %s" % e)
    if errs:
        return 1
    c = doc["spec"]["template"]["spec"]["containers"][0]
    print("valid: %s (Kubernetes API of python3-kubernetes %s)" % (path, _client_version()))
    print("capabilities: %s" % ",".join(c["securityContext"]["capabilities"]["add"]))
    print("args: %s" % json.dumps(c.get("args", [])))
    return 0


def _client_version():
    import kubernetes
    return getattr(kubernetes, "__version__", "?")


def dockerfile_steps(path):
    """[(instruction, argument text)] with continuation lines joined, comments dropped."""
    steps, cur = [], ""
    for line in open(path):
        s = line.rstrip("\n")
        if not cur and (not s.strip() or s.lstrip().startswith("#")):
            continue
        if s.endswith("\\"):
            cur += s[:-1] + " "
            continue
        cur += s
        ins, _, arg = cur.strip().partition(" ")
        steps.append((ins.upper(), arg.strip()))
        cur = ""
    return steps


def copy_context(dest, ignore_file):
    """COPY . dest: the work tree's tracked and untracked files, less the ignore patterns."""
    pats = [l.strip() for l in open(ignore_file) if l.strip() and not l.startswith("#")]
    files = subprocess.run(["git", "ls-files", "-co", "--exclude-standard", "-z"], cwd=REPO,
                           stdout=subprocess.PIPE, check=True).stdout.decode().split("\0")
    for f in filter(None, files):
        parts = f.split("/")
        if any(fnmatch.fnmatch(f, p) or fnmatch.fnmatch(parts[0], p) or
               (p.startswith("**/") and any(fnmatch.fnmatch(x, p[3:]) for x in parts))
               for p in pats) or not os.path.lexists(os.path.join(REPO, f)):
            continue
        os.makedirs(os.path.join(dest, os.path.dirname(f)), exist_ok=True)
        shutil.copy2(os.path.join(REPO, f), os.path.join(dest, f), follow_symlinks=False)


def check_apt(arg):
    """The builder's apt-get step: every package it names is installed here."""
    words = shlex.split(arg.replace("&&", " && "))
    i = words.index("install")
    pkgs = [w for w in words[i + 1:] if not w.startswith("-") and w != "&&"]
    pkgs = pkgs[:pkgs.index("rm")] if "rm" in pkgs else pkgs
    missing = [p for p in pkgs if subprocess.run(
        ["dpkg-query", "-W", "-f=${Status}", p], stdout=subprocess.PIPE,
        stderr=subprocess.DEVNULL, text=True).stdout != "install ok installed"]
    print("apt-get: %d packages, %s" % (len(pkgs), "missing here: " + " ".join(missing)
                                           if missing else "all installed here"))
    return not missing


def image_steps(rootfs, path):
    """Run the builder stage with ROOTFS for /rootfs; returns the final stage's steps."""
    steps = dockerfile_steps(path)
    stages = [i for i, (ins, _) in enumerate(steps) if ins == "FROM"]
    assert len(stages) == 2 and steps[0][1].startswith("debian:12 "), "expected a debian:12 builder + a final stage"
    env = dict(os.environ)
    src = tempfile.mkdtemp(prefix="pmw-image-src.")
    cwd = src
    try:
        for ins, arg in steps[1:stages[1]]:
            if ins == "RUN" and arg.startswith("apt-get update"):
                if not check_apt(arg):
                    return None
            elif ins == "COPY":
                assert arg == ". /src", arg
                copy_context(src, os.path.join(HERE, "Dockerfile.dockerignore"))
            elif ins == "WORKDIR":
                assert arg == "/src", arg
            elif ins == "ENV":
                for kv in shlex.split(arg):
                    k, v = kv.split("=", 1)
                    env[k] = rootfs if v == "/rootfs" else v
            elif ins == "RUN":
                print("RUN %s" % arg)
                if subprocess.run(["sh", "-c", arg], cwd=cwd, env=env).returncode:
                    print("validate: the step failed")
                    return None
            else:
                raise ValueError("builder instruction %s not understood" % ins)
    finally:
        shutil.rmtree(src, ignore_errors=True)
    return steps[stages[1]:]


def check_image(rootfs, path):
    final = image_steps(rootfs, path)
    if final is None:
        return 1
    for ins, arg in final:
        if ins == "COPY":
            assert arg == "--from=build /rootfs/ /", arg
        elif ins in ("ENTRYPOINT", "CMD"):
            print("%s %s" % (ins.lower(), " ".join(json.loads(arg))))
    print("image files:")
    for d, dirs, files in sorted(os.walk(rootfs)):
        dirs.sort()
        rel = os.path.relpath(d, rootfs)
        for f in sorted(files):
            st = os.lstat(os.path.join(d, f))
            print("  /%s %o %d" % (os.path.normpath(os.path.join(rel, f)), st.st_mode & 0o7777,
                                   st.st_size))
        if not files and not dirs:
            print("  /%s/ %o (empty)" % (rel, os.lstat(d).st_mode & 0o7777))
    return 0


def main(argv):
    if len(argv) >= 2 and argv[1] == "manifest":
        return check_manifest(argv[2] if len(argv) > 2 else
                              os.path.join(HERE, "kubernetes", "daemonset.yaml"))
    if len(argv) >= 3 and argv[1] == "image":
        return check_image(os.path.abspath(argv[2]), argv[3] if len(argv) > 3 else
                           os.path.join(HERE, "Dockerfile"))
    print(__doc__.strip())
    return 2


if __name__ == "__main__":
    sys.exit(main(sys.argv))
