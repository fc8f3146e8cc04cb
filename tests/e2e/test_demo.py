"""`switchyard demo` exactly as api-contract.md specifies it: flags, ready line, mounts, named accounts."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import httpx

from tests.servers import free_port


def test_ready_line_names_gateway_control_and_key(demo: tuple[str, str, str]) -> None:
    gateway, control, key = demo
    assert control == gateway + "/_emulator" and key == "demo-key-for-tests-0001"


def test_demo_serves_antigravity_on_the_emulators(demo: tuple[str, str, str]) -> None:
    gateway, control, key = demo
    response = httpx.post(
        f"{gateway}/antigravity/v1beta/models/gemini-3-pro-low/generateContent",
        headers={"X-Goog-Api-Key": f"Bearer {key}"},
        json={"contents": [{"parts": [{"text": "What model are you?"}]}]},
        timeout=30,
    )
    assert response.status_code == 200, response.text
    log = httpx.get(f"{control}/antigravity/_control/requests").json()
    assert {entry["account"] for entry in log if "generateContent" in entry["path"]} <= {
        "antigravity-1",
        "antigravity-2",
    }
    oauth_log = httpx.get(f"{control}/oauth/_control/requests").json()
    assert any(entry["path"].endswith("/token") for entry in oauth_log)


def test_demo_lists_models_and_has_every_control_api(demo: tuple[str, str, str]) -> None:
    gateway, control, key = demo
    models = httpx.get(f"{gateway}/antigravity/v1/models", headers={"Authorization": f"Bearer {key}"}).json()
    assert "gemini-3-pro-image" in [m["id"] for m in models["data"]]
    web = httpx.get(f"{gateway}/gemini_official/v1/models", headers={"Authorization": f"Bearer {key}"}).json()
    assert "gemini-3-pro-imagen" in [m["id"] for m in web["data"]]
    for name in ("oauth", "antigravity", "gemini-web"):
        assert httpx.post(f"{control}/{name}/_control/reset").status_code == 200
        assert httpx.get(f"{control}/{name}/_control/requests").json() == []
    accounts = httpx.get(f"{control}/gemini-web/_control/accounts").json()
    names = {a["name"] for a in (accounts if isinstance(accounts, list) else accounts.get("accounts", []))}
    assert {"gemini-web-1", "gemini-web-2"} <= names


def test_demo_serves_both_chat_surfaces(demo: tuple[str, str, str]) -> None:
    gateway, control, key = demo
    headers = {"Authorization": f"Bearer {key}"}
    web = httpx.post(
        f"{gateway}/gemini_official/v1/chat/completions",
        headers=headers,
        json={"model": "gemini-3-pro", "messages": [{"role": "user", "content": "Hello from the demo test"}]},
        timeout=60,
    )
    assert web.status_code == 200, web.text
    assert "Hello from the demo test" in web.json()["choices"][0]["message"]["content"]
    web_log = httpx.get(f"{control}/gemini-web/_control/requests").json()
    assert {e["account"] for e in web_log if "StreamGenerate" in e["path"]} <= {
        "gemini-web-1",
        "gemini-web-2",
    }
    with httpx.stream(
        "POST",
        f"{gateway}/antigravity/v1/chat/completions",
        headers=headers,
        json={
            "messages": [{"role": "user", "content": "What model are you?"}],
            "model": "gemini-3-pro-low",
            "stream": True,
        },
        timeout=60,
    ) as response:
        lines = [line for line in response.iter_lines() if line.startswith("data: ")]
    assert response.status_code == 200 and lines[-1] == "data: [DONE]"


def test_sigterm_leaves_no_temporary_store_behind(tmp_path: Path) -> None:
    """Issue 17 #14: the demo's throw-away store (with its secret.key) is deleted on SIGTERM too."""
    port = free_port()
    process = subprocess.Popen(
        [sys.executable, "-m", "switchyard", "demo", "--port", str(port)],
        stdout=subprocess.PIPE,
        stderr=subprocess.DEVNULL,
        text=True,
        env={**os.environ, "TMPDIR": str(tmp_path)},
    )
    try:
        assert process.stdout is not None
        line = process.stdout.readline()
        assert line.startswith("switchyard demo ready:"), line
        assert list(tmp_path.glob("switchyard-demo-*")), "the demo keeps its store in the temp folder"
    finally:
        process.terminate()
        process.wait(timeout=30)
        if process.stdout:
            process.stdout.close()
    assert list(tmp_path.glob("switchyard-demo-*")) == []
