"""`/gemini_official/v1/images/generations` and `/edits` (OpenAI images), and the signed file links
(`/gemini_official/v1/files/<token>`) that serve generated media."""

from __future__ import annotations

from starlette.requests import Request
from starlette.responses import FileResponse, Response
from starlette.routing import Route

from switchyard.errors import NotFound
from switchyard.providers.gemini_web.files import FileExpired
from switchyard.surfaces.deps import admit, authenticate, runtime_of
from switchyard.surfaces.images import protocol, service
from switchyard.surfaces.webchat.common import PROVIDER, provider, resolve_model

GENERATIONS = "/gemini_official/v1/images/generations"
EDITS = "/gemini_official/v1/images/edits"
FILES = "/gemini_official/v1/files/{token}"


async def _handle(request: Request, *, edits: bool) -> Response:
    key = await authenticate(request)
    runtime = runtime_of(request)
    settings = runtime.settings
    parsed = await protocol.parse(
        request, edits=edits, max_bytes=settings.media_max_bytes, max_body_bytes=settings.max_request_bytes
    )
    model = resolve_model(parsed.model)
    service.check_model(model)
    ctx = await admit(
        request, key, surface="images", provider=PROVIDER, model=model.public_id, model_known=True
    )
    return await service.generate(runtime, ctx, parsed, model, str(request.base_url))


async def generations(request: Request) -> Response:
    return await _handle(request, edits=False)


async def edits(request: Request) -> Response:
    return await _handle(request, edits=True)


async def files(request: Request) -> Response:
    """No client key: the signed, expiring token is the permission (it can be shared like a link)."""
    store = provider(runtime_of(request)).files
    try:
        if store is None:
            raise FileExpired("no file store")
        found = store.open(request.path_params["token"])
    except FileExpired as exc:
        raise NotFound(str(exc), code="file_not_found") from None
    return FileResponse(found.path, media_type=found.mime, headers={"cache-control": "private, max-age=3600"})


def build_routes() -> list[Route]:
    return [
        Route(GENERATIONS, generations, methods=["POST"], name="gemini_official:images-generations"),
        Route(EDITS, edits, methods=["POST"], name="gemini_official:images-edits"),
        Route(FILES, files, methods=["GET"], name="gemini_official:files"),
    ]
