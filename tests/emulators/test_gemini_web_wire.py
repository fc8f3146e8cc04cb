"""The Gemini web emulator at the wire level: framing, the proxy's refusals, raw error frames, uploads.

These drive the emulator with `httpx` through the same HTTPS proxy (trusting the emulator's CA), to
check the bytes gemini_webapi does not let a test see.
"""

from __future__ import annotations

import itertools
import json
import ssl
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest

from tests.emulators.test_gemini_web_client import Emulator, running_emulator

GEMINI = "https://gemini.google.com"
GENERATE = GEMINI + "/_/BardChatUi/data/assistant.lamda.BardFrontendService/StreamGenerate"
BATCH = GEMINI + "/_/BardChatUi/data/batchexecute"
FORM = {"Content-Type": "application/x-www-form-urlencoded;charset=utf-8", "X-Same-Domain": "1"}


@pytest.fixture(scope="module")
def emulator(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Emulator]:
    with running_emulator(tmp_path_factory.mktemp("gemini-web-wire")) as running:
        yield running


def google(emulator: Emulator, account: dict[str, Any] | None = None) -> httpx.Client:
    """An HTTP/1.1 client that reaches the Google hostnames through the emulator's proxy."""
    context = ssl.create_default_context(cafile=str(emulator.proxy.ca_path))
    client = httpx.Client(proxy=emulator.proxy.proxy_url, verify=context, timeout=10)
    if account is not None:
        client.cookies.set("__Secure-1PSID", account["psid"], domain=".google.com")
        client.cookies.set("__Secure-1PSIDTS", account["psidts"], domain=".google.com")
    return client


def page_token(client: httpx.Client) -> str:
    page = client.get(GEMINI + "/app").text
    return page.split('"SNlM0e":"', 1)[1].split('"', 1)[0]


def utf16_units(text: str) -> int:
    return len(text.encode("utf-16-le")) // 2


def split_frames(body: str) -> list[Any]:
    """Parse `)]}'` + `<len>\\n<json>\\n` frames strictly, checking every length in UTF-16 units."""
    assert body.startswith(")]}'\n\n")
    rest, frames = body[len(")]}'\n\n") :], []
    while rest:
        length_text, _, rest = rest.partition("\n")
        length, taken, units = int(length_text), 0, 0
        while units < length - 1:
            units += utf16_units(rest[taken])
            taken += 1
        payload, rest = rest[:taken], rest[taken:]
        # the declared length covers the JSON and one newline, counted as JavaScript counts
        assert utf16_units(payload) + 1 == length and rest.startswith("\n")
        rest = rest[1:]
        frames.append(json.loads(payload))
    return frames


def stream_request(prompt: str, cid: str = "") -> dict[str, str]:
    # the short 2024-25 inner form: the emulator must read any length (§2.2)
    inner = [[prompt, 0, None, None], None, [cid, "", ""]]
    return {"f.req": json.dumps([None, json.dumps(inner)])}


def test_connect_to_other_hosts_is_refused(emulator: Emulator) -> None:
    with google(emulator) as client, pytest.raises(httpx.ProxyError, match="403"):
        client.get("https://example.com/")


def test_control_api_answers_plain_http_on_the_proxy_port(emulator: Emulator) -> None:
    assert emulator.control.get("/_control/faults").json() == []


def test_unknown_cookies_get_the_logged_out_page(emulator: Emulator) -> None:
    with google(emulator) as client:
        page = client.get(GEMINI + "/app")
    assert page.status_code == 200 and "Sign in" in page.text
    # today's signed-out page keeps the other tokens, only no SNlM0e: clients start as guests (§13.2)
    assert "SNlM0e" not in page.text and '"cfb2h":"boq_assistant' in page.text


def _answer_text(body: str) -> tuple[str, str]:
    """(the last candidate text, the served display name at [42]) of a StreamGenerate body."""
    inners = [json.loads(e[2]) for frame in split_frames(body) for e in frame if e[0] == "wrb.fr" and e[2]]
    answers = [inner for inner in inners if len(inner) > 42 and inner[4]]
    return answers[-1][4][0][1][0], answers[-1][42]


@pytest.mark.parametrize(
    ("header", "prompt", "served", "says"),
    [
        (None, "hello guest", "3.5 Flash-Lite", "Echo: hello guest"),
        ('[1,null,null,null,"fbb127bbb056c959"]', "hello guest", "3.6 Flash", "Echo: hello guest"),
        ('[1,null,null,null,"9d8ca3786ebdfbea"]', "hello guest", "3.5 Flash-Lite", "Echo: hello guest"),
        (None, "generate an image of a cat", "3.5 Flash-Lite", "Are you signed in?"),
    ],
)
def test_a_guest_turn_with_an_empty_at(
    emulator: Emulator, header: str | None, prompt: str, served: str, says: str
) -> None:
    headers = {**FORM, **({"x-goog-ext-525001261-jspb": header} if header else {})}
    with google(emulator) as client:
        response = client.post(GENERATE, headers=headers, data={"at": "", **stream_request(prompt)})
        refused = client.post(GENERATE, headers=FORM, data={"at": "forged", **stream_request(prompt)})
    assert response.status_code == 200 and refused.status_code == 401
    text, model = _answer_text(response.text)
    assert text.startswith(says) and model == served


def test_a_signed_in_turn_without_at_is_a_400(emulator: Emulator) -> None:
    with google(emulator, emulator.account()) as client:
        response = client.post(GENERATE, headers=FORM, data={"at": "", **stream_request("hi")})
    assert response.status_code == 400


def test_stream_frames_count_utf16_units_and_end_with_bookkeeping(emulator: Emulator) -> None:
    account = emulator.account()
    with google(emulator, account) as client:
        at = page_token(client)
        prompt = "Emoji outside the BMP: 🦊🚀 and accents: déjà vu"
        response = client.post(GENERATE, headers=FORM, data={"at": at, **stream_request(prompt)})
    assert response.status_code == 200
    envelopes = [env for frame in split_frames(response.text) for env in frame]
    data = [json.loads(env[2]) for env in envelopes if env[0] == "wrb.fr" and env[2]]
    texts = [inner[4][0][1][0] for inner in data if len(inner) > 4 and inner[4]]
    assert texts[-1].startswith("Echo: " + prompt)
    assert all(later.startswith(earlier) for earlier, later in itertools.pairwise(texts))
    finals = [inner for inner in data if len(inner) > 4 and inner[4] and inner[4][0][8] == [2]]
    assert len(finals) == 1 and isinstance(finals[0][25], str)
    cid, rid = finals[0][1]
    assert cid.startswith("c_") and rid.startswith("r_") and finals[0][4][0][0].startswith("rc_")
    assert [env[0] for env in envelopes[-3:]] == ["di", "af.httprm", "e"]


def test_bad_or_missing_at_is_http_400(emulator: Emulator) -> None:
    account = emulator.account()
    with google(emulator, account) as client:
        page_token(client)
        response = client.post(GENERATE, headers=FORM, data={"at": "wrong", **stream_request("hi")})
    assert response.status_code == 400


def test_error_code_fault_is_an_in_stream_bard_error(emulator: Emulator) -> None:
    account = emulator.account()
    emulator.fault(fault="error_code", code=1013, match={"account": account["name"]})
    with google(emulator, account) as client:
        at = page_token(client)
        response = client.post(GENERATE, headers=FORM, data={"at": at, **stream_request("hi")})
    assert response.status_code == 200
    error = split_frames(response.text)[0][0]
    assert error[5][2][0][0].endswith("BardErrorInfo") and error[5][2][0][1][0] == 1013


def test_unknown_conversation_is_refused(emulator: Emulator) -> None:
    account = emulator.account()
    with google(emulator, account) as client:
        at = page_token(client)
        response = client.post(GENERATE, headers=FORM, data={"at": at, **stream_request("hi", cid="c_0000")})
    assert response.status_code == 400


def test_dead_session_batchexecute_reports_1016(emulator: Emulator) -> None:
    account = emulator.account()
    with google(emulator, account) as client:
        at = page_token(client)
        emulator.control.post(f"/_control/accounts/{account['name']}/expire").raise_for_status()
        freq = json.dumps(
            [[["otAQ7b", "[]", None, "generic"], ["MaZiqc", "[13,null,[0,null,1]]", None, "generic"]]]
        )
        response = client.post(
            BATCH, params={"rpcids": "otAQ7b,MaZiqc"}, headers=FORM, data={"at": at, "f.req": freq}
        )
        rotate = client.post(
            "https://accounts.google.com/RotateCookies", content='[000,"-0000000000000000000"]'
        )
    envelopes = [env for frame in split_frames(response.text) for env in frame]
    assert json.loads(envelopes[0][2])[14] == 1016
    assert envelopes[1][:2] == ["wrb.fr", "MaZiqc"] and envelopes[1][5] == [7]
    assert rotate.status_code == 401


def test_resumable_upload(emulator: Emulator) -> None:
    headers = {"push-id": "feeds/mcudyrk2a4khkz", "x-tenant-id": "bard-storage"}
    with google(emulator) as client:
        start = client.post(
            "https://content-push.googleapis.com/upload/",
            headers={**headers, "x-goog-upload-command": "start", "x-goog-upload-protocol": "resumable"},
            content="File name: notes.txt",
        )
        location = start.headers["x-goog-upload-url"]
        done = client.post(
            location,
            headers={**headers, "x-goog-upload-command": "upload, finalize", "x-goog-upload-offset": "0"},
            content=b"hello upload",
        )
        refused = client.post("https://content-push.googleapis.com/upload", files={"file": ("a.txt", b"x")})
    assert done.status_code == 200 and done.text.startswith("/contrib_service/ttl_1d/")
    assert refused.status_code == 403  # no Push-ID / tenant headers


def test_image_download_needs_the_gemini_referer(emulator: Emulator, tmp_path: Path) -> None:
    account = emulator.account()
    with google(emulator, account) as client:
        at = page_token(client)
        response = client.post(GENERATE, headers=FORM, data={"at": at, **stream_request("Draw a blue whale")})
        data = [json.loads(e[2]) for f in split_frames(response.text) for e in f if e[0] == "wrb.fr" and e[2]]
        final = next(inner for inner in data if len(inner) > 4 and inner[4] and inner[4][0][8] == [2])
        url = final[4][0][12][7][0][0][0][3][3]
        assert url.startswith("https://lh3.googleusercontent.com/gg-dl/")
        refused = client.get(url + "=s1024-rj")
        preview = client.get(url + "=s1024-rj", headers={"Referer": "https://gemini.google.com/"})
    assert refused.status_code == 403
    assert preview.status_code == 200 and preview.headers["content-type"] == "image/jpeg"


def test_accounts_control_generates_cookie_values(emulator: Emulator) -> None:
    name = f"gemini-web-{uuid.uuid4().hex[:6]}"
    created = emulator.control.post("/_control/accounts", json={"name": name, "tier": "pro"}).json()
    assert created["psid"].startswith("g.a000") and created["psidts"].startswith("sidts-")
    listed = {a["name"]: a for a in emulator.control.get("/_control/accounts").json()}
    assert listed[name]["psid"].startswith("…") and listed[name]["tier"] == "pro"
    bad = emulator.control.post("/_control/accounts", json={"name": name + "x", "tier": "gold"})
    assert bad.status_code == 400
