"""A JUnit XML report of spec results (``scap test --junit FILE``), for CI systems."""
from __future__ import annotations

import xml.etree.ElementTree as ET
from pathlib import Path


def write_junit(path: Path, results) -> None:
    """One test case per spec (``SpecResult``), the diff as failure text."""
    failures = sum(r.status == "fail" for r in results)
    errors = sum(r.status == "error" for r in results)
    suite = ET.Element("testsuite", name="scap test", tests=str(len(results)),
                       failures=str(failures), errors=str(errors))
    for result in results:
        case = ET.SubElement(suite, "testcase", classname="scaptest",
                             name=result.spec.path.as_posix(), time=f"{result.seconds:.3f}")
        if result.status in ("fail", "error"):
            tag = "failure" if result.status == "fail" else "error"
            node = ET.SubElement(case, tag, message=f"{result.spec.name}: alerts differ"
                                 if tag == "failure" else f"{result.spec.name}: error")
            node.text = result.error or "\n".join(result.diff)
    ET.ElementTree(suite).write(path, encoding="utf-8", xml_declaration=True)
