"""The monitoring record as a PDF (fpdf2: pure Python, no system libraries): real text.

It lays out the same read model as the printable page (``board.summary.Summary``), section
by section, with the same words, so an auditor reads one record in either form. The page
layout (fonts, footer, tables) is in ``pdf_layout``.
"""

from __future__ import annotations

from datetime import datetime

from kap.board.pdf_layout import RecordPdf
from kap.services.board.summary import NOT_RECORDED, Summary
from kap.services.board.vitals import Reading
from kap.timezones import to_local


def _reading(r: Reading, unicode: bool, unit: str = "") -> str:
    if r.value is None:
        return NOT_RECORDED
    flag = ""
    if r.flag:
        flag = (
            f" {'▲' if r.flag == 'high' else '▼'} {r.flag_text}" if unicode else f" ({r.flag_text})"
        )
    return f"{r.value}{unit}{flag}"


def _bp(readings: dict[str, Reading], unicode: bool) -> str:
    systolic, diastolic = readings["systolic"], readings["diastolic"]
    if systolic.value is None or diastolic.value is None:
        return NOT_RECORDED
    return f"{_reading(systolic, unicode)}/{_reading(diastolic, unicode)}"


def build_pdf(summary: Summary, printed_by: str, paper: str = "a4") -> bytes:
    """The record of ``summary`` as PDF bytes."""
    s, clinic = summary.session, summary.clinic
    version = s.template_version

    def at(moment: datetime | None, style: str = "%H:%M", missing: str = NOT_RECORDED) -> str:
        return to_local(moment, clinic.timezone).strftime(style) if moment else missing

    zone = clinic.timezone.replace("_", " ")
    printed = at(summary.printed_at, "%a %-d %b %Y, %H:%M")
    pdf = RecordPdf(f"Printed from KAP Companion by {printed_by}, {printed} ({zone} time).", paper)
    uni = pdf.unicode
    pdf.add_page()
    pdf.set_font(pdf.record_font, "", 9)
    pdf.cell(
        0,
        5,
        pdf.text_of(f"{clinic.name} · Session monitoring record"),
        new_x="LMARGIN",
        new_y="NEXT",
    )
    pdf.set_font(pdf.record_font, "B", 15)
    pdf.multi_cell(
        0, 8, pdf.text_of(f"Session summary: {s.patient.name}"), new_x="LMARGIN", new_y="NEXT"
    )

    pdf.heading("Session")
    if s.checked_in_at:
        check_in = f"{at(s.checked_in_at)} by {summary.checked_in_by}"
    else:
        check_in = NOT_RECORDED + (
            "" if version.requires_check_in else " (not required by this template)"
        )
    pdf.facts(
        [
            ("Clinic", clinic.name),
            ("Patient", s.patient.name),
            ("Date", f"{at(s.scheduled_at, '%a %-d %b %Y')}, booked {at(s.scheduled_at)}"),
            ("Room", s.location_label or "Not set"),
            (
                "Template",
                f"{version.template.name} (version {version.number}, "
                f"{version.template.route_label})",
            ),
            ("Observation required", f"{version.observation_minutes} minutes from dosing"),
            ("Check-in", check_in),
            ("Status", summary.status_label),
        ]
    )

    pdf.heading("Medication given")
    if summary.doses:
        rows = [
            [
                at(d.administration.given_at),
                d.administration.medication,
                d.dose_text,
                d.administration.route or NOT_RECORDED,
                d.administration.lot or NOT_RECORDED,
                d.given_by,
                d.administration.note,
            ]
            for d in summary.doses
        ]
        pdf.grid(
            ["Time", "Medication", "Dose", "Route", "Lot", "Given by", "Note"],
            rows,
            [12, 36, 16, 20, 24, 30, 44],
        )
    else:
        pdf.paragraph(f"{NOT_RECORDED}: no medication administration on record.")

    pdf.heading("Blood pressure at the protocol times")
    rows = []
    for p in summary.protocol:
        if p.line is None:
            rows.append([p.label, p.missing, "", "", "", "", "", "", ""])
            continue
        r = p.line.readings
        rows.append(
            [
                p.label,
                at(p.line.observation.recorded_at),
                _bp(r, uni),
                _reading(r["heart_rate"], uni),
                _reading(r["spo2"], uni, "%"),
                p.line.sedation,
                p.line.dissociation,
                p.line.respiratory,
                p.line.recorded_by,
            ]
        )
    pdf.grid(
        [
            "When",
            "Time",
            "Blood pressure",
            "Heart rate",
            "SpO2",
            "Sedation (MOAA/S)",
            "Dissociation",
            "Breathing",
            "By",
        ],
        rows,
        [25, 11, 19, 15, 15, 30, 21, 20, 26],
    )

    pdf.heading("Observation and discharge")
    current = summary.current_discharge
    ready = NOT_RECORDED + " (not discharged)"
    if summary.minutes_to_ready is not None:
        ready = f"{at(s.discharged_at)}, {summary.minutes_to_ready} minutes after dosing"
    signed = "Not discharged"
    if s.discharged_at:
        signed = f"{summary.name(s.discharged_by_id)} at {at(s.discharged_at)}"
    override = NOT_RECORDED
    if current and current.record.out_of_range:
        override = (
            f"Discharged outside the clinic's limits ({current.out_of_range}). "
            f"Reason: “{current.record.override_reason}”"
        )
    elif current:
        override = "None: the final check was within the clinic's limits"
    pdf.facts(
        [
            ("Dosed", at(summary.dosed_at)),
            ("Observation ended", at(summary.observation_ends_at)),
            ("Ready to leave", ready),
            ("Discharged (signed off) by", signed),
            (
                "Driver (ride home)",
                current.record.driver if current and current.record.driver else NOT_RECORDED,
            ),
            ("Override", override),
        ]
    )
    reopened = any(d.record.reopened_at for d in summary.discharges)
    if len(summary.discharges) > 1 or reopened:
        pdf.heading("Discharge history", 10)
        rows = [
            [
                f"{at(d.record.discharged_at, '%a %-d %b, %H:%M')} by {d.discharged_by}",
                d.record.driver or NOT_RECORDED,
                f"{d.out_of_range}: “{d.record.override_reason}”"
                if d.record.out_of_range
                else "None",
                f"{at(d.record.reopened_at, '%a %-d %b, %H:%M')} by {d.reopened_by}"
                if d.record.reopened_at
                else "-",
                d.record.reopen_reason if d.record.reopened_at else "-",
            ]
            for d in summary.discharges
        ]
        pdf.grid(
            ["Discharged", "Driver", "Override", "Reopened", "Reason for reopening"],
            rows,
            [34, 30, 48, 34, 36],
        )

    pdf.heading("Every vitals reading and monitoring check")
    if summary.lines:
        rows = [
            [
                at(line.observation.recorded_at),
                line.kind_label,
                _bp(line.readings, uni),
                _reading(line.readings["heart_rate"], uni),
                _reading(line.readings["spo2"], uni, "%"),
                line.sedation,
                line.dissociation,
                line.respiratory,
                line.observation.note,
                line.recorded_by,
            ]
            for line in summary.lines
        ]
        pdf.grid(
            [
                "Time",
                "Reading",
                "Blood pressure",
                "Heart rate",
                "SpO2",
                "Sedation",
                "Dissociation",
                "Breathing",
                "Note",
                "By",
            ],
            rows,
            [11, 18, 18, 15, 16, 24, 21, 18, 24, 17],
        )
    else:
        pdf.paragraph(f"{NOT_RECORDED}: no vitals or checks were recorded.")
    lim = summary.limits
    pdf.paragraph(
        "Flagged outside the clinic's limits: systolic "
        f"{lim['systolic_min']} to {lim['systolic_max']}, diastolic {lim['diastolic_min']} to "
        f"{lim['diastolic_max']} mmHg; heart rate {lim['heart_rate_min']} to "
        f"{lim['heart_rate_max']} bpm; SpO2 at least {lim['spo2_min']}%. "
        "Sedation: MOAA/S, 5 = responds readily to name.",
        7.5,
    )

    pdf.heading("Phase times (from the patient's device)")
    pdf.facts(
        [
            ("Session mode started", at(s.session_started_at)),
            ("Downtime began", at(s.downtime_started_at)),
            ("Integration began", at(s.integration_started_at)),
            ("Completed on the device", at(s.completed_at)),
        ]
    )

    pdf.heading("Call staff alerts")
    if summary.calls:
        rows = [
            [
                at(c.created_at),
                f"{at(c.acknowledged_at)} by {summary.name(c.acknowledged_by_id)}"
                if c.acknowledged_at
                else "Not acknowledged",
                f"{at(c.resolved_at)} by {summary.name(c.resolved_by_id)}"
                if c.resolved_at
                else "Open",
                c.resolution_note or "",
            ]
            for c in summary.calls
        ]
        pdf.grid(["Called", "Acknowledged", "Resolved", "What was done"], rows, [20, 45, 45, 72])
    else:
        pdf.paragraph("None.")

    pdf.heading("Check-ins (PHQ-9, GAD-7)")
    if summary.measures is None:
        pdf.paragraph("Check-ins are shown to the patient's care team and clinic admins only.")
    elif summary.measures:
        rows = [
            [
                at(m.taken_at, "%a %-d %b, %H:%M")
                + (" (for this session)" if m.this_session else ""),
                m.name,
                str(m.score),
                m.severity,
            ]
            for m in summary.measures
        ]
        pdf.grid(["Date", "Questionnaire", "Score", "Severity"], rows, [60, 50, 20, 52])
    else:
        pdf.paragraph("No check-ins yet.")
    return bytes(pdf.output())
