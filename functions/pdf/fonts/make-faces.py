#!/usr/bin/env python3
"""Derives the embedded Libertinus faces from their originals (fonts/README.md).

Each face keeps only the characters the visa can print, and is marked "no
subsetting" (OS/2 fsType bit 8): the PDF writer (vendor/krilla) then embeds
it whole, the same program in every visa, compressed once per process
instead of subset and compressed for each visa. OCR B is small already and
is only marked.

Usage: functions/pdf/fonts/make-faces.py ORIGINALS_DIR
  ORIGINALS_DIR holds LibertinusSerif-Regular.otf and LibertinusSerif-Bold.otf
  as typst-assets 0.15.1 ships them (files/fonts/) and OCRB.otf from Debian's
  fonts-ocr-b. Needs fontTools (pip install fonttools).
"""
import sys
from pathlib import Path

from fontTools import subset
from fontTools.ttLib import TTFont

# Labels, static text and every value but the names: Latin (ASCII, Latin-1,
# Extended-A), Cyrillic with the Kazakh letters, dashes, quotes, No, euro, tenge.
TEXT = "U+0020-007E,U+00A0-017F,U+0400-04FF,U+2010-2027,U+2030-203A,U+2116,U+20AC,U+20B8"
# Field values are bold, and names may be in any Latin (Extended-B, Vietnamese),
# Greek or Cyrillic letters the passport shows.
VALUES = TEXT + ",U+0180-024F,U+0370-03FF,U+1E00-1EFF"

FACES = [
    ("LibertinusSerif-Regular.otf", TEXT),
    ("LibertinusSerif-Bold.otf", VALUES),
    ("OCRB.otf", None),
]

FS_TYPE_NO_SUBSETTING = 0x0100


def main(originals: Path, out: Path) -> None:
    for name, unicodes in FACES:
        # The original timestamp: the same originals give the same files.
        font = TTFont(originals / name, recalcTimestamp=False)
        if unicodes is not None:
            # Hints help only rasterising at screen sizes without
            # anti-aliasing; they are a quarter of the program.
            options = subset.Options(hinting=False)
            subsetter = subset.Subsetter(options)
            subsetter.populate(unicodes=subset.parse_unicodes(unicodes))
            subsetter.subset(font)
        font["OS/2"].fsType |= FS_TYPE_NO_SUBSETTING
        font.save(out / name)
        print(f"{name}: {len(font.getGlyphOrder())} glyphs, {(out / name).stat().st_size} bytes")


if __name__ == "__main__":
    if len(sys.argv) != 2:
        sys.exit(__doc__)
    main(Path(sys.argv[1]), Path(__file__).resolve().parent)
