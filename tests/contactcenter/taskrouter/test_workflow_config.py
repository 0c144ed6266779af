"""A Workflow's configuration: Twilio's documented examples parse and route as its pages describe,
every invalid part is refused naming its field, and no JSON makes it raise anything else."""

import json
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from contactcenter.taskrouter.workflow_config import (
    DEFAULT_FILTER_NAME,
    Route,
    WorkflowConfig,
    WorkflowConfigError,
    parse_workflow_config,
    route,
    route_onward,
)
from core.error_codes import ErrorCode

SALES, SUPPORT, EVERYONE = ("WQ" + digit * 32 for digit in "abc")  # the pages' WQaaa, WQbbb, WQccc


def config(task_routing: dict[str, Any]) -> WorkflowConfig:
    return parse_workflow_config(json.dumps({"task_routing": task_routing}))


# https://www.twilio.com/docs/taskrouter/workflow-configuration, "Complex Routing Example" with
# the target worker expression of the section after it.
COMPLEX = {
    "filters": [
        {
            "filter_friendly_name": "Bronze and Silver Tickets",
            "expression": "type == 'ticket' AND customer_value IN ['Silver', 'Bronze']",
            "targets": [{"queue": SUPPORT}],
        },
        {
            "filter_friendly_name": "Gold Tickets",
            "expression": "type == 'ticket' AND customer_value == 'Gold'",
            "targets": [
                {
                    "queue": SUPPORT,
                    "priority": "10",
                    "timeout": 300,
                    "expression": "task.requested_agent==worker.agent_id",
                },
                {"queue": EVERYONE},
            ],
        },
        {
            "filter_friendly_name": "Leads",
            "expression": "type == 'lead'",
            "targets": [{"queue": SALES, "priority": 1}],
        },
    ],
    "default_filter": {"queue": EVERYONE},
}


def test_the_documented_complex_example() -> None:
    workflow = config(COMPLEX)
    assert workflow.queue_sids == {SALES, SUPPORT, EVERYONE}
    gold = route(workflow, {"type": "ticket", "customer_value": "Gold", "requested_agent": "alice"})
    assert gold is not None
    assert (gold.filter_index, gold.name) == (1, "Gold Tickets")
    first, second = gold.targets
    assert (first.queue_sid, first.priority, first.timeout) == (SUPPORT, 10, 300)
    assert (second.queue_sid, second.priority, second.timeout, second.expression) == (
        EVERYONE,
        None,
        None,
        None,
    )
    assert first.expression is not None
    task = {"requested_agent": "alice"}
    assert first.expression.evaluate({"task": task, "worker": {"agent_id": "alice"}})
    assert not first.expression.evaluate({"task": task, "worker": {"agent_id": "bob"}})

    silver = route(workflow, {"type": "ticket", "customer_value": "Silver"})
    assert silver is not None and silver.name == "Bronze and Silver Tickets"
    lead = route(workflow, {"type": "lead"})
    assert lead is not None and lead.targets[0].priority == 1
    unmatched = route(workflow, {"type": "survey"})
    assert unmatched == Route(None, DEFAULT_FILTER_NAME, (workflow.default,))  # type: ignore[arg-type]


def test_the_simple_default_example_is_a_fifo_queue() -> None:
    workflow = config({"default_filter": {"queue": EVERYONE}})
    assert workflow.filters == ()
    routed = route(workflow, {})
    assert routed is not None and routed.filter_index is None and routed.targets[0].queue_sid == EVERYONE


def test_the_escalation_example_raises_priority_after_the_timeout() -> None:
    """'Simple Task Escalation': priority 1 for 300 s, then 10 in the same queue."""
    workflow = config(
        {
            "filters": [
                {
                    "filter_friendly_name": "Prioritizing Filter",
                    "expression": "1==1",
                    "targets": [{"queue": EVERYONE, "priority": 1, "timeout": 300}, {"priority": 10}],
                }
            ],
            "default_filter": {"queue": EVERYONE},
        }
    )
    routed = route(workflow, {"anything": True})
    assert routed is not None
    assert [(t.queue_sid, t.priority, t.timeout) for t in routed.targets] == [
        (EVERYONE, 1, 300),
        (EVERYONE, 10, None),  # the queue inherited; no timeout, so it is not re-targeted again
    ]
    assert [routed.ends_after(i) for i in (0, 1)] == [300, None]


def test_later_targets_inherit_the_queue_until_they_name_their_own() -> None:
    """The lifecycle page's Support filter: `{"timeout": 15}` stays in "Just Support"."""
    workflow = config(
        {
            "filters": [
                {
                    "expression": 'type=="Support"',
                    "filter_friendly_name": "Support Calls",
                    "targets": [
                        {"queue": SUPPORT, "timeout": 15, "expression": "worker.id IN task.preferred_agents"},
                        {"timeout": 15},
                        {"queue": EVERYONE, "timeout": 30},
                        {"priority": 5},
                    ],
                }
            ]
        }
    )
    routed = route(workflow, {"type": "Support", "preferred_agents": ["agent01", "agent04"]})
    assert routed is not None
    assert [t.queue_sid for t in routed.targets] == [SUPPORT, SUPPORT, EVERYONE, EVERYONE]
    assert [t.expression is not None for t in routed.targets] == [True, False, False, False]
    assert [routed.ends_after(i) for i in range(4)] == [15, 30, 60, None]  # on the task's age


def test_target_features_parse() -> None:
    workflow = config(
        {
            "filters": [
                {
                    "friendly_name": "Known agent",  # the helper libraries' other spelling
                    "expression": "KnownAgentRoutingFlag == 'true'",
                    "targets": [
                        {
                            "queue": SUPPORT,
                            "known_worker_sid": "task.KnownAgentWorkerSid",
                            "known_worker_friendly_name": "task.requested_agent",
                            "order_by": "worker.finance ASC, worker.support desc",
                            "skip_if": "workers.available == 0",
                            "expression": "",  # as the Console saves an unused one
                            "timeout": "20",
                            "some_future_key": {"ignored": True},
                        }
                    ],
                }
            ]
        }
    )
    (filter_,) = workflow.filters
    target = filter_.targets[0]
    assert filter_.name == "Known agent"
    assert target.expression is None
    assert target.timeout == 20
    task = {"KnownAgentWorkerSid": "WK" + "1" * 32, "requested_agent": "alice"}
    assert target.known_worker_sid is not None and target.known_worker_friendly_name is not None
    assert target.known_worker_sid.resolve({"task": task}) == "WK" + "1" * 32
    assert target.known_worker_friendly_name.resolve({"task": task}) == "alice"
    assert [(clause.path.text, clause.descending) for clause in target.order_by] == [
        ("worker.finance", False),
        ("worker.support", True),
    ]
    assert target.order_by[0].path.resolve({"worker": {"finance": 10}}) == 10
    assert target.skip_if is not None
    assert target.skip_if.evaluate({"workers": {"available": 0}})


def test_filters_read_bare_names_and_task_prefixed_names_from_the_task() -> None:
    workflow = config(
        {
            "filters": [
                {"expression": "task.channel == 'sms'", "targets": [{"queue": SALES}]},
                {"expression": "channel == 'voice'", "targets": [{"queue": SUPPORT}]},
            ]
        }
    )
    assert [route(workflow, {"channel": c}) for c in ("sms", "voice", "chat")] == [
        Route(0, "", workflow.filters[0].targets),
        Route(1, "", workflow.filters[1].targets),
        None,  # no filter matches and there is no default filter: the task falls out of the workflow
    ]


def test_route_onward_after_the_last_target() -> None:
    """A timed-out task tries the filters below; a skipping one also the default; the default is final."""
    workflow = config(
        {
            "filters": [
                {"expression": "vip == true", "targets": [{"queue": SALES, "timeout": 10}]},
                {"expression": "lang == 'es'", "targets": [{"queue": SUPPORT, "skip_if": "1==1"}]},
                {"expression": "vip == true", "targets": [{"queue": EVERYONE, "timeout": 10}]},
            ],
            "default_filter": {"queue": EVERYONE},
        }
    )
    vip = {"vip": True}
    first = route(workflow, vip)
    assert first is not None and first.filter_index == 0
    after_timeout = route_onward(workflow, vip, first, skipped=False)
    assert after_timeout is not None and after_timeout.filter_index == 2  # skips the filter it fails
    assert route_onward(workflow, vip, after_timeout, skipped=False) is None  # not the default: canceled
    after_skip = route_onward(workflow, vip, after_timeout, skipped=True)
    assert after_skip is not None and after_skip.filter_index is None  # a skipped task qualifies for it
    assert route_onward(workflow, vip, after_skip, skipped=True) is after_skip  # waits there until its TTL

    spanish = {"lang": "es"}
    second = route(workflow, spanish)
    assert second is not None and second.filter_index == 1
    onward = route_onward(workflow, spanish, second, skipped=True)
    assert onward is not None and onward.filter_index is None  # no filter below matches: the default


def test_route_onward_without_a_default_filter_cancels() -> None:
    workflow = config({"filters": [{"expression": "1==1", "targets": [{"queue": SALES, "skip_if": "1==1"}]}]})
    routed = route(workflow, {})
    assert routed is not None
    assert route_onward(workflow, {}, routed, skipped=True) is None


GOOD_TARGET = {"queue": SALES}


@pytest.mark.parametrize(
    ("configuration", "field", "message"),
    [
        ("{", "configuration", "not valid JSON"),
        ("[" * 100_000, "configuration", "not valid JSON"),
        ("[]", "configuration", "must be a JSON object"),
        ("{}", "configuration.task_routing", "must be an object"),
        ({"task_routing": []}, "configuration.task_routing", "must be an object"),
        ({"task_routing": {}}, "task_routing", "needs filters or a default_filter"),
        ({"task_routing": {"filters": []}}, "task_routing", "needs filters or a default_filter"),
        ({"task_routing": {"filters": {}}}, "task_routing.filters", "must be an array"),
        ({"task_routing": {"filters": ["x"]}}, "task_routing.filters[0]", "must be a JSON object"),
        (
            {"task_routing": {"filters": [{"targets": [GOOD_TARGET]}]}},
            "task_routing.filters[0].expression",
            "must be a string",
        ),
        (
            {"task_routing": {"filters": [{"expression": "a ==", "targets": [GOOD_TARGET]}]}},
            "task_routing.filters[0].expression",
            "Expected a name, a constant or a list, found the end of the expression at character 5",
        ),
        (
            {"task_routing": {"filters": [{"expression": "", "targets": [GOOD_TARGET]}]}},
            "task_routing.filters[0].expression",
            "Empty expression",
        ),
        (
            {"task_routing": {"filters": [{"expression": "1==1", "filter_friendly_name": 7, "targets": []}]}},
            "task_routing.filters[0].filter_friendly_name",
            "must be a string",
        ),
        (
            {"task_routing": {"filters": [{"expression": "1==1", "targets": []}]}},
            "task_routing.filters[0].targets",
            "must have at least one target",
        ),
        (
            {"task_routing": {"filters": [{"expression": "1==1", "targets": [{"timeout": 5}]}]}},
            "task_routing.filters[0].targets[0].queue",
            "is required on a filter's first target",
        ),
        (
            {
                "task_routing": {
                    "filters": [{"expression": "1==1", "targets": [GOOD_TARGET, {"queue": "WQ1"}]}]
                }
            },
            "task_routing.filters[0].targets[1].queue",
            "'WQ1' is not a TaskQueue SID",
        ),
        (
            {"task_routing": {"default_filter": {"queue": "WW" + "a" * 32}}},
            "task_routing.default_filter.queue",
            f"'WW{'a' * 32}' is not a TaskQueue SID",
        ),
        ({"task_routing": {"default_filter": {}}}, "task_routing.default_filter.queue", "is required"),
        (
            {"task_routing": {"default_filter": {"queue": SALES, "timeout": 10}}},
            "task_routing.default_filter.timeout",
            "the default filter takes no timeout",
        ),
        *[
            (
                {"task_routing": {"default_filter": {"queue": SALES, key: value}}},
                f"task_routing.default_filter.{key}",
                "must be an integer from",
            )
            for key, value in [
                ("priority", -1),
                ("priority", 1.5),
                ("priority", True),
                ("priority", "ten"),
                ("priority", 2**31),
                ("priority", "99999999999"),
                ("timeout", 0),
                ("timeout", "0"),
                ("timeout", "-5"),
                ("timeout", [10]),
            ]
        ],
        (
            {"task_routing": {"default_filter": {"queue": SALES, "skip_if": "workers.available =="}}},
            "task_routing.default_filter.skip_if",
            "Expected a name, a constant or a list",
        ),
        (
            {"task_routing": {"default_filter": {"queue": SALES, "expression": 1}}},
            "task_routing.default_filter.expression",
            "must be a string",
        ),
        (
            {"task_routing": {"default_filter": {"queue": SALES, "order_by": "worker.level"}}},
            "task_routing.default_filter.order_by",
            "'worker.level' is not a name and ASC or DESC",
        ),
        (
            {
                "task_routing": {
                    "default_filter": {"queue": SALES, "order_by": "worker.a ASC,, worker.b DESC"}
                }
            },
            "task_routing.default_filter.order_by",
            "'' is not a name and ASC or DESC",
        ),
        (
            {"task_routing": {"default_filter": {"queue": SALES, "order_by": "worker-level ASC"}}},
            "task_routing.default_filter.order_by",
            "Unexpected character '-'",
        ),
        (
            {"task_routing": {"default_filter": {"queue": SALES, "known_worker_sid": "task.a == 1"}}},
            "task_routing.default_filter.known_worker_sid",
            "Unexpected '==' after the name",
        ),
    ],
)
def test_invalid_configurations_name_the_field(configuration: Any, field: str, message: str) -> None:
    text = configuration if isinstance(configuration, str) else json.dumps(configuration)
    with pytest.raises(WorkflowConfigError) as caught:
        parse_workflow_config(text)
    assert caught.value.field == field
    assert str(caught.value).startswith(f"Invalid Workflow configuration: {field}: {message}")
    assert caught.value.code == ErrorCode.UNKNOWN_PARAMETERS


JSON = st.recursive(
    st.one_of(
        st.none(), st.booleans(), st.integers(-3, 400), st.sampled_from([SALES, "WQ", "1==1", "a ==", "5"])
    ),
    lambda children: st.one_of(
        st.lists(children, max_size=3),
        st.dictionaries(
            st.sampled_from(
                ["task_routing", "filters", "default_filter", "targets", "queue", "expression", "priority"]
                + ["timeout", "order_by", "skip_if", "known_worker_sid", "filter_friendly_name"]
            ),
            children,
            max_size=4,
        ),
    ),
    max_leaves=20,
)


@settings(max_examples=300, deadline=None)
@given(JSON)
def test_any_json_parses_or_raises_workflow_config_error(document: Any) -> None:
    try:
        workflow = parse_workflow_config(json.dumps({"task_routing": document}))
    except WorkflowConfigError:
        return
    routed = route(workflow, {"expression": 1})
    assert routed is None or routed.targets[0].queue_sid in workflow.queue_sids
