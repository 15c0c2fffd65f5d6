"""`invoke hil`: the hardware-in-the-loop suite on QEMU or a Pi 4 rig (merged into the root tasks)."""

from __future__ import annotations

import os
import shlex
import sys
from pathlib import Path

from invoke import Exit, task

HIL = Path(__file__).resolve().parent
ROOT = HIL.parent


@task(help={
    "env": "qemu (an emulated kit, any Debian host) or rpi4 (a real kit on a rig; edit hil/envs/rpi4.yaml)",
    "image": "the card image (default: out/evy-hil.img for qemu, out/evy-field.img for rpi4, else the newest)",
    "k": "only tests matching this pytest expression",
    "cycles": "power-cut cycles (default: the env file's power_cut_cycles)",
    "out": "folder for this run's card, logs, JUnit XML and summary (default out/hil; one per concurrent run)",
})
def hil(c, env="qemu", image="", k="", cycles=0, out=""):
    """Flash, boot and test a kit; JUnit XML and a one-page summary go to out/hil/."""
    sys.path[:0] = [str(HIL), str(ROOT / "agent")]
    from evyhil import run, summary
    from evyhil.errors import HilError

    out = Path(out).resolve() if out else ROOT / "out" / "hil"
    env_file = HIL / "envs" / f"{env}.yaml"
    try:
        image_path = Path(image) if image else run.default_image(ROOT / "out", env)
        variables = run.prepare(env, image_path, env_file, out / "run")
    except HilError as exc:
        raise Exit(f"error: {exc}", code=2) from exc
    junit = out / f"junit-{env}.xml"
    for stale in (junit, out / "figures.json", out / "summary.md"):
        stale.unlink(missing_ok=True)
    environment = {
        **variables,
        "EVY_HIL_OUT": str(out),
        "PYTHONPATH": os.pathsep.join(filter(None, [str(HIL), str(ROOT / "agent"), os.environ.get("PYTHONPATH")])),
    }
    if cycles:
        environment["EVY_HIL_CYCLES"] = str(cycles)
    args = [sys.executable, "-m", "pytest", str(HIL / "tests"), "--ignore", str(HIL / "tests" / "unit"),
            "--lg-env", str(env_file),
            "--lg-log", str(out / "console"), "--junitxml", str(junit), "-o", "junit_family=xunit2",
            "--timeout", "14400", "-p", "no:cacheprovider", "-v", "-rA"]
    if k:
        args += ["-k", k]
    result = c.run(" ".join(shlex.quote(arg) for arg in args), env=environment, warn=True, pty=False)
    text = summary.write(out, env, str(image_path), junit)
    print(f"\n{text}\nwritten: {out / 'summary.md'}, {junit}")
    if result.exited != 0:
        raise Exit(code=result.exited)
