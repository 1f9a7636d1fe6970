"""Write the conformance suite's table of checks into README.md (between its markers).

``python scripts/readme_checks.py``; ``tests/unit/test_conformance_suite.py`` fails while the
README's table differs from what ``ecert conformance --list-checks --markdown`` prints.
"""

from __future__ import annotations

import re
from pathlib import Path

from gateway.control.conformance import SUITE
from gateway.control.conformance.report import checks_markdown

README = Path(__file__).resolve().parents[1] / "README.md"
BLOCK = re.compile(
    r"(<!-- conformance-checks:[^\n]*-->\n)(.*?)(<!-- /conformance-checks -->)", re.S
)


def main() -> None:
    text = README.read_text(encoding="utf-8")
    if not BLOCK.search(text):
        raise SystemExit("README.md has no <!-- conformance-checks: … --> block")
    table = checks_markdown(SUITE)
    README.write_text(BLOCK.sub(lambda m: m[1] + table + m[3], text, count=1), encoding="utf-8")
    print(f"README.md: {len(SUITE)} checks")


if __name__ == "__main__":
    main()
