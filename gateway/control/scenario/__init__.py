"""Scenario files: scripted calls, certificates and anomalies with expectations (README).

values    the values steps hold (node ids, methods, codes, ``Expect``, certificate fields)
model     the steps, one class per kind, and the ``Scenario`` (its JSON Schema)
loading   reading and checking files before anything runs (file, line and step of a problem)
refs      ``${issued.NAME}``, ``${issued.NAME.FIELD}``, ``${run.id}``
expect    a call's answer against its expectation, and how a failure reads
steps     one executor per kind, on a scenario's ``RunContext``
runner    networks for the scenarios, the steps in order, an outcome per step
report    outcomes as JUnit XML and JSON
"""
