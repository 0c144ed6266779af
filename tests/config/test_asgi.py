"""The ASGI entry point serves the portal's static files without a warning in the web server's log."""

import asyncio
import warnings

import httpx
import pytest

from config.asgi import application, static_files_warning_ignore
from tests.live import procfile_web


async def _get(path: str) -> httpx.Response:
    transport = httpx.ASGITransport(app=application)
    async with httpx.AsyncClient(transport=transport, base_url="http://127.0.0.1") as client:
        return await client.get(path)


def test_a_static_file_is_served_without_the_synchronous_iterator_warning() -> None:
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        static_files_warning_ignore()
        response = asyncio.run(_get("/static/portal/portal.css"))
    assert response.status_code == 200
    assert response.content
    assert [str(w.message) for w in caught] == []


@pytest.mark.e2e
def test_the_procfile_web_process_logs_no_warning_while_serving_the_portal(django_db_setup: None) -> None:
    with procfile_web() as (base, log):
        for path in (
            "/login/",
            "/static/portal/portal.css",
            "/static/htmx.min.js",
            "/static/portal/portal.js",
        ):
            assert httpx.get(f"{base}{path}").status_code == 200, path
    output = log.read_text()
    assert "Warning" not in output, output
    assert "unsupported" not in output, output  # uvicorn's note on the lifespan protocol, which we do not use
