"""examples/orchestra-plugin-example, pip-installed: discovered, called, obeyed, disabled.

The example is installed with pip (``pip install --no-deps --target DIR``) from a copy of
its folder, so the build leaves nothing in the repository, and into a private folder that
only this test's subprocesses get on PYTHONPATH: the shared test environment (which other
test runs may be using at the same time) is never changed. The folder is deleted at the
end, which is what uninstalling a ``--target`` install means.

Building needs setuptools. It is used from the test environment when it can build a
wheel there (offline); otherwise pip gets it in an isolated build environment from the
package index (CI). Without either, the wheel is assembled from the example's
``pyproject.toml`` by :func:`_assemble_wheel` and pip installs that: the installed result
(module, ``dist-info``, ``entry_points.txt``) is the same.
"""

from __future__ import annotations

import base64
import hashlib
import importlib.util
import json
import os
import shutil
import subprocess
import sys
import tomllib
import zipfile
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest

from hooks.testing import run_dispatch

Payload = Callable[[str], dict[str, Any]]
EXAMPLE = Path(__file__).resolve().parents[2] / "examples" / "orchestra-plugin-example"


def _pip(*args: str, timeout: float = 300) -> subprocess.CompletedProcess[str]:
    env = {**os.environ, "PIP_DISABLE_PIP_VERSION_CHECK": "1", "PIP_DEFAULT_TIMEOUT": "30",
           "PIP_RETRIES": "1"}
    return subprocess.run([sys.executable, "-m", "pip", *args], capture_output=True, text=True,
                          env=env, timeout=timeout, check=False)


def _can_build_offline() -> bool:
    """setuptools can build a wheel in this environment (>= 70.1, or with ``wheel``)."""
    if importlib.util.find_spec("setuptools") is None:
        return False
    from importlib.metadata import version

    major, minor = (int(x) for x in version("setuptools").split(".")[:2])
    return (major, minor) >= (70, 1) or importlib.util.find_spec("wheel") is not None


def _assemble_wheel(source: Path, out: Path) -> Path:
    """A wheel of the example built from its pyproject.toml with the standard library only."""
    project = tomllib.loads((source / "pyproject.toml").read_text(encoding="utf-8"))
    meta, modules = project["project"], project["tool"]["setuptools"]["py-modules"]
    name, version = meta["name"], meta["version"]
    stem = f"{name.replace('-', '_')}-{version}"
    info = f"{stem}.dist-info"
    entry_points = "".join(
        f"[{group}]\n" + "".join(f"{k} = {v}\n" for k, v in points.items()) + "\n"
        for group, points in meta["entry-points"].items())
    files = {f"{m}.py": (source / f"{m}.py").read_bytes() for m in modules}
    files[f"{info}/METADATA"] = (f"Metadata-Version: 2.1\nName: {name}\nVersion: {version}\n"
                                 f"Summary: {meta['description']}\n").encode()
    files[f"{info}/WHEEL"] = (b"Wheel-Version: 1.0\nGenerator: orchestra-tests\n"
                              b"Root-Is-Purelib: true\nTag: py3-none-any\n")
    files[f"{info}/entry_points.txt"] = entry_points.encode()
    record = []
    for path, data in files.items():
        digest = base64.urlsafe_b64encode(hashlib.sha256(data).digest()).rstrip(b"=").decode()
        record.append(f"{path},sha256={digest},{len(data)}")
    files[f"{info}/RECORD"] = ("\n".join([*record, f"{info}/RECORD,,"]) + "\n").encode()
    wheel = out / f"{stem}-py3-none-any.whl"
    with zipfile.ZipFile(wheel, "w") as zf:
        for path, data in files.items():
            zf.writestr(path, data)
    return wheel


def install_example(target: Path, scratch: Path, example: Path = EXAMPLE) -> str:
    """Install the example folder ``example`` into ``target``; return how it was built."""
    source = scratch / "src"
    shutil.copytree(example, source, ignore=shutil.ignore_patterns("build", "*.egg-info",
                                                                   "__pycache__"))
    common = ["install", "--no-deps", "--target", str(target)]
    attempts: list[str] = []
    if _can_build_offline():
        done = _pip(*common, "--no-build-isolation", "--no-index", str(source))
        if done.returncode == 0:
            return "pip, setuptools of the test environment"
        attempts.append(done.stderr[-2000:])
    done = _pip(*common, str(source))
    if done.returncode == 0:
        return "pip, isolated build"
    attempts.append(done.stderr[-2000:])
    shutil.rmtree(target, ignore_errors=True)
    wheel = _assemble_wheel(source, scratch)
    done = _pip(*common, "--no-index", str(wheel))
    assert done.returncode == 0, "\n---\n".join([*attempts, done.stderr])
    return "pip, wheel assembled by the test"


@pytest.fixture(scope="module")
def example_site(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Path]:
    """The folder the example is pip-installed into; removed (uninstalled) afterwards."""
    scratch = tmp_path_factory.mktemp("example-build")
    target = scratch / "site"
    how = install_example(target, scratch)
    print(f"example plugin installed ({how}) into {target}")
    yield target
    shutil.rmtree(target)
    assert not target.exists()


def _bash(command: str) -> dict[str, Any]:
    return {"session_id": "example-1", "transcript_path": "/tmp/t.jsonl", "cwd": "/tmp",
            "permission_mode": "default", "hook_event_name": "PreToolUse", "tool_name": "Bash",
            "tool_input": {"command": command, "description": "test"},
            "tool_use_id": "toolu_1"}


def test_install_is_a_real_distribution(example_site: Path) -> None:
    infos = list(example_site.glob("orchestra_no_rm_rf-0.1.0.dist-info"))
    assert len(infos) == 1
    points = (infos[0] / "entry_points.txt").read_text()
    assert "[orchestra]" in points and "no-rm-rf = orchestra_no_rm_rf" in points
    assert (example_site / "orchestra_no_rm_rf.py").is_file()
    assert not (EXAMPLE / "build").exists()  # the build happened in a copy


def test_example_is_discovered(example_site: Path, plugins_cli: Callable[..., Any]) -> None:
    listing = plugins_cli("list", "--json", paths=[example_site])
    entry = next(p for p in json.loads(listing.out) if p["name"] == "no-rm-rf")
    assert entry == {"name": "no-rm-rf", "source": "entry point", "module": "orchestra_no_rm_rf",
                     "version": "0.1.0", "status": "loaded", "hooks": ["on_pre_tool_use"]}


@pytest.mark.parametrize(("command", "what"), [
    ("rm -rf /", "the whole filesystem"),
    ("rm -rf ~", "your home directory"),
    ("rm -rf /*", "everything under /"),
    ("cd /tmp && sudo rm -fr --no-preserve-root /", "the whole filesystem"),
])
def test_example_denies_through_the_real_dispatcher(
    command: str, what: str, example_site: Path, dispatch_cli: Callable[..., Any],
) -> None:
    result = dispatch_cli(_bash(command), paths=[example_site])
    assert result.code == 0, result.err
    out = result.reply["hookSpecificOutput"]
    assert out["permissionDecision"] == "deny"
    assert out["permissionDecisionReason"].startswith(f"[no-rm-rf] no-rm-rf: refused `{command}`")
    assert f"recursively delete {what}." in out["permissionDecisionReason"]


@pytest.mark.parametrize("command", ["rm -rf ./build", "rm -rf build dist", "echo 'rm -rf /'"])
def test_example_allows_ordinary_commands(command: str, example_site: Path,
                                          dispatch_cli: Callable[..., Any]) -> None:
    result = dispatch_cli(_bash(command), paths=[example_site])
    assert result.code == 0
    assert "permissionDecision" not in (result.reply or {}).get("hookSpecificOutput", {})


def test_example_blocked_by_the_block_list(
    example_site: Path, dispatch_cli: Callable[..., Any], plugins_cli: Callable[..., Any],
) -> None:
    denied = dispatch_cli(_bash("rm -rf /"), paths=[example_site])
    assert denied.reply["hookSpecificOutput"]["permissionDecision"] == "deny"
    result = dispatch_cli(_bash("rm -rf /"), paths=[example_site],
                          ORCHESTRA_DISABLED_PLUGINS="no-rm-rf")
    assert result.code == 0
    assert "no-rm-rf" not in result.out
    listing = plugins_cli("list", "--json", paths=[example_site],
                          ORCHESTRA_DISABLED_PLUGINS="no-rm-rf")
    entry = next(p for p in json.loads(listing.out) if p["name"] == "no-rm-rf")
    assert entry["status"] == "disabled"


def test_example_is_gone_without_its_folder(dispatch_cli: Callable[..., Any],
                                            plugins_cli: Callable[..., Any]) -> None:
    """Not installed, not loaded: nothing of it remains in the test environment."""
    assert "no-rm-rf" not in plugins_cli("list").out
    assert dispatch_cli(_bash("rm -rf /")).out == ""


# -- the plugin's own logic, in process ------------------------------------------------------------


@pytest.fixture(scope="module")
def example_module() -> Any:
    spec = importlib.util.spec_from_file_location("orchestra_no_rm_rf_src",
                                                  EXAMPLE / "orchestra_no_rm_rf.py")
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


DANGEROUS = [
    "rm -rf /", "rm -rf ~", "rm -rf /*", "rm -fr /", "rm -r -f /", "rm -Rf ~/", "rm / -rf",
    "rm --recursive --force /", "rm -rf //", "rm -rf /.", "rm -rf /tmp/..", "rm -rf -- /",
    "sudo rm -rf /", "sudo -u root rm -rf /", "sudo -n rm -rf /", "doas rm -rf /",
    "/bin/rm -rf /", "\\rm -rf /", "FOO=1 rm -rf /*", "env -i rm -rf ~", "nice -n 5 rm -rf /",
    "timeout 5 rm -rf /", "cd /tmp && rm -rf ~", "ls; rm -rf $HOME", 'rm -rf "$HOME"',
    "rm -rf ${HOME}/*", "rm -rf ~/.*", "rm -rf ~alice", "rm -rf '/'", "rm -rf /usr",
    "rm -rf /etc/", "rm -rf /home", "rm --no-preserve-root -rf /", "bash -c 'rm -rf /'",
    "sh -c \"rm -rf ~\"", "eval 'rm -rf /'", "echo x | xargs rm -rf /", "(rm -rf /)",
    "true\nrm -rf /", "{ rm -rf /; }", "if true; then rm -rf /; fi",
]
HARMLESS = [
    "rm -rf ./build", "rm -rf build", "rm -rf /tmp/x", "rm -rf ~/project/build",
    "rm -rf $HOME/tmp", "rm -rf /usr/local/lib/foo", "rm -rf .", "rm -f /", "rm /etc/foo",
    "echo 'rm -rf /'", 'echo "rm -rf /"', "git commit -m 'rm -rf / is bad'",
    "rm -rf ./build > /dev/null 2>&1", "rm -rf ./x &> /dev/null", "grep -r / .", "ls -R /",
    "mkdir -p /", "rm -rf -- -r", "rm -rf /HOME", "find / -name x", "",
]


@pytest.mark.parametrize("command", DANGEROUS)
def test_dangerous_commands(command: str, example_module: Any) -> None:
    assert example_module.dangerous_rm(command) is not None


@pytest.mark.parametrize("command", HARMLESS)
def test_harmless_commands(command: str, example_module: Any) -> None:
    assert example_module.dangerous_rm(command) is None


def test_in_process_like_the_readme(example_module: Any, home: Path) -> None:
    result = run_dispatch(_bash("rm -rf /"), plugins=[example_module], home=home, builtins=False)
    assert result.reply is not None
    assert result.reply["hookSpecificOutput"]["permissionDecision"] == "deny"
    write = {**_bash("x"), "tool_name": "Write", "tool_input": {"command": "rm -rf /"}}
    other = run_dispatch(write, plugins=[example_module], home=home, builtins=False)
    assert other.reply is None  # only Bash commands are looked at


def test_offline_fallback_wheel_installs_the_same(tmp_path: Path, example_site: Path) -> None:
    """The last-resort route (no setuptools, no index) gives the same installed files."""
    wheel = _assemble_wheel(EXAMPLE, tmp_path)
    done = _pip("install", "--no-deps", "--no-index", "--target", str(tmp_path / "site"),
                str(wheel))
    assert done.returncode == 0, done.stderr
    points = "orchestra_no_rm_rf-0.1.0.dist-info/entry_points.txt"
    assert ((tmp_path / "site" / points).read_text().split()
            == (example_site / points).read_text().split())
    assert ((tmp_path / "site" / "orchestra_no_rm_rf.py").read_bytes()
            == (example_site / "orchestra_no_rm_rf.py").read_bytes())


# -- through the command Orchestra registers (issue 27) --------------------------------------------


def test_example_denies_through_the_registered_command(example_site: Path,
                                                       tmp_path: Path) -> None:
    """The registered command starts Python without ``site`` (``-S``): the example, found
    only through a ``.pth`` file of the environment (as a package pip installed into its
    site-packages is), is still discovered and obeyed; an ordinary command goes through."""
    import sysconfig
    import venv

    from hooks.boot import BOOT_CODE

    venv.EnvBuilder(with_pip=False, symlinks=os.name != "nt").create(tmp_path / "venv")
    python = tmp_path / "venv" / ("Scripts/python.exe" if os.name == "nt" else "bin/python")
    purelib = subprocess.run([str(python), "-c", "import sysconfig; "
                              "print(sysconfig.get_paths()['purelib'])"],
                             capture_output=True, text=True, check=True).stdout.strip()
    Path(purelib, "example.pth").write_text(
        f"{sysconfig.get_paths()['purelib']}\n{example_site}\n", encoding="utf-8")
    env = {k: v for k, v in os.environ.items()
           if not k.startswith(("ORCHESTRA_", "PYTHON", "CLAUDE_"))}
    env["ORCHESTRA_HOME"] = str(tmp_path / "home")
    repo = Path(__file__).resolve().parents[2]

    def hook(command: str) -> dict[str, Any]:
        done = subprocess.run([str(python), "-S", "-P", "-c", BOOT_CODE, str(repo)],
                              input=json.dumps(_bash(command)).encode(), env=env,
                              cwd=tmp_path, capture_output=True, timeout=120, check=False)
        assert done.returncode == 0, done.stderr.decode()
        reply: dict[str, Any] = json.loads(done.stdout) if done.stdout.strip() else {}
        return reply

    for _ in range(2):  # the first builds the dispatch table, the second reads its cache
        denied = hook("rm -rf /")
        assert denied["hookSpecificOutput"]["permissionDecision"] == "deny"
        assert "[no-rm-rf]" in denied["hookSpecificOutput"]["permissionDecisionReason"]
    assert "permissionDecision" not in hook("ls -la").get("hookSpecificOutput", {})
