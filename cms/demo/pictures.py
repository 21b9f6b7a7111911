"""The demo articles' pictures, drawn here with Pillow (no downloaded art), as JPEG bytes.

Simple flat illustrations, 1600x1000, so the sample frontend shows real pictures and a
`srcset` with several widths. The same Pillow draws the same bytes, so `cms init --demo` on
the same installation always stores them at the same paths.
"""

from __future__ import annotations

import io
from collections.abc import Callable

from PIL import Image, ImageDraw, ImageFont

SIZE = (1600, 1000)
Colour = tuple[int, int, int]


def _gradient(top: Colour, bottom: Colour, size: tuple[int, int] = SIZE) -> Image.Image:
    column = Image.new("RGB", (1, 256))
    for y in range(256):
        column.putpixel(
            (0, y),
            tuple(  # type: ignore[arg-type]
                round(a + (b - a) * y / 255) for a, b in zip(top, bottom, strict=True)
            ),
        )
    return column.resize(size, Image.Resampling.BILINEAR)


def _light(image: Image.Image, polygon: list[tuple[int, int]], alpha: int) -> Image.Image:
    overlay = Image.new("RGBA", image.size, (0, 0, 0, 0))
    ImageDraw.Draw(overlay).polygon(polygon, fill=(255, 244, 200, alpha))
    return Image.alpha_composite(image.convert("RGBA"), overlay).convert("RGB")


def library_reading_room() -> Image.Image:
    image = _gradient((236, 220, 186), (186, 140, 92))
    draw = ImageDraw.Draw(image)
    for x in (260, 700, 1140):
        draw.rounded_rectangle((x, 90, x + 200, 520), radius=100, fill=(170, 205, 235))
        draw.line((x + 100, 90, x + 100, 520), fill=(120, 90, 60), width=8)
        draw.line((x, 300, x + 200, 300), fill=(120, 90, 60), width=8)
    for x in (260, 700, 1140):
        image = _light(image, [(x, 520), (x + 200, 520), (x + 420, 1000), (x + 60, 1000)], 70)
    draw = ImageDraw.Draw(image)
    draw.rectangle((0, 640, 1600, 1000), fill=(122, 78, 44))
    for y in (700, 840):
        draw.rectangle((120, y, 1480, y + 40), fill=(92, 56, 30))
        for x in (160, 780, 1400):
            draw.rectangle((x, y + 40, x + 24, y + 130), fill=(70, 42, 22))
        for x in (300, 640, 980, 1320):
            draw.line((x, y, x, y - 60), fill=(180, 150, 60), width=6)
            draw.pieslice((x - 45, y - 100, x + 45, y - 20), 180, 360, fill=(40, 110, 70))
            draw.ellipse((x - 10, y - 66, x + 10, y - 46), fill=(255, 230, 140))
    return image


def criterium_final_sprint() -> Image.Image:
    image = _gradient((120, 180, 235), (215, 235, 250))
    draw = ImageDraw.Draw(image)
    for i, colour in enumerate([(200, 120, 90), (230, 200, 140), (150, 160, 190), (210, 150, 120)]):
        draw.rectangle((i * 420 - 40, 160 + (i % 2) * 60, i * 420 + 360, 640), fill=colour)
        for wx in range(i * 420, i * 420 + 320, 80):
            for wy in range(220 + (i % 2) * 60, 600, 90):
                draw.rectangle((wx, wy, wx + 40, wy + 50), fill=(90, 110, 140))
    draw.polygon([(0, 640), (1600, 640), (1600, 1000), (0, 1000)], fill=(90, 92, 98))
    draw.line((0, 900, 1600, 900), fill=(240, 240, 240), width=10)
    draw.rectangle((180, 90, 1420, 210), fill=(200, 30, 45))
    draw.text(
        (800, 150),
        "FINISH",
        fill=(255, 255, 255),
        anchor="mm",
        font=ImageFont.load_default(size=96),
    )
    for x, jersey in ((380, (40, 120, 200)), (760, (250, 200, 30)), (1140, (30, 160, 90))):
        for wheel in (x - 110, x + 110):
            draw.ellipse((wheel - 90, 700, wheel + 90, 880), outline=(30, 30, 30), width=12)
        draw.line((x - 110, 790, x, 700, x + 110, 790, x - 110, 790), fill=(60, 60, 60), width=10)
        draw.ellipse((x - 70, 560, x + 60, 700), fill=jersey)
        draw.ellipse((x + 30, 500, x + 100, 570), fill=(235, 190, 150))
        draw.pieslice((x + 20, 480, x + 110, 560), 180, 360, fill=jersey)
    return image


def baeckerei_sonnenkorn() -> Image.Image:
    image = _gradient((245, 225, 190), (220, 180, 130))
    draw = ImageDraw.Draw(image)
    for y in (220, 440, 660):
        draw.rectangle((80, y, 1520, y + 26), fill=(130, 85, 45))
        for i, x in enumerate(range(110, 1380, 170)):
            crust = (170 + (i * 13) % 40, 110 + (i * 7) % 30, 50)
            if (i + y // 220) % 2:
                draw.ellipse((x, y - 110, x + 150, y), fill=crust)
            else:
                draw.rounded_rectangle((x, y - 90, x + 150, y), radius=30, fill=crust)
            for cut in range(3):
                draw.arc(
                    (x + 20 + cut * 35, y - 80, x + 70 + cut * 35, y - 30),
                    200,
                    340,
                    fill=(240, 210, 160),
                    width=5,
                )
    draw.rectangle((0, 780, 1600, 1000), fill=(110, 70, 40))
    draw.rectangle((0, 760, 1600, 800), fill=(200, 170, 120))
    draw.text(
        (800, 890),
        "Sonnenkorn",
        fill=(250, 230, 180),
        anchor="mm",
        font=ImageFont.load_default(size=110),
    )
    return image


def gearheads_robot_otter() -> Image.Image:
    image = _gradient((70, 80, 110), (140, 150, 170))
    draw = ImageDraw.Draw(image)
    draw.polygon([(0, 560), (1600, 560), (1600, 1000), (0, 1000)], fill=(196, 160, 110))
    for x in range(0, 1600, 160):
        draw.line((x, 560, x - 200, 1000), fill=(170, 135, 90), width=4)
    for x in (140, 1260):
        draw.rectangle((x, 620, x + 200, 780), fill=(150, 100, 50), outline=(90, 60, 30), width=8)
    draw.rounded_rectangle((560, 520, 1040, 820), radius=50, fill=(60, 150, 80))
    for wheel in (610, 990):
        draw.ellipse((wheel - 80, 760, wheel + 80, 920), fill=(30, 30, 30))
        draw.ellipse((wheel - 30, 810, wheel + 30, 870), fill=(160, 160, 160))
    draw.rectangle((780, 400, 820, 520), fill=(80, 80, 80))
    draw.ellipse((730, 320, 870, 420), fill=(40, 40, 40))
    draw.ellipse((770, 345, 830, 395), fill=(120, 200, 255))
    draw.line((1040, 640, 1200, 560, 1260, 640), fill=(90, 90, 90), width=18)
    draw.text(
        (800, 680), "OTTER", fill=(240, 250, 240), anchor="mm", font=ImageFont.load_default(size=80)
    )
    return image


PICTURES: dict[str, Callable[[], Image.Image]] = {
    "library-reading-room": library_reading_room,
    "criterium-final-sprint": criterium_final_sprint,
    "baeckerei-sonnenkorn": baeckerei_sonnenkorn,
    "gearheads-robot-otter": gearheads_robot_otter,
}


def pictures() -> dict[str, bytes]:
    """Every demo picture by name, as JPEG bytes."""
    out = {}
    for name, draw in PICTURES.items():
        buffer = io.BytesIO()
        draw().save(buffer, "JPEG", quality=85, optimize=True)
        out[name] = buffer.getvalue()
    return out
