"""`/gemini_official/v1/images/generations` and `/edits` (OpenAI images), and the signed file links
(`/gemini_official/v1/files/<token>`) that serve generated media."""

from __future__ import annotations

from fastapi import APIRouter
from starlette.requests import Request
from starlette.responses import FileResponse, Response

from switchyard.errors import NotFound
from switchyard.providers.gemini_web.files import FileExpired
from switchyard.surfaces.deps import ClientKey, RuntimeDep, admit
from switchyard.surfaces.images import protocol, service
from switchyard.surfaces.webchat.common import PROVIDER, provider, resolve_model

GENERATIONS = "/gemini_official/v1/images/generations"
EDITS = "/gemini_official/v1/images/edits"
FILES = "/gemini_official/v1/files/{token}"


def build_router() -> APIRouter:
    router = APIRouter()

    async def handle(request: Request, key: ClientKey, runtime: RuntimeDep, *, edits: bool) -> Response:
        parsed = await protocol.parse(request, edits=edits, max_bytes=runtime.settings.media_max_bytes)
        model = resolve_model(parsed.model)
        service.check_model(model)
        ctx = await admit(request, key, surface="images", provider=PROVIDER, model=model.public_id)
        return await service.generate(runtime, ctx, parsed, model, str(request.base_url))

    @router.post(GENERATIONS, name="gemini_official:images-generations")
    async def generations(request: Request, key: ClientKey, runtime: RuntimeDep) -> Response:
        return await handle(request, key, runtime, edits=False)

    @router.post(EDITS, name="gemini_official:images-edits")
    async def edits(request: Request, key: ClientKey, runtime: RuntimeDep) -> Response:
        return await handle(request, key, runtime, edits=True)

    @router.get(FILES, name="gemini_official:files")
    async def files(token: str, runtime: RuntimeDep) -> Response:
        """No client key: the signed, expiring token is the permission (it can be shared like a link)."""
        store = provider(runtime).files
        try:
            if store is None:
                raise FileExpired("no file store")
            found = store.open(token)
        except FileExpired as exc:
            raise NotFound(str(exc), code="file_not_found") from None
        return FileResponse(
            found.path, media_type=found.mime, headers={"cache-control": "private, max-age=3600"}
        )

    return router
