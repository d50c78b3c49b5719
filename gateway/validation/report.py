"""One report model for every check: XSD, schematron artefacts, the gateway's own rules."""

from __future__ import annotations

from dataclasses import asdict, dataclass, field
from typing import Literal

Severity = Literal["fatal", "warning", "information"]


@dataclass(frozen=True)
class Finding:
    """One failed rule: what, how bad, where, and which business term."""

    rule_id: str
    severity: Severity
    message: str
    artefact: str
    location: str | None = None
    business_term: str | None = None


@dataclass
class Report:
    """The findings of the artefacts run on one document, and what was run."""

    syntax: str | None = None
    profile: str | None = None
    artefacts: list[str] = field(default_factory=list)
    findings: list[Finding] = field(default_factory=list)

    @property
    def valid(self) -> bool:
        """Valid means: no fatal finding.  Warnings never reject."""
        return not any(f.severity == "fatal" for f in self.findings)

    @property
    def fatal_count(self) -> int:
        return sum(1 for f in self.findings if f.severity == "fatal")

    def extend(self, artefact: str, findings: list[Finding]) -> None:
        self.artefacts.append(artefact)
        self.findings.extend(findings)

    def to_dict(self) -> dict:
        return {
            "valid": self.valid,
            "syntax": self.syntax,
            "profile": self.profile,
            "artefacts": list(self.artefacts),
            "fatal": self.fatal_count,
            "warnings": sum(1 for f in self.findings if f.severity == "warning"),
            "findings": [asdict(f) for f in self.findings],
        }
