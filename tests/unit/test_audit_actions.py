"""Every action name the code records is in KNOWN_ACTIONS, so the audit page offers it."""

from __future__ import annotations

import ast
import re
from pathlib import Path

from kap.services.audit import KNOWN_ACTIONS

KAP = Path(__file__).resolve().parents[2] / "kap"
ACTION_NAME = re.compile(r"[a-z_]+(\.[a-z0-9_]+)+")


def _is_audit_call(call: ast.Call) -> bool:
    """`audit.record(...)` or any helper named `_audit...(...)` (e.g. `_audit_entry`)."""
    function = call.func
    if isinstance(function, ast.Attribute):
        owner = function.value.id if isinstance(function.value, ast.Name) else ""
        return (function.attr == "record" and owner == "audit") or function.attr.startswith(
            "_audit"
        )
    return isinstance(function, ast.Name) and function.id.startswith("_audit")


def recorded_actions() -> dict[str, set[str]]:
    """Dotted string literals among the positional arguments of audit calls, by file
    (an action may be chosen by an expression: `"journal.share" if shared else ...`)."""
    found: dict[str, set[str]] = {}
    for path in sorted(KAP.rglob("*.py")):
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            if not isinstance(node, ast.Call) or not _is_audit_call(node):
                continue
            for argument in node.args:
                for part in ast.walk(argument):
                    if (
                        isinstance(part, ast.Constant)
                        and isinstance(part.value, str)
                        and ACTION_NAME.fullmatch(part.value)
                    ):
                        found.setdefault(part.value, set()).add(str(path.relative_to(KAP.parent)))
    return found


def test_the_scan_finds_the_actions_it_should():
    """The scanner sees plain calls, helpers, and actions chosen by a condition."""
    found = recorded_actions()
    assert {"signin.success", "journal.share", "journal.unshare", "measures.read"} <= found.keys()
    assert {"session.schedule", "template.version", "care_team.update"} <= found.keys()


def test_every_recorded_action_is_known():
    """An action recorded anywhere in kap/ but missing from KNOWN_ACTIONS fails, by name."""
    missing = {
        action: sorted(files)
        for action, files in recorded_actions().items()
        if action not in KNOWN_ACTIONS
    }
    assert not missing, f"add these to KNOWN_ACTIONS in kap/services/audit.py: {missing}"


def test_known_actions_are_listed_once():
    """No action is listed twice (a merge that adds one in two places is caught)."""
    assert len(KNOWN_ACTIONS) == len(set(KNOWN_ACTIONS))
