"""`evy console` as a process: it refuses to start without an operator password or on a wildcard address,
listens only on the addresses it is given, and `evy sim --console` shows a texted case on the board."""

from __future__ import annotations

import http.cookiejar
import os
import re
import socket
import subprocess
import sys
import threading
import time
import urllib.parse
import urllib.request
from pathlib import Path

import pytest

from .test_console_browser import free_port, wait_for

ROOT = Path(__file__).parents[2]
ENV = {**os.environ, "PYTHONPATH": str(ROOT / "agent")}


def evy(*args: str, config: Path, timeout: float = 30) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "evy", *args, "--config", str(config)], env=ENV,
                          capture_output=True, text=True, timeout=timeout)


def test_without_an_operator_password_the_console_says_why_and_does_not_start(tmp_path: Path) -> None:
    config = tmp_path / "evy.toml"
    config.write_text(f'data_dir = "{tmp_path}"\n[console]\nlisten = ["127.0.0.1"]\n')
    result = evy("console", config=config)
    assert result.returncode == 2
    assert result.stderr.splitlines() == [result.stderr.strip()] and "no operator password" in result.stderr


@pytest.mark.parametrize("address", ["0.0.0.0", "::"])
def test_a_wildcard_address_is_refused(tmp_path: Path, password_hashes, address: str) -> None:
    config = tmp_path / "evy.toml"
    config.write_text(f'data_dir = "{tmp_path}"\n[console]\nlisten = ["{address}"]\n'
                      f'operator_password_hash = "{password_hashes[0]}"\n')
    result = evy("console", config=config)
    assert result.returncode == 2 and "every interface" in result.stderr


def test_it_listens_only_on_the_configured_address(tmp_path: Path, password_hashes) -> None:
    port = free_port()
    config = tmp_path / "evy.toml"
    config.write_text(f'data_dir = "{tmp_path}"\n[console]\nlisten = ["127.0.0.1"]\nport = {port}\n'
                      f'operator_password_hash = "{password_hashes[0]}"\n')
    process = subprocess.Popen([sys.executable, "-m", "evy", "console", "--config", str(config)], env=ENV,
                               stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    try:
        def answers(host: str) -> bool:
            try:
                with socket.create_connection((host, port), timeout=0.5):
                    return True
            except OSError:
                return False

        wait_for(lambda: answers("127.0.0.1"), 20, "the console answers on 127.0.0.1")
        assert not answers("127.0.0.2")  # another loopback address of this host: not configured
        with urllib.request.urlopen(f"http://127.0.0.1:{port}/login", timeout=5) as response:
            assert response.status == 200 and "Log in" in response.read().decode()
    finally:
        process.terminate()
        process.wait(10)


def test_evy_sim_console_shows_the_case_a_newcomer_texts(tmp_path: Path) -> None:
    port = free_port()
    config = tmp_path / "sim.toml"
    config.write_text('country = "KE"\n[llm]\nenabled = false\n[rag]\nembed_model = ""\n')
    process = subprocess.Popen([sys.executable, "-m", "evy", "sim", "--responder", "basic", "--config", str(config),
                                "--console", "--console-port", str(port), "--timeout", "20"], env=ENV,
                               stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
    try:
        banner = ""
        while "Console:" not in banner:
            line = process.stdout.readline()
            assert line, f"evy sim ended without a console line:\n{banner}"
            banner += line
        password = re.search(r"password (\S+)\)", banner).group(1)
        process.stdin.write("my neighbour collapsed and is not breathing\n")
        process.stdin.flush()
        jar = http.cookiejar.CookieJar()
        opener = urllib.request.build_opener(urllib.request.HTTPCookieProcessor(jar))
        base = f"http://127.0.0.1:{port}"
        login = wait_for(lambda: _get(opener, f"{base}/login"), 20, "the console's login page")
        token = re.search(r'name="csrf" value="([^"]+)"', login).group(1)
        form = urllib.parse.urlencode({"csrf": token, "account": "operator", "password": password}).encode()
        opener.open(urllib.request.Request(f"{base}/login", form, headers={"origin": base}), timeout=10).read()
        board = wait_for(lambda: (page := _get(opener, f"{base}/")) and "not breathing" in page and page, 20,
                         "the texted case on the board")
        assert "life-threatening" in board
        code = re.search(r'href="/cases/(\w+)"', board).group(1)
        page = _get(opener, f"{base}/cases/{code}")
        form = urllib.parse.urlencode({"csrf": re.search(r'name="csrf" value="([^"]+)"', page).group(1),
                                       "text": "An ambulance is on its way."}).encode()
        opener.open(urllib.request.Request(f"{base}/cases/{code}/reply", form, headers={"origin": base}),
                    timeout=10).read()
        screen = [banner]
        reader = threading.Thread(target=lambda: screen.extend(iter(process.stdout.readline, "")), daemon=True)
        reader.start()
        wait_for(lambda: "An ambulance is on its way." in "".join(screen), 20, "the operator's reply on the phone")
        assert "<< operator's reply to #1" in "".join(screen)
    finally:
        process.stdin.close()
        process.wait(60)


def _get(opener, url: str) -> str | None:
    try:
        with opener.open(url, timeout=5) as response:
            return response.read().decode()
    except OSError:
        time.sleep(0.2)
        return None


def test_hash_password_makes_a_hash_the_console_accepts(tmp_path: Path) -> None:
    from evy.console.auth import verify_password
    from evy.console.settings import password_hash

    result = subprocess.run([sys.executable, "-m", "evy", "console", "hash-password"], input="a long passphrase\n",
                            env=ENV, capture_output=True, text=True, timeout=60)
    made = result.stdout.strip()
    assert result.returncode == 0 and password_hash(made) == made and verify_password(made, "a long passphrase")
    short = subprocess.run([sys.executable, "-m", "evy", "console", "hash-password"], input="short\n", env=ENV,
                           capture_output=True, text=True, timeout=60)
    assert short.returncode == 2 and "at least 10 characters" in short.stderr
