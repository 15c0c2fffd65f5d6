"""Finding NAME.bmap next to the image as `invoke build-image` names it."""

from __future__ import annotations

from evyhil.bmap import bmaptool_copy_args, find_bmap


def test_builder_naming(tmp_path):
    (tmp_path / "evy-field.img").touch()
    (tmp_path / "evy-field.bmap").touch()
    assert find_bmap(tmp_path / "evy-field.img") == tmp_path / "evy-field.bmap"
    assert find_bmap(tmp_path / "evy-field.img.xz") == tmp_path / "evy-field.bmap"


def test_bmaptool_naming_wins(tmp_path):
    (tmp_path / "evy-field.img.bmap").touch()
    (tmp_path / "evy-field.bmap").touch()
    assert find_bmap(tmp_path / "evy-field.img") == tmp_path / "evy-field.img.bmap"


def test_no_map_copies_everything(tmp_path):
    image = tmp_path / "evy-field.img"
    assert find_bmap(image) is None
    assert bmaptool_copy_args(image, "/dev/sdz") == ["copy", str(image), "/dev/sdz", "--nobmap"]
