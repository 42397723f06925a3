"""Stroke-to-prediction time of `numnet serve`'s "Look inside" page, in a real browser.

    python -m benchmarks.serve_latency [MODEL] [--digits 20]

Draws real test digits of the embedded MNIST sample on the page's pad, stroke by stroke, with the
mouse of a headless Chromium (Playwright), waiting after each stroke until the page has shown its
prediction. The time of a stroke is measured by the page itself: from the stroke's end (pointerup)
to the first frame after the prediction that includes the whole stroke was drawn. Without MODEL,
the default model (``numnet train``'s settings) is trained first, into a temporary folder.

Needs the test extra (Playwright, Starlette, uvicorn) and Chromium at /usr/bin/chromium.
"""

import argparse
import statistics
import tempfile
from pathlib import Path

import numpy as np

CHROMIUM = "/usr/bin/chromium"
BROWSER_ARGS = ["--no-sandbox", "--disable-gpu", "--disable-background-networking", "--disable-component-update",
                "--disable-sync", "--no-first-run"]


def digit_strokes(digit, scale, threshold=128):
    """Horizontal pen strokes over a (28, 28) uint8 digit's ink: one per run of pixels ≥ threshold in a row,
    from the centre of its first pixel to the centre of its last, in pad pixels (``scale`` per digit pixel)."""
    strokes = []
    for row in range(digit.shape[0]):
        columns = np.flatnonzero(digit[row] >= threshold)
        if len(columns) == 0:
            continue
        for run in np.split(columns, np.flatnonzero(np.diff(columns) > 1) + 1):
            y = (row + 0.5) * scale
            strokes.append(((run[0] + 0.5) * scale, y, (run[-1] + 0.5) * scale, y))
    return strokes


def draw_digit(page, digit, settle=False):
    """Draw a digit on the pad of the "Look inside" page with the mouse, stroke by stroke; with ``settle``,
    wait after each stroke until its prediction is on screen. Returns when the last one is."""
    box = page.get_by_test_id("pad").bounding_box()
    for x0, y0, x1, y1 in digit_strokes(digit, box["width"] / digit.shape[1]):
        page.mouse.move(box["x"] + x0, box["y"] + y0)
        page.mouse.down()
        page.mouse.move(box["x"] + x1, box["y"] + y1)
        page.mouse.up()
        if settle:
            wait_until_shown(page)
    wait_until_shown(page)


def wait_until_shown(page, timeout=30_000):
    page.wait_for_function("() => window.numnetStats && window.numnetStats.shown === window.numnetStats.edits", timeout=timeout)


def measure(model_path, digits):
    from playwright.sync_api import sync_playwright

    from numnet.datasets import load_digits_sample
    from numnet.serve.app import create_app
    from numnet.serve.server import BackgroundServer

    _, (x_test, _) = load_digits_sample()
    with tempfile.TemporaryDirectory() as runs, BackgroundServer(create_app(model_path, runs)) as server, sync_playwright() as p:
        browser = p.chromium.launch(executable_path=CHROMIUM, headless=True, args=BROWSER_ARGS)
        page = browser.new_page(viewport={"width": 1400, "height": 1000})
        page.goto(server.url)
        page.get_by_test_id("layer-0").wait_for()
        for digit in x_test[:digits]:
            draw_digit(page, digit, settle=True)
            page.get_by_test_id("clear").click()
            wait_until_shown(page)
        stats = page.evaluate("window.numnetStats")
        browser.close()
    return stats


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("model", nargs="?", help="a model file (default: train the default model first)")
    parser.add_argument("--digits", type=int, default=20, help="test digits to draw (default: %(default)s)")
    args = parser.parse_args(argv)
    with tempfile.TemporaryDirectory() as folder:
        model = args.model
        if model is None:
            from numnet.runs import TrainConfig, train

            print("training the default model ...", flush=True)
            model = train(TrainConfig(out=str(Path(folder) / "run"), verbose=0)).folder / "model.safetensors"
        stats = measure(model, args.digits)

    def summary(values):
        ms = sorted(values)
        return (f"median {statistics.median(ms):.0f} ms, 90th percentile {ms[int(0.9 * (len(ms) - 1))]:.0f} ms, "
                f"fastest {ms[0]:.0f} ms, slowest {ms[-1]:.0f} ms")

    requests = stats["requests"]
    print(f"stroke to prediction on screen ({len(stats['latencies'])} strokes on {args.digits} digits): {summary(stats['latencies'])}")
    print(f"per request ({len(requests)} requests):")
    print(f"  encoding the pad:        {summary([r['encode'] for r in requests])}")
    print(f"  round trip:              {summary([r['roundTrip'] for r in requests])}")
    print(f"  of which server's work:  {summary([r['server'] for r in requests])}")
    print(f"  drawing the answer:      {summary([r['render'] for r in requests])}")
    return stats


if __name__ == "__main__":
    main()
