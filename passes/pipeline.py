"""Pipelines are declared as text and validated against the passes' declared requirements before anything runs.

File format (``spec/pipelines/NAME.pipeline``)::

    # comments
    pipeline default
    fold_constants
    lower          rulesets=lower.*
    partition      rulesets=convert.*

One pass a line, with ``key=value`` parameters the pass declares.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from importlib import resources
from pathlib import Path

from trt_passes.passes.registry import INITIAL_PROPERTIES, PassSpec, builtin_passes


class PipelineError(ValueError):
    """A pipeline that cannot run: unknown pass or parameter, or a requirement no earlier pass provides."""


@dataclass(frozen=True)
class PipelineStep:
    pass_name: str
    params: dict[str, str]
    line: int


@dataclass(frozen=True)
class Pipeline:
    name: str
    source: str
    steps: tuple[PipelineStep, ...] = field(default_factory=tuple)

    def where(self, step: PipelineStep) -> str:
        return f"{self.source}:{step.line}"


def parse_pipeline(text: str, source: str) -> Pipeline:
    name = ""
    steps: list[PipelineStep] = []
    for lineno, raw in enumerate(text.splitlines(), start=1):
        line = raw.split("#", 1)[0].strip()
        if not line:
            continue
        words = line.split()
        if words[0] == "pipeline":
            if len(words) != 2 or name:
                raise PipelineError(f"{source}:{lineno}: expected one 'pipeline NAME' line")
            name = words[1]
            continue
        params: dict[str, str] = {}
        for word in words[1:]:
            if "=" not in word:
                raise PipelineError(f"{source}:{lineno}: parameter {word!r} of {words[0]} must be key=value")
            key, value = word.split("=", 1)
            params[key] = value
        steps.append(PipelineStep(words[0], params, lineno))
    if not name:
        raise PipelineError(f"{source}: missing 'pipeline NAME' line")
    return Pipeline(name, source, tuple(steps))


def pipeline_dir() -> Path:
    return Path(str(resources.files("trt_passes.spec"))) / "pipelines"


def load_pipeline(name_or_path: str) -> Pipeline:
    """A shipped pipeline by name (``default``) or a ``.pipeline`` file by path; validated."""
    path = Path(name_or_path)
    if not path.suffix:
        path = pipeline_dir() / f"{name_or_path}.pipeline"
    if not path.is_file():
        shipped = sorted(p.stem for p in pipeline_dir().glob("*.pipeline"))
        raise PipelineError(f"no pipeline {name_or_path!r}; shipped pipelines: {', '.join(shipped)}")
    pipeline = parse_pipeline(path.read_text(), path.name)
    validate_pipeline(pipeline)
    return pipeline


def validate_pipeline(p: Pipeline, passes: dict[str, PassSpec] | None = None) -> None:
    """Check pass names, parameters, and that each requirement is provided by an earlier pass."""
    table = passes if passes is not None else builtin_passes()
    available = set(INITIAL_PROPERTIES)
    for i, step in enumerate(p.steps):
        spec = table.get(step.pass_name)
        if spec is None:
            raise PipelineError(f"{p.where(step)}: unknown pass {step.pass_name!r}; passes: {', '.join(sorted(table))}")
        for key in step.params:
            if key not in spec.params:
                raise PipelineError(f"{p.where(step)}: pass {spec.name!r} takes no parameter {key!r}"
                                    f" (it takes: {', '.join(spec.params) or 'none'})")
        missing = sorted(spec.requires - available)
        if missing:
            prop = missing[0]
            later = [s for s in p.steps[i + 1:] if prop in table.get(s.pass_name, spec).provides]
            providers = sorted(s.name for s in table.values() if prop in s.provides)
            if later:
                fix = f"'{later[0].pass_name}' provides it at line {later[0].line}: move it before line {step.line}"
            else:
                fix = f"add one of: {', '.join(providers)} before it"
            raise PipelineError(f"{p.where(step)}: pass {spec.name!r} requires {prop!r}, which no earlier pass "
                                f"provides; {fix}")
        available -= spec.invalidates
        available |= spec.provides
