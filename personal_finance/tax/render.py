"""Form 8949 CSV and PDF renderings of a tax report document (the JSON of `TaxReport.to_dict`)."""

from __future__ import annotations

import csv
import io

FORM_8949_COLUMNS = (
    "part",
    "description",
    "date_acquired",
    "date_sold",
    "proceeds",
    "basis",
    "code",
    "adjustment",
    "gain_loss",
)
PART_LABELS = {"part_i": "I", "part_ii": "II"}


def form_8949_csv(doc: dict) -> bytes:
    """One row per Form 8949 line: part (I short-term, II long-term), columns (a)-(h)."""
    buf = io.StringIO()
    writer = csv.writer(buf, lineterminator="\n")
    writer.writerow(FORM_8949_COLUMNS)
    for part in ("part_i", "part_ii"):
        for row in doc["form_8949"][part]:
            writer.writerow([PART_LABELS[part], *(row[c] for c in FORM_8949_COLUMNS[1:])])
    return buf.getvalue().encode()


def report_pdf(doc: dict, *, title: str, subtitle: str) -> bytes:
    """Form 8949 parts I and II and the Schedule D totals, as a PDF (reportlab)."""
    # reportlab takes 0.4 s to import: loaded on the first PDF, not by every process.
    from reportlab.lib import colors  # noqa: PLC0415
    from reportlab.lib.pagesizes import A4, landscape  # noqa: PLC0415
    from reportlab.lib.styles import getSampleStyleSheet  # noqa: PLC0415
    from reportlab.platypus import Paragraph, SimpleDocTemplate, Spacer, Table, TableStyle  # noqa: PLC0415

    styles = getSampleStyleSheet()
    grid = TableStyle(
        [
            ("GRID", (0, 0), (-1, -1), 0.25, colors.grey),
            ("BACKGROUND", (0, 0), (-1, 0), colors.whitesmoke),
            ("FONTSIZE", (0, 0), (-1, -1), 7),
            ("ALIGN", (3, 1), (-1, -1), "RIGHT"),
        ]
    )
    header = [
        "(a) Description",
        "(b) Acquired",
        "(c) Sold",
        "(d) Proceeds",
        "(e) Basis",
        "(f) Code",
        "(g) Adjustment",
        "(h) Gain or (loss)",
    ]
    story = [Paragraph(title, styles["Title"]), Paragraph(subtitle, styles["Normal"]), Spacer(1, 10)]
    for part, heading in (("part_i", "Part I: short-term"), ("part_ii", "Part II: long-term")):
        rows = [
            [
                r["description"],
                r["date_acquired"],
                r["date_sold"],
                r["proceeds"],
                r["basis"],
                r["code"],
                r["adjustment"],
                r["gain_loss"],
            ]
            for r in doc["form_8949"][part]
        ]
        story.append(Paragraph(f"Form 8949, {heading}", styles["Heading2"]))
        story.append(
            Table([header, *rows], style=grid, repeatRows=1) if rows else Paragraph("None.", styles["Normal"])
        )
        story.append(Spacer(1, 10))
    sched = doc["schedule_d"]
    totals = [["Schedule D", "Rows", "Proceeds", "Basis", "Adjustment", "Gain or (loss)"]]
    for key, label in (("short_term", "Short-term"), ("long_term", "Long-term")):
        t = sched[key]
        totals.append([label, str(t["rows"]), t["proceeds"], t["basis"], t["adjustment"], t["gain_loss"]])
    totals.append(["Net", "", "", "", "", sched["net_gain_loss"]])
    story += [Paragraph("Schedule D totals", styles["Heading2"]), Table(totals, style=grid)]
    buf = io.BytesIO()
    SimpleDocTemplate(buf, pagesize=landscape(A4), title=title).build(story)
    return buf.getvalue()
