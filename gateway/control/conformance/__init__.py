"""``ecert conformance``: a black-box test kit for any sharing system claiming DB23/T 2836-2021.

It calls a system over HTTP as a business application would and judges each answer against
SPEC.md and the standard's clauses; it never imports the nodes, so it judges ours as any other.

suite        every check: id, what must hold, SPEC section and clause, needs, and its function
base         what a check is; Need, CheckFailed, NotApplicable and the shared expectations
calls        the requests checks send; the answers several checks read
shapes       envelope and item shapes (Appendix C, Tables 4–20)
identifiers  check characters (GB/T 36904, GB 32100, GB 11643) and code forms (A.2, A.4)
packages     what a downloaded OFD or picture zip must be
target       what the suite is pointed at (the command's options)
probe        the HTTP side: every request and answer kept as an Exchange
findings     the certificates and holders the checks use, found before they run
runner       preflight (exit 2 when nothing can be tested) and the run
report       JSON, JUnit and the Markdown list of checks
"""

from gateway.control.conformance.runner import Report, Result, run_suite
from gateway.control.conformance.suite import SUITE
from gateway.control.conformance.target import Holder, Target

__all__ = ("SUITE", "Holder", "Report", "Result", "Target", "run_suite")
