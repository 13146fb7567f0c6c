"""Per-rule statistics: attempts, matches and time of each rule, and the rules that never fired.

Off by default and then free: matchers are generated twice, plain and instrumented, and the instrumented ones are
only built and used inside ``with profile_rules() as prof:``. (Outside, :func:`~trt_passes.dsl.match_at` pays one
global lookup.) An attempt is a rule body that ran: rules the decision tree rejected by a shared test are not
attempted, which is the point of the tree.
"""

from __future__ import annotations

import contextlib
from collections import Counter
from collections.abc import Iterator
from dataclasses import dataclass, field

from trt_passes.dsl.rules import RuleSet


@dataclass
class RuleProfile:
    attempts: Counter[str] = field(default_factory=Counter)
    matches: Counter[str] = field(default_factory=Counter)
    seconds: Counter[str] = field(default_factory=Counter)
    rulesets: dict[str, RuleSet] = field(default_factory=dict)

    def record(self, rule: str, matched: bool, seconds: float) -> None:
        self.attempts[rule] += 1
        self.seconds[rule] += seconds
        if matched:
            self.matches[rule] += 1

    def never_fired(self) -> list[str]:
        """Rules of every rule set used while profiling that never matched."""
        return [r.name for rs in self.rulesets.values() for r in rs.rules if not self.matches[r.name]]

    def table(self) -> str:
        names = sorted(set(self.attempts) | set(self.never_fired()), key=lambda n: (-self.seconds[n], n))
        lines = [f"{'rule':40} {'attempts':>9} {'matches':>8} {'ms':>9}"]
        for n in names:
            lines.append(f"{n:40} {self.attempts[n]:9d} {self.matches[n]:8d} {1000 * self.seconds[n]:9.3f}")
        never = self.never_fired()
        if never:
            lines.append(f"never fired ({len(never)}): {', '.join(never)}")
        return "\n".join(lines)


ACTIVE: RuleProfile | None = None


@contextlib.contextmanager
def profile_rules() -> Iterator[RuleProfile]:
    global ACTIVE
    prev, ACTIVE = ACTIVE, RuleProfile()
    try:
        yield ACTIVE
    finally:
        ACTIVE = prev
