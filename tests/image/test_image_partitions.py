"""Partition assembly from a small tree with the real tools (mkfs.vfat, mcopy, mke2fs -d, sfdisk), no loop
devices; then the outputs (xz, bmap, sha256, manifest). Contents are read back with mtools and debugfs."""

import json
import os
import shutil
import subprocess
from pathlib import Path

import pytest
from evyimage import outputs, partitions
from evyimage.errors import StageError
from evyimage.progress import BuildLog

from evy.files import sha256_file

TOOLS = ("mkfs.vfat", "mcopy", "mtype", "mke2fs", "e2fsck", "debugfs", "sfdisk")
pytestmark = pytest.mark.skipif(any(shutil.which(t) is None for t in TOOLS),
                                reason="needs dosfstools, mtools, e2fsprogs, fdisk (invoke setup-host)")
EPOCH = 1_700_000_000


@pytest.fixture
def log(tmp_path):
    with BuildLog(tmp_path / "build.log", console=open(os.devnull, "w")) as build_log:
        yield build_log


def small_trees(tmp_path: Path) -> tuple[Path, Path, Path]:
    boot, root, data = tmp_path / "boot", tmp_path / "root", tmp_path / "data"
    boot.mkdir()
    (boot / "config.txt").write_text("arm_64bit=1\n")
    (boot / "overlays").mkdir()
    (boot / "overlays" / "README").write_text("dtbo here\n")
    (root / "etc").mkdir(parents=True)
    (root / "etc/hostname").write_text("evy\n")
    (root / "usr/bin").mkdir(parents=True)
    (root / "usr/bin/tool").write_bytes(b"\x7fELF" + os.urandom(5000))
    (root / "usr/bin/tool").chmod(0o755)
    os.link(root / "usr/bin/tool", root / "usr/bin/tool-link")
    (root / "bin").symlink_to("usr/bin")
    (data / "clock").mkdir(parents=True)
    (data / "clock/fake-hwclock.data").write_text("2023-11-14 22:13:20\n")
    return boot, root, data


def debugfs(image: Path, request: str) -> str:
    return subprocess.run(["debugfs", "-R", request, str(image)], capture_output=True, text=True).stdout


def build_small_image(tmp_path: Path, log: BuildLog) -> tuple[partitions.Layout, Path]:
    boot, root, data = small_trees(tmp_path)
    root_mib = partitions.root_size_mib(root, 0, 8)
    partitions.make_fat(boot, tmp_path / "boot.vfat", 64, "EVYBOOT", 0x1234ABCD, EPOCH, log)
    partitions.make_ext4(root, tmp_path / "root.ext4", root_mib, "EVYROOT", "5b1d3c1e-0000-4000-8000-000000000001",
                         EPOCH, log)
    partitions.make_ext4(data, tmp_path / "data.ext4", 16, "EVYDATA", "5b1d3c1e-0000-4000-8000-000000000002",
                         EPOCH, log, root_owner="999:998")
    layout = partitions.Layout((
        partitions.Partition("EVYBOOT", "c", tmp_path / "boot.vfat", 64, bootable=True),
        partitions.Partition("EVYROOT", "83", tmp_path / "root.ext4", root_mib),
        partitions.Partition("EVYDATA", "83", tmp_path / "data.ext4", 16),
    ), disk_id=0x0EE71234)
    image = tmp_path / "out" / "t.img"
    image.parent.mkdir()
    partitions.assemble(layout, image, log)
    return layout, image


def test_assembled_image_has_the_layout_and_the_files(tmp_path, log):
    layout, image = build_small_image(tmp_path, log)
    assert image.stat().st_size == layout.total_mib * partitions.MIB
    table = partitions.read_table(image)
    assert [p["type"] for p in table] == ["c", "83", "83"]
    assert table[0].get("bootable") is True
    starts = [p["start"] for p in table]
    assert starts[0] == partitions.FIRST_OFFSET_MIB * 2048
    assert all(s % 2048 == 0 for s in starts)  # MiB aligned
    fat = f"{image}@@{starts[0] * 512}"
    env = {"MTOOLS_SKIP_CHECK": "1", "PATH": os.environ["PATH"]}
    assert subprocess.run(["mtype", "-i", fat, "::config.txt"], capture_output=True, text=True, env=env,
                          check=True).stdout == "arm_64bit=1\n"
    assert "README" in subprocess.run(["mdir", "-i", fat, "::overlays"], capture_output=True, text=True,
                                      env=env).stdout
    label = subprocess.run(["mlabel", "-s", "-i", fat], capture_output=True, text=True, env=env).stdout
    assert "EVYBOOT" in label
    root_img = tmp_path / "root-back.ext4"
    with image.open("rb") as disk, root_img.open("wb") as out:
        disk.seek(starts[1] * 512)
        out.write(disk.read(table[1]["size"] * 512))
    assert debugfs(root_img, "cat /etc/hostname") == "evy\n"
    assert "Links: 2" in debugfs(root_img, "stat /usr/bin/tool")
    assert 'Fast link dest: "usr/bin"' in debugfs(root_img, "stat /bin")
    data_img = tmp_path / "data.ext4"
    assert "User:   999   Group:   998" in debugfs(data_img, "stat /")
    assert subprocess.run(["e2fsck", "-fn", str(root_img)], capture_output=True).returncode == 0


def test_same_inputs_same_filesystems(tmp_path, log):
    _, root, _ = small_trees(tmp_path)
    digests = []
    for run in range(2):
        target = tmp_path / f"root{run}.ext4"
        partitions.make_ext4(root, target, 8, "EVYROOT", "5b1d3c1e-0000-4000-8000-000000000001", EPOCH, log)
        digests.append(sha256_file(target))
    assert digests[0] == digests[1]


def test_too_small_partition_is_refused(tmp_path, log):
    boot, root, _ = small_trees(tmp_path)
    (root / "big").write_bytes(os.urandom(3 * partitions.MIB))
    with pytest.raises(StageError, match="too small"):
        partitions.root_size_mib(root, 1, 0)
    partitions.make_fat(boot, tmp_path / "b.vfat", 64, "EVYBOOT", 1, EPOCH, log)
    layout = partitions.Layout((partitions.Partition("EVYBOOT", "c", tmp_path / "b.vfat", 32),), 1)
    with pytest.raises(StageError, match="larger than its partition"):
        partitions.assemble(layout, tmp_path / "x.img", log)


def test_sfdisk_script_is_mib_aligned():
    layout = partitions.Layout((partitions.Partition("A", "c", Path("a"), 256, True),
                                partitions.Partition("B", "83", Path("b"), 1000)), 0xABCDEF01)
    script = partitions.sfdisk_script(layout)
    assert "label-id: 0xabcdef01" in script
    assert "start=8192, size=524288, type=c, bootable" in script
    assert "start=532480, size=2048000, type=83" in script


@pytest.mark.skipif(shutil.which("bmaptool") is None or shutil.which("xz") is None, reason="needs bmap-tools, xz")
def test_outputs_and_manifest(tmp_path, log):
    _, image = build_small_image(tmp_path, log)
    paths = outputs.OutputPaths(image.parent, "t")
    (tmp_path / "vmlinuz").write_bytes(b"k")
    (tmp_path / "initrd").write_bytes(b"i")
    outputs.export_boot(tmp_path / "vmlinuz", tmp_path / "initrd", paths)
    outputs.compress(paths, log, level=0)
    outputs.bmap(paths, log)
    sums = outputs.checksums(paths)
    assert set(sums) == {"t.img", "t.img.xz", "t.vmlinuz", "t.initrd"}
    check = subprocess.run(["sha256sum", "-c", paths.sha256.name], cwd=paths.out_dir, capture_output=True, text=True)
    assert check.returncode == 0, check.stdout
    bmap_text = paths.bmap.read_text()
    assert "<bmap version=" in bmap_text and "<MappedBlocksCount>" in bmap_text
    assert subprocess.run(["xz", "-t", str(paths.xz)]).returncode == 0
    outputs.write_manifest(paths, {"image": "t.img", "sha256": sums, "source_date_epoch": EPOCH})
    assert json.loads(paths.manifest.read_text())["sha256"]["t.img"] == sums["t.img"]
    assert not list(paths.out_dir.glob("*.partial"))


def test_source_date_epoch_from_env_or_git(monkeypatch, tmp_path):
    monkeypatch.setenv("SOURCE_DATE_EPOCH", "1234")
    assert outputs.source_date_epoch(tmp_path) == 1234
    monkeypatch.delenv("SOURCE_DATE_EPOCH")
    repo = Path(__file__).resolve().parents[2]
    assert outputs.source_date_epoch(repo) > 1_600_000_000
    assert outputs.source_date_epoch(tmp_path) == 0
