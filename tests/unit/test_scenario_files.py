"""Scenario files are checked before anything starts: every problem names file, line and step,
and ``ecert scenario run`` exits 2 without starting a process. The JSON Schema that
``ecert scenario schema`` prints accepts the files that load and refuses what the models refuse.
"""

from __future__ import annotations

import json
import re
import shutil
from pathlib import Path
from typing import get_args

import jsonschema
import pytest
import yaml

from gateway.control.cli.__main__ import main
from gateway.control.errors import ScenarioInvalid
from gateway.control.faults import Direction, FaultKind, FaultSpec
from gateway.control.scenario.loading import load_scenario, load_scenarios
from gateway.control.scenario.model import STEP_KINDS, Call, Fault, Scenario
from gateway.control.scenario.values import FaultKindName

ROOT = Path(__file__).resolve().parents[2]
SCENARIOS = sorted((ROOT / "scenarios").glob("*.yaml"))
CARD = """\
    certificate: {CertificateName: 居民身份证, CertificateTypeCode: 11100000000013127D001}
"""


def write(tmp_path: Path, body: str, *, name: str = "s.yaml") -> Path:
    shutil.copyfile(ROOT / "topology.yaml", tmp_path / "topology.yaml")
    path = tmp_path / name
    path.write_text("topology: topology.yaml\n" + body, encoding="utf-8")
    return path


def problems(path: Path) -> list[str]:
    with pytest.raises(ScenarioInvalid) as caught:
        load_scenario(path)
    return [str(problem) for problem in caught.value.problems]


def test_the_repository_scenarios_load() -> None:
    assert len(SCENARIOS) >= 8
    loaded = load_scenarios(SCENARIOS)
    kinds = {step.KIND for scenario in loaded for step in scenario.scenario.steps}
    assert kinds == set(STEP_KINDS) - {"sleep"}  # time itself is never their subject


def test_the_readme_scenario_loads(tmp_path: Path) -> None:
    readme = (ROOT / "README.md").read_text(encoding="utf-8")
    block = re.search(r"```yaml\n(name: a certificate issued in Jilin.*?)```", readme, re.DOTALL)
    assert block is not None
    (tmp_path / "in").mkdir()
    shutil.copyfile(ROOT / "topology.yaml", tmp_path / "topology.yaml")
    path = tmp_path / "in" / "readme.yaml"
    path.write_text(block.group(1), encoding="utf-8")
    assert [step.KIND for step in load_scenario(path).scenario.steps] == [
        "issue",
        "wait_routable",
        "call",
    ]


@pytest.mark.parametrize(
    ("body", "expected"),
    [
        (
            "steps:\n  - call: Nope\n    node: hlj\n",
            r"s\.yaml:3: step 1 \(call\): call: Input should be 'GetCertificateFileByHolder'",
        ),
        (
            "steps:\n  - bogus: 1\n",
            r"s\.yaml:3: step 1: unknown step kind \(found bogus\); a step names exactly one of",
        ),
        (
            "steps:\n  - call: Retrieval\n    issue: x\n    node: hlj\n",
            r"s\.yaml:3: step 1: a step has one kind, this one has 2: call, issue",
        ),
        (
            "steps:\n  - call: Retrieval\n    node: hlj\n    expect:\n      status: zero\n",
            r"s\.yaml:6: step 1 \(call\): expect\.status: Input should be a valid integer",
        ),
        (
            "steps:\n  - call: Retrieval\n    node: hlj\n    expect: {route: hlj}\n",
            r"s\.yaml:5: step 1 \(call\): expect\.route: Input should be a valid list",
        ),
        (
            "steps:\n  - call: Retrieval\n    node: hlj\n    expect: {status: 7}\n",
            r"s\.yaml:5: step 1 \(call\): expect\.status: Value error, 7 is not a return code",
        ),
        (
            "steps:\n  - call: Retrieval\n    node: hlj\n    expect: {total: '1'}\n",
            r"expect\.total: Input should be a valid integer",
        ),
        ("steps:\n  - sleep: 1\n", r"s\.yaml:3: step 1 \(sleep\): reason: Field required"),
        (
            "steps:\n  - sleep: 1\n    reason: x\n    colour: red\n",
            r"s\.yaml:5: step 1 \(sleep\): colour: Extra inputs are not permitted",
        ),
        ("stepz: []\n", r"s\.yaml:2: stepz: Extra inputs are not permitted"),
        ("steps: [\n", r"s\.yaml:3: not valid YAML"),
        ("steps: []\n", r"s\.yaml:2: steps: List should have at least 1 item"),
    ],
)
def test_a_bad_file_is_refused_naming_file_line_and_step(
    tmp_path: Path, body: str, expected: str
) -> None:
    found = problems(write(tmp_path, body))
    assert any(re.search(expected, line) for line in found), found


def test_unknown_nodes_and_references_are_refused_with_their_lines(tmp_path: Path) -> None:
    path = write(
        tmp_path,
        "steps:\n"
        "  - call: GetCertificateDataByCertificateID\n"  # 3
        "    node: hlj-harbinn\n"  # 4
        "    params: {CertificateID: '${issued.card}'}\n"  # 5
        "    expect:\n"
        "      route: [hlj-harbin, nationall]\n"  # 7
        "  - issue: card\n"  # 8
        "    node: jl-changchun\n" + CARD + "  - call: Retrieval\n"  # 11
        "    node: hlj\n"
        "    as_peer: jl\n"  # 13
        "  - wait_routable: ${issued.card.Colour}\n"  # 14
        "    node: hlj\n",
    )
    assert problems(path) == [
        f"{path}:4: step 1 (call): node: no node 'hlj-harbinn' in network demo",
        f"{path}:7: step 1 (call): expect.route.1: no node 'nationall' in network demo",
        f"{path}:5: step 1 (call): params.CertificateID: ${{issued.card}}: no earlier issue step "
        "is called 'card'",
        f"{path}:13: step 3 (call): as_peer: jl is not a neighbour of hlj",
        f"{path}:14: step 4 (wait_routable): wait_routable: ${{issued.card.Colour}}: Colour is "
        "not a certificate field",
    ]


def test_a_missing_topology_file_is_named(tmp_path: Path) -> None:
    path = tmp_path / "s.yaml"
    path.write_text("topology: ../elsewhere.yaml\nsteps:\n  - sleep: 1\n    reason: x\n", "utf-8")
    [problem] = problems(path)
    assert problem.startswith(f"{path}:1: topology ../elsewhere.yaml: cannot read")


def test_x_keys_hold_anchors_and_are_no_part_of_the_scenario(tmp_path: Path) -> None:
    path = write(
        tmp_path,
        "x-card: &card {CertificateName: 居民身份证}\n"
        "steps:\n  - issue: card\n    node: jl-changchun\n    certificate: {<<: *card}\n",
    )
    [step] = load_scenario(path).scenario.steps
    assert step.model_dump()["certificate"]["CertificateName"] == "居民身份证"


def test_bad_files_exit_2_and_start_nothing(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    good = write(tmp_path, "steps:\n  - sleep: 1\n    reason: x\n", name="good.yaml")
    bad = write(tmp_path, "steps:\n  - call: Nope\n    node: hlj\n", name="bad.yaml")
    state = tmp_path / "state"
    assert main(["--state-dir", str(state), "scenario", "run", str(good), str(bad)]) == 2
    err = capsys.readouterr().err
    assert f"{bad}:3: step 1 (call): call:" in err
    assert "1 problem(s) in the scenario files; nothing was started" in err
    assert not state.exists()


# -- the JSON Schema ------------------------------------------------------------------------------
@pytest.fixture(scope="module")
def schema() -> dict[str, object]:
    return Scenario.model_json_schema()


def test_schema_prints_as_json(capsys: pytest.CaptureFixture[str], schema: object) -> None:
    assert main(["scenario", "schema"]) == 0
    assert json.loads(capsys.readouterr().out) == schema


@pytest.mark.parametrize("path", SCENARIOS, ids=lambda p: p.name)
def test_the_schema_accepts_every_repository_scenario(path: Path, schema: object) -> None:
    document = yaml.safe_load(path.read_text(encoding="utf-8"))
    jsonschema.validate(json.loads(json.dumps(document, default=str)), schema)


@pytest.mark.parametrize(
    "step",
    [
        {"bogus": 1},
        {"call": "Nope", "node": "hlj"},
        {"call": "Retrieval", "node": "hlj", "expect": {"route": "hlj"}},
        {"call": "Retrieval", "node": "hlj", "expect": {"status": "0"}},
        {"sleep": 1},
    ],
)
def test_the_schema_refuses_what_the_model_refuses(step: object, schema: object) -> None:
    document = {"topology": "t.yaml", "steps": [step]}
    with pytest.raises(jsonschema.ValidationError):
        jsonschema.validate(document, schema)
    with pytest.raises(ValueError, match="validation error"):
        Scenario.model_validate(document)


def test_a_call_step_defaults() -> None:
    step = Call.model_validate({"call": "Retrieval", "node": "hlj"})
    assert (step.expect.status, step.from_ip, step.params) == (0, "127.0.9.1", {})


# -- fault and heal steps -------------------------------------------------------------------------
def test_fault_steps_become_the_fault_specs_they_name(tmp_path: Path) -> None:
    path = write(
        tmp_path,
        "steps:\n"
        "  - fault: slow_link\n    kind: latency\n    node: national\n    peer: jl\n"
        "    direction: out\n    latency: 2s\n    jitter: 100\n    from_ip: 127.0.9.5\n"
        "    for: 3s\n"
        "  - fault: ahead\n    kind: skew\n    node: hlj\n    skew: -1d\n"
        "  - heal: slow_link\n"
        "  - heal: all\n",
    )
    first, second, heal, heal_all = load_scenario(path).scenario.steps
    assert isinstance(first, Fault)
    assert isinstance(second, Fault)
    assert first.spec() == FaultSpec(kind=FaultKind.LATENCY, node="national", peer="jl",
                                     direction=Direction.OUT, latency_ms=2000, jitter_ms=100,
                                     from_ip="127.0.9.5", for_seconds=3)  # fmt: skip
    assert second.spec().skew_seconds == -86400
    assert (heal.title(), heal_all.title()) == ("heal slow_link", "heal every fault")


def test_the_fault_kinds_of_steps_are_the_fault_kinds() -> None:
    assert set(get_args(FaultKindName)) == {str(kind) for kind in FaultKind}


@pytest.mark.parametrize(
    ("body", "expected"),
    [
        (
            "  - fault: f\n    kind: melt\n    node: hlj\n",
            r"s\.yaml:4: step 1 \(fault\): kind: Input should be 'kill', 'pause'",
        ),
        (
            "  - fault: f\n    kind: kill\n    node: hlj-harbinn\n",
            r"s\.yaml:5: step 1 \(fault\): node: no node 'hlj-harbinn' in network demo",
        ),
        (
            "  - fault: f\n    kind: cut\n    node: hlj-harbin\n    peer: jl\n",
            r"s\.yaml:4: step 1 \(fault\): kind: hlj-harbin and jl are not neighbours",
        ),
        (
            "  - fault: f\n    kind: kill\n    node: hlj\n    latency: 20\n",
            r"s\.yaml:4: step 1 \(fault\): kind: invalid fault: kill takes no latency",
        ),
        (
            "  - fault: f\n    kind: latency\n    node: hlj\n",
            r"s\.yaml:4: step 1 \(fault\): kind: invalid fault: latency needs latency",
        ),
        (
            "  - fault: f\n    kind: error\n    node: hlj\n    for: soon\n",
            r"s\.yaml:6: step 1 \(fault\): for: Value error, 'soon' is not a duration",
        ),
        (
            "  - heal: f\n",
            r"s\.yaml:3: step 1 \(heal\): heal: no earlier fault step is named 'f' \(named: none",
        ),
        (
            "  - fault: f\n    kind: error\n    node: hlj\n  - fault: f\n    kind: kill\n"
            "    node: jl\n",
            r"s\.yaml:6: step 2 \(fault\): fault: 'f' names an earlier fault already",
        ),
        (
            "  - fault: all\n    kind: error\n    node: hlj\n",
            r"s\.yaml:3: step 1 \(fault\): fault: 'all' is heal's word for every fault",
        ),
    ],
)
def test_a_bad_fault_step_is_refused_naming_file_line_and_step(
    tmp_path: Path, body: str, expected: str
) -> None:
    found = problems(write(tmp_path, "steps:\n" + body))
    assert any(re.search(expected, line) for line in found), found


def test_a_bad_fault_step_exits_2_and_starts_nothing(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    bad = write(tmp_path, "steps:\n  - fault: f\n    kind: cut\n    node: hlj-harbin\n"
                          "    peer: jl-changchun\n")  # fmt: skip
    state = tmp_path / "state"
    assert main(["--state-dir", str(state), "scenario", "run", str(bad)]) == 2
    err = capsys.readouterr().err
    assert f"{bad}:4: step 1 (fault): kind: hlj-harbin and jl-changchun are not neighbours" in err
    assert not state.exists()


@pytest.mark.parametrize(
    "step",
    [
        {"fault": "f", "kind": "melt", "node": "hlj"},
        {"fault": "f", "kind": "kill", "node": "hlj", "for": "soon"},
        {"fault": "f", "kind": "kill", "node": "hlj", "colour": "red"},
        {"heal": 1},
    ],
)
def test_the_schema_refuses_bad_fault_steps(step: object, schema: object) -> None:
    document = {"topology": "t.yaml", "steps": [step]}
    with pytest.raises(jsonschema.ValidationError):
        jsonschema.validate(document, schema)
    with pytest.raises(ValueError, match="validation error"):
        Scenario.model_validate(document)
