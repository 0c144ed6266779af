"""The ASGI entry point serves the portal's static files without a warning in the web server's log."""

import asyncio
import warnings

import httpx

from config.asgi import application, static_files_warning_ignore


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
