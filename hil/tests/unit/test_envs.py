"""The env files name only drivers labgrid (plus evyhil) knows, and the QEMU env binds end to end."""

from __future__ import annotations

from pathlib import Path

import pytest
from evyhil.strategy import FlashStrategy
from labgrid import Environment
from labgrid.factory import target_factory

ENVS = Path(__file__).resolve().parents[2] / "envs"


@pytest.fixture
def lg_vars(monkeypatch, tmp_path):
    for name, value in {"LG_EVY_IMAGE": str(tmp_path / "evy.img"), "LG_EVY_RUN": str(tmp_path / "run"),
                        "LG_EVY_INITRD": str(tmp_path / "run/boot/initrd"),
                        "LG_EVY_BOOT_ARGS": "console=ttyAMA0 root=LABEL=EVYROOT",
                        "LG_EVY_LAB_MAIN_PORT": "47810", "LG_EVY_LAB_PEER_PORT": "47811"}.items():
        monkeypatch.setenv(name, value)


def _entries(section):
    items = section if isinstance(section, list) else [{k: v} for k, v in section.items()]
    for item in items:
        yield from item.items()


@pytest.mark.parametrize("name", ["qemu.yaml", "rpi4.yaml"])
def test_every_class_in_the_env_is_registered(lg_vars, name):
    env = Environment(str(ENVS / name))  # imports evyhil, as `invoke hil` does
    for target in env.config.get_targets().values():
        for kind in ("resources", "drivers"):
            for cls, _ in _entries(target.get(kind, {})):
                assert cls in target_factory.all_classes, f"{name}: unknown {kind[:-1]} {cls}"
    assert env.config.get_option("emergency_number")
    assert int(env.config.get_option("power_cut_cycles")) >= (5 if name == "qemu.yaml" else 20)


def test_qemu_env_binds_the_strategy_to_qemu_card_and_phone(lg_vars, tmp_path):
    env = Environment(str(ENVS / "qemu.yaml"))
    target = env.get_target("main")
    strategy = target.get_driver(FlashStrategy, activate=False)
    assert type(strategy.power).__name__ == "QEMUDriver"
    assert strategy.console is strategy.power
    assert type(strategy.card).__name__ == "QEMUDiskCardDriver"
    assert type(strategy.phone).__name__ == "ModemSimulatorPhoneDriver"
    assert env.config.get_image_path("card") == str(tmp_path / "run" / "card.img")
    qemu = strategy.power
    args = qemu.extra_args
    assert f"-chardev serial,id=modem,path={tmp_path}/run/modem.pty" in args
    assert "-device usb-serial,chardev=modem" in args
    assert qemu.nic == "none"
    assert qemu.boot_args.startswith("console=ttyAMA0 root=LABEL=EVYROOT ")
    # an emulated kit on a loaded host must wait for its card, not drop into emergency mode after 90 s
    assert "systemd.default_device_timeout_sec=900" in qemu.boot_args.split()


def test_qemu_env_has_a_peer_kit_on_the_other_end_of_the_cable(lg_vars, tmp_path):
    from evyhil.kit import KitOptions
    from evyhil.lora import TwinLink

    env = Environment(str(ENVS / "qemu.yaml"))
    main = env.get_target("main").get_driver(FlashStrategy, activate=False)
    peer = env.get_target("peer").get_driver(FlashStrategy, activate=False)
    assert type(peer.card).__name__ == "QEMUDiskCardDriver" and peer.phone is None
    assert env.config.get_image_path(peer.seed) == str(tmp_path / "run" / "peer" / "evy-seed.toml")
    assert env.config.get_image_path(peer.card.disk) != env.config.get_image_path(main.card.disk)
    link = TwinLink.parse(KitOptions.from_env(env).lora_twin_link)
    for qemu, (mac, _), local, remote in ((main.power, link.ends[0], "47810", "47811"),
                                          (peer.power, link.ends[1], "47811", "47810")):
        assert f"udp=127.0.0.1:{remote},localaddr=127.0.0.1:{local}" in qemu.extra_args
        assert f"mac={mac}" in qemu.extra_args
        assert "systemd.default_device_timeout_sec=900" in qemu.boot_args.split()
    assert not KitOptions.from_env(env).lora  # LoRa is tested on QEMU, not skipped
