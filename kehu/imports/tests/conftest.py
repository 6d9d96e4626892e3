from __future__ import annotations

import pytest

from kehu.imports.samples import csv_bytes, sheet_rows


@pytest.fixture(autouse=True)
def import_dir(settings, tmp_path):
    """Uploads go to a directory of the test's own."""
    settings.VAR_DIR = tmp_path
    return tmp_path / "imports"


@pytest.fixture
def upload(client, api_client):
    """POST a file to /api/v1/imports as a user (multipart); returns the response."""

    def do(user, name: str, content: bytes, **data):
        from django.core.files.uploadedfile import SimpleUploadedFile

        api_client.as_user(user)
        return client.post("/api/v1/imports", {"file": SimpleUploadedFile(name, content), **data},
                           **api_client._headers())

    return do


@pytest.fixture
def sheet():
    def make(count: int = 5, *, start: int = 0, owner: str = "", encoding: str = "utf-8", delimiter: str = ","):
        return csv_bytes(sheet_rows(count, start=start, owner=owner), encoding=encoding, delimiter=delimiter)

    return make
