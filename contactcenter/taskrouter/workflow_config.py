"""A Workflow's `configuration`: validated once into frozen dataclasses, then routed. Plain Python.

The document (https://www.twilio.com/docs/taskrouter/workflow-configuration):

    {"task_routing": {
        "filters": [{"filter_friendly_name": "...", "expression": "<on the task>",
                     "targets": [{"queue": "WQ…", "expression": "<task. and worker.>", "priority": 10,
                                  "timeout": 300, "order_by": "worker.level DESC", "skip_if":
                                  "workers.available == 0", "known_worker_sid": "task.agent"}, …]}, …],
        "default_filter": {"queue": "WQ…"}}}

Twilio's routing rules, which `route` and `route_onward` follow (the workflow-configuration,
lifecycle-task-workflows-and-assignment, worker-presence and task-evaluation pages):
- Filters are tried top to bottom, like a switch statement; the first whose expression holds for the
  task's attributes routes it. `default_filter` is only for a task that matches no filter.
- Within a filter the task goes through its targets in order. The first target names a queue; later
  ones inherit it unless they name their own. A target's priority, when set, becomes the task's
  priority; without one the task keeps its priority. Expressions and timeouts apply only to the
  target that states them.
- A target is left only when its timeout passes (counted on the task's age: the i-th target ends when
  the task has waited the sum of the timeouts up to it, `Route.ends_after`) or when its `skip_if`
  holds while no worker could be reserved at once. A target with neither keeps the task until its TTL.
- After the last target of a filter, a task that timed out moves to the next filter below that it
  matches, or, matching none, falls out of the workflow and is canceled: `default_filter` does not
  count for timeouts. A task that skipped it moves the same way but, matching no filter below, goes
  to `default_filter`. The default filter has no timeout and is the end of the road.
- Unknown keys are ignored, as in Twilio's SDK helpers; `friendly_name` is read as
  `filter_friendly_name` when that is missing (Twilio's helper libraries accept both).

Whether each queue exists in the workspace is the caller's check (`WorkflowConfig.queue_sids`).
"""

import json
import re
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any, ClassVar, Final

from contactcenter.taskrouter.expressions import BARE, Expression, ExpressionError, Path, parse, parse_path
from core.error_codes import ErrorCode

QUEUE_SID: Final = re.compile(r"WQ[0-9a-f]{32}")
MAX_INTEGER: Final = 2**31 - 1  # priorities and timeouts are stored as PostgreSQL integers
DEFAULT_FILTER_NAME: Final = "Default Filter"  # what Twilio's Console calls it


class WorkflowConfigError(ValueError):
    """A configuration Twilio would refuse; `field` is the JSON path of what is wrong."""

    code: ClassVar[ErrorCode] = ErrorCode.UNKNOWN_PARAMETERS  # as ExpressionError's

    def __init__(self, message: str, field: str) -> None:
        super().__init__(f"Invalid Workflow configuration: {field}: {message}")
        self.field = field


@dataclass(frozen=True, slots=True)
class OrderBy:
    """One clause of a target's `order_by` (`worker.level DESC`): which workers are offered first."""

    path: Path
    descending: bool


@dataclass(frozen=True, slots=True)
class Target:
    """A routing step, its queue already inherited from the targets before it when it names none."""

    queue_sid: str
    expression: Expression | None  # over `task.` and `worker.`: which of the queue's workers qualify
    priority: int | None  # the task's new priority once it reaches this target
    timeout: int | None  # seconds before the task escalates to the next target
    order_by: tuple[OrderBy, ...]
    skip_if: Expression | None  # over `workers.` (available, unavailable, an activity SID): counts
    known_worker_sid: Path | None  # a task attribute holding the one worker to offer the task to
    known_worker_friendly_name: Path | None


@dataclass(frozen=True, slots=True)
class Filter:
    name: str
    expression: Expression  # over the task's attributes
    targets: tuple[Target, ...]


@dataclass(frozen=True, slots=True)
class WorkflowConfig:
    filters: tuple[Filter, ...]
    default: Target | None

    @property
    def queue_sids(self) -> frozenset[str]:
        """Every queue the configuration names, for the caller to check against the workspace."""
        targets = [target for filter_ in self.filters for target in filter_.targets]
        if self.default is not None:
            targets.append(self.default)
        return frozenset(target.queue_sid for target in targets)


@dataclass(frozen=True, slots=True)
class Route:
    """The filter routing a task: its index in `WorkflowConfig.filters` (None for the default
    filter), its name, and its targets in the order the task tries them."""

    filter_index: int | None
    name: str
    targets: tuple[Target, ...]

    def ends_after(self, index: int) -> int | None:
        """Seconds of waiting in this route after which target `index` times out, or None if it
        does not: Twilio counts target timeouts on the task's age, so they add up."""
        if self.targets[index].timeout is None:
            return None
        return sum(target.timeout or 0 for target in self.targets[: index + 1])


def parse_workflow_config(text: str) -> WorkflowConfig:
    """Validate a Workflow's `configuration` and parse each expression in it once."""
    try:
        document = json.loads(text)
    except (ValueError, RecursionError):
        raise WorkflowConfigError("not valid JSON", "configuration") from None
    task_routing = _member(document, "task_routing", "configuration", dict, required=True)
    filters_json = _member(task_routing, "filters", "task_routing", list) or []
    filters = tuple(
        _filter(item, f"task_routing.filters[{index}]") for index, item in enumerate(filters_json)
    )
    default_json = _member(task_routing, "default_filter", "task_routing", dict)
    default = _target(default_json, "task_routing.default_filter", None) if default_json is not None else None
    if default is not None and default.timeout is not None:
        raise WorkflowConfigError(
            "the default filter takes no timeout", "task_routing.default_filter.timeout"
        )
    if not filters and default is None:
        raise WorkflowConfigError("needs filters or a default_filter", "task_routing")
    return WorkflowConfig(filters, default)


def route(config: WorkflowConfig, task_attributes: Mapping[str, Any]) -> Route | None:
    """The route of a new task: the first filter it matches, else the default filter; None when it
    matches neither (the caller cancels it, as a task falling out of the workflow)."""
    return _first_match(config, task_attributes, 0) or _default_route(config)


def route_onward(
    config: WorkflowConfig, task_attributes: Mapping[str, Any], current: Route, *, skipped: bool
) -> Route | None:
    """Where a task goes after the last target of `current`, having timed out there or (skipped)
    having had its skip_if hold; None when it falls out of the workflow and is canceled."""
    if current.filter_index is None:
        return current
    return _first_match(config, task_attributes, current.filter_index + 1) or (
        _default_route(config) if skipped else None
    )


def _first_match(config: WorkflowConfig, task_attributes: Mapping[str, Any], start: int) -> Route | None:
    roots = {BARE: task_attributes, "task": task_attributes}
    for index in range(start, len(config.filters)):
        filter_ = config.filters[index]
        if filter_.expression.evaluate(roots):
            return Route(index, filter_.name, filter_.targets)
    return None


def _default_route(config: WorkflowConfig) -> Route | None:
    return Route(None, DEFAULT_FILTER_NAME, (config.default,)) if config.default else None


_KIND_NAMES: Final[dict[type, str]] = {
    dict: "an object",
    list: "an array",
    str: "a string",
    object: "a value",
}


def _member(document: Any, key: str, field: str, kind: type, *, required: bool = False) -> Any:
    """`document[key]` if it is a `kind`; None if absent (and not required)."""
    if not isinstance(document, dict):
        raise WorkflowConfigError("must be a JSON object", field)
    value = document.get(key)
    if value is None and not required:
        return None
    if not isinstance(value, kind):
        raise WorkflowConfigError(f"must be {_KIND_NAMES[kind]}", f"{field}.{key}")
    return value


def _filter(item: Any, field: str) -> Filter:
    name = _member(item, "filter_friendly_name", field, str) or _member(item, "friendly_name", field, str)
    expression = _expression(_member(item, "expression", field, str, required=True), f"{field}.expression")
    targets_json = _member(item, "targets", field, list, required=True)
    if not targets_json:
        raise WorkflowConfigError("must have at least one target", f"{field}.targets")
    targets: list[Target] = []
    for index, target_json in enumerate(targets_json):
        inherited = targets[-1].queue_sid if targets else None
        targets.append(_target(target_json, f"{field}.targets[{index}]", inherited))
    return Filter(name or "", expression, tuple(targets))


def _target(item: Any, field: str, inherited_queue: str | None) -> Target:
    queue = _member(item, "queue", field, str) or inherited_queue
    if queue is None:
        raise WorkflowConfigError("is required on a filter's first target", f"{field}.queue")
    if not QUEUE_SID.fullmatch(queue):
        raise WorkflowConfigError(
            f"{queue!r} is not a TaskQueue SID (WQ and 32 hex digits)", f"{field}.queue"
        )
    return Target(
        queue_sid=queue,
        expression=_optional_expression(item, "expression", field),
        priority=_integer(item, "priority", field, minimum=0),
        timeout=_integer(item, "timeout", field, minimum=1),
        order_by=_order_by(item, field),
        skip_if=_optional_expression(item, "skip_if", field),
        known_worker_sid=_path(item, "known_worker_sid", field),
        known_worker_friendly_name=_path(item, "known_worker_friendly_name", field),
    )


def _expression(text: str, field: str) -> Expression:
    try:
        return parse(text)
    except ExpressionError as error:
        raise WorkflowConfigError(str(error), field) from None


def _optional_expression(item: Any, key: str, field: str) -> Expression | None:
    """None for an absent or blank expression: the Console saves an unused one as ""."""
    text = _member(item, key, field, str)
    return _expression(text, f"{field}.{key}") if text and text.strip() else None


def _path(item: Any, key: str, field: str) -> Path | None:
    text = _member(item, key, field, str)
    try:
        return parse_path(text) if text else None
    except ExpressionError as error:
        raise WorkflowConfigError(str(error), f"{field}.{key}") from None


def _integer(item: Any, key: str, field: str, *, minimum: int) -> int | None:
    """An integer or a string of digits (Twilio's own examples write `"priority": "10"`)."""
    value = _member(item, key, field, object)  # any JSON value; checked below
    if isinstance(value, str) and value.isascii() and value.isdigit() and len(value) <= 10:
        value = int(value)
    if value is None:
        return None
    if type(value) is not int or not minimum <= value <= MAX_INTEGER:
        raise WorkflowConfigError(f"must be an integer from {minimum} to {MAX_INTEGER}", f"{field}.{key}")
    return value


_ORDER_BY_CLAUSE: Final = re.compile(r"\s*(\S+)\s+(ASC|DESC)\s*", re.IGNORECASE)


def _order_by(item: Any, field: str) -> tuple[OrderBy, ...]:
    """`worker.finance ASC, worker.support DESC`: clauses of a path and a direction, in order."""
    text = _member(item, "order_by", field, str)
    if not text or not text.strip():
        return ()
    clauses = []
    for clause in text.split(","):
        match = _ORDER_BY_CLAUSE.fullmatch(clause)
        if match is None:
            raise WorkflowConfigError(
                f"{clause.strip()!r} is not a name and ASC or DESC", f"{field}.order_by"
            )
        try:
            path = parse_path(match.group(1))
        except ExpressionError as error:
            raise WorkflowConfigError(str(error), f"{field}.order_by") from None
        clauses.append(OrderBy(path, descending=match.group(2).upper() == "DESC"))
    return tuple(clauses)
