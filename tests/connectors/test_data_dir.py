"""CASEWRIGHT_DATA_DIR is checked and created where it is first needed: one clear line when it is
a file, lies under a file or cannot be written."""

from __future__ import annotations

import pytest

from connectors.data_dir import DataDirError, ensure_data_dir

UNWRITABLE = "/sys/casewright-data"  # sysfs refuses new directories, even to root


def test_a_missing_data_dir_is_created_with_its_parents(tmp_path):
    path = ensure_data_dir(tmp_path / "a" / "b")
    assert path.is_dir() and list(path.iterdir()) == []  # the write probe leaves nothing behind


@pytest.mark.parametrize("make,needle", [
    (lambda t: (t / "f").write_text("x") and t / "f", "is a file, not a directory"),
    (lambda t: (t / "f").write_text("x") and t / "f" / "data", "which is a file"),
    (lambda t: UNWRITABLE, "cannot be created"),
])
def test_a_data_dir_that_cannot_be_used_is_one_line_naming_the_setting(tmp_path, make, needle):
    path = make(tmp_path)
    with pytest.raises(DataDirError) as err:
        ensure_data_dir(path)
    message = str(err.value)
    assert needle in message and str(path) in message and "CASEWRIGHT_DATA_DIR" in message
    assert "\n" not in message
