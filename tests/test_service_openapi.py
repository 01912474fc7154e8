"""The OpenAPI document matches what the API answers: schemathesis generates requests for every operation from
the document (a bounded number each) and checks the answers against it (status codes, response schemas,
headers, no 500s).

Left out: the check that every schema-valid request is accepted. Some refusals follow rules the schema cannot
state ("give item ids or a search that finds some", a CSV needs a column naming the items, a batch needs
photographs): they are 422 with the reason, and are tested in test_service_api.py.
"""

from __future__ import annotations

from collections.abc import Iterator
import pytest
from fastapi.testclient import TestClient

from patina.service.app import create_app
from patina.service.settings import Settings

pytestmark = pytest.mark.slow
TOKEN = "openapi-test-token"
EXAMPLES = 15


@pytest.fixture(scope="module")
def served(tmp_path_factory: pytest.TempPathFactory) -> Iterator[object]:
    """The app with its archive open (one photo in it) and no job workers."""
    app = create_app(Settings(data_dir=tmp_path_factory.mktemp("openapi") / "data", api_token=TOKEN),
                     start_workers=False)
    with TestClient(app) as client:  # opens the archive; schemathesis calls the same app
        client.post("/api/items", headers={"Authorization": f"Bearer {TOKEN}"},
                    files=[("files", ("p.png", _png(), "image/png"))]).raise_for_status()
        yield app


def _png() -> bytes:
    import io

    import numpy as np
    from PIL import Image

    buffer = io.BytesIO()
    Image.fromarray(np.full((24, 32, 3), 120, np.uint8)).save(buffer, "PNG")
    return buffer.getvalue()


def test_the_api_answers_as_its_openapi_document_says(served: object) -> None:
    import schemathesis  # here, not at collection: it takes seconds to import, and the fast lane skips this test
    from hypothesis import HealthCheck, given, settings
    from schemathesis.checks import positive_data_acceptance

    schema = schemathesis.openapi.from_asgi("/openapi.json", served)
    failures, operations = [], 0
    for result in schema.get_all_operations():
        operation = result.ok()
        operations += 1

        @given(case=operation.as_strategy())
        @settings(max_examples=EXAMPLES, deadline=None, suppress_health_check=list(HealthCheck), database=None)
        def check(case: object) -> None:
            case.call_and_validate(headers={"Authorization": f"Bearer {TOKEN}"},  # type: ignore[attr-defined]
                                   excluded_checks=[positive_data_acceptance])

        try:
            check()
        except Exception as exc:  # noqa: BLE001 - collect every operation's failure, then report them all
            failures.append(f"{operation.label}: {exc}")
    assert operations >= 15
    assert not failures, "\n\n".join(failures)
