"""Discovery from folders, without a database."""

from __future__ import annotations

from pathlib import Path

from clipforge.sdk import ClipData
from clipforge_plugin_runner.discovery import builtin_plugin_dir, discover, scan_folder
from tests.seed import SEED_PLUGIN, seed_plugin


def test_seed_example_plugin_is_discovered_from_a_folder(tmp_path: Path) -> None:
    (tmp_path / "my_plugin.py").write_text(SEED_PLUGIN)
    (found,) = scan_folder(tmp_path)
    assert found.name == "my_plugin"
    assert found.error is None
    assert found.metadata is not None
    assert found.metadata.display_name == "My Awesome Plugin"
    clip: ClipData = {"metadata": {}}
    assert found.instantiate().on_clip_captured(clip) == {"metadata": {"processed_by": "my_plugin"}}


def test_broken_file_is_reported_not_raised(tmp_path: Path) -> None:
    (tmp_path / "broken.py").write_text("import does_not_exist\n")
    (found,) = scan_folder(tmp_path)
    assert found.name == "broken"
    assert found.error is not None
    assert "does_not_exist" in found.error


def test_reload_picks_up_changed_code(tmp_path: Path) -> None:
    path = tmp_path / "my_plugin.py"
    path.write_text(SEED_PLUGIN)
    (found,) = scan_folder(tmp_path)
    path.write_text(SEED_PLUGIN.replace('"processed_by"', '"handled_by"'))
    clip: ClipData = {"metadata": {}}
    found.instantiate(reload=True).on_clip_captured(clip)
    assert clip == {"metadata": {"handled_by": "my_plugin"}}


def test_builtin_folder_and_entry_point_give_one_highlight_detector() -> None:
    folder = builtin_plugin_dir()
    assert folder is not None
    assert (folder / "highlight_detector").is_dir()
    found = discover([folder])
    assert found["highlight_detector"].found_in == "folder"
    assert found["highlight_detector"].error is None


def test_installed_distributions_are_found_by_entry_point() -> None:
    found = discover([])  # no folders at all
    assert found["highlight_detector"].found_in == "entry_point"
    assert found["highlight_detector"].entry_point == "highlight_detector:HighlightDetector"
    assert found["highlight_detector"].install_path == "clipforge-highlight-detector"
    assert found["highlight_detector"].instantiate().metadata.name == "highlight_detector"


def test_folder_stamp_changes_when_a_plugin_file_does(tmp_path: Path) -> None:
    import os

    from clipforge_plugin_runner.discovery import folders_fingerprint

    path = tmp_path / "my_plugin.py"
    path.write_text(SEED_PLUGIN)
    before = folders_fingerprint([tmp_path])
    assert folders_fingerprint([tmp_path]) == before
    os.utime(path, (1, 1))
    assert folders_fingerprint([tmp_path]) != before
    (tmp_path / "other.py").write_text(seed_plugin("other_plugin"))
    assert len(folders_fingerprint([tmp_path])) == 2
