"""Make the README's pictures from the shipped data: the report's index page and its main map.

Runs ``geomap report`` into a temporary folder, opens ``index.html`` and the
main map (``explore.html`` when the report writes one, else
``maps/car_secondary.html``, else the first map) in Chromium through
Playwright, waits for the map to draw, and writes ``docs/images/index.png``
and ``docs/images/map.png``, 1280 pixels wide.

Run from the repository: ``.venv/bin/python docs/screenshots.py``. It needs
Playwright for Python and Debian's ``chromium`` (``/usr/bin/chromium``); it
never downloads a browser, and the pages make no network requests.
"""

from __future__ import annotations

import argparse
import subprocess
import sys
import tempfile
from pathlib import Path

HERE = Path(__file__).resolve().parent
CHROMIUM = Path("/usr/bin/chromium")
WIDTH = 1280
#: Height of the index picture: the title, the summary and the start of the method.
INDEX_HEIGHT = 1400
MAP_HEIGHT = 1200


def main_map(out: Path) -> Path:
    """The map to show: the one-page explorer, else secondary schools by car, else the first.

    Parameters
    ----------
    out
        A report folder.

    Returns
    -------
    pathlib.Path
        The map page.

    Raises
    ------
    FileNotFoundError
        If the folder holds no map.
    """
    for candidate in (out / "explore.html", out / "maps" / "car_secondary.html"):
        if candidate.exists():
            return candidate
    maps = sorted((out / "maps").glob("*.html"))
    if not maps:
        raise FileNotFoundError(f"{out} holds no map: run geomap report into it first")
    return maps[0]


def _compact(path: Path) -> None:
    """Store the PNG with a 256-colour palette when Pillow is there (a third of the size)."""
    try:
        from PIL import Image
    except ImportError:
        return
    with Image.open(path) as image:
        small = image.convert("RGB").quantize(colors=256, method=Image.Quantize.MEDIANCUT)
    small.save(path, optimize=True)


def shoot(out: Path, images: Path) -> list[Path]:
    """Photograph a report's index page and main map.

    Parameters
    ----------
    out
        A report folder (from ``geomap report``).
    images
        Where to write ``index.png`` and ``map.png``.

    Returns
    -------
    list of pathlib.Path
        The two pictures.
    """
    from playwright.sync_api import sync_playwright

    images.mkdir(parents=True, exist_ok=True)
    written = []
    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path=str(CHROMIUM), args=["--no-sandbox"])
        try:
            page = browser.new_page(viewport={"width": WIDTH, "height": INDEX_HEIGHT})
            page.goto((out / "index.html").as_uri())
            page.wait_for_load_state("load")
            target = images / "index.png"
            page.screenshot(path=str(target), full_page=False)
            written.append(target)
            page.close()
            page = browser.new_page(viewport={"width": WIDTH, "height": MAP_HEIGHT})
            page.goto(main_map(out).as_uri())
            page.wait_for_load_state("load")
            # drawn: Leaflet has put the shapes on the map and finished its zoom animation
            page.wait_for_selector(".leaflet-overlay-pane path", state="attached")
            page.wait_for_timeout(1000)
            target = images / "map.png"
            page.screenshot(path=str(target), full_page=False)
            written.append(target)
        finally:
            browser.close()
    for path in written:
        _compact(path)
    return written


def main(argv: list[str] | None = None) -> int:
    """Run the report on the shipped data and photograph it.

    Parameters
    ----------
    argv
        Command-line arguments (``--report`` to reuse a report folder).

    Returns
    -------
    int
        The exit status.
    """
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--report", type=Path, help="an existing report folder to photograph")
    parser.add_argument("--images", type=Path, default=HERE / "images", help="output folder")
    args = parser.parse_args(argv)
    if not CHROMIUM.exists():
        print(f"{CHROMIUM} is missing: apt-get install chromium", file=sys.stderr)
        return 1
    with tempfile.TemporaryDirectory() as tmp:
        out = args.report
        if out is None:
            out = Path(tmp) / "out"
            geomap = Path(sys.executable).with_name("geomap")
            subprocess.run([str(geomap), "report", "--quiet", "--out", str(out)], check=True)
        for path in shoot(out, args.images):
            print(f"wrote {path} ({path.stat().st_size // 1024} KB)")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
