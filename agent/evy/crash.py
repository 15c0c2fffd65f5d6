"""Crash points for the crash tests: ``EVY_CRASH_AT=after_store`` (or ``after_store:3`` for the third time)
makes the agent SIGKILL itself at that step, exactly like a power cut from the pipeline's point of view.

A ground-floor module (it imports nothing from evy): the pipeline and the modem session below it both mark
their steps here."""

from __future__ import annotations

import os
import signal

_target, _, _nth = os.environ.get("EVY_CRASH_AT", "").partition(":")
_remaining = int(_nth or 1)

POINTS = ("after_receive", "after_store", "after_sim_delete", "after_case_opened", "after_reply_queued",
          "after_modem_write", "during_send", "after_send", "at_prompt")


def crashpoint(name: str) -> None:
    global _remaining
    if name != _target:
        return
    _remaining -= 1
    if _remaining == 0:
        os.kill(os.getpid(), signal.SIGKILL)
