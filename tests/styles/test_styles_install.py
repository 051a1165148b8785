"""``python -m styles install``: where the styles go, idempotence, and never clobbering a
user's own file without ``--force``."""

from __future__ import annotations

import io
import json
import os
import subprocess
import sys
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import pytest

from styles import STYLES, style_path
from styles.__main__ import main
from styles.install import MANIFEST


@dataclass
class Run:
    code: int
    out: str
    err: str


def styles(*argv: str) -> Run:
    out, err = io.StringIO(), io.StringIO()
    code = main(list(argv), stdout=out, stderr=err)
    return Run(code, out.getvalue(), err.getvalue())


@pytest.fixture
def project(tmp_path: Path) -> Path:
    folder = tmp_path / "project"
    folder.mkdir()
    return folder


def folder_of(project: Path) -> Path:
    return project / ".claude" / "output-styles"


def installed(project: Path) -> dict[str, bytes]:
    folder = folder_of(project)
    return {p.name: p.read_bytes() for p in sorted(folder.iterdir())} if folder.exists() else {}


def test_install_into_a_project(project: Path) -> None:
    result = styles("install", "--project", str(project))
    assert result.code == 0, result.err
    files = installed(project)
    assert sorted(files) == sorted([MANIFEST] + [f"orchestra-{s}.md" for s in STYLES])
    for stem in STYLES:
        assert files[f"orchestra-{stem}.md"] == style_path(stem).read_bytes()
        assert f"installed     {folder_of(project.resolve()) / f'orchestra-{stem}.md'}" \
            in result.out
        assert f'"{STYLES[stem]}"' in result.out
    assert '"outputStyle"' in result.out and "/config" in result.out
    assert str(project.resolve() / ".claude" / "settings.local.json") in result.out
    mode = (folder_of(project) / "orchestra-sprint.md").stat().st_mode & 0o777
    assert mode & 0o044  # readable like any file the user writes, not mkstemp's 0600


def test_install_is_idempotent(project: Path) -> None:
    assert styles("install", "--project", str(project)).code == 0
    before = {p.name: p.stat().st_mtime_ns for p in folder_of(project).glob("*.md")}
    again = styles("install", "--project", str(project))
    assert again.code == 0
    assert again.out.count("unchanged") == len(STYLES)
    assert {p.name: p.stat().st_mtime_ns for p in folder_of(project).glob("*.md")} == before


def test_refuses_to_overwrite_a_users_file(project: Path) -> None:
    folder = folder_of(project)
    folder.mkdir(parents=True)
    mine = folder / "orchestra-config.md"
    mine.write_text("---\nname: My own\n---\nmine\n")
    result = styles("install", "--project", str(project))
    assert result.code == 4 and result.out == ""
    assert result.err.count("\n") == 1 and "orchestra-config.md" in result.err
    assert "--force" in result.err and "nothing installed" in result.err
    assert installed(project) == {"orchestra-config.md": mine.read_bytes()}  # nothing written


def test_refuses_to_overwrite_a_style_the_user_edited(project: Path) -> None:
    assert styles("install", "--project", str(project)).code == 0
    edited = folder_of(project) / "orchestra-dashboard.md"
    edited.write_text(edited.read_text() + "\nMy extra rule.\n")
    result = styles("install", "--project", str(project))
    assert result.code == 4 and "orchestra-dashboard.md" in result.err
    assert edited.read_text().endswith("My extra rule.\n")


def test_force_overwrites(project: Path) -> None:
    folder = folder_of(project)
    folder.mkdir(parents=True)
    (folder / "orchestra-config.md").write_text("mine\n")
    result = styles("install", "--project", str(project), "--force")
    assert result.code == 0, result.err
    assert "replaced" in result.out
    assert (folder / "orchestra-config.md").read_bytes() == style_path("config").read_bytes()
    assert styles("install", "--project", str(project)).code == 0  # and now it is ours


def test_updates_a_style_it_installed_without_force(project: Path) -> None:
    """An older Orchestra's style, untouched since, is upgraded in place."""
    folder = folder_of(project)
    folder.mkdir(parents=True)
    old = b"---\nname: Orchestra Sprint\n---\nolder version\n"
    (folder / "orchestra-sprint.md").write_bytes(old)
    import hashlib

    (folder / MANIFEST).write_text(json.dumps(
        {"files": {"orchestra-sprint.md": hashlib.sha256(old).hexdigest()}}))
    result = styles("install", "--project", str(project))
    assert result.code == 0, result.err
    assert "updated" in result.out
    assert (folder / "orchestra-sprint.md").read_bytes() == style_path("sprint").read_bytes()


def test_never_follows_a_symlink(project: Path, tmp_path: Path) -> None:
    folder = folder_of(project)
    folder.mkdir(parents=True)
    victim = tmp_path / "victim.txt"
    victim.write_text("keep me\n")
    (folder / "orchestra-dashboard.md").symlink_to(victim)
    assert styles("install", "--project", str(project)).code == 4
    assert styles("install", "--project", str(project), "--force").code == 0
    assert victim.read_text() == "keep me\n"
    assert not (folder / "orchestra-dashboard.md").is_symlink()


def test_dry_run_writes_nothing(project: Path) -> None:
    result = styles("install", "--project", str(project), "--dry-run")
    assert result.code == 0
    assert result.out.count("would install") == len(STYLES)
    assert not (project / ".claude").exists()


def test_user_install_honours_claude_config_dir(tmp_path: Path,
                                                monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("CLAUDE_CONFIG_DIR", str(tmp_path / "claude"))
    result = styles("install", "--user")
    assert result.code == 0, result.err
    assert (tmp_path / "claude" / "output-styles" / "orchestra-leadership.md").exists()
    assert str(tmp_path / "claude" / "settings.json") in result.out


def test_user_install_is_the_default(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("CLAUDE_CONFIG_DIR", raising=False)
    monkeypatch.setenv("HOME", str(tmp_path))
    assert styles("install").code == 0
    assert len(list((tmp_path / ".claude" / "output-styles").glob("orchestra-*.md"))) == 4


@pytest.mark.parametrize(("argv", "code", "message"), [
    (["install", "--project", "/nonexistent/dir"], 3, "no such directory"),
    (["install", "--user", "--project", "."], 2, "not allowed with argument"),
    (["uninstall"], 2, "invalid choice"),
])
def test_usage_errors(argv: list[str], code: int, message: str) -> None:
    result = styles(*argv)
    assert result.code == code and message in result.err
    assert len(result.err.splitlines()) == 1


def test_list() -> None:
    result = styles("list")
    assert result.code == 0
    for stem, name in STYLES.items():
        assert name in result.out and f"styles/{stem}.md" in result.out


def test_install_runs_as_a_module(project: Path,
                                  child_env: Callable[..., dict[str, str]]) -> None:
    env = child_env(project / "state")
    proc = subprocess.run([sys.executable, "-m", "styles", "install", "--project", str(project)],
                          env=env, cwd=project, capture_output=True, text=True, timeout=60)
    assert proc.returncode == 0, proc.stderr
    assert sorted(os.listdir(folder_of(project))) == sorted(
        [MANIFEST] + [f"orchestra-{s}.md" for s in STYLES])
