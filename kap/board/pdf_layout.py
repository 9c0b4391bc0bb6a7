"""Page layout for PDFs of records (fpdf2): A4 or Letter, a footer, headings, facts, tables.

Text is set in DejaVu Sans when the font is on the machine (Debian's fonts-dejavu-core): names
in Latin, Greek, Cyrillic and other scripts it covers print as written. Otherwise the PDF
core font is used (Latin-1 only). A character the font cannot hold prints as "?" and the
footer says so, so a name is never silently shortened: the page shows it whole.
"""

from __future__ import annotations

from pathlib import Path

from fpdf import FPDF
from fpdf.fonts import FontFace

FONT_DIRS = (Path("/usr/share/fonts/truetype/dejavu"), Path("/usr/share/fonts/dejavu"))
PAPER = {"a4": "A4", "letter": "Letter"}
GREY = (235, 235, 235)
#: Punctuation the PDF core font lacks, as plain ASCII (en dash, curly quotes, middle dot).
PLAIN_PUNCTUATION = str.maketrans({"\u2013": "-", "\u201c": '"', "\u201d": '"', "\u00b7": "-"})


def _font_dir() -> Path | None:
    for folder in FONT_DIRS:
        if (folder / "DejaVuSans.ttf").exists() and (folder / "DejaVuSans-Bold.ttf").exists():
            return folder
    return None


class RecordPdf(FPDF):
    """A4 or Letter pages with the record's footer on each."""

    def __init__(self, footer_text: str, paper: str = "a4") -> None:
        super().__init__(orientation="P", unit="mm", format=PAPER.get(paper, "A4"))
        self.footer_text = footer_text
        self.lossy = False
        folder = _font_dir()
        self.unicode = folder is not None
        if folder is not None:
            self.add_font("DejaVu", "", str(folder / "DejaVuSans.ttf"))
            self.add_font("DejaVu", "B", str(folder / "DejaVuSans-Bold.ttf"))
        self.record_font = "DejaVu" if self.unicode else "helvetica"
        self.set_margins(14, 14, 14)
        self.set_auto_page_break(True, margin=16)
        self.set_title("Session monitoring record")
        self.set_creator("KAP Companion")

    def text_of(self, text: str) -> str:
        """``text`` as this document's font can print it: what it cannot hold becomes "?"."""
        if self.unicode:
            glyphs = self.fonts["dejavu"].cmap
            fitted = "".join(c if ord(c) in glyphs or c in "\n\t" else "?" for c in text)
            self.lossy = self.lossy or fitted != text
            return fitted
        plain = text.translate(PLAIN_PUNCTUATION)
        fitted = plain.encode("latin-1", "replace").decode("latin-1")
        self.lossy = self.lossy or fitted != plain
        return fitted

    def footer(self) -> None:
        self.set_y(-12)
        self.set_font(self.record_font, "", 7)
        note = " Some characters could not be printed here; see the page." if self.lossy else ""
        self.cell(0, 5, self.text_of(f"{self.footer_text}{note} Page {self.page_no()}/{{nb}}"))

    def heading(self, text: str, size: float = 11) -> None:
        if self.will_page_break(22):
            self.add_page()
        self.ln(3)
        self.set_font(self.record_font, "B", size)
        self.cell(0, 6, self.text_of(text), new_x="LMARGIN", new_y="NEXT", border="B")
        self.ln(1.5)
        self.set_font(self.record_font, "", 9)

    def paragraph(self, text: str, size: float = 9) -> None:
        self.set_font(self.record_font, "", size)
        self.multi_cell(0, 4.6, self.text_of(text), align="L", new_x="LMARGIN", new_y="NEXT")

    def facts(self, pairs: list[tuple[str, str]]) -> None:
        """Label and value, one per line."""
        for label, value in pairs:
            self.set_font(self.record_font, "B", 9)
            self.cell(52, 5, self.text_of(label))
            self.set_font(self.record_font, "", 9)
            self.multi_cell(0, 5, self.text_of(value), align="L", new_x="LMARGIN", new_y="NEXT")

    def grid(self, headings: list[str], rows: list[list[str]], widths: list[int]) -> None:
        """A table whose headings repeat on each page it runs onto."""
        self.set_font(self.record_font, "", 7.5)
        bold = FontFace(emphasis="BOLD", fill_color=GREY)
        with self.table(
            col_widths=widths,
            headings_style=bold,
            line_height=4.4,
            text_align="LEFT",
            repeat_headings=1,
            padding=1,
        ) as table:
            for cells in [headings, *rows]:
                row = table.row()
                for text in cells:
                    row.cell(self.text_of(text))
