"""Gemini web wire format: length-prefixed frames, envelopes, and the positional arrays inside them.

Written from protocols/gemini-web.md §2.2, §4 and §7. Every index path is a named constant: the
`REQ_*` ones address the StreamGenerate request's inner list, `RESP_*` the inner response list,
`CAND_*` a candidate inside it, `IMG_*` a generated-image entry.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from typing import Any

XSSI_PREFIX = ")]}'\n\n"
ENVELOPE_DATA = "wrb.fr"
BARD_ERROR_INFO = "type.googleapis.com/assistant.boq.bard.application.BardErrorInfo"
ERROR_STATUS = 13  # status seen with BardErrorInfo codes in captured frames
REJECTED_STATUS = 7  # `env[5][0] == 7`: request rejected, usually dead cookies (§4.3)
BATCH_IDENTIFIER_DEFAULT = "generic"

# ---- StreamGenerate request: f.req = [null, "<json of inner>"] (§2.2) ----
FREQ_INNER = 1
REQ_MESSAGE = 0
MSG_PROMPT = 0
MSG_FILES = 3
FILE_REF = 0  # entry[0] = ["/contrib_service/...", ...]
FILE_REF_ID = 0
FILE_NAME = 1
REQ_LANGUAGE = 1
REQ_CHAT_METADATA = 2
META_CID, META_RID, META_RCID, META_CONTEXT = 0, 1, 2, 9
REQ_DEEP_RESEARCH_TOKEN = 3
REQ_GEM = 19
REQ_TEMPORARY = 45
REQ_DEEP_RESEARCH = 49
REQ_UUID = 59
REQ_MODEL_NUMBER = 79
REQ_THINKING_LEVEL = 80
THINKING_EXTENDED = 2

# ---- model header x-goog-ext-525001261-jspb (§3) ----
MODEL_HEADER = "x-goog-ext-525001261-jspb"
REQUEST_UUID_HEADER = "x-goog-ext-525005358-jspb"
HDR_MODEL_ID = 4
HDR_CAPACITY = 11
HDR_MODEL_NUMBER = 14
HDR_THINKING_LEVEL = 15

# ---- batchexecute: f.req = [[[rpcid, payload, null, identifier], ...]] (§7) ----
BATCH_RPCID, BATCH_PAYLOAD, BATCH_IDENTIFIER = 0, 1, 3

# ---- StreamGenerate response inner list (§4.2) ----
RESP_CONVERSATION = 1  # [cid, rid]
RESP_CANDIDATES = 4
RESP_CONTEXT = 25  # present = the turn is saved in history
RESP_TIMESTAMP = 27  # [[[null, null, null, [seconds, nanos]]]] -> path [27][0][0][3]
RESP_MODEL_ID = 39
RESP_MODEL_NAME = 42
RESP_MODEL_CATEGORY = 58  # the served mode/category number (§13.1)
RESP_LENGTH = 59
SPARSE_TITLE_KEY = "11"  # title frame: {"11": [title], "44": true}
SPARSE_REPLY_KEY = "18"
SPARSE_FINAL_KEY = "44"

# ---- candidate (§4.2) ----
CAND_RCID = 0
CAND_TEXT = 1  # [text]
CAND_STATUS = 8  # [1] in progress, [2] complete
CAND_LANGUAGE = 9
CAND_RICH = 12
CAND_ATTACHMENT = 30  # [[document]]: a deep research report (§7)
CAND_THOUGHTS = 37  # [[thoughts]]
CAND_LENGTH = 38
STATUS_IN_PROGRESS, STATUS_COMPLETE = 1, 2
RICH_WEB_IMAGES = 1
RICH_GENERATED_IMAGES = 7  # rich[7] = [[entry, ...]] or the sparse {"8": [[entry, ...]]}
RICH_LENGTH = 8
SPARSE_GENERATED_IMAGES_KEY = str(RICH_GENERATED_IMAGES + 1)

# ---- generated-image entry (§6.2): [[null,null,null,[null,1,name,url]], [image_id], ...] ----
IMG_MEDIA = 0
IMG_MEDIA_INFO = 3
IMG_INFO_FILENAME = 2
IMG_INFO_URL = 3
IMG_IDS = 1
IMAGE_PLACEHOLDER = "http://googleusercontent.com/image_generation_content/{index}"

# ---- c8o8Fe (full-size download) payload (§6.3) ----
C8_IMAGE = 0
C8_IMAGE_ID_SLOT = 1  # payload[0][1] = [image_id, 0]
C8_CONVERSATION = 1  # payload[1] = [rid, rcid, cid, null, ""]
C8_RID, C8_RCID, C8_CID = 0, 1, 2


def utf16_len(text: str) -> int:
    """JavaScript `String.length`: characters outside the BMP count twice."""
    return sum(2 if ord(char) > 0xFFFF else 1 for char in text)


def dumps(value: Any) -> str:
    return json.dumps(value, ensure_ascii=False, separators=(",", ":"))


def frame(envelopes: list[Any]) -> str:
    """One `<len>\\n<json>\\n` frame; the length counts the JSON plus one newline, in UTF-16 units."""
    body = dumps(envelopes)
    return f"{utf16_len(body) + 1}\n{body}\n"


def data_envelope(inner: Any, rpcid: str | None = None, identifier: str | None = None) -> list[Any]:
    """`["wrb.fr", rpcid, "<inner json>"]`, with the identifier in slot 6 for batchexecute answers."""
    envelope: list[Any] = [ENVELOPE_DATA, rpcid, dumps(inner)]
    if identifier is not None:
        envelope += [None, None, None, identifier]
    return envelope


def error_envelope(code: int, rpcid: str | None = None) -> list[Any]:
    return [ENVELOPE_DATA, rpcid, None, None, None, [ERROR_STATUS, None, [[BARD_ERROR_INFO, [code]]]]]


def rejected_envelope(rpcid: str | None = None) -> list[Any]:
    return [ENVELOPE_DATA, rpcid, None, None, None, [REJECTED_STATUS]]


def bookkeeping_frames(sent_units: int, request_number: int) -> list[str]:
    """The `di` / `af.httprm` / `e` frames that close every response."""
    elapsed_ms = 40 + request_number % 200
    return [
        frame(
            [["di", elapsed_ms], ["af.httprm", elapsed_ms - 1, str(8196459853603899163 + request_number), 2]]
        ),
        frame([["e", 4, None, None, sent_units + 64]]),
    ]


def get_path(data: Any, *path: int) -> Any:
    """Read a positional path, `None` where the array is shorter or not an array."""
    current = data
    for index in path:
        if not isinstance(current, list) or not -len(current) <= index < len(current):
            return None
        current = current[index]
    return current


@dataclass
class ParsedTurn:
    """What a fake server reads from the inner request list (§2.2: "read only ...")."""

    prompt: str
    files: list[tuple[str, str]] = field(default_factory=list)  # (contrib id, file name)
    cid: str = ""
    rid: str = ""
    rcid: str = ""
    context: str = ""
    gem: str | None = None
    temporary: bool = False
    deep_research: bool = False
    extended_thinking: bool = False
    request_uuid: str | None = None


def parse_stream_request(freq: str) -> tuple[ParsedTurn, list[Any]]:
    """Parse `f.req` of StreamGenerate; raises ValueError on a malformed body (-> HTTP 400)."""
    outer = json.loads(freq)
    inner_text = get_path(outer, FREQ_INNER)
    if not isinstance(inner_text, str):
        raise ValueError('f.req must be [null, "<inner json>"]')
    inner = json.loads(inner_text)
    prompt = get_path(inner, REQ_MESSAGE, MSG_PROMPT)
    if not isinstance(inner, list) or not isinstance(prompt, str):
        raise ValueError("inner[0][0] must be the prompt string")
    files: list[tuple[str, str]] = []
    for entry in get_path(inner, REQ_MESSAGE, MSG_FILES) or []:
        ref = get_path(entry, FILE_REF, FILE_REF_ID)
        if isinstance(ref, str):
            name = get_path(entry, FILE_NAME)
            files.append((ref, name if isinstance(name, str) else ""))
    metadata = get_path(inner, REQ_CHAT_METADATA)
    turn = ParsedTurn(prompt=prompt, files=files)
    turn.cid = _text(get_path(metadata, META_CID))
    turn.rid = _text(get_path(metadata, META_RID))
    turn.rcid = _text(get_path(metadata, META_RCID))
    turn.context = _text(get_path(metadata, META_CONTEXT))
    gem = get_path(inner, REQ_GEM)
    turn.gem = gem if isinstance(gem, str) and gem else None
    turn.temporary = get_path(inner, REQ_TEMPORARY) == 1
    turn.deep_research = get_path(inner, REQ_DEEP_RESEARCH) == 1
    turn.extended_thinking = get_path(inner, REQ_THINKING_LEVEL) == THINKING_EXTENDED
    request_uuid = get_path(inner, REQ_UUID)
    turn.request_uuid = request_uuid if isinstance(request_uuid, str) else None
    return turn, inner


def _text(value: Any) -> str:
    return value if isinstance(value, str) else ""


def parse_batch_request(freq: str) -> list[tuple[str, Any, str]]:
    """`[(rpcid, parsed payload, identifier), ...]`; raises ValueError when malformed."""
    outer = json.loads(freq)
    calls = get_path(outer, 0)
    if not isinstance(calls, list):
        raise ValueError("f.req must be [[[rpcid, payload, null, identifier], ...]]")
    parsed: list[tuple[str, Any, str]] = []
    for call in calls:
        rpcid = get_path(call, BATCH_RPCID)
        payload = get_path(call, BATCH_PAYLOAD)
        if not isinstance(rpcid, str) or not isinstance(payload, str):
            raise ValueError('each call must be [rpcid, "<payload json>", null, identifier]')
        identifier = get_path(call, BATCH_IDENTIFIER)
        parsed.append((rpcid, _lenient_json(payload), identifier or BATCH_IDENTIFIER_DEFAULT))
    return parsed


def _lenient_json(payload: str) -> Any:
    """Payloads are JSON, except a few the web app writes with single quotes (`[3,['en'],0]`)."""
    if not payload:
        return None
    try:
        return json.loads(payload)
    except ValueError:
        try:
            return json.loads(payload.replace("'", '"'))
        except ValueError:
            return payload


def parse_model_header(value: str | None) -> tuple[str | None, int | None, bool]:
    """(model id, capacity, extended thinking) from `x-goog-ext-525001261-jspb`; raises ValueError."""
    if not value:
        return None, None, False
    header = json.loads(value)
    if not isinstance(header, list):
        raise ValueError("the model header must be a JSPB array")
    model_id = get_path(header, HDR_MODEL_ID)
    capacity = get_path(header, HDR_CAPACITY)
    thinking = get_path(header, HDR_THINKING_LEVEL) == THINKING_EXTENDED
    return (
        model_id if isinstance(model_id, str) else None,
        capacity if isinstance(capacity, int) else None,
        thinking,
    )


def image_entry(url: str, filename: str, image_id: str) -> list[Any]:
    media: list[Any] = [None] * (IMG_MEDIA_INFO + 1)
    info: list[Any] = [None] * (IMG_INFO_URL + 1)
    info[1] = 1
    info[IMG_INFO_FILENAME] = filename
    info[IMG_INFO_URL] = url
    media[IMG_MEDIA_INFO] = info
    entry: list[Any] = [None] * (IMG_IDS + 1)
    entry[IMG_MEDIA] = media
    entry[IMG_IDS] = [image_id]
    return entry


def candidate(
    rcid: str,
    text: str,
    *,
    complete: bool,
    thoughts: str = "",
    images: list[list[Any]] | None = None,
    sparse_images: bool = False,
    sparse: dict[str, Any] | None = None,
    attachment: list[Any] | None = None,
) -> list[Any]:
    """One candidate; `sparse` holds high-numbered rich fields keyed by field number + 1 (§4.1)."""
    cand: list[Any] = [None] * CAND_LENGTH
    cand[CAND_RCID] = rcid
    cand[CAND_TEXT] = [text]
    cand[CAND_STATUS] = [STATUS_COMPLETE if complete else STATUS_IN_PROGRESS]
    cand[CAND_LANGUAGE] = "en"
    if thoughts:
        cand[CAND_THOUGHTS] = [[thoughts]]
    if attachment is not None:
        cand[CAND_ATTACHMENT] = attachment
    bundle = dict(sparse or {})
    rich: list[Any] = []
    if images and sparse_images:
        # image-to-image turns carry field 7 as the sparse key "8" (§4.2, issue GA#62)
        bundle[SPARSE_GENERATED_IMAGES_KEY] = [images]
    elif images:
        rich = [None] * RICH_LENGTH
        rich[RICH_GENERATED_IMAGES] = [images]
    if bundle:
        rich.append(bundle)  # the sparse bundle is always the block's last element
    if rich:
        cand[CAND_RICH] = rich
    return cand


def response_inner(
    cid: str,
    rid: str,
    cand: list[Any],
    *,
    context: str | None = None,
    timestamp: tuple[int, int] | None = None,
    model_id: str | None = None,
    model_name: str | None = None,
    model_number: int | None = None,
) -> list[Any]:
    inner: list[Any] = [None] * RESP_LENGTH
    inner[RESP_CONVERSATION] = [cid, rid]
    inner[RESP_CANDIDATES] = [cand]
    if context is not None:
        inner[RESP_CONTEXT] = context
    if timestamp is not None:
        inner[RESP_TIMESTAMP] = [[[None, None, None, list(timestamp)]]]
    inner[RESP_MODEL_ID] = model_id
    inner[RESP_MODEL_NAME] = model_name
    inner[RESP_MODEL_CATEGORY] = model_number
    return inner


def metadata_inner(cid: str, rid: str) -> list[Any]:
    return [None, [cid, rid], {SPARSE_REPLY_KEY: rid, SPARSE_FINAL_KEY: False}]


def title_inner(cid: str, rid: str, title: str) -> list[Any]:
    return [None, [cid, rid], {SPARSE_TITLE_KEY: [title], SPARSE_FINAL_KEY: True}]
