"""content-push uploads (§5) and generated-image downloads (§6.3), as Starlette routes.

Uploads carry no Google cookies (they are on `.google.com`, the host is googleapis.com): the
`Push-ID` and `X-Tenant-Id: bard-storage` headers are what the server checks.
"""

from __future__ import annotations

import secrets
import string
import time
from typing import Any

from starlette.datastructures import UploadFile
from starlette.requests import Request
from starlette.responses import PlainTextResponse, Response
from starlette.routing import Route

from switchyard.emulators import gemini_web_images as img
from switchyard.emulators import gemini_web_tools as tools
from switchyard.emulators.gemini_web_chat import UploadedFile

TENANT_HEADER = "x-tenant-id"
TENANT = "bard-storage"
PUSH_ID_HEADER = "push-id"
UPLOAD_COMMAND = "x-goog-upload-command"
UPLOAD_URL_HEADER = "x-goog-upload-url"
UPLOAD_STATUS_HEADER = "x-goog-upload-status"
UPLOAD_ID_PARAM = "upload_id"
REFERER_PREFIX = "https://gemini.google.com"
CONTRIB_ALPHABET = string.ascii_lowercase + string.digits
DEFAULT_CONTENT_TYPE = "application/octet-stream"
VIDEO_THUMB_SUFFIX = "-thumb"


def _state(request: Request) -> Any:
    return request.app.state.emulator


def _contrib_id() -> str:
    suffix = "".join(secrets.choice(CONTRIB_ALPHABET) for _ in range(32))
    return f"/contrib_service/ttl_1d/{int(time.time())}{suffix}"


def _store(request: Request, filename: str, content_type: str, data: bytes) -> str:
    contrib_id = _contrib_id()
    _state(request).chats.uploads[contrib_id] = UploadedFile(contrib_id, filename, content_type, data)
    return contrib_id


async def upload(request: Request) -> Response:
    state = _state(request)
    headers = request.headers
    command = headers.get(UPLOAD_COMMAND, "").lower()
    if headers.get(TENANT_HEADER) != TENANT or (
        not headers.get(PUSH_ID_HEADER) and not command.startswith("upload")
    ):
        state.record(request, account=None, body=None, extra={"rejected": True})
        return PlainTextResponse("Forbidden", status_code=403)
    if command == "start":
        # resumable protocol, step 1: the body is "File name: <name>"
        raw = (await request.body()).decode("utf-8", "replace")
        filename = raw.partition(":")[2].strip() or "file"
        upload_id = secrets.token_urlsafe(24)
        state.pending_uploads[upload_id] = filename
        state.record(request, account=None, body={"start": filename})
        location = (
            f"https://{request.url.hostname}/upload/?{UPLOAD_ID_PARAM}={upload_id}&upload_protocol=resumable"
        )
        return Response(
            status_code=200, headers={UPLOAD_URL_HEADER: location, UPLOAD_STATUS_HEADER: "active"}
        )
    if command.startswith("upload"):
        filename = state.pending_uploads.pop(request.query_params.get(UPLOAD_ID_PARAM, ""), None)
        if filename is None:
            return PlainTextResponse("Not Found", status_code=404)
        data = await request.body()
        state.record(request, account=None, body={"file": {"filename": filename, "size": len(data)}})
        content_type = headers.get("content-type", DEFAULT_CONTENT_TYPE)
        contrib_id = _store(request, filename, content_type, data)
        return PlainTextResponse(contrib_id, headers={UPLOAD_STATUS_HEADER: "final"})
    async with request.form() as form:
        part = form.get("file")
        if not isinstance(part, UploadFile):
            state.record(request, account=None, body=None)
            return PlainTextResponse("Bad Request", status_code=400)
        data = await part.read()
        filename = part.filename or "file"
        content_type = part.content_type or DEFAULT_CONTENT_TYPE
    state.record(
        request,
        account=None,
        body={"file": {"filename": filename, "content_type": content_type, "size": len(data)}},
    )
    return PlainTextResponse(_store(request, filename, content_type, data))


def upload_routes() -> list[Route]:
    return [Route(path, upload, methods=["POST"]) for path in ("/upload", "/upload/")]


def image_routes(host: str) -> list[Route]:
    if host == img.FIFE_WORK_HOST:
        return [Route("/rd-gg-dl/{tail:path}", download_hop, methods=["GET"])]
    return [
        Route("/gg-dl/{tail:path}", display_or_first_hop, methods=["GET"]),
        Route("/rd-gg-dl/{tail:path}", original_image, methods=["GET"]),
        Route("/gg-vid/{token}", video_file, methods=["GET"]),
    ]


def _record(request: Request, record: img.GeneratedImageRecord | None) -> None:
    _state(request).record(request, account=record.account if record else None, body=None)


async def display_or_first_hop(request: Request) -> Response:
    token, params = img.split_fife(request.path_params["tail"])
    store: img.ImageStore = _state(request).chats.images
    record = store.by_token.get(token)
    video = _state(request).chats.videos.get(token.removesuffix(VIDEO_THUMB_SUFFIX))
    if record is None and video is not None and token.endswith(VIDEO_THUMB_SUFFIX):
        _state(request).record(request, account=None, body=None)
        return Response(img.render_thumbnail(video.prompt), media_type="image/jpeg")
    _record(request, record)
    if record is None:
        return PlainTextResponse("Not Found", status_code=404)
    if not request.headers.get("referer", "").startswith(REFERER_PREFIX):
        return PlainTextResponse("Forbidden", status_code=403)
    if token == record.download_token:
        if not img.is_download_hop(params, request.url.query):
            return PlainTextResponse("Not Found", status_code=404)
        return PlainTextResponse(record.hop_url)
    longest = img.requested_size(params)
    return Response(store.render(record, longest, original=False), media_type="image/jpeg")


async def download_hop(request: Request) -> Response:
    token, _ = img.split_fife(request.path_params["tail"])
    state = _state(request)
    record = state.chats.images.by_token.get(token)
    _record(request, record)
    if record is None or token != record.download_token:
        return PlainTextResponse("Not Found", status_code=404)
    account = state.registry.by_cookies(request.cookies)
    if account is None or account.name != record.account:
        return PlainTextResponse("Unauthorized", status_code=401)
    return PlainTextResponse(record.original_url)


async def original_image(request: Request) -> Response:
    token, _ = img.split_fife(request.path_params["tail"])
    store: img.ImageStore = _state(request).chats.images
    record = store.by_token.get(token)
    _record(request, record)
    if record is None or token != record.download_token:
        return PlainTextResponse("Not Found", status_code=404)
    return Response(store.render(record, img.ORIGINAL_SIZE, original=True), media_type="image/png")


async def video_file(request: Request) -> Response:
    """206 while the video renders (the client polls), then the MP4 (§7)."""
    video = _state(request).chats.videos.get(request.path_params["token"])
    _state(request).record(request, account=None, body=None)
    if video is None or not video.published:
        return PlainTextResponse("Not Found", status_code=404)
    if not video.ready:
        return Response(b"", status_code=206, media_type="video/mp4")
    return Response(tools.MP4_BYTES, media_type="video/mp4")
