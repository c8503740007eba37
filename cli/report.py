"""`dualimpact report`: a territory's report for the board (:mod:`maps.board_report`) as a
PDF printed by headless Chromium (a separate program, so the platform needs no browser
library), or as the HTML page itself."""

from __future__ import annotations

import shutil
import subprocess
import tempfile
from pathlib import Path

import typer
from sqlalchemy import Connection

from boundaries import repository
from cli.common import console, open_engine, steps, writable
from geo.errors import DualImpactError, InvalidInputError, NotFoundError
from geo.settings import get_settings
from maps import board_report, report

PRINT_SECONDS = 180.0  # the longest a print may take before it is given up
FORMATS = (".pdf", ".html")


def report_command(
    territory: str = typer.Option(
        ...,
        "--territory",
        help="The territory's code, in any case (`dualimpact territories` lists them).",
    ),
    output: Path = typer.Option(
        ..., "-o", "--output", help="The file to write: .pdf (printed by Chromium) or .html."
    ),
) -> None:
    """Write a territory's report for the board: headline figures, the gap map, the most
    underserved places, activities at risk, the register of awarded SPOs, how much of it
    is verified or assumed, and the data attribution, on A4 pages. A PDF is printed by
    headless Chromium (DUALIMPACT_CHROMIUM names it; default `chromium`)."""
    kind = output.suffix.lower()
    if kind not in FORMATS:
        raise InvalidInputError(
            f"cannot write {output.name!r}: the report is written as a .pdf or .html file"
        )
    writable(output)
    browser = chromium_path(get_settings().chromium) if kind == ".pdf" else None
    code = territory.strip().upper()
    with steps(f"Report for {code}", 3 if browser else 2) as step:
        with open_engine() as engine, engine.connect() as conn:
            known(conn, code)
            found = report.build(conn)
            step("Coverage computed")
            document = board_report.page(board_report.build(conn, found, code))
            step("Report drawn")
        if browser:
            print_pdf(browser, document.html, output)
            step("Printed")
        else:
            output.write_text(document.html, encoding="utf-8")
    console.print(f"Wrote {output} ({output.stat().st_size / 1e6:.1f} MB).")


def known(conn: Connection, code: str) -> None:
    """Fail with where to find the codes when ``code`` is not a current territory."""
    codes = set(repository.territories_overview(conn)["code"])
    if code not in codes:
        raise NotFoundError(
            f"unknown territory {code!r}: `dualimpact territories` lists the codes "
            "(they look like E23000029)"
        )


def chromium_path(name: str) -> str:
    """The Chromium program ``name`` names (a path or a command on PATH).

    Raises
    ------
    InvalidInputError
        It is not installed: the message says what to install, or to write HTML instead.
    """
    found = shutil.which(name)
    if found is None:
        raise InvalidInputError(
            f"cannot print a PDF: Chromium ({name!r}) is not installed. Install it (Debian: "
            "`apt-get install chromium`), set DUALIMPACT_CHROMIUM to its path, or write "
            "the report as HTML (-o report.html) and print that from a browser."
        )
    return found


def print_pdf(chromium: str, html: str, output: Path) -> None:
    """Print the HTML document ``html`` to the PDF ``output`` with headless ``chromium``
    (A4 and margins come from the page's own stylesheet). ``output`` is replaced only by
    a complete PDF."""
    with tempfile.TemporaryDirectory(prefix="dualimpact-report-") as folder:
        page, printed = Path(folder) / "report.html", Path(folder) / "report.pdf"
        page.write_text(html, encoding="utf-8")
        command = [
            chromium,
            "--headless",
            "--no-sandbox",
            "--disable-gpu",
            "--no-pdf-header-footer",
            f"--user-data-dir={Path(folder) / 'profile'}",  # never another run's profile
            f"--print-to-pdf={printed}",
            page.as_uri(),
        ]
        try:
            done = subprocess.run(
                command, capture_output=True, text=True, timeout=PRINT_SECONDS, check=False
            )
        except subprocess.TimeoutExpired as exc:
            raise DualImpactError(
                f"Chromium did not finish printing within {PRINT_SECONDS:.0f} s"
            ) from exc
        if not printed.is_file() or printed.read_bytes()[:5] != b"%PDF-":
            detail = (done.stderr.strip().splitlines() or ["no message"])[-1]
            raise DualImpactError(
                f"Chromium could not print the report (exit status {done.returncode}: {detail})"
            )
        shutil.move(printed, output)
