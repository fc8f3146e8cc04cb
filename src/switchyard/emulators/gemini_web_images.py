"""Generated images (§6): deterministic pictures, FIFE size suffixes and the full-size download hops.

URLs and what answers them:

    preview   https://lh3.googleusercontent.com/gg-dl/<preview token>[=s1024-rj | =s2048-rj | =sN...]
              -> JPEG, longest side N (default 1024, at most 2048); the 1024 preview has no mark
    c8o8Fe    -> https://lh3.googleusercontent.com/gg-dl/<download token>   (a different token, §6.3)
    hop 1     <download url>=d-I?alr=yes (or =s0-d-I)  -> text/plain  https://work.fife.usercontent.google.com/rd-gg-dl/<download token>=d-I?alr=yes
    hop 2     that URL (needs the Gemini cookies)       -> text/plain  https://lh3.googleusercontent.com/rd-gg-dl/<download token>=s0-d
    original  that URL                                  -> image/png, 2048 px, visible sparkle mark bottom-right
"""

from __future__ import annotations

import hashlib
import io
import re
import secrets
from dataclasses import dataclass, field

from PIL import Image, ImageDraw

LH3_HOST = "lh3.googleusercontent.com"
FIFE_WORK_HOST = "work.fife.usercontent.google.com"
PREVIEW_SIZE = 1024
ORIGINAL_SIZE = 2048
MAX_DISPLAY_SIZE = 2048
WATERMARK_SMALL = (48, 32)  # (mark size, margin) for images of at most 1024 px (§6.3)
WATERMARK_LARGE = (96, 64)
SIZE_PARAM_RE = re.compile(r"(?:^|-)s(\d+)(?:-|$)")
ASPECT_HINTS = (
    (re.compile(r"16:9|landscape|wide", re.IGNORECASE), (16, 9)),
    (re.compile(r"9:16|portrait|tall", re.IGNORECASE), (9, 16)),
    (re.compile(r"4:3", re.IGNORECASE), (4, 3)),
    (re.compile(r"3:4", re.IGNORECASE), (3, 4)),
)


@dataclass
class GeneratedImageRecord:
    image_id: str
    account: str
    prompt: str
    cid: str
    rid: str
    rcid: str
    index: int
    preview_token: str = field(default_factory=lambda: "AOI_" + secrets.token_urlsafe(48))
    download_token: str = field(default_factory=lambda: "AOI_d" + secrets.token_urlsafe(60))

    @property
    def filename(self) -> str:
        return f"{int(hashlib.sha256(self.image_id.encode()).hexdigest()[:15], 16)}.png"

    @property
    def preview_url(self) -> str:
        return f"https://{LH3_HOST}/gg-dl/{self.preview_token}"

    @property
    def download_url(self) -> str:
        return f"https://{LH3_HOST}/gg-dl/{self.download_token}"

    @property
    def hop_url(self) -> str:
        return f"https://{FIFE_WORK_HOST}/rd-gg-dl/{self.download_token}=d-I?alr=yes"

    @property
    def original_url(self) -> str:
        return f"https://{LH3_HOST}/rd-gg-dl/{self.download_token}=s0-d"

    @property
    def aspect(self) -> tuple[int, int]:
        for pattern, ratio in ASPECT_HINTS:
            if pattern.search(self.prompt):
                return ratio
        return (1, 1)


@dataclass
class ImageStore:
    by_id: dict[str, GeneratedImageRecord] = field(default_factory=dict)
    by_token: dict[str, GeneratedImageRecord] = field(default_factory=dict)
    rendered: dict[tuple[str, int, bool], bytes] = field(default_factory=dict)

    def create(
        self, account: str, prompt: str, cid: str, rid: str, rcid: str, index: int
    ) -> GeneratedImageRecord:
        image_id = f"http://googleusercontent.com/image_generation_content/{index}#{secrets.token_hex(8)}"
        record = GeneratedImageRecord(image_id, account, prompt, cid, rid, rcid, index)
        self.by_id[image_id] = record
        self.by_token[record.preview_token] = record
        self.by_token[record.download_token] = record
        return record

    def render(self, record: GeneratedImageRecord, longest: int, original: bool) -> bytes:
        key = (record.image_id, longest, original)
        if key not in self.rendered:
            self.rendered[key] = render_image(record, longest, original)
        return self.rendered[key]


def split_fife(path_tail: str) -> tuple[str, str]:
    """`<token>=s1024-rj` -> (token, "s1024-rj")."""
    token, _, params = path_tail.partition("=")
    return token, params


def requested_size(params: str) -> int:
    match = SIZE_PARAM_RE.search(params)
    if match is None or int(match.group(1)) == 0:
        return PREVIEW_SIZE
    return min(int(match.group(1)), MAX_DISPLAY_SIZE)


def is_download_hop(params: str, query: str) -> bool:
    return "d-I" in params and "alr=yes" in query


def _dimensions(aspect: tuple[int, int], longest: int) -> tuple[int, int]:
    width_ratio, height_ratio = aspect
    if width_ratio >= height_ratio:
        return longest, max(1, round(longest * height_ratio / width_ratio))
    return max(1, round(longest * width_ratio / height_ratio)), longest


def _draw_sparkle(image: Image.Image) -> None:
    """The visible Gemini mark: a four-pointed star, bottom-right."""
    size, margin = WATERMARK_SMALL if max(image.size) <= PREVIEW_SIZE else WATERMARK_LARGE
    cx, cy = image.width - margin - size / 2, image.height - margin - size / 2
    half, waist = size / 2, size / 9
    points = [
        (cx, cy - half),
        (cx + waist, cy - waist),
        (cx + half, cy),
        (cx + waist, cy + waist),
        (cx, cy + half),
        (cx - waist, cy + waist),
        (cx - half, cy),
        (cx - waist, cy - waist),
    ]
    overlay = Image.new("RGBA", image.size, (0, 0, 0, 0))
    ImageDraw.Draw(overlay).polygon(points, fill=(255, 255, 255, 200))
    image.alpha_composite(overlay)


def render_image(record: GeneratedImageRecord, longest: int, original: bool) -> bytes:
    """A deterministic picture for the prompt: a two-colour gradient with the prompt written on it."""
    digest = hashlib.sha256(record.prompt.encode() + bytes([record.index])).digest()
    width, height = _dimensions(record.aspect, longest)
    start, end = tuple(digest[0:3]), tuple(digest[3:6])
    gradient = Image.linear_gradient("L").resize((width, height))
    image = Image.composite(
        Image.new("RGBA", (width, height), (*end, 255)),
        Image.new("RGBA", (width, height), (*start, 255)),
        gradient,
    )
    draw = ImageDraw.Draw(image)
    scale = max(1, width // 256)
    draw.rectangle(
        (width // 10, height // 10, width // 10 + width // 3, height // 10 + height // 4),
        outline=(255, 255, 255, 255),
        width=scale * 2,
    )
    draw.text(
        (width // 10 + 4 * scale, height // 10 + 4 * scale),
        record.prompt[:40],
        fill=(255, 255, 255, 255),
        font_size=12 * scale,
    )
    if original or longest > PREVIEW_SIZE:
        _draw_sparkle(image)
    buffer = io.BytesIO()
    if original:
        image.save(buffer, format="PNG", optimize=False, compress_level=1)
    else:
        image.convert("RGB").save(buffer, format="JPEG", quality=85)
    return buffer.getvalue()


def render_thumbnail(prompt: str) -> bytes:
    """A small still for a generated video."""
    digest = hashlib.sha256(prompt.encode()).digest()
    buffer = io.BytesIO()
    Image.new("RGB", (320, 180), tuple(digest[:3])).save(buffer, format="JPEG", quality=80)
    return buffer.getvalue()
